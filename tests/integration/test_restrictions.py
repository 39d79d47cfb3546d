"""Subscriptions restricted to columns and rows: Lake Formation column grants and data cells
filters, planned exactly (no perpetual diff) and changed without a moment without access.

Each test starts from examples/mesh.yaml applied to a seeded sandbox; marketing subscribes to
sales.orders' ``orders`` table (the example restricts it to EUR orders without customer ids). The
file is edited as a user would, applied, and Lake Formation is read back as the consumer's analyst
depends on it (ListPermissions, GetDataCellsFilter).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.lakeformation.models import LakeFormationBackend
from support.sandbox import InProcessSandbox

from meshctl.planning.plan import Action, Kind
from meshctl.planning.planner import revoke_count

from .test_apply import MARKETING, MESH, SALES_DB, Mesh, record

SUB = ("marketing", "sales.orders")
FILTER = f"meshctl-{MARKETING}-sales.orders"
ORDERS_COLUMNS = ["currency", "customer_id", "dt", "order_id", "order_ts", "status", "total_amount"]


def restrict(mesh: Mesh, **entry: Any) -> None:
    """marketing's ``orders`` entry becomes ``{name: orders, **entry}`` (or plain ``orders``)."""
    mesh.file.edit(*SUB, tables=[{"name": "orders", **entry} if entry else "orders"])


def marketing_access(sandbox: InProcessSandbox) -> dict[str, tuple[str, ...]]:
    """What marketing holds on sales.orders' ``orders``, by resource shape, from ListPermissions."""
    lf = sandbox.session(MESH).client("lakeformation")
    out: dict[str, tuple[str, ...]] = {}
    token: dict[str, str] = {}
    while True:
        page = lf.list_permissions(CatalogId=MESH, **token)
        for entry in page["PrincipalResourcePermissions"]:
            if entry["Principal"]["DataLakePrincipalIdentifier"] != MARKETING:
                continue
            resource = entry["Resource"]
            perms = tuple(sorted(entry["Permissions"]))
            if "Table" in resource and resource["Table"].get("Name") == "orders":
                out["table"] = perms
            elif (
                "TableWithColumns" in resource and resource["TableWithColumns"]["Name"] == "orders"
            ):
                body = resource["TableWithColumns"]
                if "ColumnNames" in body:
                    out["columns " + ",".join(sorted(body["ColumnNames"]))] = perms
                else:
                    excluded = body["ColumnWildcard"].get("ExcludedColumnNames") or []
                    out["all but " + ",".join(sorted(excluded))] = perms
            elif "DataCellsFilter" in resource:
                out["filter " + resource["DataCellsFilter"]["Name"]] = perms
        if not page.get("NextToken"):
            return out
        token = {"NextToken": page["NextToken"]}


def live_filter(sandbox: InProcessSandbox) -> dict[str, Any] | None:
    lf = sandbox.session(MESH).client("lakeformation")
    try:
        found: dict[str, Any] = lf.get_data_cells_filter(
            TableCatalogId=MESH, DatabaseName=SALES_DB, TableName="orders", Name=FILTER
        )["DataCellsFilter"]
    except lf.exceptions.EntityNotFoundException:
        return None
    return found


def test_columns_become_a_column_grant_and_describe_stays_on_the_table(applied: Mesh) -> None:
    restrict(applied, columns=["order_id", "status", "order_ts"])
    plan = applied.plan()
    summary = "\n".join(plan.access)
    assert "orders (order_id, order_ts, status)" in summary, summary
    applied.apply_ok()
    assert marketing_access(applied.sandbox) == {
        "table": ("DESCRIBE",),
        "columns order_id,order_ts,status": ("SELECT",),
    }
    item = record(applied.sandbox, MARKETING, "sales.orders")
    assert item["TableName"] == ["orders"]  # what the helper library reads stays
    assert item["Restrictions"] == [
        {"Table": "orders", "Columns": ["order_id", "order_ts", "status"]}
    ]


def test_excluded_columns_become_a_wildcard_grant_with_exclusions(applied: Mesh) -> None:
    restrict(applied, exclude_columns=["customer_id"])
    applied.apply_ok()
    assert marketing_access(applied.sandbox) == {
        "table": ("DESCRIBE",),
        "all but customer_id": ("SELECT",),
    }


def test_a_row_filter_is_a_data_cells_filter_granted_select(applied: Mesh) -> None:
    restrict(applied, exclude_columns=["customer_id"], row_filter="currency = 'EUR'")
    applied.apply_ok()
    assert marketing_access(applied.sandbox) == {
        "table": ("DESCRIBE",),
        f"filter {FILTER}": ("SELECT",),
    }
    found = live_filter(applied.sandbox)
    assert found is not None
    assert found["RowFilter"] == {"FilterExpression": "currency = 'EUR'"}
    assert found["ColumnWildcard"] == {"ExcludedColumnNames": ["customer_id"]}


