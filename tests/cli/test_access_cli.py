"""`meshctl access`: who can read what now, on the example mesh, before and after a hand-made grant.

Run as a user runs it (the installed command against the sandbox server); what is checked is what
a reviewer reads: the rows, where each comes from, the problems flagged, and that it writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from support.cli import meshctl
from support.sandbox import ServerSandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SCHEMA = json.loads((ROOT / "schemas" / "access.schema.json").read_text(encoding="utf-8"))
MESH = "555555555555"
MARKETING = "999999999999"
SALES_DB = "sales-111111111111"
REVENUE = "arn:aws:iam::333333333333:role/revenue-reporting"


def access_json(server: ServerSandbox, cwd: Path, *args: str) -> dict[str, Any]:
    proc = meshctl(server, "access", "-f", str(EXAMPLE), "--format", "json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    document: dict[str, Any] = json.loads(proc.stdout)
    Draft202012Validator(SCHEMA).validate(document)
    return document


def rows_by(document: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["principal"], r["database"], r["table"]): r for r in document["rows"]}


def _table(name: str, database: str = SALES_DB) -> dict[str, Any]:
    return {"Table": {"CatalogId": MESH, "DatabaseName": database, "Name": name}}


def test_access_before_and_after_apply_and_a_hand_made_grant(
    server: ServerSandbox, tmp_path: Path
) -> None:
    # Nothing applied yet: every approved subscription is flagged as not live.
    before = access_json(server, tmp_path)
    missing = {(r["who"], r["table"]) for r in before["rows"] if r["problem"]}
    assert ("marketing", "orders") in missing
    assert ("finance (role/revenue-reporting)", "order_lines") in missing
    assert before["problems"] == len(before["rows"]) == 5

    applied = meshctl(server, "apply", "-f", str(EXAMPLE), "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    after = access_json(server, tmp_path)
    assert after["problems"] == 0
    rows = rows_by(after)
    revenue = rows[(REVENUE, SALES_DB, "orders")]
    assert revenue["who"] == "finance (role/revenue-reporting)"
    assert (revenue["source"], revenue["subscription"], revenue["status"]) == (
        "subscription",
        "finance/sales.orders",
        "approved",
    )
    assert revenue["permissions"] == ["DESCRIBE", "SELECT"] and revenue["grantable"] == ["SELECT"]
    assert revenue["expires"] == "2027-12-31"
    assert rows[("111111111111", SALES_DB, "orders")]["source"] == "producer"
    assert ("333333333333", SALES_DB, "orders") not in rows  # the role reads, not the account

    # By hand: an intern role of marketing gets SELECT; marketing's own SELECT is revoked.
    lf = server.session(MESH).client("lakeformation")
    intern = f"arn:aws:iam::{MARKETING}:role/intern"
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": intern},
        Resource=_table("order_lines"),
        Permissions=["SELECT"],
    )
    filter_ = {  # marketing reads EUR orders without customer ids through it (examples/)
        "TableCatalogId": MESH,
        "DatabaseName": SALES_DB,
        "TableName": "orders",
        "Name": f"meshctl-{MARKETING}-sales.orders",
    }
    restricted = [r for r in access_json(server, tmp_path)["rows"] if r["principal"] == MARKETING]
    assert [(r["table"], r["restriction"], r["permissions"]) for r in restricted] == [
        ("orders", "except (customer_id) rows where currency = 'EUR'", ["DESCRIBE", "SELECT"])
    ]
    lf.revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": MARKETING},
        Resource={"DataCellsFilter": filter_},
        Permissions=["SELECT"],
    )
    text = meshctl(
        server, "access", "-f", str(EXAMPLE), "--consumer", "marketing", "--stats", cwd=tmp_path
    )
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert "marketing (role/intern)" in lines
    assert any(
        "sales.orders/order_lines  SELECT  unmanaged" in line
        and "live access with no subscription behind it" in line
        for line in lines
    ), text.stdout
    assert any("approved but not live: missing SELECT" in line for line in lines), text.stdout
    assert "2 problem(s):" in text.stdout
    assert "finance" not in text.stdout  # --consumer marketing
    # Read-only: the call statistics list no write.
    assert "AWS calls" in text.stderr
    for verb in ("Put", "Create", "Grant", "Revoke", "Delete", "Update", "Accept"):
        assert f"│ {verb}" not in text.stderr, text.stderr

    only = access_json(server, tmp_path, "--principal", intern)
    assert [(r["table"], r["source"]) for r in only["rows"]] == [("order_lines", "unmanaged")]
    markdown = meshctl(
        server,
        "access",
        "-f",
        str(EXAMPLE),
        "--product",
        "sales.orders",
        "--format",
        "markdown",
        cwd=tmp_path,
    ).stdout
    assert markdown.startswith("### Who can read what")
    assert "| marketing (role/intern) | sales.orders | order_lines | SELECT |" in markdown
    assert "logistics.shipments" not in markdown


def test_unknown_consumer_is_a_clear_error_before_any_aws_call(
    server: ServerSandbox, tmp_path: Path
) -> None:
    proc = meshctl(server, "access", "-f", str(EXAMPLE), "--consumer", "marketin", cwd=tmp_path)
    assert proc.returncode == 1
    assert "--consumer: no account named 'marketin'" in proc.stderr
    bad = meshctl(server, "access", "-f", str(EXAMPLE), "--format", "yaml", cwd=tmp_path)
    assert bad.returncode == 1 and "--format: 'yaml'" in bad.stderr
