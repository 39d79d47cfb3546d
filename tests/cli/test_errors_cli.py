"""When things go wrong: the console script's exit codes and messages, never a traceback.

Most failures happen before (or instead of) a useful AWS answer, so AWS is pointed at a local
port that is closed, held by a listener that only counts connections ("no AWS call" is then a
measured fact), or served by a web server that is not AWS. The last test uses the sandbox.
"""

from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import Listener
from support.sandbox import ServerSandbox, run_meshctl

from meshctl import __version__

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
INVALID = ROOT / "tests" / "data" / "invalid" / "unknown-consumer.yaml"
ACCESS_KEY = "AKIAEXAMPLEKEY123456"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1"
# Slow retries against an unreachable endpoint would leave CI hanging; this is generous.
QUICK_S = 30.0


def _base_env() -> dict[str, str]:
    """This environment without any AWS or moto setting (no profile, keys or endpoint)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}


def _aws_env(endpoint: str) -> dict[str, str]:
    env = _base_env()
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def run(
    *args: str, env: dict[str, str], cwd: Path = ROOT
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_meshctl(*args, env=env, cwd=cwd, timeout=120)
    output = proc.stdout + proc.stderr
    assert ACCESS_KEY not in output and SECRET_KEY not in output
    return proc, time.monotonic() - started


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_user_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "Error:" in proc.stderr


# --- invalid input never reaches AWS --------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "unlock"])
def test_invalid_mesh_file_exits_1_without_any_aws_call(listener: Listener, command: str) -> None:
    args = [command, "-f", str(INVALID)]
    if command == "apply":
        args.append("--auto-approve")
    elif command == "unlock":
        args.append("some-lock-id")
    proc, seconds = run(*args, env=_aws_env(listener.endpoint))
    _assert_user_error(proc)
    assert f"{INVALID}:" in proc.stderr and "marketing" in proc.stderr
    assert "nothing was sent to AWS" in proc.stderr
    assert listener.connections() == 0
    assert seconds < QUICK_S


def test_invalid_mesh_file_with_a_closed_endpoint_still_reports_the_file() -> None:
    proc, seconds = run(
        "plan", "-f", str(INVALID), env=_aws_env(f"http://127.0.0.1:{_closed_port()}")
    )
    _assert_user_error(proc)
    assert f"{INVALID}:" in proc.stderr
    assert "cannot reach" not in proc.stderr
    assert seconds < QUICK_S


def test_missing_mesh_file_is_a_plain_error(tmp_path: Path, listener: Listener) -> None:
    missing = tmp_path / "nope.yaml"
    proc, _ = run("plan", "-f", str(missing), env=_aws_env(listener.endpoint))
    _assert_user_error(proc)
    assert str(missing) in proc.stderr
    assert listener.connections() == 0


def test_missing_credentials_file_is_named_before_any_aws_call(
    tmp_path: Path, listener: Listener
) -> None:
    missing = tmp_path / "creds.json"
    proc, _ = run(
        "plan",
        "-f",
        str(EXAMPLE),
        "--credentials-file",
        str(missing),
        env=_aws_env(listener.endpoint),
    )
    _assert_user_error(proc)
    assert f"cannot read credentials file {missing}" in proc.stderr
    assert listener.connections() == 0


def test_usage_error_is_not_mistaken_for_changes(listener: Listener) -> None:
    """A typo in a CI step must fail the step, not read as "the plan has changes"."""
    proc, _ = run(
        "plan",
        "-f",
        str(EXAMPLE),
        "--detailed-exitcode",
        "--formt",
        "json",
        env=_aws_env(listener.endpoint),
    )
    assert "No such option: --formt" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert listener.connections() == 0
    assert proc.returncode == 1


# --- AWS unreachable or refusing -------------------------------------------------------------


def test_unreachable_endpoint_names_the_url_quickly() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    proc, seconds = run("plan", "-f", str(EXAMPLE), env=_aws_env(endpoint))
    _assert_user_error(proc)
    assert endpoint in proc.stderr
    assert "AWS_ENDPOINT_URL" in proc.stderr  # what to check
    assert seconds < QUICK_S, f"took {seconds:.1f}s to give up on a closed port"


class _NotAws(http.server.BaseHTTPRequestHandler):
    """A web server that is not AWS (a wrong port, a proxy's error page)."""

    def do_POST(self) -> None:
        # Real error pages are HTML, not XML: the unclosed <meta> makes botocore's parser fail.
        body = b'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>Oops</body></html>'
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_aws() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_endpoint_that_is_not_aws_is_named_without_traceback(not_aws: str) -> None:
    proc, seconds = run("plan", "-f", str(EXAMPLE), env=_aws_env(not_aws))
    _assert_user_error(proc)
    assert not_aws in proc.stderr or "AWS_ENDPOINT_URL" in proc.stderr
    assert seconds < QUICK_S


def test_missing_credentials_say_how_to_get_them(tmp_path: Path) -> None:
    """No keys, no profile, empty config and credentials files (a fresh laptop or CI runner)."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    env = _base_env()
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_EC2_METADATA_DISABLED="true",  # no instance metadata service to wait for here
        HOME=str(tmp_path),
    )
    proc, seconds = run("plan", "-f", str(EXAMPLE), env=env)
    _assert_user_error(proc)
    err = proc.stderr
    assert "credentials" in err.lower()
    assert "aws sso login" in err and "AWS_ACCESS_KEY_ID" in err
    assert "--credentials-file" in err
    assert seconds < QUICK_S


def test_debug_shows_the_traceback(listener: Listener) -> None:
    proc, _ = run("--debug", "plan", "-f", str(INVALID), env=_aws_env(listener.endpoint))
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "ValidationError" in proc.stderr
    assert listener.connections() == 0


# --- version and help ------------------------------------------------------------------------


def test_version() -> None:
    proc, _ = run("--version", env=_base_env())
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"meshctl {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ((), ("validate", "plan", "apply", "unlock", "sandbox", "--version", "--debug")),
        (("validate",), ("--file",)),
        (
            ("plan",),
            ("--file", "--out", "--format", "--detailed-exitcode", "--prune", "--stats"),
        ),
        (("apply",), ("PLANFILE", "--auto-approve", "--max-revokes", "--allow-mass-revoke")),
        (("unlock",), ("LOCK_ID",)),
        (("sandbox",), ("up", "down", "status")),
        (("sandbox", "up"), ("--port", "--seed")),
        (("sandbox", "down"), ()),
        (("sandbox", "status"), ()),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) and v and v[0][0] != "-" else None,
)
def test_help_works_for_every_command(command: tuple[str, ...], words: tuple[str, ...]) -> None:
    proc, _ = run(*command, "--help", env=_base_env())
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and "Traceback" not in proc.stderr
    for word in words:  # argument names are shown in lower case by this typer
        assert word.lower() in proc.stdout.lower(), (command, word)


# --- against a sandbox -----------------------------------------------------------------------


def test_unlock_before_any_apply_says_the_lock_is_not_held(sandbox_server: ServerSandbox) -> None:
    """No apply ever ran, so there is no lock table yet: a plain answer, not a traceback."""
    env = dict(sandbox_server.env, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    proc, _ = run("unlock", "0123456789ab", "-f", str(EXAMPLE), env=env)
    _assert_user_error(proc)
    assert "lock 0123456789ab is not held" in proc.stderr
