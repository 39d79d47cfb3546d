"""What an update changes, field by field, as data: computed with deepdiff, never re-parsed.

``field_deltas(kind, before, after)`` gives one ``FieldDelta`` per changed field: a set-like list
(permissions, actions, columns, tags) as the items ``added`` and ``removed``; anything else as
``before`` → ``after``. Views print and colour these values; nothing splits the printed text.

Before diffing, values are brought to the shape a reviewer reasons in: policy documents stored as
canonical JSON strings are parsed, so a change shows its field path
(``policy.Statement[0].Action``); lists of plain items become sets of their short forms (a Glue
column ``name:type``, a tag ``key=value``), so deepdiff reports what was added and removed, not
positions. A list whose items only moved is a change too (Glue column order matters): it is
shown as ``(reordered)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from meshctl import codec
from meshctl.observed import RecordStatus, TableRestriction
from meshctl.planning.plan import Kind

# Written by apply on every write and not compared by the planner, so an update diff showing them
# would only be noise.
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
_HIDDEN = {
    Kind.SUBSCRIPTION: _SUBSCRIPTION_BOOKKEEPING,
    Kind.CATALOG_POLICY: frozenset({"policy_hash"}),  # the write's condition, not a change
}
MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class FieldDelta:
    """One changed field: the ``added``/``removed`` items of a set-like list, or before/after."""

    field: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    before: str = ""
    after: str = ""

    @property
    def is_set_change(self) -> bool:
        return bool(self.added or self.removed)

    def text(self) -> str:
        if self.is_set_change:
            items = [f"+{v}" for v in self.added] + [f"-{v}" for v in self.removed]
            return f"{self.field}: {' '.join(items)}"
        return f"{self.field}: {self.before} -> {self.after}"


def field_deltas(kind: Kind, before: Any, after: Any) -> tuple[FieldDelta, ...]:
    """The fields an update changes, in the order of ``before``'s fields (then new ones)."""
    if before == after:
        return ()
    if not isinstance(before, dict) or not isinstance(after, dict):
        return (FieldDelta("value", before=short(before), after=short(after)),)
    hidden = _HIDDEN.get(kind, frozenset())
    keys = [k for k in [*before, *(k for k in after if k not in before)] if k not in hidden]
    old = {k: _shaped(_words(kind, k, before.get(k))) for k in keys}
    new = {k: _shaped(_words(kind, k, after.get(k))) for k in keys}
    found: dict[tuple[Any, ...], _Found] = {}
    diff = DeepDiff(old, new, ignore_order=True, view="tree")
    for report, levels in diff.items():
        for level in levels:
            path = tuple(p for p in level.path(output_format="list") if p is not None)
            entry = found.setdefault(path, _Found())
            if report == "set_item_added":
                entry.added.append(str(level.t2))
            elif report == "set_item_removed":
                entry.removed.append(str(level.t1))
            else:
                entry.before, entry.after = _side(level.t1), _side(level.t2)
    for path in _reordered(keys, before, after):
        found.setdefault(path, _Found(before="(reordered)", after=_joined(after.get(path[0]))))
    order = {k: i for i, k in enumerate(keys)}
    return tuple(
        found[p].delta(_field_name(p))
        for p in sorted(found, key=lambda p: (order.get(p[0], len(order)), _sortable(p)))
    )


class _Found:
    def __init__(self, before: str = "", after: str = "") -> None:
        self.added: list[str] = []
        self.removed: list[str] = []
        self.before, self.after = before, after

    def delta(self, name: str) -> FieldDelta:
        return FieldDelta(
            name, tuple(sorted(self.added)), tuple(sorted(self.removed)), self.before, self.after
        )


def _words(kind: Kind, key: str, value: Any) -> Any:
    """A record's status in the file's words (pending/approved/denied), as people wrote it; its
    restrictions as people read them."""
    if kind is Kind.SUBSCRIPTION and key == "status" and value in _STATUSES:
        return RecordStatus(value).word
    if kind is Kind.SUBSCRIPTION and key == "restrictions" and isinstance(value, list):
        # "orders (id, status)", "payments rows where country = 'DE'": as the plan summary says
        return [codec.from_json(TableRestriction, r).describe() for r in value]
    return value


_STATUSES = frozenset(s.value for s in RecordStatus)


def _shaped(value: Any) -> Any:
    """Parsed JSON documents; lists of plain items as sets of their short forms."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _shaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if all(_is_plain(v) for v in value):
            return frozenset(_compact(v) for v in value)
        return [_shaped(v) for v in value]
    return value


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return {"name", "type"} <= value.keys()  # a Glue column
    if isinstance(value, list | tuple):
        return len(value) == 2 and all(isinstance(v, str) for v in value)  # a (key, value) pair
    return True


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value['name']}:{value['type']}"
    if isinstance(value, list | tuple):
        return f"{value[0]}={value[1]}"
    return value if isinstance(value, str) else short(value)


def _reordered(
    keys: Iterable[str], before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[str]]:
    """Top-level lists of plain items holding the same items in another order."""
    return [
        (k,)
        for k in keys
        if isinstance(b := before.get(k), list)
        and isinstance(a := after.get(k), list)
        and b != a
        and isinstance(shaped := _shaped(b), frozenset)
        and shaped == _shaped(a)
    ]


def _joined(value: Any) -> str:
    return _cut(", ".join(_compact(v) for v in value)) if isinstance(value, list) else short(value)


def _side(value: Any) -> str:
    return "(none)" if _absent(value) else short(_plain(value))


def _absent(value: Any) -> bool:
    return value is None or type(value).__name__ == "NotPresent"


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _field_name(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _sortable(path: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(f"{p:08d}" if isinstance(p, int) else str(p) for p in path)


def short(value: Any) -> str:
    """A value as JSON in at most ``MAX_VALUE_CHARS`` characters (``(none)`` for nothing)."""
    text = "(none)" if value is None else json.dumps(value, separators=(",", ":"))
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."
