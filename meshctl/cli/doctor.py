"""`meshctl doctor`: a read-only preflight of the mesh's accounts, each check ok, warn or fail.

Registered on the main app by ``cli._register_subcommands``. Reads only (``aws/doctor.py``),
judges with the pure ``planning/doctor.py``; exit 1 when any check fails (docs/doctor.md).
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

_FORMATS = ("text", "json")


def doctor_command(
    file: FileOption = Path("mesh.yaml"),
    output_format: Annotated[
        str, typer.Option("--format", help="text or json (schemas/doctor.schema.json).")
    ] = "text",
    stats: StatsOption = False,
    credentials_file: CredsOption = None,
) -> int:
    """Check the accounts before a plan: credentials, Lake Formation, sources, keys, audit."""
    from meshctl.aws.doctor import read_doctor_facts
    from meshctl.engine import Engine
    from meshctl.planning.doctor import diagnose, failed
    from meshctl.render.doctor import render_doctor_json, render_doctor_text
    from meshctl.render.markdown import render_stats

    if output_format not in _FORMATS:
        raise MeshctlError(f"--format: {output_format!r} is not one of 'text', 'json'")
    started = time.monotonic()
    engine = Engine(file, credentials_file=credentials_file)
    spec = engine.validate()  # an invalid file never reaches AWS
    findings = diagnose(spec, read_doctor_facts(spec, engine.sessions))
    names = {a.account_id: a.name for a in spec.accounts}
    names.setdefault(spec.mesh.account_id, "mesh")
    if spec.mesh.account_id in names and names[spec.mesh.account_id] != "mesh":
        names[spec.mesh.account_id] = f"mesh, {names[spec.mesh.account_id]}"
    if output_format == "json":
        typer.echo(render_doctor_json(findings, names))
    else:
        render_doctor_text(findings, names, Console(highlight=False, soft_wrap=True))
    if stats:
        render_stats(engine.sessions.stats.rows(), time.monotonic() - started, Console(stderr=True))
    return 1 if failed(findings) else 0
