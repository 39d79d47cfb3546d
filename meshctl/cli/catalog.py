"""`meshctl catalog`: write the mesh as a static site (index, product and consumer pages, an
access map) to a folder, for people and for GitHub Pages.

Registered on the main app by ``cli._register_subcommands``. The pages are built by
``render/catalog`` (pure); this module reads the live catalog through the engine (unless
``--offline``) and is the only one that writes the files. It only reads AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from meshctl.cli.app import FileOption
from meshctl.cli.extra import CredsOption
from meshctl.errors import MeshctlError
from meshctl.spec.model import MeshSpec

# The folders the site owns inside --out: a page left there by an earlier run is removed.
_PAGE_FOLDERS = ("products", "consumers")


def catalog_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the site to (created if missing).")
    ],
    file: FileOption = Path("mesh.yaml"),
    offline: Annotated[
        bool,
        typer.Option("--offline", help="From the file alone: no AWS call, tables without columns."),
    ] = False,
    repo_url: Annotated[
        str | None,
        typer.Option(
            "--repo-url",
            help="The repository holding the mesh file (https://github.com/OWNER/REPO, or "
            ".../tree/BRANCH): product pages link to editing the file there.",
        ),
    ] = None,
    credentials_file: CredsOption = None,
) -> int:
    """Write a static site of the mesh: products, consumers and an access map."""
    from meshctl.render.catalog.model import build_catalog, parse_repo_url
    from meshctl.render.catalog.site import render_site

    repo = parse_repo_url(repo_url) if repo_url is not None else None
    if out.exists() and not out.is_dir():
        raise MeshctlError(f"--out: {out} is a file; give a folder for the site")
    root = _repository_root(file)
    mesh_file = _relative(file, root)
    if offline:
        from meshctl.spec.load import load_spec

        spec = load_spec(file)
        view = build_catalog(
            spec,
            today=datetime.now(UTC).date(),  # the engine's clock is UTC too
            mesh_file=mesh_file,
            product_files=_product_files(spec, root),
            repo=repo,
        )
    else:
        from meshctl.aws.read.snapshot import read_tables
        from meshctl.engine import Engine
        from meshctl.observed import ObservedMesh

        engine = Engine(file, credentials_file=credentials_file)
        spec = engine.validate()  # an invalid file never reaches AWS
        tables = read_tables(spec, engine.sessions)  # the columns; consumers are not entered
        view = build_catalog(
            spec,
            today=engine.today,
            mesh_file=mesh_file,
            observed=ObservedMesh(spec.mesh.account_id, tables=tables),
            product_files=_product_files(spec, root),
            repo=repo,
        )
    pages = render_site(view)
    _write(out, pages)
    index = (out / "index.html").resolve()
    typer.echo(
        f"Wrote the catalog of {len(view.products)} products and {len(view.consumers)} "
        f"consumers to {out}/ ({len(pages)} files). Open {index.as_uri()}"
    )
    return 0


def _write(out: Path, pages: dict[str, str]) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        for folder in _PAGE_FOLDERS:
            for old in (out / folder).glob("*.html"):
                if old.relative_to(out).as_posix() not in pages:
                    old.unlink()
        for relative, text in sorted(pages.items()):
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MeshctlError(f"--out: cannot write the site to {out}: {exc.strerror}") from None


def _repository_root(file: Path) -> Path:
    """The git work tree holding the mesh file, else the current folder: edit links and the
    request command name the file relative to it, as a clone of the repository has it."""
    start = file.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd().resolve()


def _relative(path: Path, root: Path) -> str:
    resolved = path.resolve()
    text = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(path)
    return f"{text}/" if path.is_dir() and not text.endswith("/") else text


def _product_files(spec: MeshSpec, root: Path) -> dict[str, str]:
    """Each product's defining file (a member of mesh.d/, or the mesh file), repository-relative;
    ``spec.sources`` holds "FILE:LINE" per product."""
    found = {}
    for key, where in spec.sources:
        if key.startswith("product."):
            found[key.removeprefix("product.")] = _relative(Path(where.rpartition(":")[0]), root)
    return found
