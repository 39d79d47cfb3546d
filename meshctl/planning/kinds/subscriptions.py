"""Desired subscription records, consumer grants and consumer resource links.

One declared subscription gives: its record (``SubscriptionRecord``, status mapped from the file);
when approved and not expired, ``DESCRIBE`` on the mesh database and the declared permissions on
each subscribed mesh table for the consumer *account* (or, with ``principals``, for each of those
IAM roles/users instead, plus ``DESCRIBE`` for each on the consumer's resource link), and a
resource link database in the consumer account. An expired subscription (``expires`` on or before
today) gives nothing but the archive of its live record.

Adoption: a declaration matches, in this order, the live record with its deterministic id (if
not archived); else a live, not archived record of the same consumer account and mesh database
(the helper library's, or meshctl's for the same product); else its archived record with the
deterministic id (re-declared after removal: the record is revived, not duplicated). A live record
is matched by at most one declaration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from datetime import date, timedelta

from meshctl.address import Address, link_address
from meshctl.ids import subscription_id
from meshctl.observed import (
    Database,
    LfResource,
    RecordStatus,
    ResourceType,
    SubscriptionRecord,
)
from meshctl.planning.desired import Desired, RecordIntent, Seen
from meshctl.planning.kinds.changes import ChangeSet
from meshctl.planning.kinds.held import keep_as_is
from meshctl.planning.kinds.restrictions import missing_columns, table_access
from meshctl.planning.plan import Held, Kind
from meshctl.spec.model import MeshSpec, Subscription, SubscriptionStatus

EXPIRY_WARNING_DAYS = 14
CONSUMER_DATABASE_PERMISSIONS = frozenset({"DESCRIBE"})
LINK_PERMISSIONS = frozenset({"DESCRIBE"})  # a principal's on the consumer's resource link

STATUS = {
    SubscriptionStatus.PENDING: RecordStatus.PENDING,
    SubscriptionStatus.APPROVED: RecordStatus.ACTIVE,
    SubscriptionStatus.DENIED: RecordStatus.DENIED,
}

# The fields a plan compares; the rest (version, dates, who, notes, RAM shares, table ARNs) are
# bookkeeping that apply writes.
SEMANTIC_FIELDS = (
    "owner",
    "subscriber",
    "status",
    "database",
    "tables",
    "requested",
    "permitted",
    "grantable",
    "imported",
    "managed",
    "product",
    "approved_by",
    "purpose",
    "expires",
    "principals",
    "restrictions",
)


def semantic(record: SubscriptionRecord) -> tuple[object, ...]:
    """The compared part of a record; list fields as sorted tuples (item order is not meaning)."""
    values = []
    for name in SEMANTIC_FIELDS:
        value = getattr(record, name)
        values.append(tuple(sorted(value)) if isinstance(value, tuple) else value)
    return tuple(values)


def changed_fields(before: SubscriptionRecord, after: SubscriptionRecord) -> list[str]:
    return [
        name
        for name, a, b in zip(SEMANTIC_FIELDS, semantic(before), semantic(after), strict=True)
        if a != b
    ]


def is_expired(sub: Subscription, today: date) -> bool:
    return sub.expires is not None and sub.expires <= today


def desire_subscriptions(spec: MeshSpec, seen: Seen, desired: Desired, today: date) -> None:
    m = spec.mesh.account_id
    accounts = {a.name: a.account_id for a in spec.accounts}
    open_records = _open_records_by_key(seen.observed.subscriptions)
    for sub in sorted(spec.subscriptions, key=lambda s: s.key):
        view = desired.products[sub.product]
        consumer_id = accounts[sub.consumer]
        db = view.product.mesh_database
        address = f"subscription.{sub.key}"
        own_id = subscription_id(consumer_id, sub.product)
        live = _match(sub, own_id, consumer_id, db, seen, open_records, desired.claimed)
        if live is not None:
            desired.claimed.add(live.subscription_id)
        tables = tuple(sorted(set(sub.tables))) if sub.tables else view.tables
        if is_expired(sub, today):
            assert sub.expires is not None
            reason = f"expired on {sub.expires.isoformat()}"
            desired.records[address] = RecordIntent(
                address, consumer_id, db, None, live, reason, sub.expires.isoformat()
            )
            continue
        approved = sub.status is SubscriptionStatus.APPROVED
        unknown = [n for n in tables if n not in view.tables]
        if approved and unknown and not view.held:
            src = view.product.source_database
            missing = tuple(f"table {src}.{n}" for n in unknown)
            desired.held.append(Held(f"subscription {sub.key}", view.producer_id, missing))
        columns = missing_columns(sub, db, seen, desired) if approved and not unknown else ()
        if columns and not view.held:
            desired.held.append(Held(f"subscription {sub.key}", view.producer_id, columns))
        if approved and (view.held or unknown or columns):
            keep_as_is(sub, consumer_id, db, tables, live, seen, desired)
            continue
        if approved:
            _grant_access(sub, consumer_id, db, tables, view.available, seen, desired)
            link = link_address(consumer_id, db)
            desired.links[link] = Database(
                account_id=consumer_id,
                name=db,
                target_account_id=m,
                target_database=db,
                managed_by_meshctl=True,
            )
            desired.reasons.setdefault(link, f"consumer side of approved subscription {sub.key}")
        after = _record(sub, own_id, view.producer_id, consumer_id, db, tables, live)
        desired.records[address] = RecordIntent(address, consumer_id, db, after, live)
    _expiry_warnings(spec.subscriptions, today, desired)


def _grant_access(
    sub: Subscription,
    consumer_id: str,
    db: str,
    tables: Iterable[str],
    available: Collection[str],
    seen: Seen,
    desired: Desired,
) -> None:
    """The grants of an approved subscription: to the consumer account, or to each of its
    principals (and then DESCRIBE on the consumer's resource link too, in the consumer's
    catalog, so the principal can query through it). A principal that does not exist gets no new
    grant (a warning says so) and keeps what it holds: it converges once the identity returns."""
    m = desired.mesh_account_id
    why = f"approved subscription {sub.key}"
    found = set(seen.observed.principals_found)
    wanted: list[tuple[LfResource, frozenset[str], frozenset[str]]] = [
        (LfResource(ResourceType.DATABASE, m, db), CONSUMER_DATABASE_PERMISSIONS, frozenset())
    ]
    for name in tables:
        if name in available:
            wanted += table_access(sub, consumer_id, m, db, name, desired)
    if sub.principals:
        link = LfResource(ResourceType.DATABASE, consumer_id, db)
        wanted.append((link, LINK_PERMISSIONS, frozenset()))
    for grantee in sub.principals or (consumer_id,):
        if grantee != consumer_id and grantee not in found:
            desired.warnings.append(
                f"principal {grantee} of subscription {sub.key} does not exist in account "
                f"{consumer_id}: meshctl grants it nothing new until it does (meshctl never "
                "creates or edits the consumer's IAM identities)"
            )
            for resource, _, _ in wanted:
                live = seen.grants.get(str(Address(Kind.GRANT, grantee, resource.key)))
                if live is not None:
                    desired.grants[live.address] = live
                    desired.reasons[live.address] = why
            continue
        for resource, permissions, grantable in wanted:
            desired.add_grant(grantee, resource, permissions, grantable, why=why)


def _open_records_by_key(
    records: Iterable[SubscriptionRecord],
) -> dict[tuple[str, str], list[SubscriptionRecord]]:
    """Live, not archived records by (subscriber, database); meshctl's first, then oldest."""
    out: dict[tuple[str, str], list[SubscriptionRecord]] = {}
    for record in records:
        if record.status is not RecordStatus.DELETED:
            out.setdefault((record.subscriber, record.database), []).append(record)
    for group in out.values():
        group.sort(key=lambda r: (not r.managed, r.created_at, r.subscription_id))
    return out


