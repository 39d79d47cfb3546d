"""Evaluate loaded policies over a mesh and its plan: a ``PolicyReport`` the plan carries.

Pure: the spec, the plan and ``today`` are passed in. A condition that cannot be evaluated for
some subject (a missing map key, a non-boolean value, a comprehension over its budget) is an
error naming the policy's file and line and the subject, never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from meshctl.errors import MeshctlError
from meshctl.planning.plan import Plan
from meshctl.planning.policy_report import PolicyReport, Violation
from meshctl.rules.cel import CelError, evaluate
from meshctl.rules.load import Policy
from meshctl.rules.subjects import subjects
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
    for policy in policies:
        for label, data in subjects(policy.for_each, spec, plan, today):
            variables = {policy.for_each.value: data}
            try:
                passed = evaluate(policy.condition, variables)
            except CelError as exc:
                raise PolicyError(
                    f"{policy.source}: condition: policy {policy.name!r} on {label}: {exc}"
                ) from None
            if not passed:
                violations.append(
                    Violation(
                        policy=policy.name,
                        enforcement=policy.enforcement,
                        subject=label,
                        message=fill(policy.message, variables),
                        source=policy.source,
                    )
                )
    return PolicyReport(tuple(p.name for p in policies), tuple(violations))


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
