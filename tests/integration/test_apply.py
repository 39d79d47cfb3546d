"""Apply against the sandbox: converging from empty, and every subscription status transition.

Each test starts from examples/mesh.yaml applied to a seeded, empty sandbox, edits the mesh file
the way a user would, applies through the engine (injected clock), and then checks what a user
would look at: the live subscription item, the Lake Formation grants (ListPermissions), the
consumer's resource link and RAM invitations — and that a second plan is empty.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from support.sandbox import InProcessSandbox

from meshctl.applier import ApplyResult, ChangeResult, Status
from meshctl.codec import sha256_of
from meshctl.engine import Engine
from meshctl.ids import subscription_id
from meshctl.planning.plan import Action, Kind, Plan

from ._meshfile import MeshFile

MESH = "555555555555"
SALES = "111111111111"
LOGISTICS = "222222222222"
FINANCE = "333333333333"
MARKETING = "999999999999"
MARKETING_FILTER = f"meshctl-{MARKETING}-sales.orders"  # its data cells filter on orders
SALES_DB = f"sales-{SALES}"
LOGISTICS_DB = f"logistics-{LOGISTICS}"
TABLE = "AwsDataMeshSubscriptions"
REGION = "us-east-1"
NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)

GrantKey = tuple[str, str, str]  # (principal, database, table or "" for the database itself)
Grants = dict[GrantKey, tuple[frozenset[str], frozenset[str]]]


# --- the mesh file, edited as a user would ---------------------------------------------------


@dataclass
class Applied:
    plan: Plan
    result: ApplyResult
    engine: Engine

    def statuses(self) -> dict[str, Status]:
        return {r.change.address: r.status for r in self.result.results}


@dataclass
class Mesh:
    sandbox: InProcessSandbox
    file: MeshFile

    def engine(self, now: datetime = NOW) -> Engine:
        return Engine(self.file.path, clock=lambda: now)

    def plan(self, now: datetime = NOW) -> Plan:
        return self.engine(now).plan()

    def apply(
        self,
        now: datetime = NOW,
        *,
        before_execute: Callable[[Engine], None] | None = None,
    ) -> Applied:
        """What `meshctl apply --auto-approve` does: lock, plan, execute."""
        engine = self.engine(now)
        with engine.locked("apply"):
            plan = engine.plan()
            if before_execute is not None:
                before_execute(engine)
            result = engine.execute(plan, max_revokes=100, allow_mass_revoke=False)
        return Applied(plan, result, engine)

    def apply_ok(self, now: datetime = NOW) -> Applied:
        applied = self.apply(now)
        failed = [(r.change.address, r.error) for r in applied.result.results if r.error]
        assert applied.result.ok, failed
        assert not self.plan(now).has_changes, "plan after apply must be empty"
        return applied


# --- what a user looks at ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record(sandbox: InProcessSandbox, consumer_id: str, product: str) -> dict[str, Any]:
    """The live subscription item (plain values); {} when there is none."""
    ddb = sandbox.session(MESH).client("dynamodb")
    key = {"SubscriptionId": {"S": subscription_id(consumer_id, product)}}
    item = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True).get("Item") or {}
    deserialize = TypeDeserializer().deserialize
    return {k: _plain(deserialize(v)) for k, v in item.items()}


def _permission_pages(sandbox: InProcessSandbox) -> Iterator[dict[str, Any]]:
    lf = sandbox.session(MESH).client("lakeformation")
    token = None
    while True:
        page = lf.list_permissions(CatalogId=MESH, **({"NextToken": token} if token else {}))
        yield from page["PrincipalResourcePermissions"]
        token = page.get("NextToken")
        if not token:
            return


def _grant_key(entry: dict[str, Any]) -> GrantKey | None:
    principal = entry["Principal"]["DataLakePrincipalIdentifier"]
    resource = entry["Resource"]
    if "Database" in resource:
        return principal, resource["Database"]["Name"], ""
    table = resource.get("Table") or resource.get("TableWithColumns")
    if table is not None:
        return principal, table["DatabaseName"], table.get("Name", "*")
    cells = resource.get("DataCellsFilter")
    if cells is not None:  # rows of a table: "orders#<filter name>"
        return principal, cells["DatabaseName"], f"{cells['TableName']}#{cells['Name']}"
    return None  # catalog and data location grants: not a subscription's


def live_grants(sandbox: InProcessSandbox, principal: str | None = None) -> Grants:
    """Raw Lake Formation grants of the mesh catalog, from ListPermissions (every page)."""
    out: Grants = {}
    for entry in _permission_pages(sandbox):
        key = _grant_key(entry)
        if key is None or (principal is not None and key[0] != principal):
            continue
        out[key] = (
            frozenset(entry.get("Permissions", ())),
            frozenset(entry.get("PermissionsWithGrantOption", ())),
        )
    return out


def share_arns(sandbox: InProcessSandbox, principal: str, database: str) -> set[str]:
    """RAM shares carrying the grants to ``principal`` on ``database`` and its tables."""
    out: set[str] = set()
    for entry in _permission_pages(sandbox):
        key = _grant_key(entry)
        if key is not None and key[:2] == (principal, database):
            out.update(entry.get("AdditionalDetails", {}).get("ResourceShare", ()))
    return out


def invitations(sandbox: InProcessSandbox, account_id: str) -> dict[str, str]:
    """The account's RAM invitations from the mesh account: share ARN -> status."""
    ram = sandbox.session(account_id).client("ram")
    found = ram.get_resource_share_invitations()["resourceShareInvitations"]
    return {i["resourceShareArn"]: i["status"] for i in found if i["senderAccountId"] == MESH}


