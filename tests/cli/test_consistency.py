"""Commands that behave alike (issue 13, section 6): the mesh file as an argument, `--debug`
anywhere, `.yml` files in a mesh directory, one problem per mistake with a suggestion, bad option
values worded like every other error, and `import` of an account that holds no mesh.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.sandbox import ServerSandbox, run_meshctl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
MESH_D = ROOT / "tests" / "data" / "valid" / "mesh.d"
CLOSED = "http://127.0.0.1:9"  # discard port: any AWS call would fail loudly


def offline(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script with AWS pointed at a closed port: input errors must not reach it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(AWS_ENDPOINT_URL=CLOSED, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    return run_meshctl(*args, env=env, cwd=cwd)


def test_plan_and_apply_take_the_mesh_file_as_their_argument(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = tmp_path / "team.yaml"
    mesh.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    planned = run_meshctl("plan", "team.yaml", env=server.env, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert "Plan: 74 to create, 4 to update, 0 to archive/revoke." in planned.stdout
    applied = run_meshctl("apply", "team.yaml", "--auto-approve", env=server.env, cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 78 done, 0 failed, 0 skipped." in applied.stdout
    again = run_meshctl("plan", "team.yaml", env=server.env, cwd=tmp_path)
    assert "No changes. AWS matches team.yaml." in again.stdout


def test_apply_of_something_that_is_not_a_plan_explains_minus_f(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    proc = offline("apply", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 1
    assert "notes.txt: not a readable meshctl plan" in proc.stderr
    assert "meshctl apply -f mesh.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_is_accepted_after_the_command(tmp_path: Path) -> None:
    quiet = offline("validate", "missing.yaml", cwd=tmp_path)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert "missing.yaml: no such file" in quiet.stderr
    loud = offline("validate", "missing.yaml", "--debug", cwd=tmp_path)
    assert loud.returncode == 1 and "Traceback" in loud.stderr


def test_yml_files_of_a_mesh_directory_are_read(tmp_path: Path) -> None:
    mesh_d = tmp_path / "mesh.d"
    mesh_d.mkdir()
    for source in MESH_D.iterdir():
        suffix = ".yml" if source.name == "logistics.yaml" else ".yaml"
        (mesh_d / f"{source.stem}{suffix}").write_text(source.read_text(encoding="utf-8"))
    as_yaml = offline("validate", str(MESH_D), cwd=tmp_path)
    with_yml = offline("validate", str(mesh_d), cwd=tmp_path)
    assert as_yaml.returncode == with_yml.returncode == 0, with_yml.stderr
    assert as_yaml.stdout.split(": valid")[1] == with_yml.stdout.split(": valid")[1]


def test_one_misspelt_value_is_one_problem_with_a_suggestion(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    first = text.index("permissions: [SELECT, DESCRIBE]")
    bad = text[:first] + "permissions: [select, DESCRIBE]" + text[first + 31 :]
    bad = bad.replace("    status: approved", "    status: aproved", 1)
    (tmp_path / "mesh.yaml").write_text(bad, encoding="utf-8")
    proc = offline("validate", cwd=tmp_path)
    assert proc.returncode == 1
    problems = [line for line in proc.stderr.splitlines() if line.startswith("mesh.yaml:")]
    assert len(problems) == 2, proc.stderr
    assert "'select' is not one of:" in problems[0] and "did you mean 'SELECT'?" in problems[0]
    assert "did you mean 'approved'?" in problems[1]
    assert "Error: 2 problem(s); nothing was sent to AWS" in proc.stderr


def test_a_bad_format_reads_like_every_other_error(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    proc = offline("plan", "--format", "xml", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "Error: --format: 'xml' is not one of 'text', 'markdown', 'json'."
    )


def test_import_of_an_account_without_a_mesh_fails_and_writes_nothing(
    sandbox_server: ServerSandbox, tmp_path: Path
) -> None:
    out = tmp_path / "imported.yaml"
    proc = run_meshctl(
        "import",
        "--mesh-account-id",
        "555555555555",
        "--region",
        "us-east-1",
        "--out",
        str(out),
        env=sandbox_server.env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "account 555555555555 (us-east-1) holds no mesh" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
