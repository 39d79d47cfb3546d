"""Self-service edits of one mesh file's text: a subscription appended, decided or removed, and
every other byte of the file kept (issue 18).

Pure: text in, text out. ruamel.yaml's round-trip reader says where each subscription and each
of its keys was written (line and column) and writes the values of new lines; the edit splices
lines into the original text. Nothing else of the file is emitted again (a round-trip dump of the
whole file would re-space ``{ Domain: Sales }``, re-wrap long lines and re-indent mixed styles),
so the diff of an edit is the lines of that subscription.

Each edit is checked before it is returned: meshctl's own reader (``document.read_document``)
must see the old data with exactly the intended change, or ``EditError`` says the file cannot be
edited safely. Validation of the whole mesh (schema and rules) is the caller's (self_service.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError

from meshctl.errors import MeshctlError
from meshctl.spec.document import read_document, show_name
from meshctl.spec.model import SubscriptionStatus
from meshctl.spec.yaml_text import quoted, render_entry, scalar

# The order of a subscription's fields in the README and the examples: a new line goes after the
# fields that come before it here.
FIELD_ORDER = (
    "consumer",
    "product",
    "tables",
    "permissions",
    "grantable",
    "status",
    "approved_by",
    "purpose",
    "expires",
    "principals",
)


class EditError(MeshctlError):
    """A self-service edit that cannot be made; nothing was written."""


class InvalidEdit(EditError):
    """An edit made, but the mesh with it is invalid: ``diff`` is what it would have written."""

    def __init__(self, message: str, diff: str) -> None:
        super().__init__(message)
        self.diff = diff


@dataclass(frozen=True)
class NewSubscription:
    """What ``meshctl request`` asks for; it is written with ``status: pending``."""

    consumer: str
    product: str
    permissions: tuple[str, ...]
    tables: tuple[str, ...] = ()
    purpose: str = ""
    expires: date | None = None

    def entry(self) -> dict[str, Any]:
        """The entry as meshctl's reader sees it (dates stay text), in FIELD_ORDER."""
        fields: dict[str, Any] = {"consumer": self.consumer, "product": self.product}
        if self.tables:
            fields["tables"] = list(self.tables)
        fields["permissions"] = list(self.permissions)
        fields["status"] = SubscriptionStatus.PENDING.value
        if self.purpose:
            fields["purpose"] = self.purpose
        if self.expires is not None:
            fields["expires"] = self.expires.isoformat()
        return fields

    def fields(self) -> dict[str, Any]:
        """The values to write: ``entry()`` with ``expires`` a date (written plain)."""
        fields = self.entry()
        if self.expires is not None:
            fields["expires"] = self.expires
        return fields


def append_subscription(text: str, new: NewSubscription) -> str:
    """``text`` with ``new`` as the last entry of ``subscriptions`` (the key added if missing)."""
    doc = _Doc(text)
    subs = doc.root.get("subscriptions") if "subscriptions" in doc.root else None
    if subs is None:
        indent = doc.mapping_indent()
        lines = doc.lines
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        spacer = ["\n"] if lines and lines[-1].strip() else []
        key_col = doc.root.lc.col
        lines += [*spacer, " " * key_col + "subscriptions:\n"]
        lines += render_entry(new.fields(), key_col + indent, key_col + indent + 2)
    elif not isinstance(subs, CommentedSeq):
        raise EditError("subscriptions is not a list; nothing was written")
    elif len(subs) == 0:
        key_line, key_col = doc.root.lc.key("subscriptions")
        if doc.flow_list():  # `subscriptions: []`: the list goes below the key
            doc.lines[key_line] = _without_empty_list(doc.lines[key_line], key_col)
        dash = key_col + doc.mapping_indent()
        doc.lines[key_line + 1 : key_line + 1] = render_entry(new.fields(), dash, dash + 2)
    elif doc.flow_list():
        raise EditError(
            "subscriptions is written as a flow list ([...]); write it as a block list "
            "(one '- consumer: ...' entry a line) to edit it with meshctl; nothing was written"
        )
    else:
        last = len(subs) - 1
        _, dash_col = doc.dash(last)
        end = doc.item_end(last)
        doc.lines[end:end] = render_entry(new.fields(), dash_col, subs[last].lc.col)
        if doc.lines[end - 1 : end] and not doc.lines[end - 1].endswith("\n"):
            doc.lines[end - 1] += "\n"
    return doc.checked(lambda data: _plain_list(data, "subscriptions").append(new.entry()))