def glue_database(sandbox: InProcessSandbox, account_id: str, name: str) -> dict[str, Any] | None:
    glue = sandbox.session(account_id).client("glue")
    try:
        database: dict[str, Any] = glue.get_database(Name=name)["Database"]
        return database
    except glue.exceptions.EntityNotFoundException:
        return None


def table_arn(database: str, table: str) -> str:
    return f"arn:aws:glue:{REGION}:{MESH}:table/{database}/{table}"


def subscription_grants(sandbox: InProcessSandbox, consumer: str, database: str) -> Grants:
    return {k: v for k, v in live_grants(sandbox, consumer).items() if k[1] == database}


# --- converging from empty -----------------------------------------------------------------------


def test_apply_from_empty_converges_and_a_second_apply_writes_nothing(mesh: Mesh) -> None:
    first = mesh.apply()
    assert first.result.ok
    assert first.result.count(Status.DONE) == len(first.plan.effective_changes) > 50
    # The declared end state, as a user would check it.
    assert record(mesh.sandbox, MARKETING, "sales.orders")["Status"] == "Active"
    assert record(mesh.sandbox, FINANCE, "logistics.shipments")["Status"] == "Pending"
    assert record(mesh.sandbox, MARKETING, "finance.invoices")["Status"] == "Denied"
    assert live_grants(mesh.sandbox, MARKETING) == {
        (MARKETING, SALES_DB, ""): (frozenset({"DESCRIBE"}), frozenset()),
        # examples/mesh.yaml restricts marketing to EUR orders without customer ids: SELECT
        # through the data cells filter, DESCRIBE on the table.
        (MARKETING, SALES_DB, "orders"): (frozenset({"DESCRIBE"}), frozenset()),
        (MARKETING, SALES_DB, f"orders#{MARKETING_FILTER}"): (frozenset({"SELECT"}), frozenset()),
    }

    # The idempotency test: the plan right after apply is empty...
    before = sha256_of(mesh.engine().observe())
    again = mesh.apply()
    assert not again.plan.has_changes
    assert again.result.results == ()
    # ...and applying again writes nothing to the mesh: the only writes of the whole run are
    # the lock's own put and delete in the Locks table.
    stats = again.engine.sessions.stats
    writes = {(k.service, k.operation): n for k, (n, _) in stats.snapshot().items() if k.is_write}
    assert writes == {("dynamodb", "PutItem"): 1, ("dynamodb", "DeleteItem"): 1}
    assert sha256_of(mesh.engine().observe()) == before

    # Executing the (empty) plan itself makes zero write calls.
    engine = mesh.engine()
    plan = engine.plan()
    engine.sessions.stats.reset()
    assert engine.execute(plan, max_revokes=25, allow_mass_revoke=False).results == ()
    assert engine.sessions.stats.writes == 0


