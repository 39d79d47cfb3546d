"""Who can read what, now: the live table grants of the mesh catalog, each with where it comes
from, for ``meshctl access``.

Pure: computed from the observed snapshot, the mesh file and ``today``. One row per (principal,
mesh table) holding a grant, and one per table an approved, unexpired subscription should reach
but does not. Each row says its source — the subscription (status, approver, purpose), the
producer of the product, a helper-library record not in the file, or ``unmanaged`` — and what is
wrong with it, if anything:

- live access with no approved, unexpired subscription behind it (unmanaged, pending, denied,
  expired, archived), or more than the subscription allows;
- an approved subscription whose access is not live (a grant missing or narrowed, or a principal
  without DESCRIBE on the consumer's resource link, through which it queries);
- columns or rows other than the subscription's (a restricted table is read through a column
  grant or a data cells filter: the row says which columns and rows, ``restriction``).

Mesh roles (``/AwsDataMesh/``) and data lake admins are the mesh's machinery, not readers, and are
left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from meshctl.observed import (
    DataFilter,
    Grant,
    LfResource,
    ObservedMesh,
    RecordStatus,
    ResourceType,
    SubscriptionRecord,
    TableRestriction,
)
from meshctl.planning import policies
from meshctl.planning.access import principal_name, table_label
from meshctl.planning.canonical import (
    FULL_PERMISSIONS,
    expand,
    is_column_resource,
    principal_account,
    resource_filter_name,
    table_name,
)
from meshctl.planning.kinds.subscriptions import is_expired
from meshctl.spec.model import MeshSpec, Product, Subscription, SubscriptionStatus

SUBSCRIPTION = "subscription"
PRODUCER = "producer"
RECORD = "record"  # a live record (the helper library's) that the file does not declare
UNMANAGED = "unmanaged"


@dataclass(frozen=True)
class AccessRow:
    principal: str  # an account id or an IAM ARN, as Lake Formation names it
    who: str  # "marketing", "finance (role/revenue-reporting)"
    account_id: str
    product: str  # the product's name (the mesh database's, when no product declares it)
    database: str
    table: str
    permissions: tuple[str, ...]
    grantable: tuple[str, ...]
    expires: str = ""  # YYYY-MM-DD, from the subscription
    restriction: str = ""  # "(id, status)", "except (email) rows where ...", "" for all of it
    source: str = UNMANAGED
    subscription: str = ""  # consumer/product, or the record's id for a library record
    status: str = ""  # pending / approved / denied / archived
    approved_by: str = ""
    purpose: str = ""
    problem: str = ""  # "" when the access is as the mesh says it should be

    def to_json(self) -> dict[str, object]:
        return {
            "principal": self.principal,
            "who": self.who,
            "account_id": self.account_id,
            "product": self.product,
            "database": self.database,
            "table": self.table,
            "restriction": self.restriction or None,
            "permissions": list(self.permissions),
            "grantable": list(self.grantable),
            "expires": self.expires or None,
            "source": self.source,
            "subscription": self.subscription or None,
            "status": self.status or None,
            "approved_by": self.approved_by or None,
            "purpose": self.purpose or None,
            "problem": self.problem or None,
        }


@dataclass(frozen=True)
class _Want:
    sub: Subscription
    permissions: frozenset[str]
    grantable: frozenset[str]
    granting: bool  # approved and not expired
    restriction: str = ""  # the subscribed columns and rows, as ``AccessRow.restriction``


# Grants that reach a table's data: the table, some of its columns, or a data cells filter on it.
_TABLE_SHAPES = frozenset({ResourceType.TABLE, ResourceType.DATA_CELLS_FILTER})


def _narrowing(resource: LfResource, filters: dict[tuple[str, str], DataFilter]) -> str:
    """How a column grant or a filter grant narrows its table: ``(id, status)``, ``except
    (email)``, ``rows where country = 'DE'``; a filter that is gone by its name."""
    if resource.type is ResourceType.DATA_CELLS_FILTER:
        f = filters.get((resource.database, resource.table))
        if f is None:
            return f"data cells filter {resource_filter_name(resource)} (not found)"
        label = TableRestriction(f.table, f.columns, f.excluded, f.row_filter).describe()
    else:
        label = table_label({"type": resource.type.value, "table": resource.table})
    return label.split(" ", 1)[1] if " " in label else ""


def _merged(old: Grant | None, new: Grant) -> Grant:
    """One grant per (principal, table): the permissions of its table, columns and filter."""
    if old is None:
        return new
    return dataclasses.replace(
        old, permissions=old.permissions | new.permissions, grantable=old.grantable | new.grantable
    )


def live_access(spec: MeshSpec, observed: ObservedMesh, today: date) -> tuple[AccessRow, ...]:
    """Every row, sorted by who, product and table."""
    m = spec.mesh.account_id
    names = {a.account_id: a.name for a in spec.accounts}
    ids = {a.name: a.account_id for a in spec.accounts}
    products = {p.mesh_database: p for p in spec.products}
    live_tables = _live_tables(observed, m)
    wants = _wants(spec, products, live_tables, ids, today)
    records = _active_records(observed.subscriptions)
    skip = set(observed.lake_settings.admins)
    mesh_roles = policies.role_arn(m, "")
    grants: dict[tuple[str, str, str], Grant] = {}
    restricted: dict[tuple[str, str, str], str] = {}  # how a table's grants narrow it
    filters = {(f.database, f"{f.table}#{f.name}"): f for f in observed.data_filters}
    links: set[tuple[str, str]] = set()  # (principal, database) with DESCRIBE on the link
    for g in observed.grants:
        if g.resource.catalog_id != m:
            if g.resource.type is ResourceType.DATABASE and "DESCRIBE" in g.permissions:
                links.add((g.principal, g.resource.database))
            continue
        if g.resource.type not in _TABLE_SHAPES or g.resource.database not in live_tables:
            continue
        if g.principal in skip or g.principal.startswith(mesh_roles):
            continue
        key = (g.principal, g.resource.database, table_name(g.resource))
        if g.resource.type is ResourceType.DATA_CELLS_FILTER or is_column_resource(g.resource):
            restricted[key] = _narrowing(g.resource, filters)
        grants[key] = _merged(grants.get(key), g)

    rows: list[AccessRow] = []
    for (principal, db, table), g in grants.items():
        product = products.get(db)
        base = _row(principal, names, product, db, table, g.permissions, g.grantable)
        base = dataclasses.replace(base, restriction=restricted.get((principal, db, table), ""))
        if product is not None and principal == ids.get(product.producer):
            rows.append(_with(base, source=PRODUCER))
            continue
        want = wants.get((principal, db, table))
        if want is not None:
            rows.append(_from_subscription(base, want, g, links))
            continue
        record = records.get((principal, db))
        if record is not None and (not record.tables or table in record.tables):
            rows.append(
                _with(
                    base,
                    source=RECORD,
                    subscription=record.subscription_id,
                    status=record.status.word,
                    approved_by=record.approved_by,
                )
            )
            continue
        rows.append(_with(base, problem="live access with no subscription behind it"))
    for (principal, db, table), want in wants.items():
        if want.granting and (principal, db, table) not in grants:
            product = products[db]
            base = _row(principal, names, product, db, table, frozenset(), frozenset())
            missing = ", ".join(sorted(want.permissions))
            rows.append(_described(base, want, f"approved but not live: missing {missing}"))
    return tuple(sorted(rows, key=lambda r: (r.who, r.product, r.table, r.principal)))


def _live_tables(observed: ObservedMesh, m: str) -> dict[str, set[str]]:
    """Mesh database -> its tables (mesh databases only, not links)."""
    out: dict[str, set[str]] = {
        d.name: set() for d in observed.databases if d.account_id == m and not d.target_account_id
    }
    for t in observed.tables:
        if t.account_id == m and t.database in out:
            out[t.database].add(t.name)
    return out


def _wants(
    spec: MeshSpec,
    products: dict[str, Product],
    live_tables: dict[str, set[str]],
    ids: dict[str, str],
    today: date,
) -> dict[tuple[str, str, str], _Want]:
    """(grantee, mesh database, table) -> the declared subscription that covers it."""
    out: dict[tuple[str, str, str], _Want] = {}
    by_name = {p.name: p for p in products.values()}
    for sub in spec.subscriptions:
        product = by_name[sub.product]
        db = product.mesh_database
        offered = live_tables.get(db, set())
        if sub.tables:
            tables: Iterable[str] = sub.tables
        elif product.all_tables:
            tables = offered
        else:
            tables = product.tables
        granting = sub.status is SubscriptionStatus.APPROVED and not is_expired(sub, today)
        permissions = expand(sub.permissions, ResourceType.TABLE)
        grantable = expand(sub.grantable, ResourceType.TABLE)
        for grantee in sub.principals or (ids[sub.consumer],):
            for table in tables:
                r = sub.restriction(table)
                narrowed = r.describe().split(" ", 1)[1] if r is not None else ""
                out[(grantee, db, table)] = _Want(sub, permissions, grantable, granting, narrowed)
    return out


def _active_records(
    records: Iterable[SubscriptionRecord],
) -> dict[tuple[str, str], SubscriptionRecord]:
    out: dict[tuple[str, str], SubscriptionRecord] = {}
    for r in records:
        if r.status is RecordStatus.ACTIVE:
            for grantee in (*r.principals, r.subscriber):
                out[(grantee, r.database)] = r
    return out


def _row(
    principal: str,
    names: dict[str, str],
    product: Product | None,
    db: str,
    table: str,
    permissions: frozenset[str],
    grantable: frozenset[str],
) -> AccessRow:
    return AccessRow(
        principal=principal,
        who=principal_name(principal, names),
        account_id=principal_account(principal),
        product=product.name if product is not None else db,
        database=db,
        table=table,
        permissions=_shown(permissions),
        grantable=_shown(grantable),
    )


def _shown(perms: frozenset[str]) -> tuple[str, ...]:
    """``ALL`` when it is the full table set (as the file would say it), else the sorted list."""
    return (
        ("ALL",)
        if perms and perms >= FULL_PERMISSIONS[ResourceType.TABLE]
        else tuple(sorted(perms))
    )


def _with(
    row: AccessRow,
    *,
    source: str = UNMANAGED,
    subscription: str = "",
    status: str = "",
    approved_by: str = "",
    purpose: str = "",
    expires: str = "",
    problem: str = "",
) -> AccessRow:
    return dataclasses.replace(
        row,
        source=source,
        subscription=subscription,
        status=status,
        approved_by=approved_by,
        purpose=purpose,
        expires=expires,
        problem=problem,
    )


def _described(row: AccessRow, want: _Want, problem: str) -> AccessRow:
    sub = want.sub
    approved = sub.status is SubscriptionStatus.APPROVED
    status = "expired" if approved and not want.granting else sub.status.value
    return _with(
        row,
        source=SUBSCRIPTION,
        subscription=sub.key,
        status=status,
        approved_by=sub.approved_by or "",
        purpose=sub.purpose,
        expires=sub.expires.isoformat() if sub.expires else "",
        problem=problem,
    )


def _from_subscription(
    row: AccessRow, want: _Want, grant: Grant, links: set[tuple[str, str]]
) -> AccessRow:
    if not want.granting:
        return _described(row, want, "live access with no approved, unexpired subscription")
    extra = (grant.permissions - want.permissions) | (grant.grantable - want.grantable)
    missing = (want.permissions - grant.permissions) | (want.grantable - grant.grantable)
    problem = ""
    if missing:
        problem = f"approved but not live: missing {', '.join(sorted(missing))}"
    elif row.restriction != want.restriction:
        live = f"{row.table} {row.restriction}" if row.restriction else f"all of {row.table}"
        subscribed = f"{row.table} {want.restriction}" if want.restriction else "all of it"
        problem = f"reads {live}; the subscription allows {subscribed}"
    elif extra:
        problem = f"more than subscribed: {', '.join(sorted(extra))}"
    elif want.sub.principals and (grant.principal, grant.resource.database) not in links:
        problem = "no DESCRIBE on the consumer's resource link: it cannot query through it"
    return _described(row, want, problem)
