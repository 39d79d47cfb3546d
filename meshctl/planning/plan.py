"""A plan is plain data: an ordered list of changes, each an action with full before/after values.

``reason`` is for display only; apply never branches on it. Apply executes exactly the changes of
a plan, in order, after checking that the live state still has ``observed_fingerprint``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meshctl import __version__
from meshctl.address import Kind
from meshctl.codec import Json, to_json
from meshctl.planning.policy_report import PolicyReport

__all__ = ["Action", "Change", "Drift", "GroupRef", "Held", "Kind", "Plan", "Scope"]

FORMAT_VERSION = "1"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"  # revoke a grant, archive a subscription record, remove a resource
    NOOP = "no-op"


class Drift(StrEnum):
    MISSING = "missing"  # declared, not live
    CHANGED = "changed"  # live differs from declared
    UNMANAGED = "unmanaged"  # live, not declared, not meshctl's
    ORPHANED = "orphaned"  # live and meshctl's, no longer declared (or expired)


class Scope(StrEnum):
    """The part of the mesh a change belongs to, in the order views list them."""

    MESH = "mesh"  # the mesh's settings, LF-tags, catalog- and location-level grants
    ACCOUNT = "account"  # an account's roles and users
    DATABASE = "database"  # a product, by its mesh database
    PRODUCT = "product"  # a product without a mesh database (a record of an undeclared one)


@dataclass(frozen=True, order=True)
class GroupRef:
    scope: Scope
    name: str = ""  # the account id, mesh database or product name; "" for the mesh


@dataclass(frozen=True)
class Change:
    address: str
    kind: Kind
    action: Action
    account_id: str  # the account the change is made in
    before: Json = None
    after: Json = None
    drift: Drift | None = None
    reason: str = ""
    depends_on: tuple[str, ...] = ()  # addresses that must succeed first
    group: GroupRef | None = None  # for views only (None in plans of older versions)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind.value,
            "action": self.action.value,
            "account_id": self.account_id,
            "drift": self.drift.value if self.drift else None,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "depends_on": list(self.depends_on),
            "group": (
                {"scope": self.group.scope.value, "name": self.group.name} if self.group else None
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(
            address=data["address"],
            kind=Kind(data["kind"]),
            action=Action(data["action"]),
            account_id=data.get("account_id", ""),
            before=data.get("before"),
            after=data.get("after"),
            drift=Drift(data["drift"]) if data.get("drift") else None,
            reason=data.get("reason", ""),
            depends_on=tuple(data.get("depends_on", ())),
            group=_group(data.get("group")),
        )


def _group(data: Any) -> GroupRef | None:
    if not isinstance(data, dict):
        return None
    return GroupRef(Scope(data["scope"]), str(data.get("name", "")))


@dataclass(frozen=True)
class Held:
    """What apply leaves exactly as it is because what the file declares does not exist in AWS.

    A product whose source database or tables are missing (or a subscription naming a table the
    product does not have) gets no mesh database, grant, link or record claiming access until they
    exist; access that is live already is kept, never revoked for this. A plan with anything held
    is never "No changes" (and ``plan --detailed-exitcode`` exits 2 while it lasts).
    """

    subject: str  # "product sales.orders" or "subscription marketing/sales.orders"
    account_id: str  # where the missing source should be (the producer account)
    missing: tuple[str, ...]  # "database loyalty", "table loyalty.points"

    @property
    def message(self) -> str:
        return (
            f"{self.subject}: {', '.join(self.missing)} not found in account {self.account_id}; "
            "held: apply grants and records nothing for it until it exists"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "account_id": self.account_id,
            "missing": list(self.missing),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Held:
        return cls(str(data["subject"]), str(data["account_id"]), tuple(data["missing"]))


@dataclass(frozen=True)
class Plan:
    plan_id: str
    mesh_file_sha256: str
    observed_fingerprint: str
    changes: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = ()
    created_at: str = ""
    meshctl_version: str = __version__
    # Facts apply needs that are not resource changes (who/why), never credentials.
    context: tuple[tuple[str, str], ...] = field(default=())
    held: tuple[Held, ...] = ()  # declared but missing in AWS: nothing is applied for these
    mesh_file: str = "mesh.yaml"  # the mesh file's name as given (-f), for messages
    access: tuple[str, ...] = ()  # the access changes in people's terms (planning/access.py)
    # What `--policy DIR` found (meshctl/rules/); None when the plan was made without policies.
    policies: PolicyReport | None = None

    @property
    def effective_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in (Action.CREATE, Action.UPDATE, Action.DELETE)}
        for c in self.effective_changes:
            counts[c.action.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.effective_changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "meshctl_version": self.meshctl_version,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "mesh_file_sha256": self.mesh_file_sha256,
            "observed_fingerprint": self.observed_fingerprint,
            "changes": [c.to_json() for c in self.changes],
            "warnings": list(self.warnings),
            "held": [h.to_json() for h in self.held],
            "mesh_file": self.mesh_file,
            "access": list(self.access),
            "context": to_json(dict(self.context)),
            "policies": self.policies.to_json() if self.policies is not None else None,
            "summary": self.summary,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if str(data.get("format_version")) != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r}")
        return cls(
            plan_id=data["plan_id"],
            mesh_file_sha256=data["mesh_file_sha256"],
            observed_fingerprint=data["observed_fingerprint"],
            changes=tuple(Change.from_json(c) for c in data["changes"]),
            warnings=tuple(data.get("warnings", ())),
            created_at=data.get("created_at", ""),
            meshctl_version=data.get("meshctl_version", __version__),
            context=tuple(sorted((data.get("context") or {}).items())),
            held=tuple(Held.from_json(h) for h in data.get("held") or ()),
            mesh_file=str(data.get("mesh_file") or "mesh.yaml"),
            access=tuple(data.get("access") or ()),
            policies=_policies(data.get("policies")),
        )


def _policies(data: Any) -> PolicyReport | None:
    return PolicyReport.from_json(data) if isinstance(data, dict) else None
