"""Subscription-table reads against the in-process sandbox: the right index for each filter, every
page followed, and the filters a user gives answered exactly (archived records hidden by default).
"""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from support.sandbox import InProcessSandbox

from meshctl.aws.api import AccountApi
from meshctl.aws.apply.mesh import subscriptions_table_definition
from meshctl.aws.read.subscriptions import RecordQuery, SubscriptionTable
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.tracker import item_from_record
from meshctl.errors import AwsError
from meshctl.ids import subscription_id
from meshctl.observed import RecordStatus, SubscriptionRecord
from meshctl.spec.model import MeshSettings

MESH = "555555555555"
SALES = "111111111111"
LOGISTICS = "222222222222"
MARKETING = "999999999999"
FINANCE = "333333333333"
TABLE = "AwsDataMeshSubscriptions"
SETTINGS = MeshSettings(MESH, "us-east-1", TABLE)
SALES_DB = f"sales-{SALES}"
SHIPMENTS_DB = f"logistics-{LOGISTICS}"


def _record(
    consumer: str, product: str, owner: str, db: str, status: RecordStatus
) -> SubscriptionRecord:
    return SubscriptionRecord(
        subscription_id=subscription_id(consumer, product),
        owner=owner,
        subscriber=consumer,
        status=status,
        database=db,
        tables=("orders",),
        requested=("SELECT",),
        permitted=("SELECT",) if status is RecordStatus.ACTIVE else (),
        managed=True,
        version=1,
        product=product,
        notes=("archived by meshctl: removed from mesh.yaml",)
        if status is RecordStatus.DELETED
        else (),
    )


RECORDS = (
    _record(MARKETING, "sales.orders", SALES, SALES_DB, RecordStatus.ACTIVE),
    _record(MARKETING, "logistics.shipments", LOGISTICS, SHIPMENTS_DB, RecordStatus.PENDING),
    _record(FINANCE, "sales.orders", SALES, SALES_DB, RecordStatus.DELETED),
    _record(LOGISTICS, "sales.orders", SALES, SALES_DB, RecordStatus.PENDING),
)
LIBRARY_ITEM = {  # the helper library's request: no ProductName, no ManagedBy
    "SubscriptionId": "Jw8mV2b7cTqK3dXo9pLrYa",
    "OwnerPrincipal": SALES,
    "SubscriberPrincipal": FINANCE,
    "Status": "Pending",
    "DatabaseName": SALES_DB,
    "TableName": ["orders"],
    "RequestedGrants": ["SELECT"],
}


@pytest.fixture
def table(sandbox: InProcessSandbox) -> SubscriptionTable:
    client = sandbox.session(MESH).client("dynamodb")
    client.create_table(**subscriptions_table_definition(TABLE))
    serialize = TypeSerializer().serialize
    items: list[dict[str, Any]] = [item_from_record(r, "who", "plan", None) for r in RECORDS]
    for item in [*items, LIBRARY_ITEM]:
        client.put_item(TableName=TABLE, Item={k: serialize(v) for k, v in item.items()})
    return SubscriptionTable(AccountApi(AccountSessions(SETTINGS), MESH), TABLE)


def _ops(table: SubscriptionTable) -> dict[str, int]:
    stats = table.api.sessions.stats
    return {op: stats.calls(operation=op) for op in ("Query", "Scan", "GetItem")}


def _ids(records: list[SubscriptionRecord]) -> set[str]:
    return {r.subscription_id for r in records}


def test_consumer_filter_queries_the_subscriber_index(table: SubscriptionTable) -> None:
    found = table.records(RecordQuery(subscriber=MARKETING))
    assert _ids(found) == {RECORDS[0].subscription_id, RECORDS[1].subscription_id}
    assert _ops(table) == {"Query": 1, "Scan": 0, "GetItem": 0}


def test_producer_and_status_filter_queries_the_owner_index_by_key(
    table: SubscriptionTable,
) -> None:
    found = table.records(RecordQuery(owner=SALES, status=RecordStatus.PENDING))
    assert _ids(found) == {RECORDS[3].subscription_id, LIBRARY_ITEM["SubscriptionId"]}
    assert _ops(table) == {"Query": 1, "Scan": 0, "GetItem": 0}


def test_archived_records_are_hidden_unless_asked_for(table: SubscriptionTable) -> None:
    archived = RECORDS[2].subscription_id
    assert archived not in _ids(table.records(RecordQuery(owner=SALES)))
    assert archived in _ids(table.records(RecordQuery(owner=SALES, include_archived=True)))
    only = table.records(RecordQuery(status=RecordStatus.DELETED))
    assert _ids(only) == {archived}
    assert only[0].notes == ("archived by meshctl: removed from mesh.yaml",)


def test_product_filter_matches_library_items_by_their_mesh_database(
    table: SubscriptionTable,
) -> None:
    found = table.records(RecordQuery(product="sales.orders", database=SALES_DB))
    assert _ids(found) == {
        RECORDS[0].subscription_id,
        RECORDS[3].subscription_id,
        LIBRARY_ITEM["SubscriptionId"],
    }
    assert _ops(table)["Scan"] == 1  # no owner or subscriber named: the one case for a scan


def test_every_page_is_read(table: SubscriptionTable) -> None:
    paged = SubscriptionTable(table.api, TABLE, page_size=2)
    found = paged.records(RecordQuery(include_archived=True))
    assert len(found) == 5
    assert _ops(table)["Scan"] == 3  # 2 + 2 + 1 items


def test_a_page_token_repeated_by_the_service_is_an_error_not_an_endless_read(
    table: SubscriptionTable,
) -> None:
    """AWS never sends the same page token twice; an emulator that did would page forever.
    botocore's paginator stops at the repeat, and meshctl reports it as an AwsError."""
    client = table.api.client("dynamodb")
    stuck = {"SubscriptionId": {"S": RECORDS[0].subscription_id}}

    def repeat_token(parsed: dict[str, Any], **_: Any) -> None:
        parsed["LastEvaluatedKey"] = stuck

    client.meta.events.register("after-call.dynamodb.Scan", repeat_token)
    with pytest.raises(AwsError) as raised:
        SubscriptionTable(table.api, TABLE, page_size=2).records(RecordQuery())
    assert str(raised.value).startswith(f"dynamodb:Scan failed in account {MESH}: ")
    assert "same next token" in str(raised.value)
    assert _ops(table)["Scan"] == 2


def test_get_item_returns_every_attribute(table: SubscriptionTable) -> None:
    item = table.get_item(RECORDS[2].subscription_id)
    assert item is not None
    assert item["Status"] == "Deleted" and item["LastPlanId"] == "plan"
    assert table.get_item("no-such-id") is None


def test_missing_table_is_a_clear_error(sandbox: InProcessSandbox) -> None:
    api = AccountApi(AccountSessions(SETTINGS), MESH)
    with pytest.raises(AwsError, match="subscription table Nope does not exist in mesh account"):
        SubscriptionTable(api, "Nope").records(RecordQuery(subscriber=MARKETING))
