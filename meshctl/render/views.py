"""What every view of a plan shows: groups of changes, each with symbol, verb and details.

One list, two readers: ``plan_groups`` turns a plan into groups of ``ChangeView``s, and both the
console view (text.py) and the markdown view (markdown.py) print them, so a PR comment and a
terminal always say the same thing. Views never change a plan and never decide anything: a
change's ``reason`` is shown, never interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshctl.planning.plan import Action, Change, Drift, GroupRef, Kind, Plan, Scope
from meshctl.planning.planner import revoke_count
from meshctl.render.deltas import FieldDelta, field_deltas

_MAX_DETAIL_LINES = 12
UNMANAGED_NOTE = "unmanaged, left alone (use --prune to remove)"


def no_changes(mesh_file: str) -> str:
    """The summary of an empty plan, naming the mesh file it was made from."""
    return f"No changes. AWS matches {mesh_file}."


NO_CHANGES = no_changes("mesh.yaml")


@dataclass(frozen=True)
class ChangeView:
    """How one change is shown: symbol, verb, then reason and field-level details below."""

    change: Change
    symbol: str  # + ~ - for changes, ? unmanaged no-op, ! any other no-op
    verb: str  # create, update, archive, revoke, delete, or the unmanaged note
    style: str  # rich style name; the markdown view ignores it
    facts: tuple[str, ...] = ()  # what a reviewer needs of a created or removed value
    deltas: tuple[FieldDelta, ...] = ()  # an update's changed fields, as data
    more: int = 0  # changed fields not shown (the view shows at most _MAX_DETAIL_LINES)

    @property
    def details(self) -> tuple[str, ...]:
        """The lines under the headline, as plain text: reason, facts, deltas, what was cut."""
        reason = (self.change.reason,) if self.change.reason else ()
        cut = (f"... and {self.more} more differences",) if self.more else ()
        return (*reason, *self.facts, *(d.text() for d in self.deltas), *cut)

    @property
    def headline(self) -> str:
        drift = f" [{self.change.drift.value}]" if self.change.drift else ""
        if self.change.action is Action.NOOP:
            return f"{self.symbol} {self.change.address}  {self.verb}"
        return f"{self.symbol} {self.change.address}  {self.verb}{drift}"


@dataclass(frozen=True)
class Group:
    """The changes of one part of the mesh: ``mesh``, one account, or one product."""

    label: str
    views: tuple[ChangeView, ...]


def summary_line(plan: Plan) -> str:
    """The last line of every plan view; the CLI and CI match on its exact form.

    "No changes" only when nothing differs and nothing is held: a product whose declared source is
    missing is never reported as matching AWS."""
    if not plan.has_changes and not plan.held:
        return no_changes(plan.mesh_file)
    s = plan.summary
    line = (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to archive/revoke"
    )
    removals = revoke_count(plan)
    line += f" ({removals} toward --max-revokes)." if removals else "."
    if plan.held:
        line += f" {len(plan.held)} held: declared but missing in AWS (see Held)."
    return line


HELD_HEADING = "Held (declared but missing in AWS; apply adds no access for these):"


def unmanaged_count(plan: Plan) -> int:
    return sum(1 for c in plan.changes if c.action is Action.NOOP and c.drift is Drift.UNMANAGED)


# --- grouping -------------------------------------------------------------------------------


def plan_groups(plan: Plan) -> tuple[Group, ...]:
    """Groups in a stable order (mesh, accounts, products by name); plan order inside each."""
    buckets: dict[GroupRef, list[ChangeView]] = {}
    for change in plan.changes:
        buckets.setdefault(_group_key(change), []).append(view_of(change))
    return tuple(
        Group(label=_group_label(key), views=tuple(views))
        for key, views in sorted(buckets.items(), key=lambda kv: _group_order(kv[0]))
    )


def _group_key(change: Change) -> GroupRef:
    """The planner's group; a plan of an older version has none: its account then."""
    return change.group or GroupRef(Scope.ACCOUNT, change.account_id)


def _group_order(key: GroupRef) -> tuple[int, str]:
    """Mesh, then accounts, then products by name (a database's or a product's)."""
    rank = {Scope.MESH: 0, Scope.ACCOUNT: 1}.get(key.scope, 2)
    return (rank, _group_label(key) if key.scope is Scope.PRODUCT else key.name)


def _group_label(key: GroupRef) -> str:
    match key.scope:
        case Scope.MESH:
            return "mesh"
        case Scope.ACCOUNT:
            return f"account {key.name}"
        case Scope.PRODUCT:
            return f"product {key.name}"
    return f"mesh database {key.name}"


# --- one change -----------------------------------------------------------------------------


def view_of(change: Change) -> ChangeView:
    deltas: tuple[FieldDelta, ...] = ()
    facts: list[str] = []
    match change.action:
        case Action.CREATE:
            symbol, verb, style = "+", "create", "green"
            facts = _value_facts(change.kind, change.after)
        case Action.UPDATE:
            symbol, verb, style = "~", "update", "yellow"
            deltas = field_deltas(change.kind, change.before, change.after)
        case Action.DELETE:
            symbol, style = "-", "red"
            verb = {
                Kind.SUBSCRIPTION: "archive",
                Kind.GRANT: "revoke",
                Kind.KMS_GRANT: "revoke",
            }.get(change.kind, "delete")
            facts = _value_facts(change.kind, change.before)
        case Action.NOOP:
            unmanaged = change.drift is Drift.UNMANAGED
            symbol, style = ("?" if unmanaged else "!"), "dim"
            verb = UNMANAGED_NOTE if unmanaged else "no change"
            facts = _value_facts(change.kind, change.before or change.after)
    room = _MAX_DETAIL_LINES - len(facts)
    more = 0
    if len(deltas) > room:
        more = len(deltas) - (room - 1)
        deltas = deltas[: room - 1]
    return ChangeView(change, symbol, verb, style, tuple(facts), deltas, more)


def _value_facts(kind: Kind, value: Any) -> list[str]:
    """The one fact a reviewer needs of a whole value; grants only (the rest is in the address)."""
    if kind is not Kind.GRANT or not isinstance(value, dict):
        return []
    facts = [f"permissions: {', '.join(map(str, value.get('permissions') or [])) or '(none)'}"]
    if value.get("grantable"):
        facts.append(f"grantable: {', '.join(map(str, value['grantable']))}")
    return facts
