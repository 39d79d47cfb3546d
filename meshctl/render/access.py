"""``meshctl access`` as text, markdown or JSON (the JSON shape: schemas/access.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console

from meshctl.planning.live_access import AccessRow

ACCESS_FORMAT_VERSION = 1


def _permissions(row: AccessRow) -> str:
    shown = [f"{p} (grantable)" if p in row.grantable else p for p in row.permissions]
    return ", ".join(shown) or "-"


def _source(row: AccessRow) -> str:
    if row.source == "subscription":
        by = f" by {row.approved_by}" if row.approved_by else ""
        return f"from subscription {row.subscription} ({row.status}{by})"
    if row.source == "record":
        return f"from helper-library record {row.subscription} ({row.status})"
    if row.source == "producer":
        return "producer of the product"
    return "unmanaged: not granted by meshctl"


def render_access_text(rows: Sequence[AccessRow], console: Console) -> None:
    """Grouped by who reads; one line per table: permissions, expiry, where it comes from."""
    if not rows:
        console.print("No access: no principal holds a grant on a mesh table.")
        return
    who = None
    for row in rows:
        if row.who != who:
            who = row.who
            console.print(f"{'' if who == rows[0].who else chr(10)}{who}", markup=False)
        expires = f"  until {row.expires}" if row.expires else ""
        flag = "  ! " + row.problem if row.problem else ""
        console.print(
            f"  {row.product}/{_table(row)}  {_permissions(row)}{expires}  {_source(row)}{flag}",
            markup=False,
        )
    problems = [r for r in rows if r.problem]
    summary = f"\n{len(rows)} row(s), {len(problems)} problem(s)"
    console.print(summary + (":" if problems else "."), markup=False)
    for row in problems:
        console.print(f"  ! {row.who} on {row.product}/{_table(row)}: {row.problem}", markup=False)


def render_access_markdown(rows: Sequence[AccessRow]) -> str:
    lines = [
        "### Who can read what",
        "",
        "| who | product | table | permissions | expires | from | problem |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = (
            row.who,
            row.product,
            _table(row),
            _permissions(row),
            row.expires or "-",
            _source(row),
            row.problem or "",
        )
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    problems = sum(1 for r in rows if r.problem)
    lines += ["", f"{len(rows)} row(s), {problems} problem(s)."]
    return "\n".join(lines)


def render_access_json(rows: Sequence[AccessRow], mesh_account_id: str, today: str) -> str:
    document = {
        "format_version": ACCESS_FORMAT_VERSION,
        "mesh_account_id": mesh_account_id,
        "today": today,
        "rows": [r.to_json() for r in rows],
        "problems": sum(1 for r in rows if r.problem),
    }
    return json.dumps(document, indent=2, sort_keys=True)


def _table(row: AccessRow) -> str:
    """``orders``, or ``orders (id, status)`` / ``orders rows where ...`` when restricted."""
    return f"{row.table} {row.restriction}" if row.restriction else row.table
