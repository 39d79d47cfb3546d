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

Order: one graph (``graph.py``) over what each change requires (``kinds/requires.py``): every
change after what it requires; among the ready ones, creates and updates first, kind by kind in
``APPLY_ORDER``; then deletes in ``DELETE_ORDER`` (consumer links, then grant revokes, then record
archives, then the catalog). Inside a kind: a fixed rank (member roles before the mesh roles that
trust them, mesh databases before the links to them), then creates before updates, then by
address. ``depends_on`` is the graph's edges; the applier levels its waves by them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from meshctl.errors import PlanError
from meshctl.observed import ObservedMesh
from meshctl.planning.access import access_summary
from meshctl.planning.desired import Seen, desire_catalog
from meshctl.planning.graph import topological_order
from meshctl.planning.kinds.catalog import (
    plan_databases,
    plan_iam_users,
    plan_locations,
    plan_mesh,
    plan_roles,
    plan_tables,
)
from meshctl.planning.kinds.changes import ChangeSet, Entry
from meshctl.planning.kinds.data_filters import plan_data_filters
from meshctl.planning.kinds.grants import Ownership, plan_grants
from meshctl.planning.kinds.kms import desire_kms_grants, plan_kms_grants
from meshctl.planning.kinds.links import plan_links
from meshctl.planning.kinds.requires import narrows_access, requirements
from meshctl.planning.kinds.subscriptions import desire_subscriptions, plan_records
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
    Kind.KMS_GRANT,
    Kind.TABLE,
    Kind.DATA_FILTER,
    Kind.GRANT,
    Kind.RESOURCE_LINK,
    Kind.SUBSCRIPTION,
)
# Access goes first (links, then grants), the record is archived once its grants are revoked,
# then the catalog goes in the reverse of creation.
DELETE_ORDER = (
    Kind.RESOURCE_LINK,
    Kind.GRANT,
    Kind.KMS_GRANT,
    Kind.SUBSCRIPTION,
    Kind.DATA_FILTER,
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
    mesh_file: str = "mesh.yaml",
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
    kms_grants = desire_kms_grants(spec, seen, desired)  # before databases: they record the keys

    changes = ChangeSet(mesh_account_id=m, prune=prune, file=mesh_file)
    plan_mesh(spec, seen, desired, changes)
    plan_iam_users(seen, desired, changes)
    plan_roles(seen, desired, changes)
    protected = plan_databases(seen, desired, changes)
    if protected:
        raise PlanError(
            "refusing to plan the deletion of protected product database(s) "
            + ", ".join(protected)
            + f": put the product back in {mesh_file}; to remove it, first set `protect: false` "
            "and apply, then remove it"
        )
    plan_tables(seen, desired, changes)
    plan_locations(seen, desired, changes)
    plan_kms_grants(seen, kms_grants, changes)
    ignored = {f"arn:aws:iam::{m}:role/{DEPLOYER_ROLE}", *ignore_principals}
    if spec.mesh.role_arn:
        ignored.add(spec.mesh.role_arn)
    ownership = Ownership.build(seen, desired)
    plan_data_filters(seen, desired, ownership, changes)
    grant_warnings = plan_grants(seen, desired, ownership, changes, ignored)
    plan_records(spec, seen, desired, changes, today)
    plan_links(seen, desired, changes)

    ordered = order_changes(changes, m)
    return Plan(
        plan_id=plan_id,
        mesh_file_sha256=mesh_file_sha256,
        observed_fingerprint=observed.fingerprint,
        changes=ordered,
        access=access_summary(spec, ordered),
        warnings=tuple(desired.warnings + grant_warnings),
        created_at=created_at,
        context=(("prune", json.dumps(prune)), ("today", today.isoformat())),
        held=tuple(desired.held),
        mesh_file=mesh_file,
    )


def revoke_count(plan: Plan) -> int:
    """What the plan takes away, the one count the summary shows and ``--max-revokes`` checks.

    Every delete (a grant revoke, a record archive, a resource link, table, database, role or
    user removed: each takes access or something access rests on), and every grant update that
    drops a permission (the update revokes what it drops, after granting what it adds).
    """
    count = 0
    for change in plan.effective_changes:
        if change.action is Action.DELETE:
            count += 1
        elif change.action is Action.UPDATE and change.kind in (Kind.GRANT, Kind.KMS_GRANT):
            before, after = change.before or {}, change.after or {}
            for key in ("permissions", "grantable", "operations"):
                if set(before.get(key, ())) - set(after.get(key, ())):
                    count += 1
                    break
    return count


# --- order ----------------------------------------------------------------------------------


def _sort_key(entry: Entry, late: bool, m: str) -> tuple[int, int, int, int, str]:
    in_mesh = entry.account_id == m
    if late:
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
    """Every change after what it requires (one graph, ``graph.topological_order``); among the
    changes that are ready, by the sort key above. ``depends_on`` is what a change requires:
    the applier skips a change whose dependency failed and levels its waves by it."""
    entries = changes.entries
    required = requirements(entries.values(), m)
    late = {
        a
        for a, e in entries.items()
        if e.action in (Action.DELETE, Action.NOOP)
        or narrows_access(e, (entries[d] for d in required.get(a, ())))
    }
    keys = {a: _sort_key(e, a in late, m) for a, e in entries.items()}
    graph = {a: required.get(a, set()) for a in entries}
    return tuple(
        entries[a].to_change(tuple(sorted(graph[a])))
        for a in topological_order(graph, keys.__getitem__)
    )
