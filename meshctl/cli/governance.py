"""`meshctl codeowners` and `meshctl approvals`: owners' review on the pull request.

Registered on the main app by ``cli._register_subcommands``. Neither command calls AWS: they
read mesh files, a CODEOWNERS file and GitHub's reviews (fetched by the workflow), so they may run
before any credentials exist. Paths in CODEOWNERS are from the repository root, which is taken to
be the current directory (where the workflows run them).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from meshctl.cli.app import FileOption
from meshctl.errors import MeshctlError

if TYPE_CHECKING:
    from meshctl.planning.codeowners import Codeowners

_FORMATS = ("text", "markdown", "json")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _repo_paths(mesh: Path, *, strict: bool) -> dict[str, str]:
    """Each mesh file as the spec names it → its path from the repository root (the current
    directory). ``strict``: a file outside it is an error (CODEOWNERS could not name it)."""
    from meshctl.spec.sources import mesh_files

    root = Path.cwd().resolve()
    paths = {}
    for file in mesh_files(mesh):
        try:
            paths[str(file)] = file.resolve().relative_to(root).as_posix()
        except ValueError:
            if strict:
                raise MeshctlError(
                    f"{file}: outside the current directory; run meshctl codeowners from the "
                    "repository's root, where CODEOWNERS paths start"
                ) from None
            paths[str(file)] = file.as_posix()
    return paths


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MeshctlError(f"{what} {path}: cannot read it ({reason})") from None


def codeowners_command(
    file: FileOption = Path("mesh.yaml"),
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write the block into this CODEOWNERS file (kept around it)."),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option("--check", help="Exit 1 and show the difference when FILE is out of date."),
    ] = None,
) -> int:
    """Print, write or check the CODEOWNERS lines that require the product owners' review."""
    from meshctl.planning.codeowners import block, codeowner_name, owned_files, with_block
    from meshctl.spec.load import load_spec

    if write is not None and check is not None:
        raise MeshctlError("--write and --check exclude each other: give one")
    spec = load_spec(file)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for product in spec.products:
        if not any(codeowner_name(o) for o in product.owners):
            err.print(
                f"note: '{product.name}' has no owner CODEOWNERS can name (@user, @org/team or "
                "an e-mail address): no review is required for it",
                markup=False,
            )
    lines = block(owned_files(spec, _repo_paths(file, strict=True)))
    target = write or check
    if target is None:
        typer.echo("\n".join(lines))
        return 0
    current = _read(target, "--write" if write else "--check") if target.exists() else ""
    wanted = with_block(current, lines, str(target))
    if write is not None:
        if wanted != current:
            write.write_text(wanted, encoding="utf-8")
        typer.echo(f"{write}: {'up to date' if wanted == current else 'written'}")
        return 0
    if wanted == current:
        typer.echo(f"{target}: up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        fromfile=str(target),
        tofile=f"{target} (from the mesh)",
    )
    typer.echo("".join(diff), nl=False)
    raise MeshctlError(
        f"{target} is out of date with the mesh's owners: run "
        f"`meshctl codeowners -f {file} --write {target}`"
    )


def approvals_command(
    base: Annotated[
        Path,
        typer.Option(
            "--base", help="The mesh file or directory as of the pull request's base commit."
        ),
    ],
    reviews: Annotated[
        Path,
        typer.Option("--reviews", help="GitHub's 'list reviews for a pull request' answer (JSON)."),
    ],
    file: FileOption = Path("mesh.yaml"),
    codeowners: Annotated[
        Path | None,
        typer.Option(
            "--codeowners",
            help="The base's CODEOWNERS file, or the base checkout (its .github/, root or docs/).",
        ),
    ] = None,
    head_sha: Annotated[
        str,
        typer.Option(
            "--head-sha", help="The pull request's head commit: approvals of others are stale."
        ),
    ] = "",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="text, markdown (PR comment) or json (schemas/approvals.schema.json).",
        ),
    ] = "text",
) -> int:
    """Check that an owner approved every change that widens access (exit 1 when not)."""
    from meshctl.planning.approvals import check_approvals
    from meshctl.planning.reviews import parse_reviews
    from meshctl.render.approvals import (
        render_approvals_json,
        render_approvals_markdown,
        render_approvals_text,
    )
    from meshctl.spec.load import load_spec

    if output_format not in _FORMATS:
        raise MeshctlError(f"--format: {output_format!r} is not one of 'text', 'markdown', 'json'")
    if head_sha and not _SHA.match(head_sha):
        raise MeshctlError(f"--head-sha: {head_sha!r} is not a full commit id (40 hex digits)")
    if not base.exists():
        raise MeshctlError(
            f"--base {base}: no such file or directory; check out the pull request's base "
            "commit and pass its mesh file or mesh.d/"
        )
    found_reviews = parse_reviews(_read(reviews, "--reviews"), str(reviews))
    rules = _codeowners(codeowners)
    base_spec = load_spec(base)
    head_spec = load_spec(file)
    report = check_approvals(
        base_spec,
        head_spec,
        found_reviews,
        repo_path=_repo_paths(file, strict=False),
        codeowners=rules,
        head_sha=head_sha,
    )
    if output_format == "json":
        typer.echo(render_approvals_json(report))
    elif output_format == "markdown":
        typer.echo(render_approvals_markdown(report), nl=False)
    else:
        render_approvals_text(report, Console(highlight=False, soft_wrap=True))
    if not report.ok:
        missing = len(report.unverified)
        raise MeshctlError(
            f"{missing} change(s) widen access without an owner's approval (listed above)"
        )
    return 0


def _codeowners(path: Path | None) -> Codeowners | None:
    """The CODEOWNERS GitHub enforces: a file, or the first of GitHub's places in a checkout."""
    from meshctl.planning.codeowners import CODEOWNERS_LOCATIONS, parse_codeowners

    if path is None:
        return None
    if path.is_dir():
        found = next((path / p for p in CODEOWNERS_LOCATIONS if (path / p).is_file()), None)
        if found is None:
            where = ", ".join(CODEOWNERS_LOCATIONS)
            err = Console(stderr=True, highlight=False, soft_wrap=True)
            err.print(f"note: {path} holds no CODEOWNERS ({where})", markup=False)
            return None
        path = found
    elif not path.exists():
        raise MeshctlError(f"--codeowners {path}: no such file or directory")
    return parse_codeowners(_read(path, "--codeowners"), str(path))
