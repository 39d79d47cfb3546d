"""The subscription table in the helper library's layout: item ↔ ``SubscriptionRecord``.

The library (``SubscriberTracker``) writes ``OwnerPrincipal``, ``SubscriberPrincipal``, ``Status``,
``DatabaseName``, ``TableName`` (list), ``RequestedGrants``/``PermittedGrants``/``GrantableGrants``/
``GrantedTableARNs`` (lists), ``RamShares`` (map of name → {type, arn}), ``Notes`` (a string set,
or a plain string on some creates), ``ImportedToConsumer`` and who/when attributes with dates as
``%Y-%m-%d %H:%M:%S``. meshctl writes the same attributes, so the library keeps reading them, plus
its own: ``ManagedBy``, ``Version``, ``ApprovedBy``, ``Purpose``, ``Expires``, ``ProductName``,
``LastPlanId``, ``GitCommit``, ``Principals`` (the consumer's IAM roles/users that hold the
access, when the file names them; ``SubscriberPrincipal`` stays the consumer account id, which is
what the library reads) and ``Restrictions`` (tables narrowed to columns or rows: a list of
{Table, Columns, ExcludedColumns, RowFilter}; ``TableName`` still lists every subscribed table).

Items here are plain Python values (what boto3's ``TypeDeserializer`` returns), not typed JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from meshctl.observed import RecordStatus, SubscriptionRecord, TableRestriction

MANAGED_BY = "meshctl"
# The tag meshctl puts on the IAM roles and users and the table it creates (how readers tell them
# from what someone else made).
MANAGED_TAGS = [{"Key": "ManagedBy", "Value": MANAGED_BY}]
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # the library's format, so its sorting and display still work

# Attributes meshctl may remove on update when a record no longer has a value for them.
OPTIONAL_ATTRIBUTES = (
    "ApprovedBy",
    "Purpose",
    "Expires",
    "ProductName",
    "GitCommit",
    "Principals",
    "Restrictions",
)
# Attributes set once, on create (update keeps the existing values).
CREATE_ONLY_ATTRIBUTES = ("CreationDate", "CreatedBy")


def format_date(moment: datetime) -> str:
    return moment.strftime(DATE_FORMAT)


def _strings(value: Any) -> tuple[str, ...]:
    """A list, set or single string attribute as a tuple of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value)
    return (str(value),)


def _sorted_strings(value: Any) -> tuple[str, ...]:
    return tuple(sorted(set(_strings(value))))


def _ram_shares(value: Any) -> tuple[tuple[str, str], ...]:
    """``RamShares`` as (name, share ARN) pairs; the library stores {name: {type, arn}}."""
    if not isinstance(value, Mapping):
        return ()
    pairs = []
    for name, share in value.items():
        arn = share.get("arn", "") if isinstance(share, Mapping) else share
        pairs.append((str(name), str(arn)))
    return tuple(sorted(pairs))


def _status(value: Any) -> RecordStatus:
    text = str(value or "")
    for status in RecordStatus:
        if status.value.lower() == text.lower():
            return status
    # An unknown status is shown as Pending rather than failing the whole read; the planner
    # then proposes the declared status with a conditional write on the unknown one.
    return RecordStatus.PENDING


def _int(value: Any) -> int:
    if isinstance(value, Decimal | int):
        return int(value)
    try:
        return int(str(value))
    except ValueError:
        return 0