def _match(
    sub: Subscription,
    own_id: str,
    consumer_id: str,
    db: str,
    seen: Seen,
    open_records: dict[tuple[str, str], list[SubscriptionRecord]],
    claimed: set[str],
) -> SubscriptionRecord | None:
    own = seen.records_by_id.get(own_id)
    if own is not None and own.subscription_id in claimed:
        own = None
    if own is not None and own.status is not RecordStatus.DELETED:
        return own
    for record in open_records.get((consumer_id, db), ()):
        if record.subscription_id in claimed:
            continue
        if record.managed and record.product and record.product != sub.product:
            continue  # meshctl's record of another product sharing this mesh database
        return record
    return own  # archived: revive it rather than write a second record


def _record(
    sub: Subscription,
    own_id: str,
    producer_id: str,
    consumer_id: str,
    db: str,
    tables: tuple[str, ...],
    live: SubscriptionRecord | None,
) -> SubscriptionRecord:
    approved = sub.status is SubscriptionStatus.APPROVED
    record = SubscriptionRecord(
        subscription_id=own_id,
        owner=producer_id,
        subscriber=consumer_id,
        status=STATUS[sub.status],
        database=db,
        tables=tables,
        requested=tuple(sorted(sub.permissions)),
        permitted=tuple(sorted(sub.permissions)) if approved else (),
        grantable=tuple(sorted(sub.grantable)) if approved else (),
        # meshctl completes the consumer side in the same plan (resource link, invitations).
        imported=approved,
        managed=True,
        product=sub.product,
        approved_by=sub.approved_by or "",
        purpose=sub.purpose,
        expires=sub.expires.isoformat() if sub.expires else "",
        principals=sub.principals,
        restrictions=sub.restrictions,
    )
    if live is None:
        return record
    # Keep the live record's id and bookkeeping (its version guards the conditional write).
    return dataclasses.replace(live, **{name: getattr(record, name) for name in SEMANTIC_FIELDS})


