"""Paginated reads of the subscription table, for ``meshctl subscriptions`` and ``meshctl import``.

The table has the helper library's indexes (architecture.md): ``<table>-Subscriber`` (hash
``SubscriberPrincipal``) and ``<table>-Owner`` (hash ``OwnerPrincipal``, range ``Status``). A
filter that names a subscriber reads the Subscriber index, one that names an owner reads the Owner
index (with ``Status`` in the key condition when a status is given); only a filter naming neither
scans the table. Every read is paged to the end by botocore's paginator.

The remaining filters (product, status outside the key, archived records) are applied here, on
the records read: a DynamoDB ``FilterExpression`` would consume the same read capacity and only
save bytes, and keeping them in Python keeps one definition of what "matches" means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from meshctl.aws.api import AccountApi, is_absent
from meshctl.aws.tracker import record_from_item
from meshctl.errors import AwsError
from meshctl.observed import RecordStatus, SubscriptionRecord


@dataclass(frozen=True)
class RecordQuery:
    """Which records to list. ``None`` means "any"."""

    subscriber: str | None = None  # consumer account id
    owner: str | None = None  # producer account id
    status: RecordStatus | None = None
    product: str | None = None  # product name (ProductName of meshctl's records)
    database: str | None = None  # mesh database of that product (library records have no name)
    include_archived: bool = False

    def matches(self, record: SubscriptionRecord) -> bool:
        if self.subscriber is not None and record.subscriber != self.subscriber:
            return False
        if self.owner is not None and record.owner != self.owner:
            return False
        if self.status is not None:
            if record.status is not self.status:
                return False
        elif record.status is RecordStatus.DELETED and not self.include_archived:
            return False
        return self.product is None or _is_of_product(record, self.product, self.database)


def _is_of_product(record: SubscriptionRecord, product: str, database: str | None) -> bool:
    if record.product:
        return record.product == product
    # A helper-library item names only its mesh database.
    return record.database == (database or product)


class SubscriptionTable:
    """The subscription table of the mesh account, read through its indexes."""

    def __init__(self, api: AccountApi, name: str, *, page_size: int | None = None) -> None:
        self.api = api
        self.name = name
        self.page_size = page_size  # items per page; None: DynamoDB's own 1 MB pages
        self._decode = TypeDeserializer().deserialize

    @property
    def subscriber_index(self) -> str:
        return f"{self.name}-Subscriber"

    @property
    def owner_index(self) -> str:
        return f"{self.name}-Owner"

    def get_item(self, subscription_id: str) -> dict[str, Any] | None:
        """The whole item (every attribute, as Python values), or None when there is none."""
        answer = self.api.call(
            "dynamodb",
            "get_item",
            absent=True,
            TableName=self.name,
            Key={"SubscriptionId": {"S": subscription_id}},
            ConsistentRead=True,
        )
        if answer is None:
            raise self._missing()
        raw = answer.get("Item")
        return self._item(raw) if raw else None

    def records(self, query: RecordQuery) -> list[SubscriptionRecord]:
        """Records matching ``query``, sorted by (subscriber, database, id)."""
        found = [r for r in map(record_from_item, self._items(query)) if query.matches(r)]
        return sorted(found, key=lambda r: (r.subscriber, r.database, r.subscription_id))

    def _items(self, query: RecordQuery) -> Iterator[dict[str, Any]]:
        if query.subscriber is not None:
            return self._query(self.subscriber_index, {"SubscriberPrincipal": query.subscriber})
        if query.owner is not None:
            key = {"OwnerPrincipal": query.owner}
            if query.status is not None:
                key["Status"] = query.status.value
            return self._query(self.owner_index, key)
        return self._pages("scan", TableName=self.name)

    def _query(self, index: str, key: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        names = {f"#k{i}": attribute for i, attribute in enumerate(key)}
        values = {f":k{i}": {"S": value} for i, value in enumerate(key.values())}
        condition = " AND ".join(f"#k{i} = :k{i}" for i in range(len(key)))
        return self._pages(
            "query",
            TableName=self.name,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _pages(self, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            for page in self.api.pages("dynamodb", method, page_size=self.page_size, **kwargs):
                for raw in page.get("Items", []):
                    yield self._item(raw)
        except AwsError as exc:
            if is_absent(exc):
                raise self._missing() from exc
            raise

    def _missing(self) -> AwsError:
        return AwsError(
            f"the subscription table {self.name} does not exist in mesh account "
            f"{self.api.account_id}: check mesh.subscriptions_table (or "
            "--subscriptions-table), or run `meshctl apply` first"
        )

    def _item(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._decode(v) for k, v in raw.items()}
