"""Read one mesh file into plain data plus the line of every node (a ``Document``).

PyYAML's loaders drop line numbers, silently keep the last of two duplicate keys, and expand
aliases (ten lines of anchors can expand to gigabytes: the "billion laughs"). So the data is built
here from the parser's event stream, never from composed nodes:

- aliases are refused (counted, never expanded), so an alias bomb costs one pass over its text;
- duplicate keys are an error at any depth; the first value is kept so the data stays coherent;
- nesting deeper than ``MAX_DEPTH`` is refused (a mesh file needs six levels), and the builder
  keeps an explicit stack, so hostile nesting cannot exhaust Python's or C's stack;
- mapping keys are taken verbatim (``on:`` stays the string "on", not True);
- timestamps stay text: ``expires`` is checked as a date later, with a readable message.

libyaml's C parser is used when PyYAML has it; the pure-Python parser gives the same events.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshctl.errors import Problem

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

YamlPath = tuple[str | int, ...]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 20

_T = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_T}str", f"{_T}timestamp"}  # kept as the text written
_CONSTRUCTED = {
    f"{_T}int": yaml.constructor.SafeConstructor.construct_yaml_int,
    f"{_T}float": yaml.constructor.SafeConstructor.construct_yaml_float,
    f"{_T}bool": yaml.constructor.SafeConstructor.construct_yaml_bool,
    f"{_T}null": yaml.constructor.SafeConstructor.construct_yaml_null,
}


def format_path(path: YamlPath) -> str:
    """``accounts.sales.account_id``, ``subscriptions[2].tables[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + show_name(part)
    return out


def show_name(text: str, limit: int = 64) -> str:
    """A value as it may be echoed to a terminal or CI log: printable, one line, bounded.

    Names and values come from the file, which may be hostile (escape sequences, newlines that
    forge a second message line); every message meshctl prints about a file passes through here.
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def problem(file: str, line: int, path: YamlPath, message: str) -> Problem:
    return Problem(file, line, format_path(path), show_name(message, 2000))


@dataclass(frozen=True)
class Document:
    """One file's data, where each node was written, and what was wrong with it.

    ``usable`` is False after an error that leaves no meaningful data (bad encoding, tabs, syntax,
    aliases, an empty file, a top level that is not a mapping); checking such data further would
    only produce noise.
    """

    file: str
    data: dict[str, Any]
    lines: dict[YamlPath, int]
    scalar_text: dict[YamlPath, str]  # how non-text scalars (numbers, true, null) were written
    problems: tuple[Problem, ...]
    usable: bool

    def line_of(self, path: YamlPath) -> int:
        """Line of the deepest node on ``path`` that exists (a missing field: its parent's line)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def read_document(path: Path, file: str, content: bytes | None = None) -> Document:
    """Read ``path`` (shown to the user as ``file``) into a Document; never raises for bad input.

    ``content``, when given, is read instead of the file's bytes: what an edit would write.
    """

    def failed(line: int, message: str) -> Document:
        return Document(file, {}, {}, {}, (problem(file, line, (), message),), usable=False)

    try:
        size = len(content) if content is not None else path.stat().st_size
        if size > MAX_FILE_BYTES:
            return failed(1, f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        raw = content if content is not None else path.read_bytes()
    except OSError as exc:
        return failed(1, f"cannot read: {exc.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return failed(line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8")
    text = text.removeprefix("\ufeff")
    tab_lines = _tab_indented_lines(text)
    if tab_lines:
        problems = tuple(
            problem(file, n, (), "tab in indentation; YAML indentation must be spaces")
            for n in tab_lines
        )
        return Document(file, {}, {}, {}, problems, usable=False)
    return _Builder(file, text).build()


def _tab_indented_lines(text: str) -> list[int]:
    if "\t" not in text:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent and line.strip():
            found.append(number)
    return found


def _show_tag(tag: str) -> str:
    return show_name("!!" + tag.removeprefix(_T) if tag.startswith(_T) else tag)


def _line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 1


_NO_KEY = object()  # a mapping frame waiting for its next key
_DROP = object()  # the value being read is discarded (its key was a duplicate or not a name)

# First characters with which a plain scalar may be something other than a string (a number,
# true/false, null, a date); any other plain scalar is a string without asking the resolver.
_MAYBE_NOT_TEXT = frozenset(_Loader.yaml_implicit_resolvers)


class _Frame:
    """An open mapping or sequence; ``path`` is None inside a discarded value."""

    __slots__ = ("container", "is_key", "is_map", "key", "path", "seen")

    def __init__(self, container: Any, path: YamlPath | None, is_key: bool = False) -> None:
        self.container = container
        self.is_map = isinstance(container, dict)
        self.path = path
        self.is_key = is_key  # a collection used as a mapping key: read, reported, dropped
        self.key: Any = _NO_KEY
        self.seen: dict[str, int] = {}  # key → line, to name the first of two duplicates


class _Stop(Exception):
    """Reading cannot go on; the reason is already in the problems."""


class _Builder:
    """Plain data from parser events; the hot path of reading a large mesh file, kept lean."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.loader = _Loader(text)
        self.stack: list[_Frame] = []
        self.root: Any = _NO_KEY
        self.root_line = 1
        self.lines: dict[YamlPath, int] = {}
        self.scalar_text: dict[YamlPath, str] = {}
        self.problems: list[Problem] = []
        self.usable = True
        self.documents = 0
        self.aliases: list[tuple[int, YamlPath | None]] = []

    def problem(self, line: int, path: YamlPath | None, message: str) -> None:
        self.problems.append(problem(self.file, line, path or (), message))

    def build(self) -> Document:
        try:
            self._read_events()
        except _Stop:
            self.usable = False
        except yaml.MarkedYAMLError as exc:
            context = ""
            if exc.context and exc.context_mark is not None:
                context = f" ({exc.context} that starts on line {_line(exc.context_mark)})"
            line = _line(exc.problem_mark or exc.context_mark)
            self.problem(line, None, f"invalid YAML: {exc.problem}{context}{_hint(self.text, exc)}")
            self.usable = False
        except yaml.YAMLError as exc:  # reader errors: control characters and the like
            line = self.text.count("\n", 0, getattr(exc, "position", 0)) + 1
            self.problem(line, None, f"invalid YAML: {getattr(exc, 'reason', 'unreadable')}")
            self.usable = False
        finally:
            self.loader.dispose()
        if self.aliases:
            line, path = self.aliases[0]
            self.problem(
                line,
                path,
                f"YAML aliases (*name) are not supported ({len(self.aliases)} found); "
                "write each value out in full",
            )
            self.usable = False
        if self.usable and self.root is _NO_KEY:
            self.problem(1, None, "file is empty; expected a mapping with version, mesh, accounts")
            self.usable = False
        elif self.usable and not isinstance(self.root, dict):
            kind = "a list" if isinstance(self.root, list) else "a single value"
            message = f"the top level must be a mapping (version:, mesh:, ...), not {kind}"
            self.problem(self.root_line, None, message)
            self.usable = False
        data = self.root if self.usable else {}
        return Document(
            self.file, data, self.lines, self.scalar_text, tuple(self.problems), self.usable
        )

    def _read_events(self) -> None:
        get_event = self.loader.get_event
        handlers: dict[type, Any] = {
            yaml.ScalarEvent: self._leaf,
            yaml.AliasEvent: self._leaf,
            yaml.MappingStartEvent: self._open,
            yaml.SequenceStartEvent: self._open,
            yaml.MappingEndEvent: self._close,
            yaml.SequenceEndEvent: self._close,
            yaml.DocumentStartEvent: self._document,
        }
        while True:
            event = get_event()
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
            elif isinstance(event, yaml.StreamEndEvent):
                return

    def _document(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            message = "more than one YAML document (---); a mesh file holds one"
            self.problem(_line(event.start_mark), None, message)
            raise _Stop

    def _value_path(self, line: int) -> YamlPath | None:
        """Path of the value that starts now, recording its line (a mapping value's line is its
        key's, already recorded); None inside a discarded value."""
        if not self.stack:
            self.root_line = line
            self.lines[()] = line
            return ()
        parent = self.stack[-1]
        if parent.path is None:
            return None
        if not parent.is_map:
            path: YamlPath = (*parent.path, len(parent.container))
            self.lines[path] = line
            return path
        return None if parent.key is _DROP else (*parent.path, parent.key)

    def _expects_key(self) -> bool:
        return bool(self.stack) and self.stack[-1].is_map and self.stack[-1].key is _NO_KEY

    def _open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        line = _line(event.start_mark)
        if len(self.stack) >= MAX_DEPTH:
            self.problem(line, None, f"nested deeper than {MAX_DEPTH} levels")
            raise _Stop
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        if self._expects_key():
            self.problem(line, self.stack[-1].path, "a key must be a plain name, not a collection")
            self.stack.append(_Frame(container, None, is_key=True))
            return
        path = self._value_path(line)
        if event.tag not in (None, "!", f"{_T}map", f"{_T}seq"):
            # e.g. !!python/object/apply: never constructed, and the data would mean nothing
            self.problem(line, path, f"YAML tag {_show_tag(event.tag)} is not supported")
            self.usable = False
        self.stack.append(_Frame(container, path))

    def _close(self, event: yaml.MappingEndEvent | yaml.SequenceEndEvent) -> None:
        frame = self.stack.pop()
        if frame.is_key:
            self.stack[-1].key = _DROP
        else:
            self._attach(frame.container)

    def _attach(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        if not parent.is_map:
            parent.container.append(value)
            return
        if parent.key is not _DROP:
            parent.container[parent.key] = value
        parent.key = _NO_KEY

    def _leaf(self, event: yaml.ScalarEvent | yaml.AliasEvent) -> None:
        line = _line(event.start_mark)
        if self._expects_key():
            self._key(event, line)
            return
        path = self._value_path(line)
        if isinstance(event, yaml.AliasEvent):
            self.aliases.append((line, path))
            self._attach(None)
            return
        self._attach(self._scalar(event, line, path))

    def _key(self, event: yaml.ScalarEvent | yaml.AliasEvent, line: int) -> None:
        parent = self.stack[-1]
        if isinstance(event, yaml.AliasEvent):
            self.aliases.append((line, parent.path))
            parent.key = _DROP
            return
        key = event.value
        first = parent.seen.get(key)
        if first is not None:
            path = None if parent.path is None else (*parent.path, key)
            self.problem(line, path, f"duplicate key (first defined at line {first})")
            parent.key = _DROP
            return
        parent.seen[key] = line
        parent.key = key
        if parent.path is not None:
            self.lines[(*parent.path, key)] = line

    def _scalar(self, event: yaml.ScalarEvent, line: int, path: YamlPath | None) -> Any:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            if tag is not None or not event.implicit[0] or value[:1] not in _MAYBE_NOT_TEXT:
                return value  # quoted, or plain and cannot be anything but text
            tag = self.loader.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        if tag in _PLAIN_TAGS:
            return value
        construct = _CONSTRUCTED.get(tag)
        if construct is None:
            self.problem(line, path, f"YAML tag {_show_tag(tag)} is not supported")
            self.usable = False
            return None
        try:
            constructed = construct(self.loader, yaml.ScalarNode(tag, value))
        except (ValueError, yaml.YAMLError):
            self.problem(line, path, f"{show_name(value)!r} is not a valid {tag[len(_T) :]}")
            return None
        if path is not None:
            self.scalar_text[path] = value
        return constructed


def _hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    """What to do about a reserved character that starts a plain value: YAML reserves ``@`` and
    `````, and a GitHub owner (``@alice``, ``@org/team``) starts with ``@``."""
    mark = exc.problem_mark
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines) or mark.column >= len(lines[mark.line]):
        return ""
    found = lines[mark.line][mark.column]
    if found not in "@`":
        return ""
    return f'; quote a value that starts with {found}, e.g. "@alice" for a GitHub owner'
