"""A declared source that does not exist is held, never shown as applied (issue 13, section 1).

Each test runs the console script against the moto server with the example's source tables
seeded, adds a product or subscription whose source is missing, and checks what a user sees (the
plan's Held section, the summary line, exit codes) and, with plain boto3, what apply left in AWS:
no empty mesh database, no grant and no record for what is held, everything else applied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from support.cli import meshctl
from support.sandbox import ServerSandbox

from meshctl.ids import subscription_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
MESH = "555555555555"
SALES = "111111111111"
MARKETING = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
LOYALTY_DB = "loyalty-111111111111"


def _mesh(tmp_path: Path, **product: Any) -> Path:
    """The example plus product ``sales.loyalty`` (source ``loyalty``, which is not seeded) and an
    approved subscription of marketing to it."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["products"]["sales.loyalty"] = {
        "producer": "sales",
        "source_database": "loyalty",
        "tables": ["points"],
        "owners": ["sales-data-owners@example.com"],
        **product,
    }
    data["subscriptions"].append(
        {
            "consumer": "marketing",
            "product": "sales.loyalty",
            "permissions": ["SELECT"],
            "status": "approved",
            "approved_by": "sales-data-owners@example.com",
        }
    )
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _record(server: ServerSandbox, consumer_id: str, product: str) -> dict[str, Any] | None:
    ddb = server.session(MESH).client("dynamodb")
    key = {"SubscriptionId": {"S": subscription_id(consumer_id, product)}}
    item: dict[str, Any] | None = ddb.get_item(TableName=TABLE, Key=key).get("Item")
    return item


def _mesh_databases(server: ServerSandbox) -> set[str]:
    glue = server.session(MESH).client("glue")
    return {d["Name"] for d in glue.get_databases()["DatabaseList"]}


def _grants_to(server: ServerSandbox, principal: str, database: str) -> list[dict[str, Any]]:
    lf = server.session(MESH).client("lakeformation")
    entries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:  # ListPermissions takes a Principal only together with a Resource
        page = lf.list_permissions(**kwargs)
        entries += page["PrincipalResourcePermissions"]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    out = []
    for entry in entries:
        if entry["Principal"]["DataLakePrincipalIdentifier"] != principal:
            continue
        resource = entry["Resource"]
        names = {
            resource.get("Database", {}).get("Name"),
            resource.get("Table", {}).get("DatabaseName"),
        }
        if database in names:
            out.append(entry)
    return out


def test_a_missing_source_database_is_held_in_the_plan_and_never_reported_as_no_changes(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = _mesh(tmp_path)
    proc = meshctl(server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Held (declared but missing in AWS; apply adds no access for these):" in proc.stdout
    assert (
        "product sales.loyalty: table loyalty.points not found in account 111111111111"
        in proc.stdout
    )
    assert "subscription marketing/sales.loyalty" not in proc.stdout  # nothing planned for it
    assert "1 held: declared but missing in AWS" in proc.stdout

    proc = meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The rest of the mesh is applied; the held product got nothing at all.
    assert "sales-111111111111" in _mesh_databases(server)
    assert LOYALTY_DB not in _mesh_databases(server)
    assert _grants_to(server, MARKETING, LOYALTY_DB) == []
    assert _record(server, MARKETING, "sales.loyalty") is None
    assert _record(server, MARKETING, "sales.orders") is not None

    # Next plan: still held, still not "No changes", still exit 2 while the source is missing.
    proc = meshctl(server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=tmp_path)
    assert proc.returncode == 2
    assert "No changes" not in proc.stdout
    assert "Plan: 0 to create, 0 to update, 0 to archive/revoke. 1 held" in proc.stdout

    # The producer creates the source: the product and its subscription are applied.
    glue = server.session(SALES).client("glue")
    glue.create_database(DatabaseInput={"Name": "loyalty"})
    glue.create_table(
        DatabaseName="loyalty",
        TableInput={
            "Name": "points",
            "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}]},
        },
    )
    proc = meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Held" not in proc.stdout
    record = _record(server, MARKETING, "sales.loyalty")
    assert record is not None and record["Status"]["S"] == "Active"
    assert any("SELECT" in g["Permissions"] for g in _grants_to(server, MARKETING, LOYALTY_DB))
    proc = meshctl(server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=tmp_path)
    assert proc.returncode == 0 and "No changes. AWS matches mesh.yaml." in proc.stdout


def test_a_subscription_to_a_table_a_star_product_does_not_have_is_held(
    server: ServerSandbox, tmp_path: Path
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["products"]["sales.orders"]["tables"] = ["*"]
    data["subscriptions"][0]["tables"] = ["orders", "refunds"]  # marketing → sales.orders
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    proc = meshctl(server, "plan", "-f", str(mesh), "--format", "json", cwd=tmp_path)
    plan = json.loads(proc.stdout)
    assert plan["held"] == [
        {
            "subject": "subscription marketing/sales.orders",
            "account_id": SALES,
            "missing": ["table sales.refunds"],
        }
    ]
    proc = meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # No record claims access to a table that does not exist; the other consumers are served.
    assert _record(server, MARKETING, "sales.orders") is None
    assert _grants_to(server, MARKETING, "sales-111111111111") == []
    record = _record(server, "222222222222", "sales.orders")
    assert record is not None and record["Status"]["S"] == "Active"


def test_strict_makes_warnings_and_held_products_errors_before_any_write(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = _mesh(tmp_path)
    proc = meshctl(server, "plan", "-f", str(mesh), "--strict", cwd=tmp_path)
    assert proc.returncode == 1
    assert "product sales.loyalty: table loyalty.points not found" in proc.stdout
    assert "Error: --strict: the plan has" in proc.stderr and "1 held item(s)" in proc.stderr

    proc = meshctl(server, "apply", "-f", str(mesh), "--auto-approve", "--strict", cwd=tmp_path)
    assert proc.returncode == 1
    assert "nothing was applied" in proc.stderr
    assert _mesh_databases(server) == set()  # not even the rest of the mesh


def test_a_source_table_dropped_after_apply_keeps_the_live_copy_and_access(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path).returncode == 0
    server.session(SALES).client("glue").delete_table(DatabaseName="sales", Name="orders")

    proc = meshctl(server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=tmp_path)
    # The copy in the mesh still serves the consumers: a warning, no revoke, nothing held.
    assert "source table sales.orders not found in producer account 111111111111" in proc.stdout
    assert "keeps serving the last copy" in proc.stdout
    assert "revoke" not in proc.stdout and "Held" not in proc.stdout
    assert proc.returncode == 0
