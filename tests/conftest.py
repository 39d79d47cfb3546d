"""Shared fixtures: the patched moto sandbox, in-process (fast) and as a server (for the CLI).

``sandbox`` gives an in-process multi-account AWS with meshctl's patches applied; reach an
account with ``sandbox.session(account_id)`` (an sts:AssumeRole, exactly as in production).

``sandbox_server`` gives the same through HTTP: one patched moto server per test session on
127.0.0.1 and a free port, emptied before each test. It has ``endpoint``, ``env`` (a full
environment for subprocesses: AWS_ENDPOINT_URL, dummy credentials, region, no AWS_PROFILE) and
``session(account_id)``. Do not combine it with ``sandbox`` in one test: while ``mock_aws`` is
active it intercepts every boto3 call, endpoint or not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.sandbox import (
    InProcessSandbox,
    ServerSandbox,
    in_process_sandbox,
    server_sandbox,
)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessSandbox]:
    with in_process_sandbox(monkeypatch) as sb:
        yield sb


@pytest.fixture(scope="session")
def sandbox_server_session() -> Iterator[ServerSandbox]:
    """The one server of the test session (use ``sandbox_server``, which also resets it)."""
    with pytest.MonkeyPatch.context() as mp:
        # The server runs in this process: a fixed account id here would pin every request,
        # and moto's own boto3 sessions fail on a profile that does not exist.
        for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            mp.delenv(name, raising=False)
        with server_sandbox() as server:
            yield server


@pytest.fixture
def sandbox_server(sandbox_server_session: ServerSandbox) -> Iterator[ServerSandbox]:
    sandbox_server_session.reset()
    yield sandbox_server_session
