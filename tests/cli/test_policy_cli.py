"""`plan --policy DIR` and `apply --policy DIR` end to end: the console script against the
sandbox server (examples/mesh.yaml's producers seeded), and against a port that counts
connections for policy files that are broken ("no AWS call" is then measured)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import jsonschema
import pytest
import yaml
from support.cli import Listener, meshctl
from support.sandbox import ServerSandbox, run_meshctl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
POLICIES = ROOT / "examples" / "policies"
PLAN_SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
MESH = "555555555555"
ACCOUNTS = ("555555555555", "111111111111", "222222222222", "333333333333", "999999999999")


@pytest.fixture
def mesh_file(tmp_path: Path) -> Path:
    path = tmp_path / "mesh.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def with_policies(server: ServerSandbox, mesh_file: Path, *args: str) -> CompletedProcess[str]:
    """``meshctl COMMAND -f MESH --policy examples/policies ARGS`` against the sandbox server."""
    command, *rest = args
    return meshctl(
        server, command, "-f", str(mesh_file), "--policy", str(POLICIES), *rest, cwd=ROOT
    )


def ask_for_all(mesh: Path) -> None:
    """logistics now asks for ALL on sales.orders: no-all-permission forbids it."""
    data = yaml.safe_load(mesh.read_text(encoding="utf-8"))
    sub = next(s for s in data["subscriptions"] if s["consumer"] == "logistics")
    sub["permissions"] = ["ALL"]
    mesh.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def live_state(server: ServerSandbox) -> dict[str, Any]:
    """What apply writes, read back with plain boto3: tables, databases, grants, roles."""
    state: dict[str, Any] = {}
    for account in ACCOUNTS:
        session = server.session(account)
        state[f"{account} dynamodb"] = session.client("dynamodb").list_tables()["TableNames"]
        databases = session.client("glue").get_databases()["DatabaseList"]
        state[f"{account} glue"] = sorted(d["Name"] for d in databases)
        roles = session.client("iam").list_roles()["Roles"]
        state[f"{account} iam"] = sorted(r["RoleName"] for r in roles)
    grants = server.session(MESH).client("lakeformation").list_permissions()
    state["grants"] = sorted(
        json.dumps(g, sort_keys=True) for g in grants["PrincipalResourcePermissions"]
    )
    return state


# --- plan ----------------------------------------------------------------------------------------


def test_plan_of_the_example_passes_its_policies_with_two_warnings(
    server: ServerSandbox, mesh_file: Path
) -> None:
    proc = with_policies(server, mesh_file, "plan")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = lines.index("Policies (4 checked):")
    assert lines[start + 1].startswith("  ! advisory two-owners: product sales.orders: ")
    assert lines[start + 3] == "Policies: 4 checked, 0 mandatory violations, 2 advisory."
    assert lines[-1].startswith("Plan: ")  # the summary line stays last

    as_json = with_policies(server, mesh_file, "plan", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    jsonschema.validate(document, PLAN_SCHEMA)
    report = document["policies"]
    assert report["passed"] is True
    assert len(report["checked"]) == 4
    assert {v["subject"] for v in report["violations"]} == {
        "product sales.orders",
        "product logistics.shipments",
    }


def test_a_mandatory_violation_prints_the_plan_then_exits_1(
    server: ServerSandbox, mesh_file: Path
) -> None:
    ask_for_all(mesh_file)
    saved = mesh_file.parent / "plan.json"
    proc = with_policies(server, mesh_file, "plan", "--out", str(saved))
    assert proc.returncode == 1
    assert "Plan: " in proc.stdout  # the plan itself is shown
    assert (
        "  ✗ mandatory no-all-permission: subscription logistics/sales.orders: "
        "logistics asks for ALL on sales.orders"
    ) in proc.stdout
    assert "Error: the plan violates mandatory policies (1 violation(s) of no-all-permission" in (
        proc.stderr
    )
    recorded = json.loads(saved.read_text(encoding="utf-8"))["policies"]
    assert recorded["passed"] is False
    assert recorded["violations"][0]["policy"] == "no-all-permission"

    markdown = with_policies(server, mesh_file, "plan", "--format", "markdown")
    assert markdown.returncode == 1
    assert "#### Policies" in markdown.stdout and "❌ **mandatory** `no-all-permission`" in (
        markdown.stdout
    )


# --- apply ---------------------------------------------------------------------------------------


def test_apply_refuses_a_violating_plan_and_writes_nothing(
    server: ServerSandbox, mesh_file: Path
) -> None:
    ask_for_all(mesh_file)
    before = live_state(server)
    proc = with_policies(server, mesh_file, "apply", "--auto-approve")
    assert proc.returncode == 1
    assert "no-all-permission" in proc.stdout
    assert "nothing was applied" in proc.stderr
    assert "Apply complete" not in proc.stdout
    after = live_state(server)
    after[f"{MESH} dynamodb"].remove("AwsDataMeshSubscriptions-Locks")  # the (released) lock
    assert after == before


def test_apply_checks_a_saved_plan_again_before_taking_the_lock(
    server: ServerSandbox, mesh_file: Path
) -> None:
    ask_for_all(mesh_file)
    saved = mesh_file.parent / "plan.json"
    made = meshctl(server, "plan", "-f", str(mesh_file), "--out", str(saved), cwd=ROOT)
    assert made.returncode == 0, made.stderr  # made without --policy: nothing recorded
    before = live_state(server)

    refused = meshctl(
        server, "apply", str(saved), "-f", str(mesh_file), "--policy", str(POLICIES), cwd=ROOT
    )
    assert refused.returncode == 1
    assert "no-all-permission: subscription logistics/sales.orders" in refused.stdout
    assert "nothing was applied" in refused.stderr
    assert live_state(server) == before  # not even the lock table

    # The refusal did not use the plan up: without the policies it applies.
    applied = meshctl(server, "apply", str(saved), "-f", str(mesh_file), cwd=ROOT)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete" in applied.stdout


def test_a_saved_plan_that_recorded_a_mandatory_violation_is_refused(
    server: ServerSandbox, mesh_file: Path
) -> None:
    ask_for_all(mesh_file)
    saved = mesh_file.parent / "plan.json"
    with_policies(server, mesh_file, "plan", "--out", str(saved))
    before = live_state(server)
    proc = meshctl(server, "apply", str(saved), "-f", str(mesh_file), cwd=ROOT)
    assert proc.returncode == 1
    assert "nothing was applied" in proc.stderr
    assert live_state(server) == before


# --- broken policy files: an error naming file, line and field, and no AWS call --------------


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEKEY123456",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


BROKEN = {
    "syntax.yaml": (
        "name: bad-cel\nenforcement: mandatory\nfor_each: subscription\n"
        "condition: \"'ALL' in subscription.permissions &&\"\nmessage: x\n",
        ":4: condition: CEL syntax error at line 1, column",
    ),
    "enum.yaml": (
        "name: bad-enum\nenforcement: blocking\nfor_each: subscription\n"
        'condition: "true"\nmessage: x\n',
        ":2: enforcement: 'blocking' is not one of: mandatory, advisory",
    ),
    "field.yaml": (
        "name: bad-field\nenforcement: mandatory\nfor_each: product\n"
        'condition: "size(product.owner) > 1"\nmessage: x\n',
        ":4: condition: product has no field 'owner'; did you mean 'owners'?",
    ),
}


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_broken_policy_file_is_reported_before_any_aws_call(
    tmp_path: Path, listener: Listener, command: str
) -> None:
    for name, (text, _) in BROKEN.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    args = [command, "-f", str(EXAMPLE), "--policy", str(tmp_path)]
    if command == "apply":
        args.append("--auto-approve")
    proc = run_meshctl(*args, env=_env(listener.endpoint), cwd=ROOT, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for name, (_, expected) in BROKEN.items():
        assert f"{tmp_path / name}{expected}" in proc.stderr, proc.stderr
    assert "3 problem(s); nothing was sent to AWS" in proc.stderr
    assert listener.connections() == 0