# --- status transitions --------------------------------------------------------------------------


def test_pending_to_approved_grants_access_and_completes_the_consumer_side(applied: Mesh) -> None:
    sandbox = applied.sandbox
    assert record(sandbox, MARKETING, "logistics.shipments")["Status"] == "Pending"
    assert subscription_grants(sandbox, MARKETING, LOGISTICS_DB) == {}

    applied.file.edit(
        "marketing",
        "logistics.shipments",
        status="approved",
        approved_by="logistics-data@example.com",
    )
    run = applied.apply_ok()

    item = record(sandbox, MARKETING, "logistics.shipments")
    assert item["Status"] == "Active"
    assert item["PermittedGrants"] == ["SELECT"]
    assert item["GrantableGrants"] == []
    assert item["ImportedToConsumer"] is True
    assert item["ApprovedBy"] == "logistics-data@example.com"
    assert item["Version"] == 2 and item["LastPlanId"] == run.plan.plan_id
    # Lake Formation: DESCRIBE on the mesh database, SELECT on the one subscribed table.
    assert subscription_grants(sandbox, MARKETING, LOGISTICS_DB) == {
        (MARKETING, LOGISTICS_DB, ""): (frozenset({"DESCRIBE"}), frozenset()),
        (MARKETING, LOGISTICS_DB, "shipments"): (frozenset({"SELECT"}), frozenset()),
    }
    # Consumer side: the resource link database, and the RAM invitations of those grants accepted.
    link = glue_database(sandbox, MARKETING, LOGISTICS_DB)
    assert link is not None
    assert link["TargetDatabase"] == {"CatalogId": MESH, "DatabaseName": LOGISTICS_DB}
    shares = share_arns(sandbox, MARKETING, LOGISTICS_DB)
    assert shares, "a cross-account grant travels in a RAM share"
    received = invitations(sandbox, MARKETING)
    assert {received[arn] for arn in shares} == {"ACCEPTED"}
    assert "PENDING" not in received.values()


def test_widening_a_subscription_accepts_the_new_invitation_in_the_same_apply(
    applied: Mesh,
) -> None:
    sandbox = applied.sandbox
    applied.file.edit("marketing", "sales.orders", tables=["orders", "order_lines"])
    run = applied.apply()
    assert run.result.ok
    assert (MARKETING, SALES_DB, "order_lines") in subscription_grants(sandbox, MARKETING, SALES_DB)
    assert "PENDING" not in invitations(sandbox, MARKETING).values()
    assert not applied.plan().has_changes


def test_a_producer_accepts_the_ram_invitations_of_its_product(applied: Mesh) -> None:
    """The helper library's create-data-product: the producer accepts the mesh's RAM invitations
    so its resource link to the mesh database resolves."""
    shares = share_arns(applied.sandbox, SALES, SALES_DB)
    assert shares, "the producer's grants on its mesh database travel in RAM shares"
    received = invitations(applied.sandbox, SALES)
    assert {received[arn] for arn in shares} == {"ACCEPTED"}


def test_a_grant_narrowed_by_hand_is_restored(applied: Mesh) -> None:
    """The drift of `make demo`: SELECT revoked by hand shows in plan and apply restores it."""
    sandbox = applied.sandbox
    sandbox.session(MESH).client("lakeformation").revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": LOGISTICS},
        Resource={"Table": {"CatalogId": MESH, "DatabaseName": SALES_DB, "Name": "orders"}},
        Permissions=["SELECT"],
    )
    plan = applied.plan()
    assert [(c.address, c.action) for c in plan.effective_changes] == [
        (f"grant.{LOGISTICS}/table:{MESH}:{SALES_DB}.orders", Action.UPDATE)
    ]
    applied.apply_ok()
    assert subscription_grants(sandbox, LOGISTICS, SALES_DB)[(LOGISTICS, SALES_DB, "orders")] == (
        frozenset({"DESCRIBE", "SELECT"}),
        frozenset(),
    )


