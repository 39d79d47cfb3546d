"""Finding and stopping the sandbox process: clear errors, and never the wrong process."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from pathlib import Path

import pytest

from meshctl.errors import SandboxError
from meshctl.sandbox import control

from ._procs import dead_pid, free_port


def _write_state(path: Path, pid: int, port: int = 4566) -> None:
    state = control.SandboxState(pid, port, f"http://127.0.0.1:{port}", "log", "now")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(state)))


def test_stopping_with_nothing_running_says_so(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="no sandbox is running"):
        control.stop(path=tmp_path / "sandbox.json")


def test_stale_state_file_is_reported_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    _write_state(path, dead_pid())
    with pytest.raises(SandboxError, match="is gone"):
        control.stop(path=path)
    assert not path.exists()


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    _write_state(path, os.getpid())  # alive, but not a sandbox server
    with pytest.raises(SandboxError, match="is gone"):
        control.stop(path=path)
    assert not path.exists()


def test_busy_port_is_refused_before_starting(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with pytest.raises(SandboxError, match=f"port {port} .* busy"):
            control.start(port, path=tmp_path / "sandbox.json")
    assert not (tmp_path / "sandbox.json").exists()


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text("not json")
    with pytest.raises(SandboxError, match="not a sandbox state file"):
        control.stop(path=path)


def test_state_lives_under_meshctl_home(tmp_path: Path) -> None:
    assert control.state_file({"MESHCTL_HOME": str(tmp_path)}) == tmp_path / "sandbox.json"
