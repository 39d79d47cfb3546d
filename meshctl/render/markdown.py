"""Views of plans and apply results: text, markdown (a PR comment) and JSON.

The one import the CLI needs: the console views live in text.py, the groups and change
lines they share with the markdown view in views.py.
"""

from __future__ import annotations

import html
import json
import re

from meshctl.planning.plan import Plan
from meshctl.render.policies import markdown_policies
from meshctl.render.text import render_apply_result, render_stats, render_text
from meshctl.render.views import (
    HELD_HEADING,
    NO_CHANGES,
    UNMANAGED_NOTE,
    ChangeView,
    Group,
    plan_groups,
    summary_line,
    unmanaged_count,
)

__all__ = [
    "MARKDOWN_MARKER",
    "NO_CHANGES",
    "UNMANAGED_NOTE",
    "render_apply_result",
    "render_json",
    "render_markdown",
    "render_stats",
    "render_text",
    "summary_line",
]

# A workflow finds its previous comment by this marker and edits it instead of adding another.
MARKDOWN_MARKER = "<!-- meshctl-plan -->"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b")


def render_json(plan: Plan) -> str:
    """The documented plan format (DESIGN §5), described by schemas/plan.schema.json."""
    return json.dumps(plan.to_json(), indent=2)


def render_markdown(plan: Plan) -> str:
    """A pull-request comment: marker, heading, summary, counts, one collapsible diff per group.

    Never contains an ANSI escape (values read from AWS are stripped of them), and text outside
    code fences is HTML-escaped so a value from AWS cannot change the comment's layout.
    """
    s = plan.summary
    out = [
        MARKDOWN_MARKER,
        "### meshctl plan",
        "",
        f"**{summary_line(plan)}**",
        "",
        f"Plan `{_md(plan.plan_id)}` · {_md(plan.mesh_file)} "
        f"sha256 `{_md(plan.mesh_file_sha256[:12])}` · meshctl {_md(plan.meshctl_version)}",
        "",
        "| to create | to update | to archive/revoke | unmanaged, left alone |",
        "|---:|---:|---:|---:|",
        f"| {s['create']} | {s['update']} | {s['delete']} | {unmanaged_count(plan)} |",
    ]
    out += markdown_policies(plan.policies, _md)
    if plan.access:
        out += ["", "#### Access changes", "", *(f"- {_md(line)}" for line in plan.access)]
    if plan.held:
        out += ["", f"#### {_md(HELD_HEADING)}", "", *(f"- ❌ {_md(h.message)}" for h in plan.held)]
    for group in plan_groups(plan):
        lines = [_clean(line) for v in group.views for line in _view_lines(v)]
        fence = "`" * max(3, _longest_backtick_run(lines) + 1)
        out += [
            "",
            f"<details><summary><b>{_md(group.label)}</b>: {_group_counts(group)}</summary>",
            "",
            f"{fence}diff",
            *lines,
            fence,
            "",
            "</details>",
        ]
    if plan.warnings:
        out += ["", "#### Warnings", "", *(f"- {_md(w)}" for w in plan.warnings)]
    return "\n".join(out) + "\n"


def _view_lines(view: ChangeView) -> list[str]:
    # Detail lines are indented so a ```diff block shows them as context (uncoloured), while the
    # headline starts with + or - and GitHub colours it.
    return [view.headline, *(f"      {d}" for d in view.details)]


def _group_counts(group: Group) -> str:
    names = {"+": "to create", "~": "to update", "-": "to archive/revoke"}
    counts: dict[str, int] = {}
    for v in group.views:
        key = names.get(v.symbol, "left alone")
        counts[key] = counts.get(key, 0) + 1
    order = (*names.values(), "left alone")
    return ", ".join(f"{counts[k]} {k}" for k in order if k in counts)


def _clean(text: str) -> str:
    return _ANSI.sub("", text)


def _md(text: str) -> str:
    return html.escape(_clean(text), quote=False)


def _longest_backtick_run(lines: list[str]) -> int:
    return max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