def test_active_record_lists_the_granted_table_arns(applied: Mesh) -> None:
    """GrantedTableARNs: the ARN of each mesh table granted, as the helper library records it."""
    item = record(applied.sandbox, LOGISTICS, "sales.orders")
    assert item["Status"] == "Active"
    assert item["GrantedTableARNs"] == [
        table_arn(SALES_DB, "order_lines"),
        table_arn(SALES_DB, "orders"),
    ]
    # Narrowed to one table: the record follows.
    applied.file.edit("logistics", "sales.orders", tables=["orders"])
    applied.apply_ok()
    item = record(applied.sandbox, LOGISTICS, "sales.orders")
    assert item["GrantedTableARNs"] == [table_arn(SALES_DB, "orders")]


def test_active_record_lists_the_ram_shares_of_its_grants(applied: Mesh) -> None:
    item = record(applied.sandbox, MARKETING, "sales.orders")
    recorded = {share["arn"] for share in item.get("RamShares", {}).values()}
    assert recorded == share_arns(applied.sandbox, MARKETING, SALES_DB)


@pytest.mark.parametrize("status", ["denied", "pending"])
def test_withdrawn_approval_revokes_access_then_writes_the_status(
    applied: Mesh, status: str
) -> None:
    """The planner's answer to approved -> denied (or back to pending): revoke every grant of
    the subscription, drop the consumer's resource link, then write the status — after the
    revokes, never before."""
    sandbox = applied.sandbox
    assert subscription_grants(sandbox, MARKETING, SALES_DB)

    applied.file.edit("marketing", "sales.orders", status=status, approved_by=None)
    run = applied.apply_ok()

    changes = run.plan.effective_changes
    revokes = [i for i, c in enumerate(changes) if c.kind is Kind.GRANT]
    record_at = next(i for i, c in enumerate(changes) if c.kind is Kind.SUBSCRIPTION)
    assert revokes and all(changes[i].action is Action.DELETE for i in revokes)
    assert max(revokes) < record_at
    item = record(sandbox, MARKETING, "sales.orders")
    assert item["Status"] == status.capitalize()
    assert item["PermittedGrants"] == [] and item["ImportedToConsumer"] is False
    assert item["RequestedGrants"] == ["DESCRIBE", "SELECT"]  # the request stays on record
    assert subscription_grants(sandbox, MARKETING, SALES_DB) == {}
    assert glue_database(sandbox, MARKETING, SALES_DB) is None
    # Other consumers of the same product keep their access.
    assert subscription_grants(sandbox, LOGISTICS, SALES_DB)


def test_pending_to_denied_writes_only_the_record(applied: Mesh) -> None:
    applied.file.edit("finance", "logistics.shipments", status="denied")
    run = applied.apply_ok()

    assert [c.address for c in run.plan.effective_changes] == [
        "subscription.finance/logistics.shipments"
    ]
    stats = run.engine.sessions.stats
    assert stats.calls(service="lakeformation", operation="BatchGrantPermissions") == 0
    assert stats.calls(service="lakeformation", operation="BatchRevokePermissions") == 0
    item = record(applied.sandbox, FINANCE, "logistics.shipments")
    assert item["Status"] == "Denied" and item["Version"] == 2
    assert subscription_grants(applied.sandbox, FINANCE, LOGISTICS_DB) == {}


