"""`meshctl import` and `meshctl schema`, and what they share with `meshctl subscriptions`.

Registered on the main app by ``cli._register_subcommands``; errors are ``MeshctlError`` and the
main error handler prints them. These commands read AWS and never write to it.

Commands that read the subscription table take the mesh account from ``-f mesh.yaml`` (which also
resolves account and product names); without a mesh file, ``--mesh-account-id`` and ``--region``
say where the mesh is and filters take account ids.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from meshctl.errors import MeshctlError
from meshctl.spec.load import conforms
from meshctl.spec.model import DEFAULT_SUBSCRIPTIONS_TABLE, MeshSettings, MeshSpec

MeshAccountOption = Annotated[
    str | None,
    typer.Option("--mesh-account-id", help="The mesh account id (when there is no mesh file)."),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="The mesh region. Default: $AWS_DEFAULT_REGION / $AWS_REGION."),
]
TableOption = Annotated[
    str | None,
    typer.Option(
        "--subscriptions-table",
        help=f"Subscription table. Default: the mesh file's, else {DEFAULT_SUBSCRIPTIONS_TABLE}.",
    ),
]
CredsOption = Annotated[
    Path | None,
    typer.Option("--credentials-file", help="The helper library's JSON credentials file."),
]


def mesh_settings(
    base: MeshSettings | None, account_id: str | None, region: str | None, table: str | None
) -> MeshSettings:
    account_id = account_id or (base.account_id if base else None)
    region = (
        region
        or (base.region if base else None)
        or os.environ.get("AWS_DEFAULT_REGION")
        or os.environ.get("AWS_REGION")
    )
    if not account_id:
        raise MeshctlError(
            "no mesh.yaml here: pass -f FILE, or --mesh-account-id ID (and --region)"
        )
    if not conforms("accountId", account_id):
        raise MeshctlError(f"--mesh-account-id must be 12 digits, not {account_id!r}")
    if not region:
        raise MeshctlError("no region: pass --region or set AWS_DEFAULT_REGION")
    table = table or (base.subscriptions_table if base else DEFAULT_SUBSCRIPTIONS_TABLE)
    role_arn = base.role_arn if base and base.account_id == account_id else None
    return MeshSettings(account_id, region, table, role_arn)


# --- meshctl import ----------------------------------------------------------------------------


def _names(pairs: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for pair in pairs:
        account_id, _, name = pair.partition("=")
        if not conforms("accountId", account_id) or not conforms("accountName", name):
            raise MeshctlError(
                f"--account-name {pair!r}: expected ID=NAME, a 12-digit id and a name of "
                "lowercase letters, digits and -"
            )
        names[account_id] = name
    return names


def import_command(
    mesh_account_id: Annotated[
        str, typer.Option("--mesh-account-id", help="The mesh (governance) account id.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the mesh file here (default: stdout).")
    ] = None,
    region: RegionOption = None,
    subscriptions_table: TableOption = None,
    account_name: Annotated[
        list[str] | None,
        typer.Option("--account-name", help="Name an account: ID=NAME (repeatable)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    credentials_file: CredsOption = None,
) -> int:
    """Write a mesh file from the live mesh, to adopt an existing mesh (reads only)."""
    from meshctl.aws.read.for_import import read_for_import
    from meshctl.aws.sessions import AccountSessions, load_credentials_file
    from meshctl.importer.build import import_mesh
    from meshctl.spec.load import load_spec

    names = _names(account_name or [])
    settings = mesh_settings(None, mesh_account_id, region, subscriptions_table)
    if out is not None and out.exists() and not force:
        raise MeshctlError(f"{out} exists; pass --force to overwrite it")
    static = load_credentials_file(credentials_file) if credentials_file else None
    sessions = AccountSessions(settings, static_credentials=static)
    text = import_mesh(settings, read_for_import(settings, sessions), names=names)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with tempfile.TemporaryDirectory() as tmp:
        check = Path(tmp) / "mesh.yaml"
        check.write_text(text, encoding="utf-8")
        spec = load_spec(check)  # the output must validate; a problem here is a meshctl bug
    if not spec.products and not spec.subscriptions:
        raise MeshctlError(
            f"account {settings.account_id} ({settings.region}) holds no mesh: no data product "
            f"database and no subscription in table {settings.subscriptions_table}; nothing "
            "was written. Check --mesh-account-id, --region and --subscriptions-table."
        )
    if out is not None:
        out.write_text(text, encoding="utf-8")
        err.print(f"Wrote {out}: {_summary(spec)}. Next: meshctl plan -f {out}", markup=False)
        return 0
    typer.echo(text, nl=False)
    err.print(f"Imported {_summary(spec)}.", markup=False)
    return 0


def _summary(spec: MeshSpec) -> str:
    from meshctl.spec.load import summarize

    return summarize(spec)


# --- meshctl schema ----------------------------------------------------------------------------


def schema_command() -> None:
    """Print the JSON Schema of mesh.yaml (for editors: yaml-language-server, IDEs)."""
    text = resources.files("meshctl").joinpath("schemas/mesh.schema.json").read_text("utf-8")
    typer.echo(text, nl=not text.endswith("\n"))
