"""Shared fixtures: the patched moto sandbox, in-process (fast) and as a server (for the CLI).

``sandbox`` gives an in-process multi-account AWS with meshctl's patches applied; reach an
account with ``sandbox.session(account_id)`` (an sts:AssumeRole, exactly as in production).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshctl.sandbox.testing import InProcessSandbox, in_process_sandbox


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessSandbox]:
    with in_process_sandbox(monkeypatch) as sb:
        yield sb
