"""`meshctl sandbox up|down|status`."""

from __future__ import annotations

import typer

sandbox_app = typer.Typer(help="A local multi-account AWS on moto's server.", no_args_is_help=True)