def record_from_item(item: Mapping[str, Any]) -> SubscriptionRecord:
    """A record from a deserialized item, whether the library or meshctl wrote it."""
    return SubscriptionRecord(
        subscription_id=str(item["SubscriptionId"]),
        owner=str(item.get("OwnerPrincipal", "")),
        subscriber=str(item.get("SubscriberPrincipal", "")),
        status=_status(item.get("Status")),
        database=str(item.get("DatabaseName", "")),
        tables=_sorted_strings(item.get("TableName")),
        requested=_sorted_strings(item.get("RequestedGrants")),
        permitted=_sorted_strings(item.get("PermittedGrants")),
        grantable=_sorted_strings(item.get("GrantableGrants")),
        granted_table_arns=_sorted_strings(item.get("GrantedTableARNs")),
        ram_shares=_ram_shares(item.get("RamShares")),
        notes=_sorted_strings(item.get("Notes")),
        imported=bool(item.get("ImportedToConsumer", False)),
        managed=item.get("ManagedBy") == MANAGED_BY,
        version=_int(item.get("Version", 0)),
        product=str(item.get("ProductName", "")),
        approved_by=str(item.get("ApprovedBy", "")),
        purpose=str(item.get("Purpose", "")),
        expires=str(item.get("Expires", "")),
        created_at=str(item.get("CreationDate", "")),
        created_by=str(item.get("CreatedBy", "")),
        updated_at=str(item.get("UpdatedDate", "")),
        updated_by=str(item.get("UpdatedBy", "")),
        last_plan_id=str(item.get("LastPlanId", "")),
        principals=_sorted_strings(item.get("Principals")),
        restrictions=_restrictions(item.get("Restrictions")),
    )


def _restrictions(value: Any) -> tuple[TableRestriction, ...]:
    """``Restrictions``: a list of {Table, Columns, ExcludedColumns, RowFilter} maps."""
    if not isinstance(value, Iterable) or isinstance(value, str | Mapping):
        return ()
    found = (
        TableRestriction(
            table=str(r.get("Table", "")),
            columns=_sorted_strings(r.get("Columns")),
            excluded=_sorted_strings(r.get("ExcludedColumns")),
            row_filter=str(r.get("RowFilter", "")),
        )
        for r in value
        if isinstance(r, Mapping) and r.get("Table")
    )
    return tuple(sorted(found))


def _restriction_items(restrictions: Iterable[TableRestriction]) -> list[dict[str, Any]]:
    items = []
    for r in restrictions:
        item: dict[str, Any] = {"Table": r.table}
        if r.columns:
            item["Columns"] = list(r.columns)
        if r.excluded:
            item["ExcludedColumns"] = list(r.excluded)
        if r.row_filter:
            item["RowFilter"] = r.row_filter
        items.append(item)
    return items


def item_from_record(
    record: SubscriptionRecord,
    who: str,
    plan_id: str,
    commit: str | None,
    *,
    now: str = "",
) -> dict[str, Any]:
    """The full item for ``record`` as meshctl writes it (``Version`` as given in the record).

    ``who``/``now`` fill ``UpdatedBy``/``UpdatedDate`` (and the creation pair when the record has
    none). Empty optional attributes are left out; ``Notes`` too, because DynamoDB string sets
    cannot be empty.
    """
    database = record.database
    item: dict[str, Any] = {
        "SubscriptionId": record.subscription_id,
        "OwnerPrincipal": record.owner,
        "SubscriberPrincipal": record.subscriber,
        "Status": record.status.value,
        "DatabaseName": database,
        "TableName": list(record.tables),
        "RequestedGrants": list(record.requested),
        "PermittedGrants": list(record.permitted),
        "GrantableGrants": list(record.grantable),
        "GrantedTableARNs": list(record.granted_table_arns),
        "RamShares": {
            name: {"type": "Database" if name == database else "Table", "arn": arn}
            for name, arn in record.ram_shares
        },
        "ImportedToConsumer": record.imported,
        "CreationDate": record.created_at or now,
        "CreatedBy": record.created_by or who,
        "UpdatedDate": now,
        "UpdatedBy": who,
        "ManagedBy": MANAGED_BY,
        "Version": record.version,
        "LastPlanId": plan_id,
    }
    if record.notes:
        item["Notes"] = set(record.notes)
    optional = {
        "ApprovedBy": record.approved_by,
        "Purpose": record.purpose,
        "Expires": record.expires,
        "ProductName": record.product,
        "GitCommit": commit or "",
        "Principals": list(record.principals),
        "Restrictions": _restriction_items(record.restrictions),
    }
    item.update({k: v for k, v in optional.items() if v})
    return item