def test_changed_permissions_grant_the_new_before_revoking_the_dropped(applied: Mesh) -> None:
    sandbox = applied.sandbox
    applied.file.edit("logistics", "sales.orders", permissions=["SELECT", "ALTER"])
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def record_calls(engine: Engine) -> None:
        """Record, in order, every call of the mesh account's Lake Formation and DynamoDB
        clients (the apply's own clients) through botocore's event system."""

        def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
            calls.append((model.service_model.service_name, model.name, params))

        for service in ("lakeformation", "dynamodb"):
            client = engine.sessions.client(MESH, service)
            client.meta.events.register(f"before-call.{service}", hook)

    run = applied.apply(before_execute=record_calls)
    assert run.result.ok
    assert not applied.plan().has_changes

    ops = [(service, op) for service, op, _ in calls]
    grant_at = ops.index(("lakeformation", "BatchGrantPermissions"))
    revoke_at = ops.index(("lakeformation", "BatchRevokePermissions"))
    record_at = next(
        i
        for i, (service, op, params) in enumerate(calls)
        if (service, op) == ("dynamodb", "UpdateItem")
        if json.loads(params["body"])["TableName"] == TABLE  # not the lock table's journal
    )
    # Access never drops in between: ALTER granted first, DESCRIBE revoked after, the record
    # written once the grants match it.
    assert grant_at < revoke_at < record_at
    granted = _entries(calls[grant_at][2])
    revoked = _entries(calls[revoke_at][2])
    assert granted == {
        (LOGISTICS, "order_lines", ("ALTER",)),
        (LOGISTICS, "orders", ("ALTER",)),
    }
    assert revoked == {
        (LOGISTICS, "order_lines", ("DESCRIBE",)),
        (LOGISTICS, "orders", ("DESCRIBE",)),
    }
    assert subscription_grants(sandbox, LOGISTICS, SALES_DB) == {
        (LOGISTICS, SALES_DB, ""): (frozenset({"DESCRIBE"}), frozenset()),
        (LOGISTICS, SALES_DB, "order_lines"): (frozenset({"ALTER", "SELECT"}), frozenset()),
        (LOGISTICS, SALES_DB, "orders"): (frozenset({"ALTER", "SELECT"}), frozenset()),
    }
    item = record(sandbox, LOGISTICS, "sales.orders")
    assert item["PermittedGrants"] == ["ALTER", "SELECT"]
    assert item["RequestedGrants"] == ["ALTER", "SELECT"]
    assert item["Status"] == "Active"


