"""Pure planning: desired state from the spec, a diff per kind against the observed snapshot, the
ordered ``Plan`` value, IAM layout and policy documents.

Imports spec and the foundation; never aws, sandbox, render or boto3: it cannot call AWS.
"""
