"""Diff of Lake Formation grants in the mesh catalog.

Which live grants are compared (the *scope*): grants on mesh databases (declared, or found in the
mesh account by the readers) and their tables, catalog-level grants to the mesh roles
(``/AwsDataMesh/``), and grants on meshctl's resource links in consumer catalogs (where a
subscription's principals get ``DESCRIBE``). Other grants of the mesh account — on other databases,
on data locations, catalog grants to other principals — are not meshctl's business and are not
listed.

Which non-declared live grants meshctl *owns* (and so revokes as ``orphaned``): the grant is
derivable from what it manages — the subscriber of one of its records (or of a helper-library
record a declaration adopts in this plan), or one of the record's principals, on that record's
database or tables (a principal also on the consumer's resource link), the producer of (or a mesh
role on) a mesh database it manages, a catalog grant to a mesh role it manages. Everything else is
``unmanaged``. A column grant or a grant on a data cells filter is meshctl's only when it is the
one a record's restrictions give (the columns, or the filter meshctl names for the subscription);
any other is someone else's.

An unmanaged grant on a database or table this plan deletes cannot be left alone: Lake Formation
drops it with its resource. It is planned as a delete of its own (drift ``unmanaged``), revoked
before its parent goes and counted by ``--max-revokes``, never shown as kept.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from meshctl.observed import Grant, RecordStatus, ResourceType, SubscriptionRecord
from meshctl.planning import policies
from meshctl.planning.canonical import (
    IAM_ALLOWED_PRINCIPALS,
    column_resource,
    drop_implicit,
    filter_resource,
    is_column_resource,
    principal_account,
    table_name,
)
from meshctl.planning.data_filters import filter_name as data_filter_name
from meshctl.planning.desired import Desired, RecordIntent, Seen
from meshctl.planning.kinds.changes import ChangeSet
from meshctl.planning.plan import Action, Kind

_ALL_TABLES = None  # record cover: every table of the database


@dataclass
class Ownership:
    mesh_account_id: str
    mesh_databases: set[str] = field(default_factory=set)  # in scope
    managed_databases: set[str] = field(default_factory=set)  # declared or ManagedBy meshctl
    producers_of: dict[str, set[str]] = field(default_factory=dict)
    # (subscriber, database) -> tables covered by meshctl's records (None: every table)
    record_cover: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)
    managed_role_arns: set[str] = field(default_factory=set)
    links: set[tuple[str, str]] = field(default_factory=set)  # meshctl's (consumer, link name)
    # (grantee, resource key) of the column grants and filter grants meshctl's records restrict
    # their tables to: only those are meshctl's (a hand-made column grant stays unmanaged).
    restricted: set[tuple[str, str]] = field(default_factory=set)

    @property
    def role_prefix(self) -> str:
        return policies.role_arn(self.mesh_account_id, "")

    @classmethod
    def build(cls, seen: Seen, desired: Desired) -> Ownership:
        m = desired.mesh_account_id
        own = cls(m)
        declared = {d.name for d in desired.databases.values() if d.account_id == m}
        live = {d.name: d for d in seen.observed.databases if d.account_id == m}
        own.mesh_databases = declared | {n for n, d in live.items() if not d.target_account_id}
        own.managed_databases = declared | {n for n, d in live.items() if d.managed_by_meshctl}
        for db, producer in desired.producer_of.items():
            own.producers_of.setdefault(db, set()).add(producer)
        for table in seen.observed.tables:
            if table.account_id == m and table.owner:
                own.producers_of.setdefault(table.database, set()).add(table.owner)
        for record in seen.observed.subscriptions:
            # A record a declaration adopts in this plan is meshctl's from this plan on, and so
            # are its grants: demoting or expiring it revokes them now, not one plan later.
            if not record.managed and record.subscription_id not in desired.claimed:
                continue
            # Archived records count too: a revoke that failed while archiving is retried.
            own.producers_of.setdefault(record.database, set()).add(record.owner)
            for grantee in (record.subscriber, *record.principals):
                own.cover(grantee, record.database, record.tables)
            own.restrict(m, record)
        own.links = {(d.account_id, d.name) for d in desired.links.values()}
        own.links |= {
            (d.account_id, d.name)
            for d in seen.observed.databases
            if d.account_id != m and d.target_account_id == m and d.managed_by_meshctl
        }
        own.managed_role_arns = {
            policies.role_arn(r.account_id, r.name)
            for r in (*seen.observed.roles, *desired.roles.values())
            if r.account_id == m and r.managed_by_meshctl
        }
        return own

    def cover(self, grantee: str, database: str, tables: tuple[str, ...]) -> None:
        key = (grantee, database)
        cover = set(tables) if tables else _ALL_TABLES
        if key in self.record_cover:
            old = self.record_cover[key]
            cover = _ALL_TABLES if old is None or cover is None else old | cover
        self.record_cover[key] = cover

    def restrict(self, m: str, record: SubscriptionRecord) -> None:
        product = record.product or record.database
        for r in record.restrictions:
            if r.row_filter:
                name = data_filter_name(record.subscriber, product)
                resource = filter_resource(m, record.database, r.table, name)
            else:
                resource = column_resource(
                    m, record.database, r.table, columns=r.columns, excluded=r.excluded
                )
            for grantee in (record.subscriber, *record.principals):
                self.restricted.add((grantee, resource.key))

    def in_scope(self, grant: Grant) -> bool:
        resource = grant.resource
        if resource.catalog_id != self.mesh_account_id:
            link = (resource.catalog_id, resource.database)
            return resource.type is ResourceType.DATABASE and link in self.links
        if resource.type is ResourceType.CATALOG:
            return grant.principal.startswith(self.role_prefix)
        if resource.type is ResourceType.DATA_LOCATION:
            return False
        return resource.database in self.mesh_databases

    def derivable(self, grant: Grant) -> bool:
        resource = grant.resource
        if resource.type is ResourceType.CATALOG:
            return grant.principal in self.managed_role_arns
        if is_column_resource(resource) or resource.type is ResourceType.DATA_CELLS_FILTER:
            return (grant.principal, resource.key) in self.restricted
        db = resource.database
        key = (grant.principal, db)
        if key in self.record_cover:
            cover = self.record_cover[key]
            if resource.type is ResourceType.DATABASE or cover is None or resource.table in cover:
                return True
        if db in self.managed_databases:
            return grant.principal in self.producers_of.get(db, ()) or grant.principal.startswith(
                self.role_prefix
            )
        return False


def plan_grants(
    seen: Seen,
    desired: Desired,
    ownership: Ownership,
    changes: ChangeSet,
    ignored_principals: Collection[str],
) -> list[str]:
    """Plan grant changes; returns the warnings about ``IAM_ALLOWED_PRINCIPALS``."""
    admins = seen.observed.lake_settings.admins | desired.lake_settings.admins
    skip = set(admins) | set(ignored_principals)
    live_grants = drop_implicit(
        seen.observed.grants, admins=admins, ignored_principals=ignored_principals
    )
    warnings: list[str] = []
    live: dict[str, Grant] = {}
    for grant in live_grants:
        if not ownership.in_scope(grant):
            continue
        if grant.principal == IAM_ALLOWED_PRINCIPALS:
            if grant.resource.type is not ResourceType.CATALOG:
                warnings.append(
                    f"IAM_ALLOWED_PRINCIPALS holds {', '.join(sorted(grant.permissions))} on "
                    f"{grant.resource.key}: Lake Formation permissions are not enforced there "
                    "while it does (meshctl leaves it alone)"
                )
            continue
        live[grant.address] = grant

    # Why an owned grant goes away, when a declared subscription expired.
    expired = {
        (intent.consumer_id, intent.database): intent.archive_reason
        for intent in desired.records.values()
        if intent.archive_reason
    }
    intents = {(i.consumer_id, i.database): i for i in desired.records.values()}
    for address, want in desired.grants.items():
        if want.principal in skip:
            continue  # admins hold it implicitly; granting it again would only add noise
        current = live.get(address)
        if current is None:
            where = want.resource.catalog_id
            changes.create(Kind.GRANT, address, where, want, desired.reasons.get(address, ""))
        elif current != want:
            why = _update_reason(current, want, intents, desired, changes.file)
            changes.update(Kind.GRANT, address, want.resource.catalog_id, current, want, why)
    doomed = _deleted_parents(changes)
    for address, current in live.items():
        if address in desired.grants:
            continue
        where = current.resource.catalog_id
        if ownership.derivable(current):
            why = expired.get((principal_account(current.principal), current.resource.database), "")
            why = why or _revoke_reason(current, intents, changes.file)
            changes.orphan(Kind.GRANT, address, where, current, why)
        elif parent := _parent_in(doomed, current):
            changes.removed_with_parent(Kind.GRANT, address, where, current, parent)
        else:
            changes.unmanaged(
                Kind.GRANT, address, where, current, "not granted by anything meshctl manages"
            )
    return sorted(warnings)


def _deleted_parents(changes: ChangeSet) -> dict[tuple[str, str, str], str]:
    """(catalog, database, table or "") of the mesh databases, table copies and resource links
    this plan deletes, with their address. Planned before the grants, so the entries are there."""
    m = changes.mesh_account_id
    out: dict[tuple[str, str, str], str] = {}
    for entry in changes.entries.values():
        if entry.action is not Action.DELETE:
            continue
        if entry.kind in (Kind.DATABASE, Kind.RESOURCE_LINK) and entry.account_id != m:
            out[(entry.account_id, entry.before.name, "")] = entry.address
        elif entry.account_id != m:
            continue
        elif entry.kind is Kind.DATABASE and not entry.before.target_account_id:
            out[(m, entry.before.name, "")] = entry.address
        elif entry.kind is Kind.TABLE:
            out[(m, entry.before.database, entry.before.name)] = entry.address
    return out


def _parent_in(doomed: dict[tuple[str, str, str], str], grant: Grant) -> str:
    resource = grant.resource
    if not resource.database:
        return ""
    table = table_name(resource) if resource.type is ResourceType.TABLE else ""
    catalog = resource.catalog_id
    return doomed.get((catalog, resource.database, table)) or doomed.get(
        (catalog, resource.database, ""), ""
    )


Intents = dict[tuple[str, str], RecordIntent]  # by (consumer account, mesh database)


def _edited(intent: RecordIntent | None) -> bool:
    """Whether the file changed what the subscription's live record says it grants."""
    if intent is None or intent.live is None or intent.after is None:
        return False
    fields = ("status", "permitted", "grantable", "tables", "restrictions")
    return any(
        sorted(getattr(intent.live, f)) != sorted(getattr(intent.after, f))
        if isinstance(getattr(intent.live, f), tuple)
        else getattr(intent.live, f) != getattr(intent.after, f)
        for f in fields
    )


def _update_reason(
    current: Grant, want: Grant, intents: Intents, desired: Desired, file: str
) -> str:
    """A file edit says so in the file's terms; anything else is drift, restored."""
    if _edited(intents.get((principal_account(want.principal), want.resource.database))):
        fewer = want.permissions <= current.permissions and want.grantable <= current.grantable
        more = want.permissions >= current.permissions and want.grantable >= current.grantable
        if fewer or more:
            return f"permissions {'narrowed' if fewer else 'widened'} in {file}"
        return f"permissions changed in {file}"
    why = desired.reasons.get(want.address) or f"declared in {file}"
    return f"live grant differs from {file} (changed outside meshctl): {why}"


def _revoke_reason(current: Grant, intents: Intents, file: str) -> str:
    intent = intents.get((principal_account(current.principal), current.resource.database))
    if intent is None or intent.after is None:
        return f"no longer declared in {file}"
    if intent.after.status is not RecordStatus.ACTIVE:
        return f"subscription {intent.after.status.word} in {file}"
    return f"no longer part of the subscription in {file} (permissions or tables narrowed)"
