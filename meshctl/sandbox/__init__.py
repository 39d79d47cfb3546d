"""A local multi-account AWS on moto's server, with documented patches closing its gaps.

The constants here are what the CLI needs before it imports the sandbox (moto) itself.
"""

DEFAULT_PORT = 4566  # moto's and LocalStack's usual port; `make demo` uses 14566
REGION = "us-east-1"  # the sandbox's region when no mesh file says otherwise
