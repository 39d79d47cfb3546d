"""The plan a reviewer reads (issue 13, section 2): access changes in people's terms first, true
reasons in the file's words, and the mesh file named as given.

Each test runs the console script against the moto server with the example's source tables, as a
reviewer would read it in a terminal or a pull-request comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from support.cli import meshctl
from support.sandbox import ServerSandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"


def _edit(path: Path, consumer: str, product: str, **fields: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sub = next(
        s for s in data["subscriptions"] if s["consumer"] == consumer and s["product"] == product
    )
    sub.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _access_section(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index("Access changes:")
    end = lines.index("", start)
    return [line.strip().removeprefix("• ") for line in lines[start + 1 : end]]


def test_a_new_mesh_is_summarised_per_subscription_before_the_grant_lines(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    out = meshctl(server, "plan", "-f", str(mesh), cwd=tmp_path).stdout
    assert out.splitlines()[0] == "Access changes:"
    access = _access_section(out)
    # marketing's subscription is restricted: DESCRIBE on the table, SELECT on its rows.
    assert "marketing gains DESCRIBE on sales.orders (orders)" in access
    assert (
        "marketing gains SELECT on sales.orders: orders except (customer_id) rows where "
        "currency = 'EUR'" in access
    )
    assert (
        "finance (role/revenue-reporting) gains DESCRIBE, SELECT, SELECT (grantable) on "
        "sales.orders (order_lines, orders)" in access
    )
    assert "finance/logistics.shipments: new request, pending" in access
    assert "marketing/sales.orders: new request, approved by sales-data-owners@example.com" in (
        access
    )
    # No line for the mesh's own machinery (producers on their products, the mesh roles).
    assert not any(line.startswith(("sales gains", "arn:")) for line in access)


def test_denying_and_narrowing_read_as_edits_of_the_file_not_as_drift(
    server: ServerSandbox, tmp_path: Path
) -> None:
    mesh = tmp_path / "imported.yaml"
    mesh.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path).returncode == 0
    done = meshctl(server, "plan", "-f", str(mesh), cwd=tmp_path).stdout
    assert "No changes. AWS matches imported.yaml." in done

    _edit(mesh, "marketing", "sales.orders", status="denied")
    _edit(mesh, "logistics", "sales.orders", permissions=["DESCRIBE"])
    _edit(
        mesh,
        "finance",
        "logistics.shipments",
        status="approved",
        approved_by="logistics-data@example.com",
    )
    out = meshctl(server, "plan", "-f", str(mesh), cwd=tmp_path).stdout
    access = _access_section(out)
    assert "marketing loses DESCRIBE on sales.orders (orders)" in access
    assert (
        "marketing loses SELECT on sales.orders: orders except (customer_id) rows where "
        "currency = 'EUR'" in access
    )
    assert "logistics loses SELECT on sales.orders (order_lines, orders)" in access
    assert "finance gains SELECT on logistics.shipments (carriers, shipments)" in access
    assert "marketing/sales.orders: request approved → denied" in access
    assert (
        "finance/logistics.shipments: request pending → approved by logistics-data@example.com"
        in access
    )
    # The reasons under each change say what happened, in the file's words and name.
    assert "subscription denied in imported.yaml" in out
    assert "permissions narrowed in imported.yaml" in out
    assert "no longer declared" not in out and "live grant differs" not in out
    assert "Pending" not in out and "Active" not in out


def test_drift_made_by_hand_is_called_drift(server: ServerSandbox, tmp_path: Path) -> None:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path).returncode == 0
    lf = server.session("555555555555").client("lakeformation")
    lf.revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": "222222222222"},
        Resource={
            "Table": {
                "CatalogId": "555555555555",
                "DatabaseName": "sales-111111111111",
                "Name": "orders",
            }
        },
        Permissions=["SELECT"],
    )
    out = meshctl(server, "plan", "-f", str(mesh), cwd=tmp_path).stdout
    assert "live grant differs from mesh.yaml (changed outside meshctl)" in out
    assert "logistics gains SELECT on sales.orders (orders)" in _access_section(out)
