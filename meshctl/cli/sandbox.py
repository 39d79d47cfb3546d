"""`meshctl sandbox up|down|status|seed`: a local multi-account AWS on moto's server.

Its state lives in the server process's memory: `down` (or the process ending) forgets every
account, table, grant and record in it.

`up` prints shell exports on stdout (so `eval "$(meshctl sandbox up)"` works) and what it did on
stderr. Failures raise SandboxError; the top-level CLI prints them as `Error: …`.

The sandbox (moto, its patches, boto3 sessions) is imported only when one of these commands runs,
so every other command starts without it, and meshctl installed without the ``sandbox`` extra
says what to install instead of failing on an import.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from meshctl.errors import SandboxError
from meshctl.sandbox import DEFAULT_PORT, REGION
from meshctl.spec.model import MeshSpec

if TYPE_CHECKING:
    from types import ModuleType

sandbox_app = typer.Typer(help="A local multi-account AWS on moto's server.", no_args_is_help=True)

PortOption = Annotated[
    int,
    typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1 to listen on."),
]
SeedOption = Annotated[
    Path | None,
    typer.Option(
        "--seed",
        help="Mesh file: create each product's source database, tables and bucket.",
        exists=True,
        dir_okay=False,
    ),
]


def _control() -> ModuleType:
    """The sandbox's process control, imported on use; a clear error without moto."""
    try:
        import moto  # noqa: F401  (the engine of the sandbox)
    except ImportError:
        raise SandboxError(
            "the sandbox needs moto, which this installation lacks: pip install 'meshctl[sandbox]'"
        ) from None
    from meshctl.sandbox import control

    return control


def _print_exports(endpoint: str, region: str) -> None:
    from meshctl.sandbox.sessions import sandbox_variables

    for name, value in sandbox_variables(endpoint, region).items():
        typer.echo(f"export {name}={value}")
    typer.echo("unset AWS_PROFILE AWS_SESSION_TOKEN")


@sandbox_app.command()
def up(port: PortOption = DEFAULT_PORT, seed: SeedOption = None) -> None:
    """Start the sandbox in the background and print the variables that point AWS tools at it."""
    spec = None
    if seed is not None:
        from meshctl.spec.load import load_spec

        spec = load_spec(seed)  # an invalid file stops here, before anything starts
    region = spec.mesh.region if spec is not None else REGION
    control = _control()
    state, stale = control.start(port, region=region)
    if stale:
        typer.echo("removed a stale sandbox state file (its process was gone)", err=True)
    if spec is not None:
        _seed(spec, state.endpoint, region)
    typer.echo(f"sandbox running at {state.endpoint} (pid {state.pid})", err=True)
    _print_exports(state.endpoint, region)


def _seed(spec: MeshSpec, endpoint: str, region: str, *, stop_on_failure: bool = True) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from meshctl.sandbox.seed import seed_producers
    from meshctl.sandbox.sessions import EndpointSession, assume_role_session

    def session_for(account_id: str) -> EndpointSession:
        return assume_role_session(endpoint, account_id, region=region)

    try:
        seeded = seed_producers(spec, session_for)
    except (BotoCoreError, ClientError) as exc:
        if not stop_on_failure:
            raise SandboxError(f"seeding failed: {exc}") from exc
        _control().stop()
        raise SandboxError(f"seeding failed, sandbox stopped: {exc}") from exc
    except BaseException:
        if stop_on_failure:
            _control().stop()
        raise
    accounts = len({t.account_id for t in seeded})
    typer.echo(f"seeded {len(seeded)} tables in {accounts} producer account(s)", err=True)
    principals = sorted({p for s in spec.subscriptions for p in s.principals})
    if principals:  # the consumer's IaC would have made them; meshctl itself never does
        typer.echo(f"seeded the subscriptions' principals: {', '.join(principals)}", err=True)
    for product in spec.products:
        if product.all_tables:  # the file does not name them: say which tables it now has
            producer = spec.account(product.producer).account_id
            names = sorted(
                t.table
                for t in seeded
                if (t.account_id, t.database) == (producer, product.source_database)
            )
            typer.echo(
                f'  product {product.name} (tables: ["*"]): {", ".join(names) or "none"}',
                err=True,
            )


FoundPortOption = Annotated[
    int | None,
    typer.Option(
        "--port", min=1, max=65535, help="Only the sandbox on this port (default: the running one)."
    ),
]


@sandbox_app.command()
def status(port: FoundPortOption = None) -> None:
    """Report whether the sandbox runs, where, and the variables to use it (exit 1 if not)."""
    control = _control()
    path = control.state_file()
    state = control.read_state(path)
    if state is None or (port is not None and state.port != port):
        on = f" on port {port}" if port is not None else ""
        elsewhere = f" (one runs on port {state.port})" if state is not None else ""
        typer.echo(f"sandbox: not running{on}{elsewhere}")
        raise typer.Exit(1)
    if not control.is_running(state):
        path.unlink()
        typer.echo(f"sandbox: not running (pid {state.pid} is gone; removed the stale state file)")
        raise typer.Exit(1)
    typer.echo(f"sandbox: running at {state.endpoint} (pid {state.pid}, since {state.started_at})")
    _print_exports(state.endpoint, state.region)


@sandbox_app.command()
def down(port: FoundPortOption = None) -> None:
    """Stop the sandbox started by `meshctl sandbox up` (only that process); its state is gone."""
    control = _control()
    if port is not None:
        state = control.read_state(control.state_file())
        if state is None or state.port != port:
            running = f"; the running one is on port {state.port}" if state is not None else ""
            raise SandboxError(f"no sandbox is running on port {port}{running}")
    state = control.stop()
    typer.echo(f"sandbox stopped (pid {state.pid}, port {state.port}); its state is gone")


@sandbox_app.command()
def seed(
    file: Annotated[
        Path,
        typer.Argument(help="Mesh file: create each product's source database, tables, bucket."),
    ],
    port: FoundPortOption = None,
) -> None:
    """Add a mesh file's source tables to the running sandbox (what `up --seed` does)."""
    from meshctl.spec.load import load_spec

    spec = load_spec(file)  # an invalid file stops here, before any call
    control = _control()
    state = control.read_state(control.state_file())
    if state is None or not control.is_running(state) or (port and state.port != port):
        raise SandboxError("no sandbox is running: start one with `meshctl sandbox up`")
    _seed(spec, state.endpoint, spec.mesh.region, stop_on_failure=False)
