"""The command line: thin typer commands over the engine, exit codes, and the one error handler."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from meshctl import __version__
from meshctl.errors import MeshctlError

app = typer.Typer(
    help="Declarative, GitOps reconciler for a data mesh on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}

FileOption = Annotated[
    Path,
    typer.Option("-f", "--file", help="Mesh file, or a directory whose *.yaml files are merged."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"meshctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug


@app.command()
def validate(file: FileOption = Path("mesh.yaml")) -> None:
    """Check a mesh file (schema and semantic rules) without calling AWS."""
    from meshctl.config import load_spec, summarize

    spec = load_spec(file)
    typer.echo(f"{file}: valid — {summarize(spec)}")


def _register_subcommands() -> None:
    from meshctl.sandbox.cli import sandbox_app

    app.add_typer(sandbox_app, name="sandbox")


def main() -> None:
    """Console entry point: every MeshctlError becomes ``Error: …`` and exit 1."""
    _register_subcommands()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except MeshctlError as exc:
        if _state["debug"]:
            raise
        err.print("[red]Error:[/red] ", end="")
        err.print(str(exc), markup=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
