"""``meshctl approvals`` as text, markdown (the pull-request comment) or JSON.

The JSON's shape: schemas/approvals.schema.json.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from meshctl.planning.approvals import Approval, ApprovalItem, ApprovalsReport, Verdict
from meshctl.planning.widenings import WHOLE_ACCOUNT, AccessChange, Widening
from meshctl.spec.model import ALL_TABLES

APPROVALS_FORMAT_VERSION = 1
APPROVALS_MARKER = "<!-- meshctl-approvals -->"


def describe(change: AccessChange) -> str:
    """What a change gives, in a sentence: ``subscription marketing/sales.orders gains INSERT``."""
    what = f"subscription {change.subject}"
    added = ", ".join(change.added)
    match change.kind:
        case Widening.APPROVED:
            return f"{what} becomes approved"
        case Widening.PERMISSIONS:
            return f"{what} gains {added}"
        case Widening.GRANTABLE:
            return f"{what} may grant {added} to others"
        case Widening.TABLES if change.added == (ALL_TABLES,):
            return f"{what} gains every table of the product"
        case Widening.TABLES:
            return f"{what} gains table{'s' if len(change.added) > 1 else ''} {added}"
        case Widening.COLUMNS:
            gains = f", gaining {added}" if change.added else ""
            return f"{what} sees more of {change.table}: {change.before} → {change.after}{gains}"
        case Widening.ROWS if not change.after:
            return f"{what} reads every row of {change.table} (was: rows where {change.before})"
        case Widening.ROWS:
            return (
                f"{what} changes the row filter of {change.table} from '{change.before}' to "
                f"'{change.after}' (not only narrower)"
            )
        case Widening.PRINCIPALS if change.added == (WHOLE_ACCOUNT,):
            return f"{what} goes to the whole consumer account instead of its principals"
        case Widening.PRINCIPALS:
            return f"{what} gains principals {added}"
        case Widening.EXPIRES if not change.after:
            return f"{what} no longer expires (was {change.before})"
        case Widening.EXPIRES:
            return f"{what} expires later: {change.before} → {change.after}"
        case Widening.OWNERS:
            return f"product {change.subject} gains owners {added}"


def explain(approval: Approval, product: str, *, code: bool = False) -> str:
    """Why a change is or is not approved; ``code`` quotes names (no @mention in a comment)."""

    def names(values: tuple[str, ...], join: str = ", ") -> str:
        return join.join(f"`{v}`" if code else v for v in values)

    notes = "; ".join(approval.notes)
    if approval.verdict is Verdict.APPROVED:
        return f"approved by {names(approval.approved_by)}"
    if approval.verdict is Verdict.CODEOWNERS:
        return (
            f"GitHub requires a review by {names(approval.codeowners_owners, ' or ')} to merge "
            f"({approval.codeowners}:{approval.codeowners_line}, with branch protection's "
            "'Require review from Code Owners')"
        )
    who = names(approval.owners) or "none"
    return f"needs an approving review by an owner of '{product}' ({who})" + (
        f": {notes}" if notes else ""
    )


def _summary(report: ApprovalsReport) -> str:
    total, missing = len(report.items), len(report.unverified)
    if not total:
        return "No change widens access: no owner's approval is needed."
    noun = "change widens" if total == 1 else "changes widen"
    if not missing:
        return f"{total} {noun} access; an owner approved each."
    return f"{total} {noun} access; {missing} without an owner's approval."


def render_approvals_text(report: ApprovalsReport, console: Console) -> None:
    console.print(_summary(report), markup=False)
    for item in report.items:
        change = item.change
        mark = "✗" if item.approval.verdict is Verdict.MISSING else "✓"
        console.print(f"  {mark} {change.file}:{change.line}: {describe(change)}", markup=False)
        console.print(f"      {explain(item.approval, change.product)}", markup=False)
    if report.other_approvals:
        console.print(
            f"Approved by reviewers who own none of these products (not counted): "
            f"{', '.join(report.other_approvals)}",
            markup=False,
        )


def render_approvals_markdown(report: ApprovalsReport) -> str:
    lines = [APPROVALS_MARKER, "### Owners' approval", "", f"**{_summary(report)}**"]
    if report.items:
        lines += ["", "| | where | change | approval |", "|---|---|---|---|"]
        for item in report.items:
            change = item.change
            mark = "❌" if item.approval.verdict is Verdict.MISSING else "✅"
            cells = (
                mark,
                f"`{change.file}:{change.line}`",
                describe(change),
                explain(item.approval, change.product, code=True),
            )
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if report.other_approvals:
        who = ", ".join(f"`{o}`" for o in report.other_approvals)
        lines += ["", f"Approved by reviewers who own none of these products (not counted): {who}"]
    return "\n".join(lines) + "\n"


def render_approvals_json(report: ApprovalsReport) -> str:
    document = {
        "format_version": APPROVALS_FORMAT_VERSION,
        "ok": report.ok,
        "codeowners": report.codeowners or None,
        "head_sha": report.head_sha or None,
        "changes": [_item_json(i) for i in report.items],
        "other_approvals": list(report.other_approvals),
    }
    return json.dumps(document, indent=2, sort_keys=True)


def _item_json(item: ApprovalItem) -> dict[str, Any]:
    change, approval = item.change, item.approval
    return {
        "kind": change.kind.value,
        "subject": change.subject,
        "product": change.product,
        "file": change.file,
        "line": change.line,
        "table": change.table or None,
        "added": list(change.added),
        "before": change.before or None,
        "after": change.after or None,
        "description": describe(change),
        "verdict": approval.verdict.value,
        "owners": list(approval.owners),
        "approved_by": list(approval.approved_by),
        "codeowners_line": approval.codeowners_line or None,
        "codeowners_owners": list(approval.codeowners_owners),
        "notes": list(approval.notes),
    }
