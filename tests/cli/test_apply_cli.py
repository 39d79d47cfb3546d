"""`meshctl apply` and `meshctl unlock` end to end: the console script against the moto server.

Each test gets an emptied server (``sandbox_server``) with the producers' source tables of
examples/mesh.yaml seeded, and runs meshctl as a subprocess without a terminal (stdin is not a
TTY), exactly as CI would. Outcomes are checked as a user sees them: exit codes, the summary
line, error messages, and the live mesh read back with plain boto3.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.cli import meshctl
from support.sandbox import ServerSandbox

from meshctl.aws.lock import LockTable
from meshctl.ids import subscription_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"

MESH = "555555555555"
MARKETING = "999999999999"
SALES_DB = "sales-111111111111"
TABLE = "AwsDataMeshSubscriptions"
LOCKS = f"{TABLE}-Locks"


@pytest.fixture
def mesh_file(tmp_path: Path) -> Path:
    path = tmp_path / "mesh.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def effective_changes(server: ServerSandbox, mesh: Path) -> int:
    proc = meshctl(server, "plan", "-f", str(mesh), "--format", "json", cwd=mesh.parent)
    assert proc.returncode == 0, proc.stderr
    plan: dict[str, Any] = json.loads(proc.stdout)
    return sum(1 for c in plan["changes"] if c["action"] != "no-op")


def plan_exit(server: ServerSandbox, mesh: Path) -> int:
    """`plan --detailed-exitcode`: 0 when AWS matches the file, 2 when there are changes."""
    return meshctl(
        server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=mesh.parent
    ).returncode


def status_of(server: ServerSandbox, consumer_id: str, product: str) -> str | None:
    """The live record's Status; None when there is no record (or no table yet)."""
    ddb = server.session(MESH).client("dynamodb")
    if TABLE not in ddb.list_tables()["TableNames"]:
        return None
    key = {"SubscriptionId": {"S": subscription_id(consumer_id, product)}}
    item = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item")
    return item["Status"]["S"] if item else None


