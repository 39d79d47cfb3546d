"""`meshctl request|approve|deny|revoke` end to end (issue 18): the console script edits a
commented mesh file (or the right file of a mesh.d/), `meshctl validate` passes on the result, and
`meshctl plan` against the sandbox shows exactly that subscription's change. Every refused edit
exits 1 with a message, no traceback, and the file unchanged to the byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.sandbox import ServerSandbox, run_meshctl

from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec

MARKETING = "999999999999"
FINANCE = "333333333333"

# A commented mesh: one product, one approved and one pending subscription.
MESH = """\
# yaml-language-server: $schema=../schemas/mesh.schema.json
version: 1

mesh:
  account_id: "555555555555"   # quoted: a number would lose leading zeros
  region: us-east-1

accounts:
  sales: {account_id: '111111111111', roles: [producer]}
  marketing:
    account_id: "999999999999"
    roles: [consumer]
  finance:
    account_id: "333333333333"
    roles: [ consumer ]
  analytics:
    account_id: "444444444444"
    roles: [consumer] # subscribes to nothing yet

products:
  sales.orders:
    producer: sales
    source_database: sales
    tables: [orders, order_lines]
    owners: ["owner@example.com", 'deputy@example.com']
    tags: { Domain: Sales }   # flow mapping, spaced

# Who reads what.
subscriptions:
  - consumer: marketing
    product: "sales.orders"
    tables: [orders]
    permissions: [ SELECT ]
    status: 'pending'   # waiting for the owner
    purpose: "campaign attribution"

  - consumer: finance
    product: sales.orders
    permissions:
      - SELECT
    status: approved
    approved_by: "owner@example.com" # approved in review 7

