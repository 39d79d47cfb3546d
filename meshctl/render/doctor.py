"""``meshctl doctor`` findings as text (grouped by account) or JSON (schemas/doctor.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from rich.console import Console

from meshctl.planning.doctor_facts import Finding, Status

DOCTOR_FORMAT_VERSION = 1
_MARK = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}


def _counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {s.value: sum(f.status is s for f in findings) for s in Status}


def render_doctor_text(
    findings: Sequence[Finding], names: Mapping[str, str], console: Console
) -> None:
    """One block per account; a line per check, its fix on the next line when not ok."""
    account = None
    for f in findings:
        if f.account_id != account:
            account = f.account_id
            name = names.get(account, "not in the mesh file")
            gap = "" if f is findings[0] else "\n"
            console.print(f"{gap}{name} ({account})", markup=False)
        subject = f" [{f.subject}]" if f.subject else ""
        console.print(f"  {_MARK[f.status]}  {f.check.value}{subject}: {f.message}", markup=False)
        if f.fix and f.status is not Status.OK:
            console.print(f"        fix: {f.fix}", markup=False)
    counts = _counts(findings)
    console.print(
        f"\n{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s).",
        markup=False,
    )


def render_doctor_json(findings: Sequence[Finding], names: Mapping[str, str]) -> str:
    counts = _counts(findings)
    return json.dumps(
        {
            "format_version": DOCTOR_FORMAT_VERSION,
            "ok": counts["fail"] == 0,
            "counts": counts,
            "findings": [
                {
                    "account_id": f.account_id,
                    "account": names.get(f.account_id, ""),
                    "check": f.check.value,
                    "status": f.status.value,
                    "subject": f.subject,
                    "message": f.message,
                    "fix": f.fix,
                }
                for f in findings
            ],
        },
        indent=2,
    )