def decide(text: str, index: int, status: SubscriptionStatus, approved_by: str | None) -> str:
    """``text`` with subscription ``index`` (of this file) set to ``status``: ``approved_by``
    written for an approval, removed otherwise. Each line keeps its quoting and its comment."""
    doc = _Doc(text)
    item = doc.item(index)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, new lines)
    new_lines = []
    if "status" in item:
        start, end = doc.key_span(index, "status")
        edits.append((start, end, [doc.set_value(index, "status", status.value)]))
        anchor = end
    else:
        anchor = doc.after_fields(index, "status")
        new_lines.append(doc.new_field(index, "status", status.value))
    if "approved_by" in item:
        start, end = doc.key_span(index, "approved_by")
        if approved_by is None and start == item.lc.line:  # its line holds the entry's `-`
            raise EditError(
                "approved_by is the first field of this subscription; move it below consumer "
                "to edit the entry with meshctl; nothing was written"
            )
        kept = [doc.set_value(index, "approved_by", approved_by)] if approved_by else []
        edits.append((start, end, kept))
    elif approved_by is not None:
        new_lines.append(doc.new_field(index, "approved_by", approved_by))
    if new_lines:
        edits.append((anchor, anchor, new_lines))
    for start, end, lines in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        doc.lines[start:end] = lines

    def change(data: dict[str, Any]) -> None:
        entry = _plain_list(data, "subscriptions")[index]
        entry["status"] = status.value
        entry.pop("approved_by", None)
        if approved_by is not None:
            entry["approved_by"] = approved_by

    return doc.checked(change)


def remove_subscription(text: str, index: int) -> str:
    """``text`` without subscription ``index`` of this file (``subscriptions: []`` if it was the
    only one). Comments above its first line stay: they may be about the entries around it."""
    doc = _Doc(text)
    subs = doc.root["subscriptions"]
    if doc.flow_list():
        raise EditError(
            "subscriptions is written as a flow list ([...]); write it as a block list to edit "
            "it with meshctl; nothing was written"
        )
    dash_line, _ = doc.dash(index)
    end = doc.item_end(index)
    del doc.lines[dash_line:end]
    if dash_line > 0 and _blank(doc.lines, dash_line - 1) and _blank(doc.lines, dash_line):
        del doc.lines[dash_line - 1]  # the entry stood between blank lines: one stays
    if len(subs) == 1:
        key_line, key_col = doc.root.lc.key("subscriptions")
        doc.lines[key_line] = _with_empty_list(doc.lines[key_line], key_col)
    return doc.checked(lambda data: _plain_list(data, "subscriptions").pop(index))


# --- the document ---------------------------------------------------------------------------


class _Doc:
    """One file's lines (newlines as ``\\n``) and ruamel's positions of what they hold."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        body = text.removeprefix("\ufeff")
        self.newline = "\r\n" if "\r\n" in body else "\n"
        body = body.replace("\r\n", "\n")
        if any(c in body for c in _OTHER_BREAKS):
            raise EditError("the file has line breaks other than \\n; nothing was written")
        self.lines = body.splitlines(keepends=True)
        try:
            root = YAML(typ="rt").load(body)
        except RuamelError as exc:
            raise EditError(f"cannot read the file for editing: {exc}") from None
        if not isinstance(root, CommentedMap):
            raise EditError("the top level is not a mapping; nothing was written")
        self.root = root

    def flow_list(self) -> bool:
        """``subscriptions`` is written ``[...]`` (ruamel marks no style on an empty one)."""
        line, col = self.root.lc.value("subscriptions")
        return self.lines[int(line)][int(col) :].startswith("[")

    def item(self, index: int) -> CommentedMap:
        entry = self.root["subscriptions"][index]
        if not isinstance(entry, CommentedMap):
            raise EditError(f"subscriptions[{index}] is not a mapping; nothing was written")
        return entry

    def mapping_indent(self) -> int:
        """How far this file indents a mapping's keys (2 when nothing tells)."""
        for value in self.root.values():
            if isinstance(value, CommentedMap) and len(value) and not value.fa.flow_style():
                return max(1, int(value.lc.col) - int(self.root.lc.col))
        return 2

    def dash(self, index: int) -> tuple[int, int]:
        """(line, column) of the ``-`` that opens subscription ``index``."""
        line, col = self.root["subscriptions"].lc.item(index)
        before = self.lines[line][:col].rstrip()
        if before.endswith("-"):
            return line, len(before) - 1
        for up in range(line - 1, -1, -1):  # `-` alone on a line, the mapping below it
            stripped = self.lines[up].strip()
            if stripped == "-":
                return up, self.lines[up].index("-")
            if stripped and not stripped.startswith("#"):
                break
        raise EditError(f"cannot find where subscriptions[{index}] starts; nothing was written")

    def item_end(self, index: int) -> int:
        """The line after subscription ``index``'s last line: blank lines and comments that follow
        it at the dash's column or left of it belong to what comes next."""
        dash_line, dash_col = self.dash(index)
        subs = self.root["subscriptions"]
        bound = self.dash(index + 1)[0] if index + 1 < len(subs) else len(self.lines)
        return _content_end(self.lines, dash_line, bound, dash_col)

    def key_span(self, index: int, key: str) -> tuple[int, int]:
        """(first line, end line) of one field of subscription ``index``, its value included."""
        item = self.item(index)
        keys = list(item)
        start = int(item.lc.key(key)[0])
        after = keys.index(key) + 1
        bound = int(item.lc.key(keys[after])[0]) if after < len(keys) else self.item_end(index)
        return start, _content_end(self.lines, start, bound, int(item.lc.col))

    def after_fields(self, index: int, key: str) -> int:
        """Where a new ``key`` goes: after the last field that FIELD_ORDER puts before it."""
        item = self.item(index)
        rank = FIELD_ORDER.index(key)
        earlier = [k for k in item if k in FIELD_ORDER and FIELD_ORDER.index(k) < rank]
        if not earlier:
            return self.item_end(index)
        return self.key_span(index, earlier[-1])[1]

    def new_field(self, index: int, key: str, value: str) -> str:
        return " " * int(self.item(index).lc.col) + f"{key}: {scalar(value)}\n"

    def set_value(self, index: int, key: str, value: str) -> str:
        """The line ``key: value`` in place of the field's lines: the same quote style and the
        same end-of-line comment (at its column when the new value leaves room)."""
        item = self.item(index)
        start, end = self.key_span(index, key)
        line = self.lines[start]
        key_col = int(item.lc.col)
        prefix = line[:key_col]  # indentation, or the entry's "- " on its first line
        value_line, value_col = item.lc.value(key)
        scalar_end = _scalar_end(line, value_col) if value_line == start else None
        if scalar_end is None or end - start > 1:
            return f"{prefix}{key}: {scalar(value)}\n"
        quote = line[value_col] if line[value_col] in "'\"" else ""
        head = line[:value_col] + quoted(value, quote)
        tail = line[scalar_end:]
        comment = tail.lstrip(" ")
        if comment.startswith("#"):
            spaces = max(1, scalar_end + len(tail) - len(comment) - len(head))
            return head + " " * spaces + comment
        return head + tail

    def checked(self, change: Callable[[dict[str, Any]], object]) -> str:
        """The edited text, once meshctl's reader sees the old data with only ``change`` made."""
        after = self.bom + "".join(self.lines).replace("\n", self.newline)
        expected = copy.deepcopy(_data(self.original))
        change(expected)
        if _data(after) != expected:
            raise EditError(
                "meshctl could not edit this file without changing more than the subscription "
                "(an unusual layout); make the change by hand; nothing was written"
            )
        return after


