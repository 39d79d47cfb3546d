"""Commands load only what they use: the sandbox (moto) only for `meshctl sandbox`, AWS (boto3)
only for commands that reach AWS. `meshctl validate` in a pre-commit hook starts without either,
and meshctl installed without the `sandbox` extra says what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml"


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )


def test_validate_loads_neither_boto3_nor_moto() -> None:
    done = _run(
        "import sys\n"
        "from meshctl.cli.app import main\n"
        f"sys.argv = ['meshctl', 'validate', '-f', {str(EXAMPLE)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('exit', code, 'boto3', 'boto3' in sys.modules, 'moto', 'moto' in sys.modules)\n"
    )
    assert "valid" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "exit 0 boto3 False moto False"


def test_sandbox_without_moto_says_what_to_install() -> None:
    done = _run(
        "import sys\n"
        "sys.modules['moto'] = None  # an installation without the sandbox extra\n"
        "from meshctl.cli.app import main\n"
        "sys.argv = ['meshctl', 'sandbox', 'status']\n"
        "main()\n"
    )
    assert done.returncode == 1
    assert "pip install 'meshctl[sandbox]'" in done.stderr
    assert "Traceback" not in done.stderr