# end of file
"""


def edit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = run_meshctl(*args, cwd=cwd, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def mesh(tmp_path: Path) -> Path:
    path = tmp_path / "mesh.yaml"
    path.write_text(MESH, encoding="utf-8")
    return path


def _plan(server: ServerSandbox, mesh: Path) -> list[dict[str, Any]]:
    proc = run_meshctl("plan", "-f", str(mesh), "--format", "json", env=server.env, cwd=mesh.parent)
    assert proc.returncode == 0, proc.stderr
    return [c for c in json.loads(proc.stdout)["changes"] if c["action"] != "no-op"]


DB = "sales-111111111111"
GRANT = "grant.{}/{}:555555555555:" + DB
APPROVED_MARKETING = MESH.replace(
    "    status: 'pending'   # waiting for the owner\n",
    "    status: 'approved'  # waiting for the owner\n    approved_by: deputy@example.com\n",
)
FINANCE_LINES = (
    "  - consumer: finance\n    product: sales.orders\n    permissions:\n      - SELECT\n"
    '    status: approved\n    approved_by: "owner@example.com" # approved in review 7\n'
)
FINANCE_GONE = {
    GRANT.format(FINANCE, "database"): "delete",
    GRANT.format(FINANCE, "table") + ".orders": "delete",
    GRANT.format(FINANCE, "table") + ".order_lines": "delete",
    f"resource_link.{FINANCE}/{DB}": "delete",
}
# (command, the file afterwards, the plan afterwards: address → action)
CASES = {
    "approve": (
        ["approve", "marketing/sales.orders", "--by", "deputy@example.com"],
        APPROVED_MARKETING,
        {
            GRANT.format(MARKETING, "database"): "create",
            GRANT.format(MARKETING, "table") + ".orders": "create",
            f"resource_link.{MARKETING}/{DB}": "create",
            "subscription.marketing/sales.orders": "update",
        },
    ),
    "deny": (
        ["deny", "finance/sales.orders"],
        MESH.replace(
            FINANCE_LINES,
            FINANCE_LINES.replace("approved\n", "denied\n").replace(
                '    approved_by: "owner@example.com" # approved in review 7\n', ""
            ),
        ),
        {**FINANCE_GONE, "subscription.finance/sales.orders": "update"},
    ),
    "revoke": (
        ["revoke", "finance/sales.orders"],
        MESH.replace("\n" + FINANCE_LINES, ""),
        {**FINANCE_GONE, "subscription.finance/sales.orders": "delete"},
    ),
    "request": (
        [
            *("request", "--consumer", "analytics", "--product", "sales.orders"),
            *("--permissions", "SELECT,DESCRIBE", "--tables", "orders"),
            *("--purpose", "churn model", "--expires", "2031-01-31"),
        ],
        MESH.replace(
            FINANCE_LINES,
            FINANCE_LINES
            + "  - consumer: analytics\n    product: sales.orders\n    tables: [orders]\n"
            "    permissions: [SELECT, DESCRIBE]\n    status: pending\n"
            "    purpose: churn model\n    expires: 2031-01-31\n",
        ),
        {"subscription.analytics/sales.orders": "create"},
    ),
}


def test_each_edit_validates_and_plans_exactly_its_subscription(
    sandbox_server: ServerSandbox, tmp_path: Path
) -> None:
    applied = tmp_path / "applied" / "mesh.yaml"
    applied.parent.mkdir()
    applied.write_text(MESH, encoding="utf-8")
    seed_producers(load_spec(applied), sandbox_server.session)
    done = run_meshctl("apply", "-f", str(applied), "--auto-approve", env=sandbox_server.env)
    assert done.returncode == 0, done.stdout + done.stderr
    for name, (args, text, changes) in CASES.items():
        mesh = tmp_path / name / "mesh.yaml"
        mesh.parent.mkdir()
        mesh.write_text(MESH, encoding="utf-8")
        proc = edit(*args, "-f", str(mesh), cwd=mesh.parent)
        assert proc.returncode == 0, proc.stderr
        assert mesh.read_text(encoding="utf-8") == text, name
        assert edit("validate", str(mesh), cwd=mesh.parent).returncode == 0
        planned = {c["address"]: c["action"] for c in _plan(sandbox_server, mesh)}
        assert planned == changes, name


def test_request_says_who_approves_it(mesh: Path) -> None:
    proc = edit(
        "request",
        "--consumer",
        "analytics",
        "--product",
        "sales.orders",
        "--permissions",
        "SELECT",
        cwd=mesh.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert "owner@example.com, deputy@example.com" in proc.stdout
    assert "meshctl approve analytics/sales.orders --by OWNER" in proc.stdout


def test_dry_run_prints_the_diff_and_writes_nothing(mesh: Path) -> None:
    proc = edit(
        "approve",
        "marketing/sales.orders",
        "--by",
        "deputy@example.com",
        "--dry-run",
        cwd=mesh.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == ["--- a/mesh.yaml", "+++ b/mesh.yaml"]
    changed = [line for line in proc.stdout.splitlines()[2:] if line[:1] in "+-"]
    assert changed == [
        "-    status: 'pending'   # waiting for the owner",
        "+    status: 'approved'  # waiting for the owner",
        "+    approved_by: deputy@example.com",
    ]
    assert "nothing was written" in proc.stderr
    assert mesh.read_text(encoding="utf-8") == MESH


def test_a_decision_already_made_changes_nothing(mesh: Path) -> None:
    proc = edit("approve", "finance/sales.orders", "--by", "owner@example.com", cwd=mesh.parent)
    assert proc.returncode == 0
    assert "approved by owner@example.com already; nothing to change" in proc.stderr
    assert mesh.read_text(encoding="utf-8") == MESH


REQUEST = ["request", "--consumer", "analytics", "--product", "sales.orders"]
REFUSED = {
    "duplicate request": (
        [
            "request",
            "--consumer",
            "marketing",
            "--product",
            "sales.orders",
            "--permissions",
            "SELECT",
        ],
        "marketing/sales.orders is already in the mesh (mesh.yaml:30, pending)",
    ),
    "unknown product": (
        [
            "request",
            "--consumer",
            "analytics",
            "--product",
            "sales.order",
            "--permissions",
            "SELECT",
        ],
        "--product: unknown product 'sales.order' (did you mean 'sales.orders'?)",
    ),
    "unknown consumer": (
        [
            "request",
            "--consumer",
            "analytic",
            "--product",
            "sales.orders",
            "--permissions",
            "SELECT",
        ],
        "--consumer: unknown account 'analytic' (did you mean 'analytics'?)",
    ),
    "not a consumer account": (
        ["request", "--consumer", "sales", "--product", "sales.orders", "--permissions", "SELECT"],
        "subscriptions[2].consumer: account 'sales' is not a consumer (roles: producer)",
    ),
    "bad permission": (
        [*REQUEST, "--permissions", "SELECT,describe"],
        "--permissions: 'describe' is not one of ALL, SELECT, ALTER, DROP, DELETE, INSERT, "
        "DESCRIBE; did you mean 'DESCRIBE'?",
    ),
    "bad date": (
        [*REQUEST, "--permissions", "SELECT", "--expires", "2031-02-30"],
        "--expires '2031-02-30' is not a date (YYYY-MM-DD)",
    ),
    "table the product lacks": (
        [*REQUEST, "--permissions", "SELECT", "--tables", "orders,invoices"],
        "subscriptions[2].tables[1]: 'invoices' is not a table of 'sales.orders'",
    ),
    "approver not an owner": (
        ["approve", "marketing/sales.orders", "--by", "intern@example.com"],
        "--by 'intern@example.com' is not an owner of 'sales.orders' (owners: "
        "owner@example.com, deputy@example.com)",
    ),
    "approve without --by": (["approve", "marketing/sales.orders"], "--by: required"),
    "unknown subscription": (
        ["deny", "analytics/sales.orders"],
        "unknown subscription 'analytics/sales.orders'",
    ),
    "not CONSUMER/PRODUCT": (["revoke", "marketing"], "'marketing' is not CONSUMER/PRODUCT"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_edit_exits_1_and_writes_nothing(case: str, mesh: Path) -> None:
    args, message = REFUSED[case]
    proc = edit(*args, cwd=mesh.parent)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stderr
    assert "Error:" in proc.stderr
    assert mesh.read_text(encoding="utf-8") == MESH
    assert sorted(p.name for p in mesh.parent.iterdir()) == ["mesh.yaml"]  # no leftover file


def test_an_invalid_request_with_dry_run_still_shows_its_diff(mesh: Path) -> None:
    proc = edit(
        "request",
        "--consumer",
        "sales",
        "--product",
        "sales.orders",
        "--permissions",
        "SELECT",
        "--dry-run",
        cwd=mesh.parent,
    )
    assert proc.returncode == 1
    assert "+  - consumer: sales" in proc.stdout
    assert "would make the mesh invalid; nothing was written" in proc.stderr
    assert mesh.read_text(encoding="utf-8") == MESH


DIRECTORY = {
    "00-mesh.yaml": MESH[: MESH.index("products:")],
    "sales.yaml": "# the sales team's file\n" + MESH[MESH.index("products:") :],
    "logistics.yaml": (
        "# the logistics team's file: no subscriptions yet\nproducts:\n"
        "  logistics.shipments:\n    producer: sales\n    source_database: logistics\n"
        "    tables: [shipments]\n    owners: [logistics-data@example.com]\n"
    ),
}


def test_in_mesh_d_each_edit_goes_to_the_file_that_holds_the_product(tmp_path: Path) -> None:
    folder = tmp_path / "mesh.d"
    folder.mkdir()
    for name, text in DIRECTORY.items():
        (folder / name).write_text(text, encoding="utf-8")
    request = ["request", "--consumer", "marketing", "--product", "logistics.shipments"]
    proc = edit(*request, "--permissions", "SELECT", "-f", "mesh.d", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{Path('mesh.d') / 'logistics.yaml'}: requested")
    assert (folder / "logistics.yaml").read_text() == DIRECTORY["logistics.yaml"] + (
        "\nsubscriptions:\n  - consumer: marketing\n    product: logistics.shipments\n"
        "    permissions: [SELECT]\n    status: pending\n"
    )
    approve = ["approve", "marketing/sales.orders", "--by", "deputy@example.com"]
    assert edit(*approve, "-f", "mesh.d", cwd=tmp_path).returncode == 0
    sales = "# the sales team's file\n" + APPROVED_MARKETING[MESH.index("products:") :]
    assert (folder / "sales.yaml").read_text() == sales
    assert (folder / "00-mesh.yaml").read_text() == DIRECTORY["00-mesh.yaml"]
    assert edit("validate", "mesh.d", cwd=tmp_path).returncode == 0
