"""`Engine.plan` against the patched in-process sandbox: what a user sees in a plan, for an empty
mesh account, a partly built mesh, hand-made drift, a helper-library item and a missing table.

Every test seeds the producers' source tables first (what a producer has before it joins the
mesh), plans through the real Engine (sessions, readers, planner) and looks at the plan.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.mesh import subscriptions_table_definition
from meshctl.engine import Engine
from meshctl.ids import subscription_id
from meshctl.planning.plan import Action, Change, Drift, Kind, Plan
from meshctl.sandbox.seed import seed_producers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"

MESH = "555555555555"
SALES = "111111111111"
LOGISTICS = "222222222222"
FINANCE = "333333333333"
MARKETING = "999999999999"
STRANGER = "777777777777"  # an account the mesh file does not know
TABLE = "AwsDataMeshSubscriptions"
SALES_DB = f"sales-{SALES}"
SHIPMENTS_DB = f"logistics-{LOGISTICS}"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

# What examples/mesh.yaml needs in an empty mesh account, by kind (every one a create, except
# the data lake settings: every account has them, so they are an update).
EXAMPLE_CREATES = {
    Kind.SUBSCRIPTIONS_TABLE: 1,
    Kind.ROLE: 14,  # 2 mesh roles + an admin role per enabled account + member roles
    Kind.CATALOG_POLICY: 1,
    Kind.LF_TAG: 2,  # Domain, DataProduct
    Kind.DATA_LOCATION: 6,  # the S3 location of each table, registered with Lake Formation
    Kind.DATABASE: 6,  # 3 mesh databases + a resource link in each producer account
    Kind.TABLE: 6,  # 2 sales + 3 logistics + 1 finance tables copied to the mesh catalog
    Kind.DATA_FILTER: 1,  # marketing's rows of orders (a restricted subscription)
    Kind.GRANT: 28,  # incl. the finance role's DESCRIBE on its resource link (principals)
    Kind.RESOURCE_LINK: 3,  # one per approved subscription
    Kind.SUBSCRIPTION: 6,
}


def _table_grant(principal: str, db: str, table: str) -> str:
    return f"grant.{principal}/table:{MESH}:{db}.{table}"


def _engine(path: Path = EXAMPLE, now: datetime = NOW) -> Engine:
    """A fresh engine (fresh sessions and call counters) with a fixed clock."""
    return Engine(path, clock=lambda: now)


def _kinds(plan: Plan, action: Action | None = None) -> Counter[Kind]:
    return Counter(c.kind for c in plan.effective_changes if action in (None, c.action))


def _by_address(plan: Plan) -> dict[str, Change]:
    return {c.address: c for c in plan.changes}


def _is_acceptance(change: Change) -> bool:
    """A resource-link update that only accepts the RAM invitations new grants send."""
    return (
        change.kind is Kind.RESOURCE_LINK
        and change.action is Action.UPDATE
        and change.before == change.after
        and change.reason.startswith("accept ")
    )


def _main_changes(plan: Plan) -> list[Change]:
    """The effective changes besides invitation acceptances (which follow any new grant)."""
    return [c for c in plan.effective_changes if not _is_acceptance(c)]


def _apply(plan: Plan, engine: Engine, keep: Callable[[Change], bool] = lambda _: True) -> None:
    """Apply the changes of ``plan`` that ``keep`` selects, in plan order; all must succeed."""
    subset = dataclasses.replace(plan, changes=tuple(c for c in plan.changes if keep(c)))
    result = engine.execute(subset, max_revokes=25, allow_mass_revoke=False)
    assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]


@pytest.fixture
def seeded(sandbox: InProcessSandbox) -> InProcessSandbox:
    seed_producers(_engine().spec, sandbox.session)
    return sandbox


@pytest.fixture
def built(seeded: InProcessSandbox) -> InProcessSandbox:
    """The example mesh, fully applied by meshctl."""
    engine = _engine()
    _apply(engine.plan(), engine)
    return seeded


def _lf(sandbox: InProcessSandbox) -> Any:
    return sandbox.session(MESH).client("lakeformation")


def _table_resource(db: str, table: str) -> dict[str, Any]:
    return {"Table": {"CatalogId": MESH, "DatabaseName": db, "Name": table}}


def _principal(identifier: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": identifier}


# --- an empty mesh account -------------------------------------------------------------------


def test_empty_mesh_account_plans_every_create_without_writing(seeded: InProcessSandbox) -> None:
    engine = _engine()
    plan = engine.plan()

    assert _kinds(plan, Action.CREATE) == EXAMPLE_CREATES
    updates = [c for c in _main_changes(plan) if c.action is Action.UPDATE]
    assert [c.kind for c in updates] == [Kind.LAKE_SETTINGS]
    assert plan.summary["create"] == sum(EXAMPLE_CREATES.values())
    assert plan.summary["delete"] == 0
    assert {c.drift for c in plan.effective_changes if c.action is Action.CREATE} == {Drift.MISSING}
    records = [c.after for c in plan.changes if c.kind is Kind.SUBSCRIPTION]
    assert Counter(r["status"] for r in records) == {"Active": 3, "Pending": 2, "Denied": 1}
    # Creates run in dependency order: the table first, the records last.
    kinds = [c.kind for c in plan.effective_changes]
    assert kinds[0] is Kind.SUBSCRIPTIONS_TABLE and kinds[-1] is Kind.SUBSCRIPTION
    assert kinds.index(Kind.GRANT) > kinds.index(Kind.TABLE)
    assert plan.warnings == ()
    # Planning reads only (architecture.md): not one write call in any account.
    stats = engine.sessions.stats
    assert stats.writes == 0 and stats.total > 0
    # Per member account a small constant, role assumption included: AssumeRole, GetDatabases,
    # GetAccountAuthorizationDetails, GetResourceShareInvitations, and SearchTables for a
    # producer (issue 4 hoped for 4; reading a producer's RAM invitations makes it 5).
    # (finance names principals; with no resource link yet, there is no grant on one to read.)
    for member in (SALES, LOGISTICS, FINANCE, MARKETING):
        assert stats.calls(account_id=member) <= 5


def test_plan_after_apply_is_empty_and_writes_nothing(built: InProcessSandbox) -> None:
    engine = _engine()
    plan = engine.plan()
    assert not plan.has_changes, [c.address for c in plan.effective_changes]
    assert plan.changes == ()  # nothing unmanaged around the example either
    assert engine.sessions.stats.writes == 0


# --- a partly built mesh ---------------------------------------------------------------------


def test_partly_built_mesh_plans_only_the_rest(seeded: InProcessSandbox) -> None:
    engine = _engine()
    first = engine.plan()
    catalog = {Kind.SUBSCRIPTIONS_TABLE, Kind.ROLE, Kind.LAKE_SETTINGS, Kind.CATALOG_POLICY}
    catalog |= {Kind.LF_TAG, Kind.DATA_LOCATION, Kind.DATABASE, Kind.TABLE}
    _apply(first, engine, keep=lambda c: c.kind in catalog)

    second = _engine().plan()
    remaining = {c.address for c in second.effective_changes}
    expected = {c.address for c in first.effective_changes if c.kind not in catalog}
    assert remaining == expected
    assert _kinds(second, Action.CREATE) == {
        Kind.DATA_FILTER: EXAMPLE_CREATES[Kind.DATA_FILTER],
        Kind.GRANT: EXAMPLE_CREATES[Kind.GRANT],
        Kind.RESOURCE_LINK: EXAMPLE_CREATES[Kind.RESOURCE_LINK],
        Kind.SUBSCRIPTION: EXAMPLE_CREATES[Kind.SUBSCRIPTION],
    }
    assert {c.action for c in _main_changes(second)} == {Action.CREATE}


def test_parts_built_by_hand_are_not_planned_again(seeded: InProcessSandbox) -> None:
    """The subscription table made by hand (as the helper library makes it) is simply there."""
    seeded.session(MESH).client("dynamodb").create_table(**subscriptions_table_definition(TABLE))
    plan = _engine().plan()
    assert "mesh.subscriptions_table" not in _by_address(plan)
    assert _kinds(plan, Action.CREATE)[Kind.SUBSCRIPTIONS_TABLE] == 0
    assert _kinds(plan, Action.CREATE)[Kind.SUBSCRIPTION] == 6


# --- drift made by hand ----------------------------------------------------------------------


def test_grant_revoked_by_hand_is_missing(built: InProcessSandbox) -> None:
    _lf(built).revoke_permissions(
        Principal=_principal(MARKETING),
        Resource=_table_resource(SALES_DB, "orders"),
        Permissions=["SELECT", "DESCRIBE"],
    )
    plan = _engine().plan()
    address = _table_grant(MARKETING, SALES_DB, "orders")
    assert [c.address for c in _main_changes(plan)] == [address]
    # The grant sends a new RAM invitation: at most marketing's link accepts it afterwards.
    assert {c.account_id for c in plan.effective_changes if _is_acceptance(c)} <= {MARKETING}
    change = _main_changes(plan)[0]
    assert (change.action, change.drift) == (Action.CREATE, Drift.MISSING)
    # marketing's rows are restricted (examples/mesh.yaml): the table grant is its DESCRIBE.
    assert sorted(change.after["permissions"]) == ["DESCRIBE"]
    assert "marketing/sales.orders" in change.reason


def test_permission_revoked_by_hand_is_changed(built: InProcessSandbox) -> None:
    _lf(built).revoke_permissions(
        Principal=_principal(LOGISTICS),
        Resource=_table_resource(SALES_DB, "order_lines"),
        Permissions=["SELECT"],
    )
    plan = _engine().plan()
    address = _table_grant(LOGISTICS, SALES_DB, "order_lines")
    assert [c.address for c in plan.effective_changes] == [address]
    change = plan.effective_changes[0]
    assert (change.action, change.drift) == (Action.UPDATE, Drift.CHANGED)
    assert change.before["permissions"] == ["DESCRIBE"]
    assert sorted(change.after["permissions"]) == ["DESCRIBE", "SELECT"]


def test_grant_added_by_hand_is_unmanaged_and_pruned_only_on_request(
    built: InProcessSandbox,
) -> None:
    _lf(built).grant_permissions(
        Principal=_principal(STRANGER),
        Resource=_table_resource(SHIPMENTS_DB, "shipments"),
        Permissions=["SELECT"],
    )
    address = _table_grant(STRANGER, SHIPMENTS_DB, "shipments")

    plan = _engine().plan()
    assert not plan.has_changes  # listed, left alone
    change = _by_address(plan)[address]
    assert (change.action, change.drift) == (Action.NOOP, Drift.UNMANAGED)
    assert change.before["permissions"] == ["SELECT"]

    engine = _engine()
    pruned = engine.plan(prune=True)
    assert [c.address for c in pruned.effective_changes] == [address]
    change = pruned.effective_changes[0]
    assert (change.action, change.drift) == (Action.DELETE, Drift.UNMANAGED)
    assert engine.sessions.stats.writes == 0  # a revoke is planned, not made


def test_iam_allowed_principals_on_a_mesh_table_is_warned_not_revoked(
    built: InProcessSandbox,
) -> None:
    _lf(built).grant_permissions(
        Principal=_principal("IAM_ALLOWED_PRINCIPALS"),
        Resource=_table_resource(SALES_DB, "orders"),
        Permissions=["ALL"],
    )
    plan = _engine().plan(prune=True)
    assert not plan.has_changes
    warned = [w for w in plan.warnings if "IAM_ALLOWED_PRINCIPALS" in w]
    assert len(warned) == 1 and f"{SALES_DB}.orders" in warned[0]


# --- subscription records --------------------------------------------------------------------


def _put_raw(sandbox: InProcessSandbox, item: dict[str, Any]) -> None:
    serialize = TypeSerializer().serialize
    sandbox.session(MESH).client("dynamodb").put_item(
        TableName=TABLE, Item={k: serialize(v) for k, v in item.items()}
    )


def _items(sandbox: InProcessSandbox) -> dict[str, dict[str, Any]]:
    decode = TypeDeserializer().deserialize
    pages = sandbox.session(MESH).client("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
    items = [{k: decode(v) for k, v in raw.items()} for p in pages for raw in p["Items"]]
    return {str(i["SubscriptionId"]): i for i in items}


def test_helper_library_item_is_adopted_not_duplicated(seeded: InProcessSandbox) -> None:
    """A Pending request the library wrote for marketing → logistics.shipments, before meshctl."""
    seeded.session(MESH).client("dynamodb").create_table(**subscriptions_table_definition(TABLE))
    library_id = "Jw8mV2b7cTqK3dXo9pLrYa"  # a shortuuid, as the library makes them
    _put_raw(
        seeded,
        {
            "SubscriptionId": library_id,
            "OwnerPrincipal": LOGISTICS,
            "SubscriberPrincipal": MARKETING,
            "Status": "Pending",
            "DatabaseName": SHIPMENTS_DB,
            "TableName": ["shipments"],
            "RequestedGrants": ["SELECT"],
            "Notes": "please, for delivery-time messaging",
            "CreationDate": "2025-11-02 09:30:00",
            "CreatedBy": f"arn:aws:sts::{MARKETING}:assumed-role/DataMeshConsumer/alice",
        },
    )
    engine = _engine()
    plan = engine.plan()
    address = "subscription.marketing/logistics.shipments"
    subscription_changes = [c for c in plan.changes if c.kind is Kind.SUBSCRIPTION]
    assert [c.address for c in subscription_changes].count(address) == 1
    change = _by_address(plan)[address]
    assert change.action is Action.UPDATE and change.drift is Drift.CHANGED
    assert change.before["subscription_id"] == library_id
    assert change.after["subscription_id"] == library_id  # keeps its id
    assert change.after["managed"] is True and change.after["purpose"] == "delivery-time messaging"
    assert f"adopt helper-library record {library_id}" in change.reason
    assert _kinds(plan, Action.CREATE)[Kind.SUBSCRIPTION] == 5  # the other five

    _apply(plan, engine)
    items = _items(seeded)
    assert items[library_id]["ManagedBy"] == "meshctl"
    assert items[library_id]["CreatedBy"].endswith("/alice")  # the library's history is kept
    assert subscription_id(MARKETING, "logistics.shipments") not in items
    assert len(items) == 6
    assert not _engine().plan().has_changes


def test_missing_subscription_table_plans_a_create_not_an_error(built: InProcessSandbox) -> None:
    built.session(MESH).client("dynamodb").delete_table(TableName=TABLE)
    plan = _engine().plan()
    assert _kinds(plan) == {Kind.SUBSCRIPTIONS_TABLE: 1, Kind.SUBSCRIPTION: 6}
    assert _by_address(plan)["mesh.subscriptions_table"].after == {"name": TABLE}
    assert {c.action for c in plan.effective_changes} == {Action.CREATE}


def test_subscription_expiring_within_14_days_is_warned(seeded: InProcessSandbox) -> None:
    """finance → sales.orders expires on 2027-12-31 in the example."""
    soon = datetime(2027, 12, 21, 8, 0, tzinfo=UTC)
    plan = _engine(now=soon).plan()
    assert any(
        "finance/sales.orders expires on 2027-12-31 (in 10 days)" in w for w in plan.warnings
    ), plan.warnings
    early = _engine(now=datetime(2027, 12, 1, tzinfo=UTC)).plan()
    assert not [w for w in early.warnings if "expires" in w]
    # Not expired yet: still granted, to the role the subscription names (a warning, no revoke).
    role = f"arn:aws:iam::{FINANCE}:role/revenue-reporting"
    grant = _by_address(plan)[_table_grant(role, SALES_DB, "orders")]
    assert grant.action is Action.CREATE