# What str.splitlines (and YAML 1.1) also take for a line break: ruamel's lines would differ.
_OTHER_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _blank(lines: list[str], number: int) -> bool:
    """Line ``number`` is blank, or the file ends before it."""
    return number >= len(lines) or not lines[number].strip()


def _content_end(lines: list[str], start: int, bound: int, col: int) -> int:
    """The line after the last line in [start, bound) that holds content indented deeper than
    ``col`` (or is ``start`` itself); blank lines and comments at ``col`` or left of it after
    that content are not part of it."""
    end = start + 1
    for number in range(start + 1, bound):
        line = lines[number]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped:
            continue
        if indent <= col and not stripped.startswith("#"):
            break
        if indent > col:
            end = number + 1
    return end


def _data(text: str) -> dict[str, Any]:
    """The data meshctl's own reader sees in ``text``."""
    document = read_document(Path("mesh.yaml"), "mesh.yaml", text.encode("utf-8"))
    if not document.usable or document.problems:
        return {"unreadable": [str(p) for p in document.problems]}
    return document.data


def _plain_list(data: dict[str, Any], key: str) -> list[Any]:
    found = data.setdefault(key, [])
    assert isinstance(found, list)
    return found


def _without_empty_list(line: str, key_col: int) -> str:
    """``subscriptions: [] # c`` → ``subscriptions: # c``."""
    colon = line.index(":", key_col)
    rest = line[colon + 1 :].lstrip(" ")
    rest = rest.removeprefix("[").lstrip(" ").removeprefix("]")
    comment = rest.strip()
    return line[: colon + 1] + (f" {comment}" if comment else "") + "\n"


def _with_empty_list(line: str, key_col: int) -> str:
    """``subscriptions: # c`` → ``subscriptions: [] # c``."""
    colon = line.index(":", key_col)
    comment = line[colon + 1 :].strip()
    return line[: colon + 1] + " []" + (f" {comment}" if comment else "") + "\n"


def _scalar_end(line: str, col: int) -> int | None:
    """Where the single-line scalar that starts at ``col`` ends; None if it goes on."""
    if col >= len(line):
        return None
    first = line[col]
    if first == "'":
        i = col + 1
        while i < len(line):
            if line[i] == "'":
                if line[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    if first == '"':
        i = col + 1
        while i < len(line):
            if line[i] == "\\":
                i += 2
                continue
            if line[i] == '"':
                return i + 1
            i += 1
        return None
    if first in "[{|>&*!":
        return None
    body = line[col:].rstrip("\n")
    cut = body.find(" #")
    return col + len((body if cut < 0 else body[:cut]).rstrip(" "))


def show_key(consumer: str, product: str) -> str:
    """``consumer/product`` as it may be printed."""
    return show_name(f"{consumer}/{product}", 200)