def edit(mesh: Path, consumer: str, product: str, **fields: Any) -> None:
    data = yaml.safe_load(mesh.read_text(encoding="utf-8"))
    sub = next(
        s for s in data["subscriptions"] if (s["consumer"], s["product"]) == (consumer, product)
    )
    sub.update(fields)
    mesh.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def remove_subscriptions(mesh: Path, product: str) -> None:
    data = yaml.safe_load(mesh.read_text(encoding="utf-8"))
    data["subscriptions"] = [s for s in data["subscriptions"] if s["product"] != product]
    mesh.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def auto_apply(server: ServerSandbox, mesh: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return meshctl(server, "apply", "-f", str(mesh), "--auto-approve", *extra, cwd=mesh.parent)


# --- apply ---------------------------------------------------------------------------------------


def test_apply_auto_approve_applies_everything_and_prints_the_summary(
    server: ServerSandbox, mesh_file: Path
) -> None:
    n = effective_changes(server, mesh_file)
    assert n > 50

    proc = auto_apply(server, mesh_file)
    assert proc.returncode == 0, proc.stderr
    assert f"Apply complete: {n} done, 0 failed, 0 skipped." in proc.stdout
    assert status_of(server, MARKETING, "sales.orders") == "Active"
    assert plan_exit(server, mesh_file) == 0

    # Applying again: nothing to do, said plainly, exit 0.
    again = auto_apply(server, mesh_file)
    assert again.returncode == 0, again.stderr
    assert "No changes. AWS matches mesh.yaml." in again.stdout
    assert "Apply complete" not in again.stdout


def test_apply_without_a_terminal_and_without_auto_approve_refuses(
    server: ServerSandbox, mesh_file: Path
) -> None:
    proc = meshctl(server, "apply", "-f", str(mesh_file), cwd=mesh_file.parent)
    assert proc.returncode == 1
    assert "apply needs confirmation" in proc.stderr and "--auto-approve" in proc.stderr
    assert "Apply complete" not in proc.stdout
    # Nothing changed: no subscription table, no mesh database, the plan still has everything;
    # the lock was released (the next apply is not blocked).
    tables = server.session(MESH).client("dynamodb").list_tables()["TableNames"]
    assert TABLE not in tables
    assert server.session(MESH).client("glue").get_databases()["DatabaseList"] == []
    assert plan_exit(server, mesh_file) == 2
    assert auto_apply(server, mesh_file).returncode == 0


def test_a_saved_plan_is_applied_then_refused_the_second_time(
    server: ServerSandbox, mesh_file: Path
) -> None:
    cwd = mesh_file.parent
    saved = cwd / "p.json"
    proc = meshctl(server, "plan", "-f", str(mesh_file), "--out", str(saved), cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    n = sum(1 for c in json.loads(saved.read_text())["changes"] if c["action"] != "no-op")

    first = meshctl(server, "apply", str(saved), "-f", str(mesh_file), cwd=cwd)
    assert first.returncode == 0, first.stderr  # a saved plan needs no confirmation
    assert f"Apply complete: {n} done, 0 failed, 0 skipped." in first.stdout
    assert plan_exit(server, mesh_file) == 0

    second = meshctl(server, "apply", str(saved), "-f", str(mesh_file), cwd=cwd)
    assert second.returncode == 1
    assert "Error:" in second.stderr and "nothing was changed" in second.stderr
    assert "Apply complete" not in second.stdout

    # A plan of no changes still matches the live state: the ledger refuses its second use.
    quiet = cwd / "q.json"
    assert (
        meshctl(server, "plan", "-f", str(mesh_file), "--out", str(quiet), cwd=cwd).returncode == 0
    )
    assert meshctl(server, "apply", str(quiet), "-f", str(mesh_file), cwd=cwd).returncode == 0
    again = meshctl(server, "apply", str(quiet), "-f", str(mesh_file), cwd=cwd)
    assert again.returncode == 1
    plan_id = json.loads(quiet.read_text())["plan_id"]
    assert f"plan {plan_id} was already applied" in again.stderr


def test_a_stale_saved_plan_is_refused_and_changes_nothing(
    server: ServerSandbox, mesh_file: Path
) -> None:
    cwd = mesh_file.parent
    assert auto_apply(server, mesh_file).returncode == 0
    edit(
        mesh_file,
        "marketing",
        "logistics.shipments",
        status="approved",
        approved_by="logistics-data@example.com",
    )
    saved = cwd / "p.json"
    assert (
        meshctl(server, "plan", "-f", str(mesh_file), "--out", str(saved), cwd=cwd).returncode == 0
    )

    # Someone revokes a grant by hand between plan and apply.
    server.session(MESH).client("lakeformation").revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": MARKETING},
        Resource={"Table": {"CatalogId": MESH, "DatabaseName": SALES_DB, "Name": "orders"}},
        Permissions=["DESCRIBE"],  # the example restricts marketing's rows: DESCRIBE is the table's
    )
    proc = meshctl(server, "apply", str(saved), "-f", str(mesh_file), cwd=cwd)
    assert proc.returncode == 1
    assert "plan is stale" in proc.stderr and "nothing was changed" in proc.stderr
    assert status_of(server, MARKETING, "logistics.shipments") == "Pending"


# --- the lock ------------------------------------------------------------------------------------


def test_a_held_lock_refuses_apply_and_unlock_releases_it(
    server: ServerSandbox, mesh_file: Path
) -> None:
    cwd = mesh_file.parent
    locks = LockTable(server.session(MESH).client("dynamodb"), LOCKS)
    locks.ensure()
    held = locks.acquire("ci-run-7 on runner-3 pid 4242", "apply")

    refused = auto_apply(server, mesh_file)
    assert refused.returncode == 1
    assert "another apply holds the lock: ci-run-7 on runner-3 pid 4242 (apply)" in refused.stderr
    assert f"meshctl unlock {held.lock_id}" in refused.stderr
    assert status_of(server, MARKETING, "sales.orders") is None  # nothing was applied

    released = meshctl(server, "unlock", held.lock_id, "-f", str(mesh_file), cwd=cwd)
    assert released.returncode == 0, released.stderr
    assert f"Released lock {held.lock_id}." in released.stdout
    twice = meshctl(server, "unlock", held.lock_id, "-f", str(mesh_file), cwd=cwd)
    assert twice.returncode == 1 and "is not held" in twice.stderr

    assert auto_apply(server, mesh_file).returncode == 0
    assert status_of(server, MARKETING, "sales.orders") == "Active"
    assert locks.current() is None


# --- --max-revokes ------------------------------------------------------------------------------


def test_max_revokes_refuses_until_allowed(server: ServerSandbox, mesh_file: Path) -> None:
    assert auto_apply(server, mesh_file).returncode == 0
    # 8 grants revoked + 3 records archived + 3 consumer links deleted: one count, everywhere.
    remove_subscriptions(mesh_file, "sales.orders")
    planned = meshctl(server, "plan", "-f", str(mesh_file), cwd=mesh_file.parent)
    assert "17 to archive/revoke (17 toward --max-revokes)." in planned.stdout

    refused = auto_apply(server, mesh_file, "--max-revokes", "5")
    assert refused.returncode == 1
    assert "takes away 17" in refused.stderr and "--max-revokes 5" in refused.stderr
    assert "Apply complete" not in refused.stdout
    assert status_of(server, MARKETING, "sales.orders") == "Active"

    allowed = auto_apply(server, mesh_file, "--max-revokes", "5", "--allow-mass-revoke")
    assert allowed.returncode == 0, allowed.stderr
    assert "Apply complete: 17 done, 0 failed, 0 skipped." in allowed.stdout
    assert status_of(server, MARKETING, "sales.orders") == "Deleted"
    assert plan_exit(server, mesh_file) == 0


def test_a_saved_plan_refused_by_max_revokes_can_be_applied_with_allow_mass_revoke(
    server: ServerSandbox, mesh_file: Path
) -> None:
    cwd = mesh_file.parent
    assert auto_apply(server, mesh_file).returncode == 0
    remove_subscriptions(mesh_file, "sales.orders")
    saved = cwd / "p.json"
    assert (
        meshctl(server, "plan", "-f", str(mesh_file), "--out", str(saved), cwd=cwd).returncode == 0
    )

    refused = meshctl(
        server, "apply", str(saved), "-f", str(mesh_file), "--max-revokes", "5", cwd=cwd
    )
    assert refused.returncode == 1 and "--max-revokes 5" in refused.stderr

    allowed = meshctl(
        server, "apply", str(saved), "-f", str(mesh_file), "--allow-mass-revoke", cwd=cwd
    )
    assert allowed.returncode == 0, allowed.stderr
    assert status_of(server, MARKETING, "sales.orders") == "Deleted"
