"""The command line: thin typer commands over the engine, exit codes, and the one error handler."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from meshctl import __version__
from meshctl.applier import DEFAULT_MAX_REVOKES, ApplyResult, check_guards
from meshctl.errors import LockError, MeshctlError, PlanError, ValidationError
from meshctl.planning.plan import Plan

if TYPE_CHECKING:  # the engine brings boto3: imported by the commands that reach AWS
    from meshctl.engine import Engine

app = typer.Typer(
    help="Declarative, GitOps reconciler for a data mesh on AWS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}

FileOption = Annotated[
    Path,
    typer.Option(
        "-f", "--file", help="Mesh file, or a directory whose *.yaml/*.yml files are merged."
    ),
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
def validate(
    path: Annotated[
        Path | None, typer.Argument(help="Mesh file or directory (same as -f).")
    ] = None,
    file: FileOption = Path("mesh.yaml"),
) -> None:
    """Check a mesh file (schema and semantic rules) without calling AWS."""
    from meshctl.spec.load import load_spec, summarize

    target = path or file
    spec = load_spec(target)
    typer.echo(f"{target}: valid — {summarize(spec)}")


CredsOption = Annotated[
    Path | None,
    typer.Option(
        "--credentials-file",
        help="The helper library's JSON credentials file (for teams migrating from it).",
    ),
]
PruneOption = Annotated[
    bool,
    typer.Option("--prune", help="Also remove unmanaged grants and records found on the mesh."),
]
StatsOption = Annotated[
    bool, typer.Option("--stats", help="Print AWS calls per account, service and operation.")
]
PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="Check the plan against every *.yaml policy in this directory (docs/policies.md); "
        "a mandatory violation exits 1 and apply writes nothing.",
        show_default=False,
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Treat every warning and held product as an error (exit 1; for CI)."
    ),
]


def _refuse_if_strict(the_plan: Plan, strict: bool, *, applying: bool) -> None:
    """``--strict``: a plan with warnings or held items is an error, before any write."""
    if not strict or not (the_plan.warnings or the_plan.held):
        return
    counts = f"{len(the_plan.warnings)} warning(s) and {len(the_plan.held)} held item(s)"
    then = "; nothing was applied" if applying else ""
    raise PlanError(f"--strict: the plan has {counts} (listed above){then}")


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _print_stats(engine: Engine, started: float, console: Console) -> None:
    from meshctl.render.markdown import render_stats

    render_stats(engine.sessions.stats.rows(), time.monotonic() - started, console)


MeshArgument = Annotated[
    Path | None, typer.Argument(help="Mesh file or directory (same as -f).", show_default=False)
]


@app.command()
def plan(
    path: MeshArgument = None,
    file: FileOption = Path("mesh.yaml"),
    out: Annotated[Path | None, typer.Option("--out", help="Save the plan for apply.")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text, markdown (PR comment) or json.")
    ] = OutputFormat.text,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when the plan has changes.")
    ] = False,
    prune: PruneOption = False,
    stats: StatsOption = False,
    strict: StrictOption = False,
    policy: PolicyOption = None,
    credentials_file: CredsOption = None,
) -> int:
    """Show what apply would change to make AWS match the mesh file."""
    from meshctl.cli.policy import checked, load_option, refuse
    from meshctl.render.markdown import render_json, render_markdown, render_text

    started = time.monotonic()
    from meshctl.engine import Engine

    policies = load_option(policy)  # a bad policy file never reaches AWS either
    engine = Engine(path or file, credentials_file=credentials_file)
    engine.validate()  # an invalid file never reaches AWS
    the_plan = checked(engine.plan(prune=prune), policies, engine.spec, engine.today)
    console = _stdout()
    if output_format is OutputFormat.json:
        typer.echo(render_json(the_plan))
    elif output_format is OutputFormat.markdown:
        typer.echo(render_markdown(the_plan))
    else:
        render_text(the_plan, console)
    if out is not None:
        out.write_text(the_plan.dumps() + "\n", encoding="utf-8")
        err = Console(stderr=True, highlight=False, soft_wrap=True)  # no wrap inside the path
        err.print(f"Saved the plan to {out}. Apply it with: meshctl apply {out}", markup=False)
    if stats:
        _print_stats(engine, started, Console(stderr=True))
    refuse(the_plan, applying=False)
    _refuse_if_strict(the_plan, strict, applying=False)
    # Held products are not "no changes": AWS does not match the file while they last.
    return 2 if detailed_exitcode and (the_plan.has_changes or the_plan.held) else 0


@app.command()
def apply(
    planfile: Annotated[
        Path | None,
        typer.Argument(
            help="A plan saved by `meshctl plan --out`; a mesh file (*.yaml, *.yml) or "
            "directory here is taken as -f.",
            show_default=False,
        ),
    ] = None,
    file: FileOption = Path("mesh.yaml"),
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking for confirmation.")
    ] = False,
    prune: PruneOption = False,
    max_revokes: Annotated[
        int, typer.Option("--max-revokes", help="Refuse plans revoking more than this.")
    ] = DEFAULT_MAX_REVOKES,
    allow_mass_revoke: Annotated[
        bool, typer.Option("--allow-mass-revoke", help="Allow more revokes than --max-revokes.")
    ] = False,
    stats: StatsOption = False,
    strict: StrictOption = False,
    policy: PolicyOption = None,
    credentials_file: CredsOption = None,
) -> int:
    """Make AWS match the mesh file (or carry out a saved plan exactly)."""
    from meshctl.cli.policy import checked, gate_saved, load_option, refuse
    from meshctl.render.markdown import render_apply_result, render_text

    started = time.monotonic()
    console = _stdout()
    from meshctl.engine import Engine

    if planfile is not None and _is_mesh_file(planfile):
        file, planfile = planfile, None  # `meshctl apply mesh.yaml` means `apply -f mesh.yaml`
    policies = load_option(policy)  # a bad policy file never reaches AWS either
    engine = Engine(file, credentials_file=credentials_file)
    saved = _read_plan(planfile) if planfile is not None else None
    engine.validate()  # an invalid file never reaches AWS
    if saved is not None:  # before the lock: a plan the policies refuse writes nothing
        saved = gate_saved(saved, policies, engine.spec, engine.today, console)
    with engine.locked("apply"):
        if saved is not None:
            # Guards first: a plan they refuse must stay usable with --allow-mass-revoke.
            check_guards(saved, max_revokes=max_revokes, allow_mass_revoke=allow_mass_revoke)
            _refuse_if_strict(saved, strict, applying=True)
            engine.check_saved_plan(saved)
            the_plan = saved
        else:
            the_plan = checked(engine.plan(prune=prune), policies, engine.spec, engine.today)
            render_text(the_plan, console)
            refuse(the_plan, applying=True)
            _refuse_if_strict(the_plan, strict, applying=True)
            if not the_plan.has_changes:
                # Nothing to change, but the invitation journal is kept up: started on a mesh
                # that has none, cleared of accounts this plan found nothing to accept in.
                engine.execute(the_plan, max_revokes=max_revokes, allow_mass_revoke=True)
                return 0
            if not auto_approve and not _confirm(console):
                console.print("Apply cancelled; nothing was changed.")
                return 1
        result = _execute_with_progress(engine, the_plan, console, max_revokes, allow_mass_revoke)
        # Shown before the lock is released: a lost lock then still shows what was done.
        render_apply_result([(r.change, r.status.value, r.error) for r in result.results], console)
    if stats:
        _print_stats(engine, started, Console(stderr=True))
    return 0 if result.ok else 1


def _is_mesh_file(path: Path) -> bool:
    return path.is_dir() or path.suffix in (".yaml", ".yml")


def _read_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlanError(
            f"{path}: not a readable meshctl plan ({exc}); apply takes a plan saved by "
            "`meshctl plan --out FILE`, or a mesh file: `meshctl apply -f mesh.yaml`"
        ) from None


def _confirm(console: Console) -> bool:
    if not sys.stdin.isatty():
        raise PlanError("apply needs confirmation: run it in a terminal or pass --auto-approve")
    return typer.confirm("Apply these changes?", default=False)


def _execute_with_progress(
    engine: Engine, the_plan: Plan, console: Console, max_revokes: int, allow: bool
) -> ApplyResult:
    if not console.is_terminal:
        return engine.execute(the_plan, max_revokes=max_revokes, allow_mass_revoke=allow)
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Applying", total=len(the_plan.effective_changes))
        return engine.execute(
            the_plan,
            max_revokes=max_revokes,
            allow_mass_revoke=allow,
            on_result=lambda _r: progress.advance(task),
        )


@app.command()
def unlock(
    lock_id: Annotated[str, typer.Argument(help="The lock id an apply refusal printed.")],
    file: FileOption = Path("mesh.yaml"),
    credentials_file: CredsOption = None,
) -> int:
    """Release an apply lock left behind by a run that died."""
    from meshctl.engine import Engine

    engine = Engine(file, credentials_file=credentials_file)
    engine.validate()
    if not engine.unlock(lock_id):
        raise LockError(f"lock {lock_id} is not held (already released, or another id holds it)")
    typer.echo(f"Released lock {lock_id}.")
    return 0


def _register_subcommands() -> None:
    """Add the commands defined in other modules; idempotent (tests call it too)."""
    from meshctl.cli.access import access_command
    from meshctl.cli.catalog import catalog_command
    from meshctl.cli.deployer import deployer_policy_command
    from meshctl.cli.doctor import doctor_command
    from meshctl.cli.edits import approve_command, deny_command, request_command, revoke_command
    from meshctl.cli.extra import import_command, schema_command
    from meshctl.cli.governance import approvals_command, codeowners_command
    from meshctl.cli.sandbox import sandbox_app
    from meshctl.cli.subscriptions import subscriptions_app

    if any(group.name == "sandbox" for group in app.registered_groups):
        return
    app.add_typer(sandbox_app, name="sandbox")
    app.command("import")(import_command)
    app.add_typer(subscriptions_app, name="subscriptions")
    app.command("schema")(schema_command)
    app.command("access")(access_command)
    app.command("codeowners")(codeowners_command)
    app.command("approvals")(approvals_command)
    app.command("request")(request_command)
    app.command("approve")(approve_command)
    app.command("deny")(deny_command)
    app.command("revoke")(revoke_command)
    app.command("catalog")(catalog_command)
    app.command("doctor")(doctor_command)
    app.command("deployer-policy")(deployer_policy_command)


def _debug_first(args: list[str]) -> list[str]:
    """``--debug`` is a global option, accepted anywhere: ``meshctl plan --debug`` as well."""
    head, sep, tail = (args, [], []) if "--" not in args else _split(args)
    if "--debug" not in head:
        return args
    return ["--debug", *(a for a in head if a != "--debug"), *sep, *tail]


def _split(args: list[str]) -> tuple[list[str], list[str], list[str]]:
    i = args.index("--")
    return args[:i], ["--"], args[i + 1 :]


def main() -> None:
    """Console entry point: every MeshctlError becomes ``Error: …`` and exit 1."""
    _register_subcommands()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        rc = app(args=_debug_first(sys.argv[1:]), standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except ValidationError as exc:
        if _state["debug"]:
            raise
        for problem in exc.problems:
            err.print(str(problem), markup=False, emoji=False)
        err.print(f"[red]Error:[/red] {len(exc.problems)} problem(s); nothing was sent to AWS")
        sys.exit(exc.exit_code)
    except MeshctlError as exc:
        if _state["debug"]:
            raise
        err.print("[red]Error:[/red] ", end="")
        err.print(str(exc), markup=False, emoji=False)
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

        usage_errors: tuple[type[Exception], ...] = (click.ClickException,)
        bad_values: tuple[type[Exception], ...] = (click.BadParameter,)
        try:  # typer 0.29 raises its vendored click's exceptions (typer._click), not click's
            from typer._click.exceptions import BadParameter as TyperBadParameter
            from typer._click.exceptions import ClickException as TyperClickException

            usage_errors += (TyperClickException,)
            bad_values += (TyperBadParameter,)
        except ImportError:  # pragma: no cover - a typer that uses click itself
            pass
        param = getattr(exc, "param", None)
        if isinstance(exc, bad_values) and param is not None:
            # Like every other error: "Error: --format: 'xml' is not one of ...", exit 1.
            name = max(param.opts, key=len) if param.opts else str(param.name)
            message = str(getattr(exc, "message", exc)).removeprefix("Value error, ")
            message = message or "required but missing"  # click's MissingParameter has none
            err.print("[red]Error:[/red] ", end="")
            err.print(f"{name}: {message}", markup=False, emoji=False)
            sys.exit(1)
        if isinstance(exc, usage_errors):
            exc.show()  # type: ignore[attr-defined]
            # 1, not click's 2: `plan --detailed-exitcode` reserves 2 for "changes present".
            sys.exit(1)
        raise