def _entries(params: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(principal, table, permissions) of a batch call's serialized request body."""
    body = json.loads(params["body"])
    return {
        (
            e["Principal"]["DataLakePrincipalIdentifier"],
            e["Resource"]["Table"]["Name"],
            tuple(sorted(e["Permissions"])),
        )
        for e in body["Entries"]
    }


def test_subscription_removed_from_the_file_is_archived_never_deleted(applied: Mesh) -> None:
    sandbox = applied.sandbox
    applied.file.remove("logistics", "sales.orders")
    run = applied.apply_ok()

    item = record(sandbox, LOGISTICS, "sales.orders")
    assert item, "the record stays in the table"
    assert item["Status"] == "Deleted"
    assert any("removed from mesh.yaml" in note for note in item["Notes"])
    assert item["LastPlanId"] == run.plan.plan_id and item["Version"] == 2
    assert subscription_grants(sandbox, LOGISTICS, SALES_DB) == {}
    assert glue_database(sandbox, LOGISTICS, SALES_DB) is None
    # Nothing else moved: the other subscriptions to the product keep their grants.
    assert subscription_grants(sandbox, MARKETING, SALES_DB)
    # An archived record is history, not an orphan: the next plans leave it alone.
    assert not applied.plan().has_changes


def test_expired_subscription_is_revoked_and_archived_on_its_date(applied: Mesh) -> None:
    sandbox = applied.sandbox
    assert applied.file.subscription("finance", "sales.orders")["expires"] == date(2027, 12, 31)

    day_before = datetime(2027, 12, 30, 23, 59, tzinfo=UTC)
    plan = applied.plan(day_before)
    assert not plan.has_changes
    assert any("expires on 2027-12-31 (in 1 day)" in w for w in plan.warnings)

    on_the_day = datetime(2027, 12, 31, 0, 1, tzinfo=UTC)
    run = applied.apply_ok(on_the_day)
    assert {c.reason for c in run.plan.effective_changes if c.kind is not Kind.RESOURCE_LINK} == {
        "expired on 2027-12-31"
    }
    item = record(sandbox, FINANCE, "sales.orders")
    assert item["Status"] == "Deleted"
    assert any("expired on 2027-12-31" in note for note in item["Notes"])
    assert item["UpdatedDate"].startswith("2027-12-31")  # written with the injected clock
    assert subscription_grants(sandbox, FINANCE, SALES_DB) == {}
    assert (
        subscription_grants(sandbox, f"arn:aws:iam::{FINANCE}:role/revenue-reporting", SALES_DB)
        == {}
    )
    assert glue_database(sandbox, FINANCE, SALES_DB) is None
    # Another consumer of the same product is not touched.
    assert record(sandbox, MARKETING, "sales.orders")["Status"] == "Active"


def test_removed_product_archives_its_subscriptions_first_in_the_same_plan(applied: Mesh) -> None:
    sandbox = applied.sandbox
    applied.file.edit(
        "marketing",
        "logistics.shipments",
        status="approved",
        approved_by="logistics-data@example.com",
    )
    applied.apply_ok()
    assert subscription_grants(sandbox, MARKETING, LOGISTICS_DB)

    applied.file.remove_product("logistics.shipments")
    run = applied.apply_ok()

    changes = list(run.plan.effective_changes)
    archives = [i for i, c in enumerate(changes) if c.kind is Kind.SUBSCRIPTION]
    catalog = [i for i, c in enumerate(changes) if c.kind in (Kind.TABLE, Kind.DATABASE)]
    assert {changes[i].address for i in archives} == {
        "subscription.finance/logistics.shipments",
        "subscription.marketing/logistics.shipments",
    }
    assert all(changes[i].action is Action.DELETE for i in archives + catalog)
    assert max(archives) < min(catalog), "subscriptions are archived before the product goes"
    for consumer in (FINANCE, MARKETING):
        item = record(sandbox, consumer, "logistics.shipments")
        assert item["Status"] == "Deleted"
        assert any("removed from mesh.yaml" in note for note in item["Notes"])
    assert {k for k in live_grants(sandbox) if k[1] == LOGISTICS_DB} == set()
    assert glue_database(sandbox, MESH, LOGISTICS_DB) is None
    assert glue_database(sandbox, MARKETING, LOGISTICS_DB) is None
    assert glue_database(sandbox, LOGISTICS, LOGISTICS_DB) is None  # the producer's link
    # The other products are intact.
    assert glue_database(sandbox, MESH, SALES_DB) is not None
    assert record(sandbox, MARKETING, "sales.orders")["Status"] == "Active"


def test_re_declared_subscription_revives_its_archived_record(applied: Mesh) -> None:
    """Removed, then declared again: the same item comes back (no duplicate), access restored."""
    sandbox = applied.sandbox
    declared = copy.deepcopy(applied.file.subscription("marketing", "sales.orders"))
    applied.file.remove("marketing", "sales.orders")
    applied.apply_ok()
    assert record(sandbox, MARKETING, "sales.orders")["Status"] == "Deleted"

    applied.file.data["subscriptions"].append(declared)
    applied.file.save()
    applied.apply_ok()
    item = record(sandbox, MARKETING, "sales.orders")
    assert item["Status"] == "Active" and item["Version"] == 3
    assert any("removed from mesh.yaml" in note for note in item["Notes"])  # history kept
    assert subscription_grants(sandbox, MARKETING, SALES_DB)
    ddb = sandbox.session(MESH).client("dynamodb")
    items = ddb.scan(TableName=TABLE)["Items"]
    mine = [i for i in items if i["SubscriberPrincipal"]["S"] == MARKETING]
    assert len({i["SubscriptionId"]["S"] for i in mine}) == len(mine) == 3


def test_product_locations_are_registered_with_lake_formation(applied: Mesh) -> None:
    """As the library does when it creates a data product: every mesh table's S3 location is
    registered with the mesh account's Lake Formation (with its service-linked role)."""
    session = applied.sandbox.session(MESH)
    registered = {
        r["ResourceArn"]
        for r in session.client("lakeformation").list_resources()["ResourceInfoList"]
    }
    tables = session.client("glue").get_tables(DatabaseName=SALES_DB)["TableList"]
    assert tables
    for table in tables:
        location = table["StorageDescriptor"]["Location"]
        assert "arn:aws:s3:::" + location.removeprefix("s3://").rstrip("/") in registered
    iam = session.client("iam")
    assert iam.get_role(RoleName="AWSServiceRoleForLakeFormationDataAccess")["Role"]


def _mesh_users(sandbox: InProcessSandbox, account_id: str) -> dict[str, list[str]]:
    """User name -> the groups it is in, for users under /AwsDataMesh/."""
    iam = sandbox.session(account_id).client("iam")
    users = iam.list_users(PathPrefix="/AwsDataMesh/")["Users"]
    return {
        u["UserName"]: sorted(
            g["GroupName"] for g in iam.list_groups_for_user(UserName=u["UserName"])["Groups"]
        )
        for u in users
    }


def test_iam_users_come_with_the_flag_and_go_without_it(applied: Mesh) -> None:
    """``mesh.iam_users: true`` adds the library's user and group beside every role: the user in
    its group, the group allowed to assume only that role, the role trusting the user. Turning it
    off deletes them again, and no role keeps naming a deleted user."""
    applied.file.data["mesh"]["iam_users"] = True
    applied.file.save()
    on = applied.apply_ok()
    creates = [c for c in on.plan.changes if c.kind is Kind.IAM_USER]
    assert len(creates) == 14 and {c.action for c in creates} == {Action.CREATE}

    admin = f"DataMeshAdminProducer-{SALES}"
    assert _mesh_users(applied.sandbox, SALES) == {"DataMeshProducer": ["DataMeshProducerGroup"]}
    mesh_users = _mesh_users(applied.sandbox, MESH)
    assert len(mesh_users) == 8 and mesh_users[admin] == [f"{admin}Group"]
    iam = applied.sandbox.session(MESH).client("iam")
    policy = iam.get_group_policy(GroupName=f"{admin}Group", PolicyName=f"Assume{admin}")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == [f"arn:aws:iam::{MESH}:role/AwsDataMesh/{admin}"]
    trust = iam.get_role(RoleName=admin)["Role"]["AssumeRolePolicyDocument"]
    assert (
        f"arn:aws:iam::{MESH}:user/AwsDataMesh/{admin}" in trust["Statement"][0]["Principal"]["AWS"]
    )

    applied.file.data["mesh"]["iam_users"] = False
    applied.file.save()
    off = applied.apply_ok()
    deletes = [c for c in off.plan.changes if c.kind is Kind.IAM_USER]
    assert len(deletes) == 14 and {c.action for c in deletes} == {Action.DELETE}
    for account_id in (MESH, SALES, LOGISTICS, FINANCE, MARKETING):
        assert _mesh_users(applied.sandbox, account_id) == {}
        groups = applied.sandbox.session(account_id).client("iam").list_groups()["Groups"]
        assert groups == []
    trust = iam.get_role(RoleName=admin)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"]["AWS"] == [
        f"arn:aws:iam::{SALES}:role/AwsDataMesh/DataMeshProducer"
    ]


# --- the invitation journal (aws/invitations.py) -------------------------------------------------


class _Crash(Exception):
    """The process dying between two steps of an apply."""


def _journal(sandbox: InProcessSandbox) -> set[str] | None:
    """The accounts the invitation journal records; None when there is no journal."""
    ddb = sandbox.session(MESH).client("dynamodb")
    key = {"LockId": {"S": "ram-invitations"}}
    try:
        item = ddb.get_item(TableName=f"{TABLE}-Locks", Key=key, ConsistentRead=True).get("Item")
    except ddb.exceptions.ResourceNotFoundException:
        return None  # no lock table: no apply ever ran
    return None if item is None else set(item.get("Accounts", {}).get("SS", ()))


def _invitation_reads(engine: Engine) -> dict[str, int]:
    stats = engine.sessions.stats
    return {
        k.account_id: n
        for k, (n, _) in stats.snapshot().items()
        if k.operation == "GetResourceShareInvitations"
    }


def without_marketing_share(mesh: Mesh) -> None:
    """Marketing's only access goes, and with it the RAM share that carried it, so the next
    grant to marketing sends it a new invitation (from version 2 one share per account pair)."""
    mesh.file.edit("marketing", "sales.orders", status="denied")
    mesh.apply_ok()
    assert share_arns(mesh.sandbox, MARKETING, SALES_DB) == set()


