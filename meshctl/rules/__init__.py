"""Policies as code over a plan (``--policy DIR``): load and compile CEL policy files
(``load``, ``cel``), the data each condition sees (``subjects``), and the check that yields the
``PolicyReport`` a plan carries (``check``). docs/policies.md is the user's guide.

Pure, like planning: imports the foundation, spec, planning and celpy; never aws, sandbox or
boto3, and no clock (``today`` is passed in).
"""
