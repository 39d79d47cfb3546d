"""How `meshctl apply` scales: 2,000 new approved subscriptions on a 400-product mesh (issue 5).

Run: .venv/bin/python bench/apply_scale.py [--new 2000] [--existing 0] [--producers 20]
     [--consumers 50] [--products 400] [--tables-per-product 2]

One in-process sandbox. The mesh of ``meshgen`` (20 producers, 50 consumers, 400 products of 2
tables: 800 mesh tables) is built as an earlier apply left it — the products applied, plus
``--existing`` subscriptions — then the mesh file gains ``--new`` approved subscriptions and a
fresh Engine does what `meshctl apply --auto-approve` does: lock, read, plan, execute. Then a
second fresh Engine makes the following plan, which must be a no-op with zero writes.

Prints wall time and AWS calls per operation (retries beside them), and the batching figure:
BatchGrantPermissions calls against ceil(grants / 20) + retries. Figures only, no assertions.
The sandbox is CPU-bound in this one process, so wall time is mostly emulator time.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _tests_path  # noqa: F401  (tests/support on the path)
from meshgen import (
    add_mesh_options,
    apply_bulk,
    build_sources,
    generate_spec,
    mesh_header,
    run_timed,
    write_spec,
)
from support.sandbox import ProcessEnv, in_process_sandbox

from meshctl.applier import ApplyResult, Status
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.stats import CallKey, CallStats
from meshctl.engine import Engine
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.planning.planner import make_plan

BATCH = 20  # entries per BatchGrantPermissions / BatchRevokePermissions (AWS limit)


def build_before(args: argparse.Namespace, session_for: Callable[[str], Any], tmp: Path) -> None:
    """The mesh as an earlier apply left it: sources, products, ``--existing`` subscriptions."""
    before = generate_spec(
        args.producers, args.consumers, args.products, args.existing, args.tables_per_product
    )
    started = time.perf_counter()
    tables = build_sources(before, session_for)
    plan = make_plan(
        before,
        read_mesh(before, AccountSessions.for_spec(before)),
        plan_id=uuid.uuid4().hex,
        mesh_file_sha256="",
        today=datetime.now(UTC).date(),
    )
    apply_bulk(before, plan, session_for)
    write_spec(before, tmp / "before.yaml")
    print(
        f"built the applied mesh: {tables} source tables, {args.products} products, "
        f"{args.existing} subscriptions ({len(plan.effective_changes)} changes) in "
        f"{time.perf_counter() - started:.1f} s"
    )


def operations(stats: CallStats) -> list[tuple[str, int, int, int]]:
    """(service:operation, calls, retries, accounts) over all accounts, busiest first."""
    calls: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    accounts: dict[str, set[str]] = {}
    for key, (n, r) in stats.snapshot().items():
        op = f"{key.service}:{key.operation}"
        calls[op] += n
        retries[op] += r
        accounts.setdefault(op, set()).add(key.account_id)
    return sorted(
        ((op, n, retries[op], len(accounts[op])) for op, n in calls.items()),
        key=lambda row: (-row[1], row[0]),
    )


def print_operations(title: str, stats: CallStats) -> None:
    print(f"\n{title}")
    print(f"  {'operation':<48}{'calls':>8}{'retries':>9}{'accounts':>10}  write")
    for op, n, r, accounts in operations(stats):
        service, operation = op.split(":")
        write = "yes" if CallKey("", service, operation).is_write else ""
        print(f"  {op:<48}{n:>8}{r:>9}{accounts:>10}  {write}")
    print(f"  {'total':<48}{stats.total:>8}{stats.retries:>9}{'':>10}  writes {stats.writes}")


def changes_by_kind(plan: Plan) -> str:
    kinds = Counter(f"{c.kind.value} {c.action.value}" for c in plan.effective_changes)
    return ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))


def apply_new(
    args: argparse.Namespace, tmp: Path
) -> tuple[Plan, ApplyResult, dict[str, float], CallStats]:
    """`meshctl apply --auto-approve` of the mesh file with ``--new`` more subscriptions."""
    after = generate_spec(
        args.producers,
        args.consumers,
        args.products,
        args.existing + args.new,
        args.tables_per_product,
    )
    path = write_spec(after, tmp / "mesh.yaml")
    engine = Engine(path)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    engine.validate()
    seconds["load"] = time.perf_counter() - t0
    with engine.locked("apply"):
        t1 = time.perf_counter()
        plan = engine.plan()
        t2 = time.perf_counter()
        seconds["read + plan"] = t2 - t1
        reads = engine.sessions.stats.total
        result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)
        seconds["execute"] = time.perf_counter() - t2
    seconds["total (lock included)"] = time.perf_counter() - t0
    seconds["plan reads (calls)"] = reads
    return plan, result, seconds, engine.sessions.stats


def following_plan(tmp: Path) -> tuple[Plan, float, CallStats]:
    engine = Engine(tmp / "mesh.yaml")
    started = time.perf_counter()
    plan = engine.plan()
    return plan, time.perf_counter() - started, engine.sessions.stats


def run(args: argparse.Namespace) -> None:
    env = ProcessEnv()
    try:
        with in_process_sandbox(env) as sandbox, tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            build_before(args, sandbox.session, tmp)

            plan, result, seconds, stats = apply_new(args, tmp)
            grants = sum(
                1
                for c in plan.effective_changes
                if c.kind is Kind.GRANT and c.action is Action.CREATE
            )
            print(f"\napply of {args.new} new subscriptions: {len(plan.effective_changes)} changes")
            print(f"  {changes_by_kind(plan)}")
            print(
                "  wall "
                + ", ".join(
                    f"{k} {v:.1f} s" if "calls" not in k else f"{k} {int(v)}"
                    for k, v in seconds.items()
                )
            )
            print(
                f"  results: {result.count(Status.DONE)} done, {result.count(Status.FAILED)} "
                f"failed, {result.count(Status.SKIPPED)} skipped"
            )
            for r in [r for r in result.results if r.error][:3]:
                print(f"  !! {r.change.address}: {r.error}", file=sys.stderr)
            print_operations("apply (plan + execute): AWS calls per operation", stats)

            batch_calls = stats.calls(service="lakeformation", operation="BatchGrantPermissions")
            batch_retries = next(
                (
                    r
                    for k, (_, r) in stats.snapshot().items()
                    if k.service == "lakeformation" and k.operation == "BatchGrantPermissions"
                ),
                0,
            )
            target = math.ceil(grants / BATCH) + batch_retries
            print(
                f"\nbatching: {grants} grants created in {batch_calls} BatchGrantPermissions "
                f"calls; target ceil({grants}/{BATCH}) + {batch_retries} retries = {target} "
                f"-> {'met' if batch_calls <= target else 'NOT met'}"
            )
            print(
                f"per new subscription: {stats.total / max(1, args.new):.2f} calls, "
                f"{stats.writes / max(1, args.new):.2f} writes, "
                f"{seconds['execute'] * 1000 / max(1, args.new):.1f} ms of execute"
            )

            noop, noop_s, noop_stats = following_plan(tmp)
            print(
                f"\nfollowing plan: {len(noop.effective_changes)} changes "
                f"({changes_by_kind(noop) or 'none'}), wall {noop_s:.1f} s, "
                f"{noop_stats.total} calls, writes {noop_stats.writes}"
            )
            print_operations("following plan: AWS calls per operation", noop_stats)
    finally:
        env.restore()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=2000, help="approved subscriptions to add")
    parser.add_argument("--existing", type=int, default=0, help="subscriptions already applied")
    add_mesh_options(parser)
    args = parser.parse_args(argv)
    print(mesh_header(args, f"{args.existing} subscriptions applied, {args.new} new; "))
    return run_timed(run, args)


if __name__ == "__main__":
    sys.exit(main())
