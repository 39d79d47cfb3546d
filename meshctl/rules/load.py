"""Policy files → compiled ``Policy`` values, or every problem as ``FILE:LINE: field: message``.

Everything about a policy that can be checked without a plan is checked here, before any AWS
call: the fields and their values, the CEL syntax, the fields the condition and the message name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from meshctl.errors import MeshctlError, Problem, ValidationError
from meshctl.planning.policy_report import Enforcement
from meshctl.rules.cel import CelError, Condition, compile_condition
from meshctl.spec.document import Document, YamlPath, problem, read_document, show_name

MAX_POLICY_FILES = 500
MAX_MESSAGE_CHARS = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class Subject(StrEnum):
    SUBSCRIPTION = "subscription"
    PRODUCT = "product"
    CHANGE = "change"


# The data each kind of policy sees (docs/policies.md documents every field; subjects.py builds it).
FIELDS: dict[Subject, tuple[str, ...]] = {
    Subject.SUBSCRIPTION: (
        "consumer",
        "product",
        "producer",
        "status",
        "permissions",
        "grantable",
        "tables",
        "restrictions",
        "principals",
        "expires",
        "days_until_expiry",
        "approved_by",
        "purpose",
        "tags",
        "owners",
    ),
    Subject.PRODUCT: ("name", "producer", "owners", "tags", "tables", "protect", "description"),
    Subject.CHANGE: (
        "kind",
        "action",
        "address",
        "account_id",
        "drift",
        "reason",
        "before",
        "after",
    ),
}

_REQUIRED = ("name", "enforcement", "for_each", "condition", "message")
_ALLOWED = ("name", "description", "enforcement", "for_each", "condition", "message")


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    enforcement: Enforcement
    for_each: Subject
    condition: Condition
    message: str  # with ``{subscription.consumer}``-style placeholders
    file: str  # as shown to the user
    condition_line: int

    @property
    def source(self) -> str:
        return f"{self.file}:{self.condition_line}"


def load_policies(directory: Path) -> tuple[Policy, ...]:
    """Every ``*.yaml`` policy in ``directory``, in file-name order; raises ValidationError with
    every problem found (or MeshctlError when the directory is missing or holds no policy)."""
    if not directory.is_dir():
        raise MeshctlError(f"--policy {directory}: not a directory of *.yaml policy files")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise MeshctlError(f"--policy {directory}: no *.yaml policy files in it")
    if len(files) > MAX_POLICY_FILES:
        raise MeshctlError(f"--policy {directory}: more than {MAX_POLICY_FILES} policy files")
    problems: list[Problem] = []
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for path in files:
        doc = read_document(path, str(path))
        problems += doc.problems
        if not doc.usable:
            continue
        policy, found = _policy(doc)
        problems += found
        if policy is None:
            continue
        if policy.name in seen:
            where = doc.line_of(("name",))
            problems.append(
                problem(
                    doc.file,
                    where,
                    ("name",),
                    f"{policy.name!r} is also the name of the "
                    f"policy in {seen[policy.name]}; policy names must be unique",
                )
            )
            continue
        seen[policy.name] = doc.file
        policies.append(policy)
    if problems:
        raise ValidationError(problems)
    return tuple(policies)


def _policy(doc: Document) -> tuple[Policy | None, list[Problem]]:
    data = doc.data
    found: list[Problem] = []

    def bad(field: str, message: str) -> None:
        found.append(problem(doc.file, doc.line_of((field,)), (field,), message))

    for key in data:
        if key not in _ALLOWED:
            bad(str(key), _unknown_field(str(key)))
    for key in _REQUIRED:
        if key not in data:
            found.append(problem(doc.file, 1, (key,), "missing; every policy needs it"))
    for key in _ALLOWED:
        if key in data and not isinstance(data[key], str):
            bad(key, f"must be text, not {_kind_of(data[key])}")
    if found:
        return None, found
    name, enforcement, for_each = data["name"], data["enforcement"], data["for_each"]
    if not _NAME.match(name):
        bad("name", f"{show_name(name)!r} is not a policy name (letters, digits, '-', '_', '.')")
    if enforcement not in tuple(Enforcement):
        bad("enforcement", _not_one_of(enforcement, [e.value for e in Enforcement]))
    if for_each not in tuple(Subject):
        bad("for_each", _not_one_of(for_each, [s.value for s in Subject]))
    if found:
        return None, found
    subject = Subject(for_each)
    condition = _condition(doc, subject, found)
    _check_message(doc, subject, found)
    if condition is None or found:
        return None, found
    policy = Policy(
        name=name,
        description=str(data.get("description", "")),
        enforcement=Enforcement(enforcement),
        for_each=subject,
        condition=condition,
        message=data["message"],
        file=doc.file,
        condition_line=doc.line_of(("condition",)),
    )
    return policy, found


def _condition(doc: Document, subject: Subject, found: list[Problem]) -> Condition | None:
    path: YamlPath = ("condition",)
    line = doc.line_of(path)
    try:
        condition = compile_condition(doc.data["condition"])
    except CelError as exc:
        found.append(problem(doc.file, line, path, str(exc)))
        return None
    others = {s.value for s in Subject} - {subject.value}
    for name, field in condition.references:
        if name == subject.value and field not in FIELDS[subject]:
            found.append(problem(doc.file, line, path, _unknown_subject_field(subject, field)))
        elif name in others:
            found.append(
                problem(
                    doc.file,
                    line,
                    path,
                    f"uses {name!r}, but this policy is for_each "
                    f"{subject.value}: it sees only {subject.value!r}",
                )
            )
    return condition


def _check_message(doc: Document, subject: Subject, found: list[Problem]) -> None:
    path: YamlPath = ("message",)
    message: str = doc.data["message"]
    line = doc.line_of(path)
    if len(message) > MAX_MESSAGE_CHARS:
        found.append(problem(doc.file, line, path, f"longer than {MAX_MESSAGE_CHARS} characters"))
        return
    for placeholder in _PLACEHOLDER.findall(message):
        parts = placeholder.strip().split(".")
        if not _PATH.match(placeholder.strip()) or len(parts) < 2 or parts[0] != subject.value:
            found.append(
                problem(
                    doc.file,
                    line,
                    path,
                    f"placeholder {{{show_name(placeholder)}}}: write {{{subject.value}.FIELD}}, "
                    f"e.g. {{{subject.value}.{FIELDS[subject][0]}}}",
                )
            )
        elif parts[1] not in FIELDS[subject]:
            found.append(problem(doc.file, line, path, _unknown_subject_field(subject, parts[1])))


def _unknown_subject_field(subject: Subject, field: str) -> str:
    allowed = FIELDS[subject]
    close = difflib.get_close_matches(field, allowed, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"it has: {', '.join(allowed)}"
    return f"{subject.value} has no field {show_name(field)!r}; {hint}"


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name, _ALLOWED, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(_ALLOWED)}"
    return f"unknown field {show_name(name)!r}; {hint}"


def _not_one_of(value: str, allowed: list[str]) -> str:
    return f"{show_name(value)!r} is not one of: {', '.join(allowed)}"


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "a mapping"
