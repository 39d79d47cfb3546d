"""Values as one line of YAML text for the self-service edits (``edit.py``): written so that
meshctl's own reader (YAML 1.1, PyYAML) reads back the same text, in the line's quote style."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import SingleQuotedScalarString


def quoted(value: str, quote: str) -> str:
    """``value`` in the quote style the line used ('' for plain, when plain reads back)."""
    if quote == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if quote == '"':
        return json.dumps(value, ensure_ascii=False)
    return scalar(value)


def _reads_as_text(plain: str) -> bool:
    """Whether a plain scalar reads as text in meshctl's reader (YAML 1.1, PyYAML), where
    ``yes``, ``on``, ``null`` and ``1:20`` are not text though ruamel (YAML 1.2) writes them so."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, plain, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def _safe(value: Any) -> Any:
    if isinstance(value, str) and not _reads_as_text(value):
        return SingleQuotedScalarString(value)
    return value


def _dump(data: Any, sequence: int = 2) -> str:
    out = YAML(typ="rt")
    out.width = 4096  # one line per field, as a person writes them
    out.indent(mapping=2, sequence=sequence, offset=0)
    buffer = io.StringIO()
    out.dump(data, buffer)
    return buffer.getvalue()


def scalar(value: str) -> str:
    """``value`` as YAML text on one line: plain when that reads back as the same text."""
    text = _dump(CommentedMap([("k", _safe(value))])).removeprefix("k: ").rstrip("\n")
    if "\n" in text:  # a value with a line break: one double-quoted line
        return json.dumps(value, ensure_ascii=False)
    return text


def render_entry(fields: dict[str, Any], dash_col: int, key_col: int) -> list[str]:
    """A list entry's lines, its ``-`` at ``dash_col`` and its keys at ``key_col``; lists in flow
    style (``[SELECT, DESCRIBE]``) as the README's examples write them, a date plain
    (``2027-12-31``)."""
    entry = CommentedMap()
    for key, value in fields.items():
        if isinstance(value, list):
            flow = CommentedSeq(_safe(v) for v in value)
            flow.fa.set_flow_style()
            entry[key] = flow
        elif isinstance(value, date):
            entry[key] = value
        else:
            entry[key] = _safe(value)
    text = _dump(CommentedSeq([entry]), sequence=key_col - dash_col)
    return [" " * dash_col + line for line in text.splitlines(keepends=True)]