@pytest.fixture
def watched(applied: Mesh, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """After every Lake Formation write of an apply: (operation, whether marketing can still
    SELECT from ``orders`` through any shape: the table, its columns or a filter)."""
    log: list[tuple[str, bool]] = []
    backend: Any = LakeFormationBackend
    for name in (
        "batch_grant_permissions",
        "batch_revoke_permissions",
        "grant_permissions",
        "revoke_permissions",
        "meshctl_create_filter",
        "meshctl_update_filter",
        "meshctl_delete_filter",
    ):
        original = getattr(backend, name)

        def wrapped(self: Any, *args: Any, _op: str = name, _f: Any = original) -> Any:
            answer = _f(self, *args)
            holds = marketing_access(applied.sandbox)
            log.append((_op, any("SELECT" in perms for perms in holds.values())))
            return answer

        monkeypatch.setattr(backend, name, wrapped)
    return log


def test_every_transition_keeps_access_and_converges(
    applied: Mesh, watched: list[tuple[str, bool]]
) -> None:
    """whole → columns → excluded columns → row filter → whole: each plan → apply → empty plan,
    and after every Lake Formation write of each apply marketing can still read ``orders``."""
    steps: list[tuple[dict[str, Any], dict[str, tuple[str, ...]]]] = [
        ({"columns": ["order_id", "status"]}, {"columns order_id,status": ("SELECT",)}),
        ({"exclude_columns": ["customer_id"]}, {"all but customer_id": ("SELECT",)}),
        ({"row_filter": "status = 'open'"}, {f"filter {FILTER}": ("SELECT",)}),
        (
            {"row_filter": "status = 'shipped'", "columns": ["order_id"]},
            {f"filter {FILTER}": ("SELECT",)},
        ),
        ({}, {}),
    ]
    for entry, shape in steps:
        watched.clear()
        restrict(applied, **entry)
        plan = applied.plan()
        assert plan.has_changes, entry
        applied.apply_ok()  # and the next plan is empty
        assert watched, entry
        assert all(holds for _, holds in watched), (entry, watched)
        table = ("DESCRIBE",) if shape else ("DESCRIBE", "SELECT")
        assert marketing_access(applied.sandbox) == {"table": table, **shape}
    assert live_filter(applied.sandbox) is None


def test_a_changed_row_filter_updates_the_filter_in_place(applied: Mesh) -> None:
    restrict(applied, row_filter="status = 'open'")
    applied.apply_ok()
    restrict(applied, row_filter="status = 'shipped'", exclude_columns=["customer_id"])
    plan = applied.plan()
    changed = [c for c in plan.effective_changes if c.kind is Kind.DATA_FILTER]
    assert [(c.action, c.reason) for c in changed] == [
        (Action.UPDATE, "row filter and columns changed in mesh.yaml")
    ]
    assert not [c for c in plan.effective_changes if c.kind is Kind.GRANT]
    applied.apply_ok()
    found = live_filter(applied.sandbox)
    assert found is not None
    assert found["RowFilter"] == {"FilterExpression": "status = 'shipped'"}


def test_a_hand_edited_filter_is_drift_and_is_restored(applied: Mesh) -> None:
    restrict(applied, row_filter="status = 'open'")
    applied.apply_ok()
    found = live_filter(applied.sandbox)
    assert found is not None
    lf = applied.sandbox.session(MESH).client("lakeformation")
    lf.update_data_cells_filter(
        TableData={**found, "RowFilter": {"AllRowsWildcard": {}}}  # someone opened every row
    )
    plan = applied.plan()
    changed = [c for c in plan.effective_changes if c.kind is Kind.DATA_FILTER]
    assert len(changed) == 1 and changed[0].action is Action.UPDATE
    assert changed[0].drift.value == "changed"
    assert "changed outside meshctl: row filter" in changed[0].reason
    assert plan.access == (
        "marketing reads other data of sales.orders: orders → orders rows where status = 'open'",
    )
    applied.apply_ok()
    restored = live_filter(applied.sandbox)
    assert restored is not None
    assert restored["RowFilter"] == {"FilterExpression": "status = 'open'"}


def test_removing_the_subscription_revokes_then_deletes_the_filter(applied: Mesh) -> None:
    restrict(applied, row_filter="status = 'open'")
    applied.apply_ok()
    applied.file.remove(*SUB)
    plan = applied.plan()
    order = [(c.kind, c.action) for c in plan.effective_changes]
    revoke = order.index((Kind.GRANT, Action.DELETE))
    assert order.index((Kind.DATA_FILTER, Action.DELETE)) > revoke
    assert revoke_count(plan) >= 2  # the filter grant and the filter, each counted
    applied.apply_ok()
    assert live_filter(applied.sandbox) is None
    assert marketing_access(applied.sandbox) == {}


def test_a_column_the_table_lacks_holds_the_subscription_with_the_columns_listed(
    applied: Mesh,
) -> None:
    before = marketing_access(applied.sandbox)
    restrict(applied, columns=["order_id", "emial"])
    plan = applied.plan()
    assert [h.subject for h in plan.held] == ["subscription marketing/sales.orders"]
    (missing,) = plan.held[0].missing
    assert missing == (
        f"column emial of table {SALES_DB}.orders (its columns: " + ", ".join(ORDERS_COLUMNS) + ")"
    )
    # Nothing is written for it: marketing keeps what it reads until the file is fixed.
    assert not [c for c in plan.effective_changes if "marketing" in c.reason]
    applied.apply()
    assert marketing_access(applied.sandbox) == before
    assert before == {"table": ("DESCRIBE",), f"filter {FILTER}": ("SELECT",)}


REVENUE = "arn:aws:iam::333333333333:role/revenue-reporting"  # finance's principal (examples/)


def role_access(sandbox: InProcessSandbox, principal: str) -> dict[str, tuple[str, ...]]:
    """What ``principal`` holds on sales.orders' orders, by shape (ListPermissions)."""
    lf = sandbox.session(MESH).client("lakeformation")
    out: dict[str, tuple[str, ...]] = {}
    for entry in lf.list_permissions(CatalogId=MESH)["PrincipalResourcePermissions"]:
        if entry["Principal"]["DataLakePrincipalIdentifier"] != principal:
            continue
        resource, perms = entry["Resource"], tuple(sorted(entry["Permissions"]))
        if resource.get("Table", {}).get("Name") == "orders":
            out["table"] = perms
        elif resource.get("TableWithColumns", {}).get("Name") == "orders":
            out["columns " + ",".join(resource["TableWithColumns"].get("ColumnNames", []))] = perms
        elif "DataCellsFilter" in resource:
            out["filter " + resource["DataCellsFilter"]["Name"]] = perms
    return out


def test_a_subscriptions_principals_get_the_restricted_access_not_the_account(
    applied: Mesh,
) -> None:
    """finance's subscription names its revenue-reporting role: the role gets the columns (then
    the rows), grantable as the file says; the finance account itself gets nothing."""
    finance_filter = "meshctl-333333333333-sales.orders"
    applied.file.edit(
        "finance", "sales.orders", tables=[{"name": "orders", "columns": ["order_id", "status"]}]
    )
    applied.apply_ok()
    assert role_access(applied.sandbox, REVENUE) == {
        "table": ("DESCRIBE",),
        "columns order_id,status": ("SELECT",),
    }
    assert role_access(applied.sandbox, "333333333333") == {}
    applied.file.edit(
        "finance", "sales.orders", tables=[{"name": "orders", "row_filter": "status = 'paid'"}]
    )
    applied.apply_ok()
    assert role_access(applied.sandbox, REVENUE) == {
        "table": ("DESCRIBE",),
        f"filter {finance_filter}": ("SELECT",),
    }
    item = record(applied.sandbox, "333333333333", "sales.orders")
    assert item["Principals"] == [REVENUE]
    assert item["Restrictions"] == [{"Table": "orders", "RowFilter": "status = 'paid'"}]


_ROW_FILTERS = ("", "currency = 'EUR'", "status IN ('open', 'paid') AND total_amount > 10")


@st.composite
def restrictions(draw: st.DrawFn) -> dict[str, Any]:
    """A random restriction of orders: some columns, or all but some, or neither; maybe rows."""
    shape = draw(st.sampled_from(["columns", "exclude_columns", "rows only"]))
    row_filter = draw(st.sampled_from(_ROW_FILTERS if shape != "rows only" else _ROW_FILTERS[1:]))
    entry: dict[str, Any] = {"row_filter": row_filter} if row_filter else {}
    if shape != "rows only":
        most = len(ORDERS_COLUMNS) - (shape == "exclude_columns")  # never exclude every column
        picked = draw(st.lists(st.sampled_from(ORDERS_COLUMNS), min_size=1, max_size=most))
        entry[shape] = picked  # in any order, with repeats collapsed by the schema's set rule
    return entry


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(entry=restrictions())
def test_random_restrictions_round_trip_with_an_empty_next_plan(
    applied: Mesh, entry: dict[str, Any]
) -> None:
    """Whatever columns and rows are declared (one example after the other on the same mesh, so
    each is also a transition from the last), apply converges and the next plan is empty: the
    shapes Lake Formation lists back compare equal to what the file says."""
    for key in ("columns", "exclude_columns"):
        if key in entry:
            entry[key] = sorted(set(entry[key]), key=entry[key].index)  # uniqueItems
    restrict(applied, **entry)
    applied.apply_ok()  # asserts the plan after apply is empty
    holds = marketing_access(applied.sandbox)
    assert holds["table"] == ("DESCRIBE",)
    assert [perms for shape, perms in holds.items() if shape != "table"] == [("SELECT",)]
    if entry.get("row_filter"):
        found = live_filter(applied.sandbox)
        assert found is not None
        assert found["RowFilter"] == {"FilterExpression": entry["row_filter"]}
