"""The AWS layer: the only code that imports boto3 (besides the sandbox).

``sessions`` resolves a session per account and ``api.AccountApi`` makes its calls (errors
translated, pages from botocore's paginators, conflicts retried by ``retry``);
``read.snapshot.read_mesh`` builds the observed snapshot and ``apply.executor.Executor`` carries
out plan changes, answering each with a ``meshctl.outcome.Outcome``. May import the foundation,
``spec``, ``planning`` and boto3 (docs/architecture.md).
"""
