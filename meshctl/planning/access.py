"""A plan's access changes in people's terms: who gains or loses what, and requests that move.

Pure: computed from the plan's own changes (their before/after values) and the file's names, so a
reviewer reads "marketing gains SELECT on sales.orders (orders)" (or, restricted, "... on
sales.orders: customers (id, country); payments rows where country = 'DE'") before the grant lines
it summarises (a subscription's principal as "finance (role/revenue-reporting)"; its DESCRIBE on the
consumer's resource link counts with the product). One line per (principal, product) and direction,
one per subscription record that changes status. Grants of the mesh's own machinery (a producer on
its product, the mesh roles) are not access changes for people and are left to the detailed list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from meshctl import codec
from meshctl.observed import DataFilter, RecordStatus, ResourceType, TableRestriction
from meshctl.planning import policies
from meshctl.planning.canonical import COLUMN_SEPARATOR, principal_account
from meshctl.planning.data_filters import PREFIX as FILTER_PREFIX
from meshctl.planning.data_filters import filter_name
from meshctl.planning.plan import Action, Change, Drift, Kind
from meshctl.spec.model import MeshSpec, Product


@dataclass
class _Delta:
    gains: dict[str, set[str]] = field(default_factory=dict)  # table ("" = database) -> perms
    loses: dict[str, set[str]] = field(default_factory=dict)
    unmanaged: bool = False


def access_summary(spec: MeshSpec, changes: Iterable[Change]) -> tuple[str, ...]:
    """The summary lines, grants first (by principal, then product), then records."""
    names = {a.account_id: a.name for a in spec.accounts}
    by_db: dict[str, list[Product]] = {}
    for product in sorted(spec.products, key=lambda p: p.name):
        by_db.setdefault(product.mesh_database, []).append(product)
    producers = {p.mesh_database: spec.account(p.producer).account_id for p in spec.products}
    mesh_roles = policies.role_arn(spec.mesh.account_id, "")
    deltas: dict[tuple[str, str], _Delta] = {}
    records: list[str] = []
    changes = tuple(changes)
    filters = _filters(spec, changes)
    for change in changes:
        if change.action is Action.NOOP:
            continue
        if change.kind is Kind.SUBSCRIPTION:
            records += _record_line(change, names)
            continue
        if change.kind is Kind.DATA_FILTER and change.action is Action.UPDATE:
            records += _filter_line(change, names, by_db)
            continue
        if change.kind is not Kind.GRANT:
            continue
        before, after = change.before or {}, change.after or {}
        value = after or before
        principal = str(value.get("principal", ""))
        resource = value.get("resource") or {}
        db, table = str(resource.get("database", "")), str(resource.get("table", ""))
        if not db or principal.startswith(mesh_roles) or principal == producers.get(db):
            continue
        product_name = _product_of(by_db.get(db, []), table.split(COLUMN_SEPARATOR)[0]) or db
        table = table_label(resource, filters.get((db, table)))
        delta = deltas.setdefault((principal, product_name), _Delta())
        delta.unmanaged |= change.drift is Drift.UNMANAGED
        old, new = _perms(before), _perms(after)
        if new - old:
            delta.gains.setdefault(table, set()).update(new - old)
        if old - new:
            delta.loses.setdefault(table, set()).update(old - new)
    lines = []
    for (principal, product_name), delta in sorted(deltas.items(), key=lambda kv: kv[0]):
        who = principal_name(principal, names)
        for verb, found in (("gains", delta.gains), ("loses", delta.loses)):
            for perms, tables in _by_permissions(found):
                where = f" ({', '.join(tables)})" if tables else ""
                if any(t != t.split(" ", 1)[0] for t in tables):  # a restricted table's label
                    where = f": {'; '.join(tables)}"
                note = " (unmanaged, goes with what it is on)" if delta.unmanaged else ""
                lines.append(f"{who} {verb} {perms} on {product_name}{where}{note}")
    return tuple(lines + records)


def table_label(resource: dict[str, Any], restriction: TableRestriction | None = None) -> str:
    """A grant's table as people read it: ``orders``, ``orders (id, status)``, ``orders except
    (email)``, ``orders rows where country = 'DE'`` (a data cells filter, with ``restriction``
    its rows and columns; without, its name)."""
    table = str(resource.get("table", ""))
    name, _, rest = table.partition(COLUMN_SEPARATOR)
    if resource.get("type") == ResourceType.DATA_CELLS_FILTER.value:
        return restriction.describe() if restriction else f"{name} (data cells filter {rest})"
    if rest.startswith("columns="):
        return TableRestriction(name, columns=tuple(rest[8:].split(","))).describe()
    if rest.startswith("excluding="):
        return TableRestriction(name, excluded=tuple(rest[10:].split(","))).describe()
    return table


def _filters(spec: MeshSpec, changes: Iterable[Change]) -> dict[tuple[str, str], TableRestriction]:
    """(database, ``table#filter``) -> the rows and columns of each data cells filter the plan
    touches or the file declares, for the lines about grants on them."""
    out: dict[tuple[str, str], TableRestriction] = {}
    ids = {a.name: a.account_id for a in spec.accounts}
    dbs = {p.name: p.mesh_database for p in spec.products}
    for sub in spec.subscriptions:
        for r in sub.restrictions:
            name = filter_name(ids[sub.consumer], sub.product)
            out[(dbs[sub.product], f"{r.table}{COLUMN_SEPARATOR}{name}")] = r
    for change in changes:
        if change.kind is Kind.DATA_FILTER:
            for value in (change.before, change.after):
                if value:
                    f = codec.from_json(DataFilter, value)
                    out[(f.database, f"{f.table}{COLUMN_SEPARATOR}{f.name}")] = TableRestriction(
                        f.table, f.columns, f.excluded, f.row_filter
                    )
    return out


def _filter_line(
    change: Change, names: dict[str, str], by_db: dict[str, list[Product]]
) -> list[str]:
    """A data cells filter changed in place: its grantees read other rows or columns."""
    before = codec.from_json(DataFilter, change.before)
    after = codec.from_json(DataFilter, change.after)
    consumer = after.name.removeprefix(FILTER_PREFIX).split("-", 1)[0]
    product = _product_of(by_db.get(after.database, []), after.table) or after.database
    old, new = (
        TableRestriction(f.table, f.columns, f.excluded, f.row_filter).describe()
        for f in (before, after)
    )
    return [f"{names.get(consumer, consumer)} reads other data of {product}: {old} → {new}"]


def principal_name(principal: str, names: dict[str, str]) -> str:
    """An account by its name; a subscription principal as ``finance (role/revenue-reporting)``."""
    account = principal_account(principal)
    if account == principal or account not in names:
        return names.get(principal, principal)
    return f"{names[account]} ({principal.split(':', 5)[5]})"


def _perms(value: dict[str, Any]) -> set[str]:
    grantable = {f"{p} (grantable)" for p in value.get("grantable") or ()}
    return {str(p) for p in value.get("permissions") or ()} | grantable


def _product_of(products: list[Product], table: str) -> str:
    for product in products:
        if not table or product.all_tables or table in product.tables:
            return product.name
    return products[0].name if products else ""


def _by_permissions(found: dict[str, set[str]]) -> list[tuple[str, list[str]]]:
    """Tables grouped by the permissions they gain (or lose); the database's own grant only when
    no table of it changes (a table grant implies the database's DESCRIBE)."""
    tables = {t: p for t, p in found.items() if t}
    if not tables:
        return [(", ".join(sorted(found[""])), [])] if found.get("") else []
    groups: dict[str, list[str]] = {}
    for table, perms in sorted(tables.items()):
        groups.setdefault(", ".join(sorted(perms)), []).append(table)
    return list(groups.items())


def _record_line(change: Change, names: dict[str, str]) -> list[str]:
    before, after = change.before or {}, change.after or {}
    value = after or before
    who = names.get(str(value.get("subscriber", "")), str(value.get("subscriber", "")))
    key = f"{who}/{value.get('product') or value.get('database')}"
    old = RecordStatus(before["status"]) if before.get("status") else None
    new = RecordStatus(after["status"]) if after.get("status") else None
    approver = after.get("approved_by") if new is RecordStatus.ACTIVE else ""
    by = f" by {approver}" if approver else ""
    if change.action is Action.CREATE and new is not None:
        return [f"{key}: new request, {new.word}{by}"]
    if change.action is Action.DELETE or new is RecordStatus.DELETED:
        return [f"{key}: archived ({change.reason})" if change.reason else f"{key}: archived"]
    if old is not None and new is not None and old is not new:
        return [f"{key}: request {old.word} → {new.word}{by}"]
    return []
