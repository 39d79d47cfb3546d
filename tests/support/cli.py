"""Running the console script against a sandbox server, as a user's shell does."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.sandbox import ServerSandbox, run_meshctl


def meshctl(server: ServerSandbox, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``meshctl ARGS`` with the server's endpoint and no terminal on stdin (as in CI); whatever
    it answers, never a Python traceback."""
    proc = run_meshctl(*args, env=server.env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc
