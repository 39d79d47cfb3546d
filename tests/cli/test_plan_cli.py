"""`meshctl plan` end to end: the console script against the patched moto server.

Each test gets an emptied server (``sandbox_server``), seeds the producers' source tables of
examples/mesh.yaml and runs meshctl as a subprocess, exactly as a user or CI would. The dummy
credentials are distinctive so a leak into any output or plan file would be found.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import jsonschema
from support.sandbox import ServerSandbox, run_meshctl

from meshctl.planning.plan import Action, Plan
from meshctl.render.markdown import MARKDOWN_MARKER

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
PLAN_SCHEMA = ROOT / "schemas" / "plan.schema.json"

ACCESS_KEY = "AKIAEXAMPLEKEY123456"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1"  # 40 characters, as AWS secrets are
# Any access key id at all (the caller's, or one of an assumed role) must stay out of outputs.
KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
ANSI = re.compile(r"\x1b\[")
EXAMPLE_CREATES = 74  # see tests/integration/test_plan.py for the count by kind
# The summary line of the example's first plan (updates: the lake settings, and the RAM
# invitations new grants send, which resource-link changes accept).
SUMMARY = re.compile(rf"Plan: {EXAMPLE_CREATES} to create, [1-9]\d* to update, 0 to archive/revoke")


def _env(server: ServerSandbox, **extra: str) -> dict[str, str]:
    env = dict(server.env)
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    env.update(extra)
    return env


def meshctl(
    server: ServerSandbox, *args: str, cwd: Path = ROOT, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    proc = run_meshctl(*args, env=_env(server, **extra_env), cwd=cwd, timeout=120)
    _assert_no_secrets(proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert ACCESS_KEY not in text
        assert SECRET_KEY not in text
        assert not KEY_ID.search(text), KEY_ID.search(text)


def _plan_json(server: ServerSandbox) -> dict[str, object]:
    proc = meshctl(server, "plan", "-f", str(EXAMPLE), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_plan_of_an_empty_mesh_exits_2_and_lists_every_create(
    server: ServerSandbox, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    proc = meshctl(server, "plan", "-f", str(EXAMPLE), "--detailed-exitcode", "--out", str(saved))
    assert proc.returncode == 2, proc.stderr
    plan = Plan.from_json(json.loads(saved.read_text()))
    creates = [c.address for c in plan.effective_changes if c.action is Action.CREATE]
    assert len(creates) == EXAMPLE_CREATES
    listed = [line.split()[1] for line in proc.stdout.splitlines() if line.strip()[:2] == "+ "]
    assert sorted(listed) == sorted(creates)
    s = plan.summary
    assert f"Plan: {s['create']} to create, {s['update']} to update, 0 to archive" in proc.stdout
    assert not ANSI.search(proc.stdout)  # not a terminal: no colour codes


def test_plan_without_detailed_exitcode_exits_0_with_changes(server: ServerSandbox) -> None:
    proc = meshctl(server, "plan", "-f", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "to create" in proc.stdout


def test_json_output_validates_against_the_schema(server: ServerSandbox) -> None:
    data = _plan_json(server)
    schema = json.loads(PLAN_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: e.json_path
    )
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors[:5]]

    changes = data["changes"]
    assert isinstance(changes, list)
    counted = Counter(c["action"] for c in changes if c["action"] != "no-op")
    assert data["summary"] == {
        "create": counted["create"],
        "update": counted["update"],
        "delete": counted["delete"],
    }
    assert isinstance(data["summary"], dict)
    assert data["summary"]["create"] == EXAMPLE_CREATES and data["summary"]["delete"] == 0
    assert data["format_version"] == "1"
    assert all(
        {"address", "action", "drift", "before", "after", "reason"} <= c.keys() for c in changes
    )


def test_markdown_output_is_a_pr_comment_without_ansi(server: ServerSandbox) -> None:
    # Even with colour forced (as some CI runners do), the comment carries no escape codes.
    proc = meshctl(
        server, "plan", "-f", str(EXAMPLE), "--format", "markdown", FORCE_COLOR="1", TERM="xterm"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b" not in out
    assert out.lstrip().startswith(MARKDOWN_MARKER)
    assert out.count("<details>") == out.count("</details>") >= 3
    assert "<summary>" in out and "```diff" in out
    assert SUMMARY.search(out), out[:600]


def test_saved_plan_round_trips_and_holds_no_credentials(
    server: ServerSandbox, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    proc = meshctl(server, "plan", "-f", str(EXAMPLE), "--out", str(saved))
    assert proc.returncode == 0, proc.stderr
    assert f"Saved the plan to {saved}" in proc.stderr
    text = saved.read_text()
    _assert_no_secrets(text)
    assert "SecretAccessKey" not in text and "SessionToken" not in text
    data = json.loads(text)
    plan = Plan.from_json(data)
    assert plan.to_json() == data  # nothing lost or added on the way through
    assert Plan.from_json(json.loads(plan.dumps())) == plan
    assert plan.summary["create"] == EXAMPLE_CREATES and plan.summary["delete"] == 0
    assert len(plan.observed_fingerprint) == 64 and len(plan.mesh_file_sha256) == 64


def test_stats_prints_calls_per_service_and_wall_time(server: ServerSandbox) -> None:
    proc = meshctl(server, "plan", "-f", str(EXAMPLE), "--stats")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    for service in ("dynamodb", "glue", "iam", "lakeformation", "ram", "sts"):
        assert re.search(rf"{service}\s.*total\s.*\d", err), service
    assert "ListPermissions" in err and "SearchTables" in err
    assert re.search(r"\d+ AWS calls in \d+\.\d+ s wall time", err), err
    assert "AWS calls" not in proc.stdout  # the plan stays clean on stdout


def test_plan_after_apply_exits_0(server: ServerSandbox) -> None:
    applied = meshctl(server, "apply", "-f", str(EXAMPLE), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    proc = meshctl(server, "plan", "-f", str(EXAMPLE), "--detailed-exitcode")
    assert proc.returncode == 0, proc.stdout
    assert "No changes" in proc.stdout or "0 to create, 0 to update" in proc.stdout
    data = _plan_json(server)
    assert data["summary"] == {"create": 0, "update": 0, "delete": 0}
