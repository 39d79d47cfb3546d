"""The outcome of checking a plan against policies as code (meshctl/rules/): plain data a plan
carries, so its views and a saved plan show it and apply can refuse on it.

``mandatory`` violations block: ``plan`` exits 1 and ``apply`` writes nothing. ``advisory`` ones
are warnings. Which policies ran is kept too, so "no violation" is distinguishable from "not
checked".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Enforcement(StrEnum):
    MANDATORY = "mandatory"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class Violation:
    policy: str  # the policy's name
    enforcement: Enforcement
    subject: str  # "subscription marketing/sales.orders", "product sales.orders", a change address
    message: str  # the policy's message with its placeholders filled in
    source: str = ""  # "policies/no-all.yaml:1", where the policy is defined

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "enforcement": self.enforcement.value,
            "subject": self.subject,
            "message": self.message,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Violation:
        return cls(
            policy=str(data["policy"]),
            enforcement=Enforcement(data["enforcement"]),
            subject=str(data["subject"]),
            message=str(data["message"]),
            source=str(data.get("source", "")),
        )


@dataclass(frozen=True)
class PolicyReport:
    checked: tuple[str, ...] = ()  # names of the policies evaluated, in file order
    violations: tuple[Violation, ...] = ()

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.enforcement is Enforcement.MANDATORY)

    @property
    def advisory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.enforcement is Enforcement.ADVISORY)

    @property
    def passed(self) -> bool:
        """True when nothing blocks the plan (advisory violations are only warnings)."""
        return not self.mandatory

    @property
    def summary(self) -> str:
        """``Policies: 4 checked, 1 mandatory violation, 2 advisory.``"""
        m, a = len(self.mandatory), len(self.advisory)
        if not m and not a:
            return f"Policies: {len(self.checked)} checked, all passed."
        plural = "" if m == 1 else "s"
        checked = len(self.checked)
        return f"Policies: {checked} checked, {m} mandatory violation{plural}, {a} advisory."

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": list(self.checked),
            "passed": self.passed,
            "violations": [v.to_json() for v in self.violations],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicyReport:
        return cls(
            checked=tuple(str(n) for n in data.get("checked") or ()),
            violations=tuple(Violation.from_json(v) for v in data.get("violations") or ()),
        )
