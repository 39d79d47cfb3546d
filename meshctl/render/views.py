"""What every view of a plan shows: groups of changes, each with symbol, verb and details.

One list, two readers: ``plan_groups`` turns a plan into groups of ``ChangeView``s, and both the
console view (text.py) and the markdown view (markdown.py) print them, so a PR comment and a
terminal always say the same thing. Views never change a plan and never decide anything: a
change's ``reason`` is shown, never interpreted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meshctl.planning.plan import Action, Change, Drift, GroupRef, Kind, Plan, Scope

# Written by apply on every write and not compared by the planner (BRIEF "Key decisions"), so an
# update diff showing them would only be noise.
_SUBSCRIPTION_BOOKKEEPING = frozenset(
    {
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "last_plan_id",
        "notes",
        "ram_shares",
        "granted_table_arns",
    }
)
_MAX_DETAIL_LINES = 12
_MAX_VALUE_CHARS = 80
UNMANAGED_NOTE = "unmanaged, left alone (use --prune to remove)"
NO_CHANGES = "No changes. AWS matches mesh.yaml."


@dataclass(frozen=True)
class ChangeView:
    """How one change is shown: symbol, verb, then reason and field-level details below."""

    change: Change
    symbol: str  # + ~ - for changes, ? unmanaged no-op, ! any other no-op
    verb: str  # create, update, archive, revoke, delete, or the unmanaged note
    style: str  # rich style name; the markdown view ignores it
    details: tuple[str, ...]

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
    """The last line of every plan view; the CLI and CI match on its exact form."""
    if not plan.has_changes:
        return NO_CHANGES
    s = plan.summary
    return (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to archive/revoke."
    )


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
    match change.action:
        case Action.CREATE:
            symbol, verb, style = "+", "create", "green"
            details = _value_facts(change.kind, change.after)
        case Action.UPDATE:
            symbol, verb, style = "~", "update", "yellow"
            details = field_diff(change.kind, change.before, change.after)
        case Action.DELETE:
            symbol, style = "-", "red"
            verb = {Kind.SUBSCRIPTION: "archive", Kind.GRANT: "revoke"}.get(change.kind, "delete")
            details = _value_facts(change.kind, change.before)
        case Action.NOOP:
            unmanaged = change.drift is Drift.UNMANAGED
            symbol, style = ("?" if unmanaged else "!"), "dim"
            verb = UNMANAGED_NOTE if unmanaged else "no change"
            details = _value_facts(change.kind, change.before or change.after)
    reason = [change.reason] if change.reason else []
    return ChangeView(change, symbol, verb, style, tuple(reason + _capped(details)))


def _value_facts(kind: Kind, value: Any) -> list[str]:
    """The one fact a reviewer needs of a whole value; grants only (the rest is in the address)."""
    if kind is not Kind.GRANT or not isinstance(value, dict):
        return []
    facts = [f"permissions: {', '.join(map(str, value.get('permissions') or [])) or '(none)'}"]
    if value.get("grantable"):
        facts.append(f"grantable: {', '.join(map(str, value['grantable']))}")
    return facts


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= _MAX_DETAIL_LINES:
        return lines
    rest = len(lines) - (_MAX_DETAIL_LINES - 1)
    return [*lines[: _MAX_DETAIL_LINES - 1], f"... and {rest} more differences"]


def field_diff(kind: Kind, before: Any, after: Any) -> list[str]:
    """Compact ``field: old -> new`` lines; set-like lists as ``+ADDED -REMOVED`` deltas."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return list(_diff_value("value", before, after))
    hidden = _SUBSCRIPTION_BOOKKEEPING if kind is Kind.SUBSCRIPTION else frozenset()
    if kind is Kind.CATALOG_POLICY:
        hidden = frozenset({"policy_hash"})  # the write's condition, not a change to show
    keys = [*before, *(k for k in after if k not in before)]
    return [
        line
        for k in keys
        if k not in hidden
        for line in _diff_value(k, before.get(k), after.get(k))
    ]


def _diff_value(path: str, before: Any, after: Any) -> Iterator[str]:
    if before == after:
        return
    before, after = _parsed(before), _parsed(after)
    if isinstance(before, dict) and isinstance(after, dict):
        for k in [*before, *(k for k in after if k not in before)]:
            yield from _diff_value(f"{path}.{k}", before.get(k), after.get(k))
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) == len(after) and all(isinstance(v, dict) for v in before + after):
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                yield from _diff_value(f"{path}[{i}]", b, a)
            return
        old, new = [_compact(v) for v in before], [_compact(v) for v in after]
        added = [f"+{v}" for v in new if v not in old]
        removed = [f"-{v}" for v in old if v not in new]
        yield f"{path}: {' '.join(added + removed) or '(reordered)'}"
    else:
        yield f"{path}: {_short(before)} -> {_short(after)}"


def _parsed(value: Any) -> Any:
    """Policy documents travel as canonical JSON strings; diff them by field, not as one blob."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _compact(value: Any) -> str:
    if isinstance(value, dict) and {"name", "type"} <= value.keys():
        return f"{value['name']}:{value['type']}"  # a Glue column
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return f"{value[0]}={value[1]}"  # a (key, value) pair, e.g. a tag
    return value if isinstance(value, str) else _short(value)


def _short(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."