def archived(record: SubscriptionRecord, reason: str, today: date) -> SubscriptionRecord:
    """The record as apply writes it when archiving: ``Deleted``, with a dated note saying why.

    The note is data of the change: apply writes it as planned and never reads ``reason``. The
    date keeps a second archive (after a revival) a note of its own in the record's history."""
    note = f"archived by meshctl on {today.isoformat()}: {reason}"
    return dataclasses.replace(
        record, status=RecordStatus.DELETED, notes=tuple(sorted({*record.notes, note}))
    )


def _expiry_warnings(subs: Iterable[Subscription], today: date, desired: Desired) -> None:
    horizon = today + timedelta(days=EXPIRY_WARNING_DAYS)
    for sub in sorted(subs, key=lambda s: s.key):
        if sub.expires is not None and today < sub.expires <= horizon:
            days = (sub.expires - today).days
            desired.warnings.append(
                f"subscription {sub.key} expires on {sub.expires.isoformat()} "
                f"(in {days} day{'s' if days != 1 else ''})"
            )


# --- diffs --------------------------------------------------------------------------------------


def plan_records(
    spec: MeshSpec, seen: Seen, desired: Desired, changes: ChangeSet, today: date
) -> None:
    m = spec.mesh.account_id
    for address, intent in desired.records.items():
        live = intent.live
        if intent.after is None:  # expired
            if live is not None and live.status is not RecordStatus.DELETED:
                after = archived(live, intent.archive_reason, today)
                # The record says when access really ended: the file's (earlier) expiry date.
                after = dataclasses.replace(after, expires=intent.expired_on or after.expires)
                changes.orphan(
                    Kind.SUBSCRIPTION, address, m, live, intent.archive_reason, after=after
                )
            continue
        if live is None:
            word = intent.after.status.word
            changes.create(
                Kind.SUBSCRIPTION, address, m, intent.after, f"{word} in {changes.file}, no record"
            )
        elif semantic(live) != semantic(intent.after):
            changes.update(
                Kind.SUBSCRIPTION,
                address,
                m,
                live,
                intent.after,
                _record_reason(live, intent.after, changes.file),
            )

    names = {a.account_id: a.name for a in spec.accounts}
    used = set(desired.records)
    for record in seen.observed.subscriptions:
        if record.subscription_id in desired.claimed or record.status is RecordStatus.DELETED:
            continue
        consumer = names.get(record.subscriber, record.subscriber)
        address = f"subscription.{consumer}/{record.product or record.database}"
        if address in used:
            address = f"{address}#{record.subscription_id}"
        used.add(address)
        if record.managed:
            reason = f"removed from {changes.file}"
            after = archived(record, reason, today)
            changes.orphan(Kind.SUBSCRIPTION, address, m, record, reason, after=after)
        else:
            changes.unmanaged(
                Kind.SUBSCRIPTION,
                address,
                m,
                record,
                f"helper-library subscription {record.subscription_id} not declared",
                after_if_pruned=archived(
                    record, f"not declared in {changes.file} (--prune)", today
                ),
            )


def _record_reason(live: SubscriptionRecord, after: SubscriptionRecord, file: str) -> str:
    """Why a record changes, in the file's words (pending/approved/denied), not the table's."""
    fields = changed_fields(live, after)
    parts = []
    if not live.managed:
        parts.append(f"adopt helper-library record {live.subscription_id}")
    if live.status is RecordStatus.DELETED:
        parts.append(f"revive archived record: {after.status.word} in {file}")
    elif "status" in fields:
        by = (
            f" by {after.approved_by}"
            if after.status is RecordStatus.ACTIVE and after.approved_by
            else ""
        )
        parts.append(f"request {live.status.word} -> {after.status.word}{by} in {file}")
    rest = [f for f in fields if f not in ("status", "managed")]
    if rest:
        parts.append("changed: " + ", ".join(rest))
    return "; ".join(parts)
