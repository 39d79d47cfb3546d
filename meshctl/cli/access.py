"""`meshctl access`: who can read what, now — live grants with where each comes from.

Registered on the main app by ``cli._register_subcommands``. Reads only (the same snapshot a plan
reads); a row with a problem is marked, and the command still exits 0: it reports, ``plan`` is
what says a change is needed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from meshctl.cli.app import FileOption, StatsOption
from meshctl.cli.extra import CredsOption
from meshctl.errors import MeshctlError

_FORMATS = ("text", "json", "markdown")


def access_command(
    file: FileOption = Path("mesh.yaml"),
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Only this account (by name) and its roles.")
    ] = None,
    principal: Annotated[
        str | None, typer.Option("--principal", help="Only this principal (IAM ARN or account id).")
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="Only this product.")] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="text, json (schemas/access.schema.json) or markdown.")
    ] = "text",
    stats: StatsOption = False,
    credentials_file: CredsOption = None,
) -> int:
    """Show who can read which product and table now, and from which subscription."""
    from meshctl.engine import Engine
    from meshctl.planning.live_access import live_access
    from meshctl.render.access import (
        render_access_json,
        render_access_markdown,
        render_access_text,
    )
    from meshctl.render.markdown import render_stats

    if output_format not in _FORMATS:
        raise MeshctlError(f"--format: {output_format!r} is not one of 'text', 'json', 'markdown'")
    started = time.monotonic()
    engine = Engine(file, credentials_file=credentials_file)
    spec = engine.validate()
    names = {a.name: a.account_id for a in spec.accounts}
    if consumer is not None and consumer not in names:
        known = ", ".join(sorted(names)) or "none"
        raise MeshctlError(f"--consumer: no account named {consumer!r} in {file} ({known})")
    if product is not None and product not in {p.name for p in spec.products}:
        raise MeshctlError(f"--product: no product named {product!r} in {file}")
    rows = live_access(spec, engine.observe(), engine.today)
    rows = tuple(
        r
        for r in rows
        if (consumer is None or r.account_id == names[consumer])
        and (principal is None or r.principal == principal)
        and (product is None or r.product == product)
    )
    if output_format == "json":
        typer.echo(render_access_json(rows, spec.mesh.account_id, engine.today.isoformat()))
    elif output_format == "markdown":
        typer.echo(render_access_markdown(rows))
    else:
        render_access_text(rows, Console(highlight=False, soft_wrap=True))
    if stats:
        elapsed = time.monotonic() - started
        render_stats(engine.sessions.stats.rows(), elapsed, Console(stderr=True))
    return 0
