"""The policy check of a plan (``--policy DIR``) as console lines and as a PR-comment section.

Mandatory violations first (they block the plan), then advisory ones (warnings). A plan made
without policies shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from meshctl.planning.policy_report import Enforcement, PolicyReport, Violation

POLICIES_HEADING = "Policies"
_MARK = {Enforcement.MANDATORY: "✗", Enforcement.ADVISORY: "!"}
_STYLE = {Enforcement.MANDATORY: "red", Enforcement.ADVISORY: "yellow"}
_MD_MARK = {Enforcement.MANDATORY: "❌ **mandatory**", Enforcement.ADVISORY: "⚠️ advisory"}


def ordered(report: PolicyReport) -> tuple[Violation, ...]:
    return report.mandatory + report.advisory


def violation_line(v: Violation) -> str:
    """``no-all-permission: subscription marketing/sales.orders: marketing asks for ALL …``"""
    return f"{v.policy}: {v.subject}: {v.message}"


def print_policies(report: PolicyReport | None, console: Console) -> None:
    if report is None:
        return
    console.print()
    style = "bold green" if not report.violations else "bold red" if report.mandatory else "bold"
    console.print(Text(f"{POLICIES_HEADING} ({len(report.checked)} checked):", style="bold"))
    for v in ordered(report):
        console.print(
            Text.assemble(
                (f"  {_MARK[v.enforcement]} ", _STYLE[v.enforcement]),
                (f"{v.enforcement.value} ", _STYLE[v.enforcement]),
                violation_line(v),
            )
        )
    console.print(Text(report.summary, style=style))


def markdown_policies(report: PolicyReport | None, escape: Callable[[str], str]) -> list[str]:
    """The comment's policy section; every value from a file passes through ``escape``."""
    if report is None:
        return []
    lines = ["", f"#### {POLICIES_HEADING}", "", f"**{escape(report.summary)}**"]
    if report.violations:
        lines.append("")
    for v in ordered(report):
        lines.append(
            f"- {_MD_MARK[v.enforcement]} `{escape(v.policy)}` · {escape(v.subject)}: "
            f"{escape(v.message)}"
        )
    return lines
