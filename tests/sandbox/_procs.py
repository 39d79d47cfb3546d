"""Process helpers for the sandbox's CLI and control tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from support.sandbox import run_meshctl

_AWS_VARS = ("AWS_", "MOTO_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any AWS or moto settings (no profile, no endpoint)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_AWS_VARS)}
    env.pop("MESHCTL_HOME", None)
    env.update(extra)
    return env


def meshctl(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return run_meshctl(*args, env=env, cwd=cwd, timeout=120)


def exited(pid: int) -> bool:
    """True once ``pid`` no longer runs (gone, or exited and awaiting its parent's wait)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_exited(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if exited(pid):
            return True
        time.sleep(0.05)
    return exited(pid)


def dead_pid() -> int:
    """The pid of a process that has already exited and been reaped."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)
