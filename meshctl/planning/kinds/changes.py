"""The changes a plan collects, with their typed values, before they are ordered.

Invariant: one change per address. ``reason`` is for people only; apply never reads it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from meshctl import codec
from meshctl.planning.plan import Action, Change, Drift, GroupRef, Kind, Scope

_MESH_KINDS = frozenset(
    {Kind.SUBSCRIPTIONS_TABLE, Kind.LAKE_SETTINGS, Kind.CATALOG_POLICY, Kind.LF_TAG}
)


@dataclass
class Entry:
    kind: Kind
    action: Action
    address: str
    account_id: str
    before: Any  # the typed observed value (dataclass or dict), None when absent
    after: Any  # the typed desired value, None when absent
    drift: Drift
    reason: str

    def to_change(self, depends_on: tuple[str, ...]) -> Change:
        return Change(
            address=self.address,
            kind=self.kind,
            action=self.action,
            account_id=self.account_id,
            before=codec.to_json(self.before),
            after=codec.to_json(self.after),
            drift=self.drift,
            reason=self.reason,
            depends_on=depends_on,
            group=self.group,
        )

    @property
    def group(self) -> GroupRef:
        """The part of the mesh this change belongs to, from its typed value."""
        if self.kind in _MESH_KINDS:
            return GroupRef(Scope.MESH)
        if self.kind in (Kind.ROLE, Kind.IAM_USER):
            return GroupRef(Scope.ACCOUNT, self.account_id)
        value = self.after if self.after is not None else self.before
        database = ""
        match self.kind:
            case Kind.SUBSCRIPTION:
                if not value.database and value.product:
                    return GroupRef(Scope.PRODUCT, value.product)
                database = value.database
            case Kind.GRANT:
                database = value.resource.database
            case Kind.DATABASE | Kind.RESOURCE_LINK:
                database = value.target_database or value.name
            case Kind.TABLE | Kind.DATA_FILTER | Kind.KMS_GRANT:
                database = value.database
        # Catalog- and location-level grants belong to no product: they are mesh-wide.
        return GroupRef(Scope.DATABASE, database) if database else GroupRef(Scope.MESH)


@dataclass
class ChangeSet:
    mesh_account_id: str
    prune: bool = False
    file: str = "mesh.yaml"  # the mesh file's name as given (-f), for reasons
    entries: dict[str, Entry] = field(default_factory=dict)

    def _add(self, entry: Entry) -> Entry:
        if entry.address in self.entries:
            raise AssertionError(f"two changes for {entry.address}")  # a planner bug
        self.entries[entry.address] = entry
        return entry

    def create(self, kind: Kind, address: str, account_id: str, after: Any, reason: str) -> Entry:
        return self._add(
            Entry(kind, Action.CREATE, address, account_id, None, after, Drift.MISSING, reason)
        )

    def update(
        self, kind: Kind, address: str, account_id: str, before: Any, after: Any, reason: str
    ) -> Entry:
        return self._add(
            Entry(kind, Action.UPDATE, address, account_id, before, after, Drift.CHANGED, reason)
        )

    def orphan(
        self,
        kind: Kind,
        address: str,
        account_id: str,
        before: Any,
        reason: str,
        after: Any = None,
    ) -> Entry:
        """Delete something meshctl owns that is no longer declared (revoke, archive, remove)."""
        return self._add(
            Entry(kind, Action.DELETE, address, account_id, before, after, Drift.ORPHANED, reason)
        )

    def removed_with_parent(
        self, kind: Kind, address: str, account_id: str, before: Any, parent: str
    ) -> Entry:
        """Something meshctl does not own on a resource this plan deletes: it goes with its
        parent whatever ``prune`` says, so the plan shows (and the guards count) its removal."""
        reason = f"on {parent}, which this plan deletes: removed with it"
        return self._add(
            Entry(kind, Action.DELETE, address, account_id, before, None, Drift.UNMANAGED, reason)
        )

    def unmanaged(
        self,
        kind: Kind,
        address: str,
        account_id: str,
        before: Any,
        reason: str,
        after_if_pruned: Any = None,
    ) -> Entry:
        """List something meshctl does not own; with ``prune`` it becomes a delete."""
        if self.prune:
            return self._add(
                Entry(
                    kind,
                    Action.DELETE,
                    address,
                    account_id,
                    before,
                    after_if_pruned,
                    Drift.UNMANAGED,
                    f"{reason}; --prune removes it",
                )
            )
        return self._add(
            Entry(
                kind,
                Action.NOOP,
                address,
                account_id,
                before,
                None,
                Drift.UNMANAGED,
                f"{reason}; left alone (--prune would remove it)",
            )
        )


def changed_fields(before: Any, after: Any) -> list[str]:
    """Names of the dataclass fields that differ, for a reason line."""
    return [
        f.name
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    ]
