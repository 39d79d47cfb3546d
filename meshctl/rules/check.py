"""Evaluate loaded policies over a mesh and its plan: a ``PolicyReport`` the plan carries.

Pure: the spec, the plan and ``today`` are passed in. A condition that cannot be evaluated for
some subject (a missing map key, a non-boolean value, a comprehension over its budget) is an
error naming the policy's file and line and the subject, never a silent pass.

Fast at scale (bench/policy_scale.py): each kind's subjects are built once for all its policies,
and a condition that reads its subject only as ``subject.field`` (``cel.fields_read``) is run once
per distinct combination of those fields' values: CEL is pure, so its value, its error and its
step count are the same for every subject equal in them. Each evaluation that runs keeps the full
step budget of ``cel.MAX_STEPS``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from meshctl.errors import MeshctlError
from meshctl.planning.plan import Plan
from meshctl.planning.policy_report import PolicyReport, Violation
from meshctl.rules.cel import CelError, evaluate_cel, fields_read, to_cel
from meshctl.rules.load import Policy, Subject
from meshctl.rules.subjects import Data, subjects
from meshctl.spec.document import show_name
from meshctl.spec.model import MeshSpec

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_FILLED_CHARS = 2000


class PolicyError(MeshctlError):
    """A policy could not be evaluated, or a plan violates a mandatory policy."""


def check_plan(
    policies: Sequence[Policy], spec: MeshSpec, plan: Plan, *, today: date
) -> PolicyReport:
    violations: list[Violation] = []
    # Each kind's subjects are built once and shared by its policies (read-only: CEL and
    # ``fill`` never change them), each converted to CEL values at most once.
    subjects_of: dict[Subject, list[_Subject]] = {}
    for policy in policies:
        kind = policy.for_each
        if kind not in subjects_of:
            subjects_of[kind] = [
                _Subject(label, data) for label, data in subjects(kind, spec, plan, today)
            ]
        fields = fields_read(policy.condition, kind.value)
        # A condition that reads only some fields gives the same value for subjects equal in
        # them: evaluated once per distinct combination (every subject's own data still fills
        # its message).
        known: dict[Hashable, bool] = {}
        for subject in subjects_of[kind]:
            key = _key(subject.data, fields) if fields is not None else None
            passed = known.get(key) if key is not None else None
            if passed is None:
                try:
                    passed = evaluate_cel(policy.condition, {kind.value: subject.cel()})
                except CelError as exc:
                    raise PolicyError(
                        f"{policy.source}: condition: policy {policy.name!r} on {subject.label}: "
                        f"{exc}"
                    ) from None
                if key is not None:
                    known[key] = passed
            if not passed:
                violations.append(
                    Violation(
                        policy=policy.name,
                        enforcement=policy.enforcement,
                        subject=subject.label,
                        message=fill(policy.message, {kind.value: subject.data}),
                        source=policy.source,
                    )
                )
    return PolicyReport(tuple(p.name for p in policies), tuple(violations))


class _Subject:
    """One subject's plain data, and its CEL values once a condition needs them."""

    __slots__ = ("_cel", "data", "label")

    def __init__(self, label: str, data: Data) -> None:
        self.label = label
        self.data = data
        self._cel: Any = None

    def cel(self) -> Any:
        if self._cel is None:
            self._cel = to_cel(self.data)
        return self._cel


_MISSING = object()


def _key(data: Data, fields: tuple[str, ...]) -> Hashable:
    return tuple(_frozen(data.get(f, _MISSING)) for f in fields)


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in equal only for equal values of one type (``True`` is not ``1``; order
    kept, as CEL sees it)."""
    if isinstance(value, dict):
        return ("map", tuple((_frozen(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", tuple(_frozen(v) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))
    if value is _MISSING:
        return ("missing",)
    return (type(value).__name__, value)


def with_policies(plan: Plan, report: PolicyReport) -> Plan:
    return replace(plan, policies=report)


def refuse_violations(report: PolicyReport, *, applying: bool) -> None:
    """Raise when a mandatory policy is violated (the report is shown before this)."""
    if report.passed:
        return
    names = sorted({v.policy for v in report.mandatory})
    then = "; nothing was applied" if applying else ""
    raise PolicyError(
        f"the plan violates mandatory policies ({len(report.mandatory)} violation(s) of "
        f"{', '.join(names)}, listed above){then}"
    )


def fill(message: str, variables: dict[str, Any]) -> str:
    """``{subscription.consumer}`` → ``marketing``; lists read ``a, b``; a missing path ``?``."""
    text = _PLACEHOLDER.sub(lambda m: _show(_lookup(variables, m.group(1).strip())), message)
    return show_name(text, MAX_FILLED_CHARS)


def _lookup(variables: dict[str, Any], path: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return "?"
        value = value[part]
    return value


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    return str(value)