def test_a_no_op_plan_lists_no_invitations_once_applies_keep_the_journal(mesh: Mesh) -> None:
    engine = mesh.engine()
    engine.plan()  # no apply yet: no journal, so every member account's invitations are listed
    assert _journal(mesh.sandbox) is None
    assert set(_invitation_reads(engine)) == {SALES, LOGISTICS, FINANCE, MARKETING}

    mesh.apply_ok()
    assert _journal(mesh.sandbox) == set()  # kept, and every invitation accepted
    engine = mesh.engine()
    assert not engine.plan().has_changes
    assert _invitation_reads(engine) == {}
    stats = engine.sessions.stats
    # AssumeRole, GetAccountAuthorizationDetails, GetDatabases and SearchTables for a producer;
    # a consumer needs no SearchTables; finance, a producer that also subscribes for named
    # principals, lists the DESCRIBE grants on its resource links (ListPermissions) too.
    assert [stats.calls(account_id=a) for a in (SALES, LOGISTICS, MARKETING)] == [4, 4, 3]
    assert stats.calls(account_id=FINANCE, operation="ListPermissions") == 1
    assert stats.calls(account_id=FINANCE) == 5


def test_an_apply_with_no_changes_starts_the_journal_on_a_mesh_without_one(applied: Mesh) -> None:
    """A mesh applied before the journal existed (or made by the helper library)."""
    ddb = applied.sandbox.session(MESH).client("dynamodb")
    ddb.delete_item(TableName=f"{TABLE}-Locks", Key={"LockId": {"S": "ram-invitations"}})
    assert _journal(applied.sandbox) is None

    run = applied.apply()
    assert not run.plan.has_changes
    assert len(_invitation_reads(run.engine)) == 4  # no journal: every member account listed
    assert _journal(applied.sandbox) == set()
    engine = applied.engine()
    engine.plan()
    assert _invitation_reads(engine) == {}


def test_an_apply_stopped_between_grant_and_acceptance_is_finished_by_the_next(
    applied: Mesh,
) -> None:
    sandbox = applied.sandbox
    without_marketing_share(applied)  # so the approval below sends marketing an invitation
    applied.file.edit(
        "marketing",
        "logistics.shipments",
        status="approved",
        approved_by="logistics-data@example.com",
    )

    def crash_after_grants(result: ChangeResult) -> None:
        if result.change.kind is Kind.GRANT:
            raise _Crash

    engine = applied.engine()
    with pytest.raises(_Crash), engine.locked("apply"):
        engine.execute(
            engine.plan(), max_revokes=100, allow_mass_revoke=False, on_result=crash_after_grants
        )
    # The grants went out, their invitation is pending, and the journal recorded the account
    # before the first grant was made.
    assert (MARKETING, LOGISTICS_DB, "shipments") in subscription_grants(
        sandbox, MARKETING, LOGISTICS_DB
    )
    assert "PENDING" in invitations(sandbox, MARKETING).values()
    assert _journal(sandbox) == {MARKETING}

    # The next plan lists invitations in that account only, sees the pending one, and plans
    # the resource-link step that accepts it.
    engine = applied.engine()
    observed = engine.observe()
    assert _invitation_reads(engine) == {MARKETING: 1}
    assert [a for a, _ in observed.pending_invitations] == [MARKETING]
    plan = engine.plan()
    links = [c for c in plan.effective_changes if c.kind is Kind.RESOURCE_LINK]
    assert [(c.account_id, c.action) for c in links] == [(MARKETING, Action.CREATE)]

    applied.apply_ok()
    assert "PENDING" not in invitations(sandbox, MARKETING).values()
    assert _journal(sandbox) == set()
