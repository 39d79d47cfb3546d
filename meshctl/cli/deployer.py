"""`meshctl deployer-policy`: the IAM policies the MeshctlDeployer role needs for a mesh.

Registered on the main app by ``cli._register_subcommands``. Pure: it reads the mesh file and
prints; it never calls AWS (docs/deployer-policy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshctl.errors import MeshctlError

_FORMATS = ("json", "terraform")


def deployer_policy_command(
    file: Annotated[
        Path,
        typer.Option(
            "-f", "--file", help="Mesh file, or a directory whose *.yaml/*.yml files are merged."
        ),
    ] = Path("mesh.yaml"),
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="mesh (the mesh account's role) or member (every member account's role). "
            "Default: both.",
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="json (an IAM policy document) or terraform.")
    ] = "json",
) -> int:
    """Print the IAM policy the MeshctlDeployer role needs for everything this mesh uses."""
    from meshctl.engine import Engine
    from meshctl.planning.deployer_policy import Side, deployer_policy
    from meshctl.render.deployer_policy import (
        render_policies_json,
        render_policies_terraform,
    )

    sides = {s.value: s for s in Side}
    if account is not None and account not in sides:
        raise MeshctlError(f"--account: {account!r} is not one of 'mesh', 'member'")
    if output_format not in _FORMATS:
        raise MeshctlError(f"--format: {output_format!r} is not one of 'json', 'terraform'")
    spec = Engine(file).validate()
    chosen = [sides[account]] if account is not None else list(Side)
    documents = {side.value: deployer_policy(spec, side) for side in chosen}
    if output_format == "terraform":
        typer.echo(render_policies_terraform(documents))
    else:
        typer.echo(render_policies_json(documents))
    return 0
