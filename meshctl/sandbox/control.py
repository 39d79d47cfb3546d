"""Start, find and stop the detached sandbox server process.

The running sandbox is recorded in ``sandbox.json`` under ``$MESHCTL_HOME``: its pid, port and
endpoint. Without ``MESHCTL_HOME``, the nearest ``.meshctl/sandbox.json`` in the working directory
or one of its parents is the running sandbox's (so ``status`` and ``down`` find it from any
subfolder of the project it was started in), and ``up`` writes ``./.meshctl``. A pid only counts
as our sandbox while that process is alive and its command line is the sandbox server, so a
recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from meshctl.errors import SandboxError
from meshctl.sandbox import DEFAULT_PORT
from meshctl.sandbox.server import EXIT_PORT_BUSY, HOST, READY
from meshctl.sandbox.sessions import REGION

SERVER_MODULE = "meshctl.sandbox.server"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SandboxState:
    pid: int
    port: int
    endpoint: str
    log: str
    started_at: str
    region: str = REGION


def state_dir(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    home = (os.environ if env is None else env).get("MESHCTL_HOME")
    if home:
        return Path(home)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".meshctl" / "sandbox.json").is_file():
            return folder / ".meshctl"
    return here / ".meshctl"


def state_file(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    return state_dir(env, cwd) / "sandbox.json"


def read_state(path: Path) -> SandboxState | None:
    if not path.exists():
        return None
    try:
        return SandboxState(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise SandboxError(f"{path} is not a sandbox state file ({exc}); delete it") from exc


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc (None when the process does not exist)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (an exited, not yet reaped one does not count)."""
    if Path("/proc").is_dir():
        return _proc_state(pid) not in (None, "Z", "X")
    try:  # no /proc (macOS)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(state: SandboxState) -> bool:
    """Whether ``state.pid`` is alive and is a sandbox server (not a recycled pid)."""
    if not _alive(state.pid):
        return False
    try:
        cmdline = Path(f"/proc/{state.pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return not Path("/proc").is_dir()  # without /proc, liveness is all we can know
    return SERVER_MODULE.encode() in cmdline


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def answers(endpoint: str) -> bool:
    """Whether an HTTP server answers at ``endpoint`` (any status: it is up)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/config", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def start(
    port: int = DEFAULT_PORT, *, region: str = REGION, path: Path | None = None
) -> tuple[SandboxState, bool]:
    """Start a sandbox on ``port``; returns its state and whether a stale state file was removed."""
    path = path or state_file()
    existing = read_state(path)
    stale = False
    if existing is not None:
        if is_running(existing):
            raise SandboxError(
                f"a sandbox is already running at {existing.endpoint} (pid {existing.pid}); "
                "run `meshctl sandbox down` first"
            )
        path.unlink()
        stale = True
    if not port_is_free(port):
        raise SandboxError(f"port {port} on {HOST} is busy; choose another with --port")
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.with_name("sandbox.log")
    # The server serves every account by its credentials; a fixed account or a profile (which
    # moto's own sessions would try to load) has no place in its environment.
    dropped = ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    with log.open("ab") as out:
        offset = out.tell()  # this run's output starts here; earlier runs precede it
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, "--host", HOST, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # survives the terminal's Ctrl-C and this CLI's exit
        )
    endpoint = f"http://{HOST}:{port}"
    try:
        _wait_until_answers(proc, endpoint, port, log, offset)
    except BaseException:  # incl. Ctrl-C: never leave a server nobody knows about
        _terminate(proc.pid)
        raise
    state = SandboxState(
        pid=proc.pid,
        port=port,
        endpoint=endpoint,
        log=str(log),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        region=region,
    )
    path.write_text(json.dumps(asdict(state), indent=2) + "\n")
    return state, stale


def _wait_until_answers(
    proc: subprocess.Popen[bytes], endpoint: str, port: int, log: Path, offset: int
) -> None:
    """Until our server says it listens (its ready line) and answers HTTP; another process
    that grabbed the port in between would answer HTTP but never print our ready line."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code == EXIT_PORT_BUSY:
            raise SandboxError(f"port {port} on {HOST} is busy; choose another with --port")
        output = _read_from(log, offset)
        if code is not None:
            tail = output.strip().splitlines()[-5:]
            raise SandboxError(f"the sandbox server exited ({code}): " + " | ".join(tail))
        if f"{READY} {port}" in output and answers(endpoint):
            return
        time.sleep(0.1)
    raise SandboxError(f"the sandbox server did not answer on {endpoint} within {START_TIMEOUT_S}s")


def _read_from(log: Path, offset: int) -> str:
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def stop(*, path: Path | None = None) -> SandboxState:
    """Stop the recorded sandbox process and remove the state file."""
    path = path or state_file()
    state = read_state(path)
    if state is None:
        raise SandboxError(f"no sandbox is running (no state file at {path})")
    if not is_running(state):
        path.unlink()
        raise SandboxError(
            f"no sandbox is running: pid {state.pid} recorded in {path} is gone "
            "(removed the stale state file)"
        )
    _terminate(state.pid)
    path.unlink()
    return state


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL if the process is still there after STOP_TIMEOUT_S."""
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            _reap(pid)
            if not _alive(pid):
                return
            time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our own child (tests start it in-process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
