"""Read a mesh file, or a directory of them, into one MeshSource (``yamldoc`` reads each file).

A directory's ``*.yaml`` and ``*.yml`` files merge into one MeshSource (accounts and products by
name, subscriptions appended) that still knows, for every merged path, the file and line it came
from.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshctl.errors import MeshctlError, Problem
from meshctl.spec.document import Document, YamlPath, problem, read_document


def mesh_files(path: Path) -> list[Path]:
    """The file itself, or a directory's ``*.yaml`` and ``*.yml`` files sorted by name (dot files
    skipped): both are YAML, and a file an editor saved as ``.yml`` is never silently ignored."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise MeshctlError(f"{path}: directory holds no *.yaml or *.yml mesh files")
        return files
    if not path.exists():
        raise MeshctlError(f"{path}: no such file (pass the mesh file with -f PATH)")
    return [path]


def read_source(path: Path, replaced: Mapping[Path, bytes] | None = None) -> MeshSource:
    """Every file of ``path`` read and merged; problems are collected, never raised.

    ``replaced`` gives some files' content instead of what is on disk (an edit not yet written).
    """
    replaced = replaced or {}
    docs = [read_document(p, str(p), replaced.get(p)) for p in mesh_files(path)]
    source = MeshSource(docs, usable=all(d.usable for d in docs))
    source.problems.extend(p for d in docs for p in d.problems)
    if source.usable:
        _merge(source)
    return source


_NAMED = ("accounts", "products")  # mappings of name → definition, merged by name


@dataclass
class MeshSource:
    """The documents as one mesh (``data``), and where each merged path came from."""

    docs: list[Document]
    usable: bool
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    top_owner: dict[str, Document] = field(default_factory=dict)
    entry_owner: dict[tuple[str, str], Document] = field(default_factory=dict)
    # subscriptions: merged index where each document's list starts (parallel lists, for bisect)
    sub_starts: list[int] = field(default_factory=list)
    sub_docs: list[Document] = field(default_factory=list)

    def locate(self, path: YamlPath) -> tuple[Document, YamlPath]:
        """The document that defined ``path``, and the path as written in that document."""
        top = str(path[0]) if path else ""
        if top in _NAMED and len(path) > 1:
            owner = self.entry_owner.get((top, str(path[1])))
            if owner is not None:
                return owner, path
        if top == "subscriptions" and len(path) > 1 and isinstance(path[1], int) and self.sub_docs:
            i = bisect.bisect_right(self.sub_starts, path[1]) - 1
            return self.sub_docs[i], ("subscriptions", path[1] - self.sub_starts[i], *path[2:])
        owner = self.top_owner.get(top) or self.top_owner.get("mesh") or self.docs[0]
        return owner, path

    def where(self, path: YamlPath) -> str:
        """``file:line`` of ``path``, for messages that point at a second place."""
        doc, local = self.locate(path)
        return f"{doc.file}:{doc.line_of(local)}"

    def problem(self, path: YamlPath, message: str) -> Problem:
        doc, local = self.locate(path)
        return problem(doc.file, doc.line_of(local), local, message)

    def scalar_text(self, path: YamlPath) -> str | None:
        """How a number, true/false or null at ``path`` was written (to suggest quoting it)."""
        doc, local = self.locate(path)
        return doc.scalar_text.get(local)


def _merge(source: MeshSource) -> None:
    data = source.data
    for doc in source.docs:
        for key, value in doc.data.items():
            first = source.top_owner.get(key)
            if first is None:
                source.top_owner[key] = doc
                if key in _NAMED and isinstance(value, dict):
                    data[key] = {}  # filled below, recording each entry's owner
                elif key == "subscriptions" and isinstance(value, list):
                    data[key] = []
                else:
                    data[key] = value  # wrong types are kept: the schema reports them
                    continue
            if key in _NAMED and isinstance(value, dict) and isinstance(data[key], dict):
                for name, entry in value.items():
                    other = source.entry_owner.get((key, name))
                    if other is None:
                        source.entry_owner[(key, name)] = doc
                        data[key][name] = entry
                        continue
                    message = (
                        f"defined twice: here and in {other.file}:{other.line_of((key, name))}"
                    )
                    line = doc.line_of((key, name))
                    source.problems.append(problem(doc.file, line, (key, name), message))
            elif key == "subscriptions" and isinstance(value, list) and isinstance(data[key], list):
                source.sub_starts.append(len(data[key]))
                source.sub_docs.append(doc)
                data[key].extend(value)
            elif first is not None and data[key] != value:
                message = (
                    f"differs from {first.file}:{first.line_of((key,))}; define it in one file"
                )
                source.problems.append(problem(doc.file, doc.line_of((key,)), (key,), message))
