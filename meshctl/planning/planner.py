"""The pure planner: desired values (from the spec) against observed ones → an ordered ``Plan``.

Pure and read-only: no AWS call, no clock (``today`` is passed in), no mutation of its inputs.
Every look-up is by address in a dictionary, so planning grows as O(n log n) (the sort).

Rules (architecture.md):
- a declared value that is missing is a ``create`` (drift ``missing``); one that differs is an
  ``update`` (``changed``); a declared value that matches produces no change at all;
- a live value meshctl owns (``ManagedBy = meshctl``, or derived from what it owns) that is no
  longer declared is a ``delete`` (``orphaned``): grants revoked, records archived;
- anything else on mesh resources is ``unmanaged``: listed as a ``no-op``, or a ``delete`` with
  ``prune``; ``IAM_ALLOWED_PRINCIPALS`` and data lake admins are never touched;
- a ``protect: true`` product's database is never deleted: the planner raises ``PlanError``.

Order: creates and updates first, kind by kind in ``APPLY_ORDER``; then deletes in
``DELETE_ORDER`` (consumer links, then grant revokes, then record archives, then the catalog).
Inside a kind: a fixed rank (member roles before the mesh roles that trust them, mesh databases
before the links to them), then creates before updates, then by address.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from meshctl.errors import PlanError
from meshctl.observed import Database, Grant, ObservedMesh, ResourceType, Role, SubscriptionRecord
from meshctl.planning import policies
from meshctl.planning.canonical import table_name
from meshctl.planning.desired import (
    Seen,
    database_address,
    desire_catalog,
    link_address,
    table_address,
)
from meshctl.planning.kinds.catalog import (
    plan_databases,
    plan_iam_users,
    plan_locations,
    plan_mesh,
    plan_roles,
    plan_tables,
)
from meshctl.planning.kinds.changes import ChangeSet, Entry
from meshctl.planning.kinds.grants import Ownership, plan_grants
from meshctl.planning.kinds.subscriptions import desire_subscriptions, plan_links, plan_records
from meshctl.planning.plan import Action, Change, Kind, Plan
from meshctl.spec.model import MeshSpec

DEPLOYER_ROLE = "MeshctlDeployer"

# Roles come before the lake settings naming the manager role as admin (Lake Formation rejects
# unknown principals); grants before the consumer side (the grant makes the RAM invitation);
# the record last, so ``Active``/``ImportedToConsumer`` are written once access exists.
APPLY_ORDER = (
    Kind.SUBSCRIPTIONS_TABLE,
    Kind.IAM_USER,
    Kind.ROLE,
    Kind.LAKE_SETTINGS,
    Kind.CATALOG_POLICY,
    Kind.LF_TAG,
    Kind.DATA_LOCATION,
    Kind.DATABASE,
    Kind.TABLE,
    Kind.GRANT,
    Kind.RESOURCE_LINK,
    Kind.SUBSCRIPTION,
)
# Access goes first (links, then grants), the record is archived once its grants are revoked,
# then the catalog goes in the reverse of creation.
DELETE_ORDER = (
    Kind.RESOURCE_LINK,
    Kind.GRANT,
    Kind.SUBSCRIPTION,
    Kind.TABLE,
    Kind.DATABASE,
    Kind.DATA_LOCATION,
    Kind.ROLE,
    Kind.IAM_USER,
    Kind.LF_TAG,
    Kind.CATALOG_POLICY,
    Kind.LAKE_SETTINGS,
    Kind.SUBSCRIPTIONS_TABLE,
)
_ACTION_RANK = {Action.CREATE: 0, Action.UPDATE: 1, Action.DELETE: 2, Action.NOOP: 3}


def make_plan(
    spec: MeshSpec,
    observed: ObservedMesh,
    *,
    plan_id: str,
    mesh_file_sha256: str,
    today: date,
    prune: bool = False,
    created_at: str = "",
    ignore_principals: Iterable[str] = (),
) -> Plan:
    """The changes that make ``observed`` match ``spec``, in apply order.

    ``ignore_principals``: identities meshctl itself runs as (besides the mesh account's
    ``MeshctlDeployer`` role and ``mesh.role_arn``): Lake Formation lists them as creators of
    what they made, and those grants are neither desired nor revocable.
    """
    m = spec.mesh.account_id
    seen = Seen.build(observed)
    desired = desire_catalog(spec, seen)
    desire_subscriptions(spec, seen, desired, today)

    changes = ChangeSet(mesh_account_id=m, prune=prune)
    plan_mesh(spec, seen, desired, changes)
    plan_iam_users(seen, desired, changes)
    plan_roles(seen, desired, changes)
    protected = plan_databases(seen, desired, changes)
    if protected:
        raise PlanError(
            "refusing to plan the deletion of protected product database(s) "
            + ", ".join(protected)
            + ": put the product back in mesh.yaml; to remove it, first set `protect: false` "
            "and apply, then remove it"
        )
    plan_tables(seen, desired, changes)
    plan_locations(seen, desired, changes)
    ignored = {f"arn:aws:iam::{m}:role/{DEPLOYER_ROLE}", *ignore_principals}
    if spec.mesh.role_arn:
        ignored.add(spec.mesh.role_arn)
    ownership = Ownership.build(seen, desired)
    grant_warnings = plan_grants(seen, desired, ownership, changes, ignored)
    plan_records(spec, seen, desired, changes, today)
    plan_links(seen, desired, changes)

    return Plan(
        plan_id=plan_id,
        mesh_file_sha256=mesh_file_sha256,
        observed_fingerprint=observed.fingerprint,
        changes=order_changes(changes, m),
        warnings=tuple(desired.warnings + grant_warnings),
        created_at=created_at,
        context=(("prune", json.dumps(prune)), ("today", today.isoformat())),
    )


def revoke_count(plan: Plan) -> int:
    """Changes that take access away, for the ``--max-revokes`` guard.

    Grant revokes and record archives, and grant updates that drop a permission (the update
    revokes what it drops, after granting what it adds).
    """
    count = 0
    for change in plan.effective_changes:
        if change.action is Action.DELETE and change.kind in (Kind.GRANT, Kind.SUBSCRIPTION):
            count += 1
        elif change.action is Action.UPDATE and change.kind is Kind.GRANT:
            before, after = change.before or {}, change.after or {}
            for key in ("permissions", "grantable"):
                if set(before.get(key, ())) - set(after.get(key, ())):
                    count += 1
                    break
    return count


# --- order and dependencies ---------------------------------------------------------------------


def _late(entry: Entry) -> bool:
    return entry.action in (Action.DELETE, Action.NOOP) or entry.shrink


def _sort_key(entry: Entry, m: str) -> tuple[int, int, int, int, str]:
    in_mesh = entry.account_id == m
    if _late(entry):
        phase, rank = 1, DELETE_ORDER.index(entry.kind)
        # Mesh databases after the links to them; mesh roles after the member roles they trust
        # (the mesh role is how the next plan finds a removed account's member role).
        sub = 1 if entry.kind in (Kind.DATABASE, Kind.ROLE) and in_mesh else 0
    else:
        phase, rank = 0, APPLY_ORDER.index(entry.kind)
        sub = 0
        if entry.kind is Kind.ROLE:
            sub = 1 if in_mesh else 0  # mesh roles trust the member roles: those first
        elif entry.kind is Kind.DATABASE:
            sub = 0 if in_mesh else 1  # links after the mesh database they point to
    return (phase, rank, sub, _ACTION_RANK[entry.action], entry.address)


def order_changes(changes: ChangeSet, m: str) -> tuple[Change, ...]:
    entries = list(changes.entries.values())
    deps = _dependencies(entries, m)  # also marks record updates that narrow access as late
    entries.sort(key=lambda e: _sort_key(e, m))
    position = {e.address: i for i, e in enumerate(entries) if e.action is not Action.NOOP}
    out = []
    for i, entry in enumerate(entries):
        # Only earlier, executed changes: the applier skips a change whose dependency failed.
        wanted = deps.get(entry.address, set())
        before = sorted(d for d in wanted if position.get(d, i) < i)
        out.append(entry.to_change(tuple(before)))
    return tuple(out)


def _role_arn(role: Role) -> str:
    return f"arn:aws:iam::{role.account_id}:role{role.path}{role.name}"


class _Index:
    """Executed changes grouped the ways dependencies look them up."""

    def __init__(self, entries: list[Entry], m: str) -> None:
        self.grow_grants: dict[tuple[str, str], list[str]] = {}  # (principal, db)
        self.revokes: dict[tuple[str, str], list[str]] = {}  # (principal, db)
        self.revokes_on_db: dict[str, list[str]] = {}
        self.revokes_on_table: dict[tuple[str, str], list[str]] = {}
        self.revokes_to: dict[str, list[str]] = {}  # principal
        self.table_deletes: dict[str, list[str]] = {}  # db
        self.link_deletes: dict[str, list[str]] = {}  # target db
        self.member_roles: list[str] = []
        for e in entries:
            if e.action is Action.NOOP:
                continue
            deleting = e.action is Action.DELETE
            if e.kind is Kind.GRANT:
                grant: Grant = e.before if deleting else e.after
                key = (grant.principal, grant.resource.database)
                if not deleting:
                    self.grow_grants.setdefault(key, []).append(e.address)
                    continue
                self.revokes.setdefault(key, []).append(e.address)
                self.revokes_to.setdefault(grant.principal, []).append(e.address)
                if grant.resource.database:
                    db = grant.resource.database
                    self.revokes_on_db.setdefault(db, []).append(e.address)
                    table = (db, table_name(grant.resource))
                    self.revokes_on_table.setdefault(table, []).append(e.address)
            elif e.kind is Kind.TABLE and deleting:
                self.table_deletes.setdefault(e.before.database, []).append(e.address)
            elif e.kind in (Kind.DATABASE, Kind.RESOURCE_LINK) and deleting:
                if e.before.account_id != m:
                    self.link_deletes.setdefault(e.before.target_database, []).append(e.address)
            elif e.kind is Kind.ROLE and not deleting and e.account_id != m:
                self.member_roles.append(e.address)


def _dependencies(entries: list[Entry], m: str) -> dict[str, set[str]]:
    index = _Index(entries, m)
    deps: dict[str, set[str]] = {}
    for e in entries:
        if e.action is Action.NOOP:
            continue
        if e.action is Action.DELETE:
            found = _delete_dependencies(e, index, m)
        else:
            found = _grow_dependencies(e, index, m)
        if found:
            deps[e.address] = found
    return deps


def _delete_dependencies(e: Entry, index: _Index, m: str) -> set[str]:
    value = e.before
    if e.kind is Kind.SUBSCRIPTION:
        record: SubscriptionRecord = value
        return set(index.revokes.get((record.subscriber, record.database), ()))
    if e.kind is Kind.TABLE:
        return set(index.revokes_on_table.get((value.database, value.name), ()))
    if e.kind is Kind.DATABASE and value.account_id == m:
        name = value.name
        return {
            *index.table_deletes.get(name, ()),
            *index.revokes_on_db.get(name, ()),
            *index.link_deletes.get(name, ()),
        }
    if e.kind is Kind.ROLE:
        found = set(index.revokes_to.get(_role_arn(value), ()))
        if e.account_id == m:
            account = value.name.rsplit("-", 1)[-1]
            if value.name == policies.admin_producer_role(account):
                found.add(f"role.{account}/{policies.PRODUCER_ROLE}")
            elif value.name == policies.admin_consumer_role(account):
                found.add(f"role.{account}/{policies.CONSUMER_ROLE}")
        return found
    return set()


def _grow_dependencies(e: Entry, index: _Index, m: str) -> set[str]:
    value = e.after
    if e.kind is Kind.ROLE:
        name = value.name
        found = {f"iam_user.{e.account_id}/{name}"}  # with mesh.iam_users the trust names it
        if e.account_id != m:
            return found
        if name == policies.READ_ONLY_ROLE:
            return found | set(index.member_roles)
        account = name.rsplit("-", 1)[-1]
        if name == policies.admin_producer_role(account):
            found.add(f"role.{account}/{policies.PRODUCER_ROLE}")
        elif name == policies.admin_consumer_role(account):
            found.add(f"role.{account}/{policies.CONSUMER_ROLE}")
        return found
    if e.kind is Kind.LAKE_SETTINGS:
        return {f"role.{m}/{policies.MANAGER_ROLE}"}
    if e.kind is Kind.DATABASE:
        db: Database = value
        if db.account_id == m:
            return {"mesh.lake_settings", *(f"lf_tag.{k}" for k, _ in db.tags)}
        return {database_address(m, db.target_database)}
    if e.kind is Kind.TABLE:
        return {database_address(m, value.database)}
    if e.kind is Kind.GRANT:
        return _grant_dependencies(value, m)
    if e.kind is Kind.RESOURCE_LINK:
        link: Database = value
        key = (link.account_id, link.target_database)
        return {database_address(m, link.target_database), *index.grow_grants.get(key, ())}
    if e.kind is Kind.SUBSCRIPTION:
        record: SubscriptionRecord = value
        key = (record.subscriber, record.database)
        revokes = index.revokes.get(key, ())
        if revokes:
            e.shrink = True  # narrowing access: write the record once the revokes are done
        return {
            "mesh.subscriptions_table",
            link_address(record.subscriber, record.database),
            *index.grow_grants.get(key, ()),
            *revokes,
        }
    return set()


def _grant_dependencies(grant: Grant, m: str) -> set[str]:
    found = set()
    resource = grant.resource
    if resource.database:
        found.add(database_address(m, resource.database))
    if resource.type is ResourceType.TABLE:
        found.add(table_address(m, resource.database, table_name(resource)))
    prefix = policies.role_arn(m, "")
    if grant.principal.startswith(prefix):
        found.add(f"role.{m}/{grant.principal[len(prefix) :]}")
    return found
