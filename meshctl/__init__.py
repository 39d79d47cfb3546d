"""meshctl: a declarative, GitOps reconciler for a data mesh on AWS."""

__version__ = "0.1.0"
