"""The helper library's own virtualenv: ``aws-data-mesh-utils`` with the old boto3 it pins.

It cannot share meshctl's environment (it pins boto3 ~1.20), so the compatibility test runs it in
a separate virtualenv at ``<repo>/.venv-helper-library/``, created once per machine and reused
while its marker file names the same requirement and Python. Creation is serialised by a lock
file inside that directory (two pytest runs at once build it only once), bounded by timeouts, and
retried once; a failure raises ``HelperVenvError`` with pip's output, which the test reports as a
failure (never a skip: a missing library would otherwise hide a broken compatibility check).

Usable on its own too: ``python tests/compat/helper_venv.py`` prints the venv's python.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

REQUIREMENT = "aws-data-mesh-utils==1.0.16"
ROOT = Path(__file__).resolve().parents[2]
# MESHCTL_HELPER_VENV moves it (e.g. to a CI cache directory).
VENV_DIR = Path(os.environ.get("MESHCTL_HELPER_VENV") or ROOT / ".venv-helper-library")
MARKER = ".installed"  # written last: its presence means the install completed and was verified
VENV_TIMEOUT = 120  # seconds for `python -m venv` (runs ensurepip)
PIP_TIMEOUT = 300  # seconds for one `pip install` of the library and its dependencies
ATTEMPTS = 2  # one retry: a transient network error should not fail the test run
# Imported after install: the module the driver uses, and the boto3 the library pins.
CHECK = "import boto3, data_mesh_util.lib.SubscriberTracker; print(boto3.__version__)"


class HelperVenvError(RuntimeError):
    """The library's virtualenv could not be created (e.g. PyPI unreachable)."""


def _marker_text() -> str:
    return f"{REQUIREMENT}\npython {sys.version_info.major}.{sys.version_info.minor}\n"


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _clean_env() -> dict[str, str]:
    # The outer virtualenv must not leak into the inner one's installs and imports.
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_USER"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def _run(args: list[str], timeout: int) -> str:
    """Run a command; on failure raise HelperVenvError with its output (stdout and stderr)."""
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, env=_clean_env(), check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise HelperVenvError(f"{' '.join(args)} timed out after {timeout}s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-3000:]
        raise HelperVenvError(f"{' '.join(args)} exited {done.returncode}:\n{output}")
    return done.stdout


def _is_ready(venv: Path) -> bool:
    marker = venv / MARKER
    return (
        _python(venv).exists()
        and marker.exists()
        and marker.read_text(encoding="utf-8") == _marker_text()
    )


def _build(venv: Path) -> None:
    # Without --clear: a half-built venv from an interrupted run is completed, not discarded
    # (and the lock file inside it stays valid while held).
    _run([sys.executable, "-m", "venv", str(venv)], VENV_TIMEOUT)
    pip = [str(_python(venv)), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--timeout", "30", "--retries", "2", REQUIREMENT], PIP_TIMEOUT)
    _run([str(_python(venv)), "-c", CHECK], 60)


def ensure_helper_venv(venv: Path = VENV_DIR) -> Path:
    """The python of a virtualenv holding the library; built on first use, then reused."""
    if _is_ready(venv):
        return _python(venv)
    venv.mkdir(parents=True, exist_ok=True)
    with open(venv / ".lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building it: wait, then reuse
        if _is_ready(venv):
            return _python(venv)
        (venv / MARKER).unlink(missing_ok=True)
        errors = []
        for attempt in range(1, ATTEMPTS + 1):
            try:
                _build(venv)
                break
            except HelperVenvError as exc:
                errors.append(f"attempt {attempt}: {exc}")
        else:
            raise HelperVenvError(
                f"could not install {REQUIREMENT} into {venv} (is PyPI reachable?)\n"
                + "\n".join(errors)
            )
        (venv / MARKER).write_text(_marker_text(), encoding="utf-8")
    return _python(venv)


if __name__ == "__main__":
    print(ensure_helper_venv())
