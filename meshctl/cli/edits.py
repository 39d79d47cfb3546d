"""`meshctl request|approve|deny|revoke`: self-service edits of the mesh file (issue 18).

Registered on the main app by ``cli._register_subcommands``. Each edit is made by
``spec.self_service`` (validated as the whole mesh before anything is written); this module turns
options into its values, writes the one changed file (or prints the diff with ``--dry-run``) and
says what happens next. Nothing here calls AWS: the change reaches it through plan and apply.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from meshctl.errors import MeshctlError
from meshctl.spec.load import conforms
from meshctl.spec.model import TABLE_PERMISSIONS
from meshctl.spec.rules import show_value

if TYPE_CHECKING:  # ruamel.yaml is loaded by these commands only, not by every meshctl start
    from meshctl.spec.self_service import FileEdit

FileOption = Annotated[
    Path,
    typer.Option(
        "-f",
        "--file",
        help="Mesh file, or a directory of them (mesh.d/): the edit goes to the file that "
        "holds the product or the subscription.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the change as a unified diff; write nothing.")
]
KeyArgument = Annotated[
    str,
    typer.Argument(
        metavar="CONSUMER/PRODUCT", help="The subscription, like marketing/sales.orders."
    ),
]


def request_command(
    consumer: Annotated[str, typer.Option("--consumer", help="The consumer account's name.")],
    product: Annotated[str, typer.Option("--product", help="The product's name.")],
    permissions: Annotated[
        str, typer.Option("--permissions", help="Comma-separated, like SELECT,DESCRIBE.")
    ],
    tables: Annotated[
        str | None,
        typer.Option("--tables", help="Comma-separated tables. Default: every table."),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Why the consumer needs the data.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="YYYY-MM-DD: access ends on this date.")
    ] = None,
    file: FileOption = Path("mesh.yaml"),
    dry_run: DryRunOption = False,
) -> int:
    """Ask for a subscription: add it to the mesh file as pending."""
    from meshctl.spec.edit import NewSubscription
    from meshctl.spec.self_service import request

    new = NewSubscription(
        consumer=consumer,
        product=product,
        permissions=_permissions(permissions),
        tables=_list("--tables", tables) if tables is not None else (),
        purpose=purpose or "",
        expires=_date(expires) if expires is not None else None,
    )
    with _dry_run_diff(dry_run):
        edit = request(file, new)
    owners = ", ".join(edit.owners) or "none yet"
    return _finish(
        edit,
        dry_run,
        f"requested {edit.subscription} (pending). An owner of {product} ({owners}) approves "
        f"it with: meshctl approve {edit.subscription} --by OWNER",
    )


def approve_command(
    key: KeyArgument,
    by: Annotated[str, typer.Option("--by", help="The approver: one of the product's owners.")],
    file: FileOption = Path("mesh.yaml"),
    dry_run: DryRunOption = False,
) -> int:
    """Approve a subscription (status: approved, approved_by: OWNER)."""
    from meshctl.spec.self_service import approve

    with _dry_run_diff(dry_run):
        edit = approve(file, key, by)
    return _finish(
        edit,
        dry_run,
        f"approved {edit.subscription}. The next apply grants its access.",
        already=f"approved by {by} already",
    )


def deny_command(
    key: KeyArgument,
    file: FileOption = Path("mesh.yaml"),
    dry_run: DryRunOption = False,
) -> int:
    """Deny a subscription (status: denied); the entry stays as the record of the decision."""
    from meshctl.spec.self_service import deny

    with _dry_run_diff(dry_run):
        edit = deny(file, key)
    return _finish(
        edit,
        dry_run,
        f"denied {edit.subscription}. The next apply grants nothing for it and revokes any "
        "access it had.",
        already="denied already",
    )


def revoke_command(
    key: KeyArgument,
    file: FileOption = Path("mesh.yaml"),
    dry_run: DryRunOption = False,
) -> int:
    """Remove a subscription from the mesh file: the next apply revokes it and archives it."""
    from meshctl.spec.self_service import revoke

    with _dry_run_diff(dry_run):
        edit = revoke(file, key)
    return _finish(
        edit,
        dry_run,
        f"removed {edit.subscription}. The next apply revokes its access and archives its record.",
    )


@contextmanager
def _dry_run_diff(dry_run: bool) -> Iterator[None]:
    """With --dry-run, an edit that would make the mesh invalid still shows its diff."""
    from meshctl.spec.edit import InvalidEdit

    try:
        yield
    except InvalidEdit as exc:
        if dry_run:
            typer.echo(exc.diff, nl=False)
        raise


def _finish(edit: FileEdit, dry_run: bool, done: str, already: str = "") -> int:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not edit.changed:
        err.print(f"{edit.file}: {edit.subscription} is {already}; nothing to change.")
        return 0
    if dry_run:
        typer.echo(edit.diff(), nl=False)
        err.print("Dry run: nothing was written.", markup=False)
        return 0
    _write(edit.file, edit.after)
    typer.echo(f"{edit.file}: {done}")
    return 0


def _write(file: Path, text: str) -> None:
    """Replace ``file`` at once (a temporary file renamed over it, its mode kept): an edit
    interrupted half-way never leaves half a mesh file."""
    mode = file.stat().st_mode & 0o7777
    handle, name = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(name, mode)
        os.replace(name, file)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _list(option: str, value: str) -> tuple[str, ...]:
    items = tuple(part.strip() for part in value.split(","))
    if not all(items):
        raise MeshctlError(f"{option} {show_value(value)}: an empty entry; give NAME[,NAME...]")
    return items


def _permissions(value: str) -> tuple[str, ...]:
    names = _list("--permissions", value)
    for name in names:
        if name not in TABLE_PERMISSIONS:
            upper = f"; did you mean '{name.upper()}'?" if name.upper() in TABLE_PERMISSIONS else ""
            raise MeshctlError(
                f"--permissions: {show_value(name)} is not one of {', '.join(TABLE_PERMISSIONS)}"
                f"{upper}; nothing was written"
            )
    if len(set(names)) != len(names):
        raise MeshctlError(f"--permissions {show_value(value)} names a permission twice")
    return names


def _date(value: str) -> date:
    try:
        if conforms("date", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise MeshctlError(
        f"--expires {show_value(value)} is not a date (YYYY-MM-DD); nothing was written"
    )
