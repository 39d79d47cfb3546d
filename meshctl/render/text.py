"""Console views: a plan as a coloured, Terraform-like diff, apply results, and `--stats`.

The console is always passed in (no global console): rich drops colours by itself when the
console is not a terminal or has ``no_color``. Every line is built as ``rich.text.Text``, never
as markup, so a ``[`` in an address or an AWS error is printed, not interpreted.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from meshctl.planning.plan import Action, Change, Kind, Plan
from meshctl.render.deltas import FieldDelta
from meshctl.render.policies import print_policies
from meshctl.render.views import (
    HELD_HEADING,
    ChangeView,
    plan_groups,
    summary_line,
    unmanaged_count,
)

APPLY_STATUSES = ("done", "failed", "skipped")
_STATUS_STYLE = {"done": "green", "failed": "bold red", "skipped": "yellow"}
_SYMBOL_STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}


def render_text(plan: Plan, console: Console) -> None:
    """Changes grouped by mesh / account / product, warnings, then the summary line last."""
    groups = plan_groups(plan)
    if plan.access:
        console.print(Text("Access changes:", style="bold"))
        for line in plan.access:
            console.print(Text.assemble(("  • ", "cyan"), line))
        console.print()
    if plan.has_changes:
        console.print(
            Text.assemble(
                "meshctl will perform the following actions (",
                ("+", "green"),
                " create, ",
                ("~", "yellow"),
                " update, ",
                ("-", "red"),
                " archive/revoke/delete):",
            )
        )
    for group in groups:
        console.print()
        console.print(Text(group.label, style="bold"))
        for view in group.views:
            _print_view(view, console)
    if plan.held:
        console.print()
        console.print(Text(HELD_HEADING, style="bold red"))
        for held in plan.held:
            console.print(Text.assemble(("  ✗ ", "red"), held.message))
    if plan.warnings:
        console.print()
        console.print(Text("Warnings:", style="bold yellow"))
        for warning in plan.warnings:
            console.print(Text.assemble(("  ! ", "yellow"), warning))
    print_policies(plan.policies, console)
    console.print()
    unmanaged = unmanaged_count(plan)
    if unmanaged:
        console.print(
            Text(
                f"{unmanaged} unmanaged resource(s) found and left alone "
                "(use --prune to remove them).",
                style="dim",
            )
        )
    style = "bold" if plan.has_changes or plan.held else "bold green"
    console.print(Text(summary_line(plan), style=style))


def _print_view(view: ChangeView, console: Console) -> None:
    change = view.change
    if change.action is Action.NOOP:
        console.print(Text(f"  {view.headline}", style=view.style))
        for detail in view.details:
            console.print(Text(f"        {detail}", style="dim"))
        return
    line = Text("  ")
    line.append(view.symbol, style=f"bold {view.style}")
    line.append(f" {change.address}  ")
    line.append(view.verb, style=view.style)
    if change.drift:
        line.append(f" [{change.drift.value}]", style="dim")
    console.print(line)
    if change.reason:
        console.print(Text(f"        {change.reason}", style="dim"))
    for fact in view.facts:
        console.print(Text(f"        {fact}"))
    for delta in view.deltas:
        console.print(_delta(delta))
    if view.more:
        console.print(Text(f"        ... and {view.more} more differences"))


def _delta(delta: FieldDelta) -> Text:
    """A set change as green +added and red -removed items; any other as ``before -> after``."""
    text = Text(f"        {delta.field}: ")
    if not delta.is_set_change:
        text.append(f"{delta.before} -> {delta.after}")
        return text
    items = [(f"+{v}", "green") for v in delta.added] + [(f"-{v}", "red") for v in delta.removed]
    for i, (item, style) in enumerate(items):
        text.append(" " if i else "")
        text.append(item, style=style)
    return text


def render_apply_result(results: Sequence[tuple[Change, str, str]], console: Console) -> None:
    """Each change with done / failed / skipped (and the AWS error), then the summary line."""
    counts = dict.fromkeys(APPLY_STATUSES, 0)
    for change, status, error in results:
        if status not in counts:
            raise ValueError(f"unknown apply status {status!r} for {change.address}")
        counts[status] += 1
        line = Text("  ")
        line.append(f"{status:<8}", style=_STATUS_STYLE[status])
        line.append(_symbol(change), style=_SYMBOL_STYLE.get(change.action, "dim"))
        line.append(f" {change.address}  {_verb(change)}")
        console.print(line)
        if error:
            console.print(Text(f"           {error}", style="red" if status == "failed" else "dim"))
    console.print()
    console.print(
        Text(
            f"Apply complete: {counts['done']} done, {counts['failed']} failed, "
            f"{counts['skipped']} skipped.",
            style="bold red" if counts["failed"] else "bold green",
        )
    )


def _symbol(change: Change) -> str:
    return {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-"}.get(change.action, "?")


def _verb(change: Change) -> str:
    if change.action is Action.DELETE:
        return {Kind.SUBSCRIPTION: "archive", Kind.GRANT: "revoke", Kind.KMS_GRANT: "revoke"}.get(
            change.kind, "delete"
        )
    return change.action.value


def render_stats(
    stats_rows: Sequence[tuple[str, str, str, int]], wall_seconds: float, console: Console
) -> None:
    """AWS calls per (account, service, operation), a total per service, and the wall time.

    Rows are sorted by service so each service's subtotal closes its own section.
    """
    table = Table(title="AWS calls", title_justify="left")
    table.add_column("account")
    table.add_column("service")
    table.add_column("operation")
    table.add_column("calls", justify="right")
    rows = sorted(stats_rows, key=lambda r: (r[1], r[0], r[2]))
    total = subtotal = 0
    for i, (account_id, service, operation, calls) in enumerate(rows):
        table.add_row(account_id, service, operation, str(calls))
        total += calls
        subtotal += calls
        if i + 1 == len(rows) or rows[i + 1][1] != service:
            bold = [Text(v, style="bold") for v in (service, "total", str(subtotal))]
            table.add_row("", *bold, end_section=True)
            subtotal = 0
    table.add_row("", Text("all services", style="bold"), "", Text(str(total), style="bold"))
    console.print(table)
    console.print(Text(f"{total} AWS calls in {wall_seconds:.2f} s wall time."))
