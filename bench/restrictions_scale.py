"""Column- and row-restricted subscriptions at scale (issue 15): apply, then re-plan with 0 changes.

Run: .venv/bin/python bench/restrictions_scale.py [--columns 500] [--rows 500] [--producers 20]
     [--consumers 50] [--products 400] [--tables-per-product 2]

One in-process sandbox holds ``meshgen``'s mesh with its products applied (as apply_scale.py
builds it). The mesh file then gains ``--columns`` subscriptions restricted to some columns of
the product's first table (``exclude_columns`` on every other one) and ``--rows`` restricted to
rows of it by a row filter (a Lake Formation data cells filter each). A fresh Engine does what
`meshctl apply --auto-approve` does; a second fresh Engine plans again, which must show 0 changes.

Prints changes by kind, AWS calls per operation and per subscription, and the following plan's
change count and calls. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import _tests_path  # noqa: F401  (tests/support on the path)
from apply_scale import build_before, changes_by_kind, print_operations
from meshgen import add_mesh_options, generate_spec, mesh_header, run_timed, write_spec
from support.sandbox import ProcessEnv, in_process_sandbox

from meshctl.applier import Status
from meshctl.engine import Engine
from meshctl.sandbox.seed import columns_for
from meshctl.spec.model import MeshSpec, Subscription, TableRestriction


def restricted(spec: MeshSpec, columns: int, rows: int) -> MeshSpec:
    """The first ``columns`` subscriptions narrowed to columns, the next ``rows`` to rows."""
    products = {p.name: p for p in spec.products}
    subs: list[Subscription] = []
    for i, sub in enumerate(spec.subscriptions[: columns + rows]):
        table = products[sub.product].tables[0]
        names = tuple(sorted(name for name, _ in columns_for(table)))
        if i < columns:
            r = (
                TableRestriction(table, columns=names[:3])
                if i % 2 == 0
                else TableRestriction(table, excluded=names[-1:])
            )
        else:
            r = TableRestriction(table, row_filter=f"{names[0]} IS NOT NULL AND {i % 7} < 5")
        subs.append(dataclasses.replace(sub, tables=(table,), restrictions=(r,)))
    return dataclasses.replace(spec, subscriptions=tuple(subs))


def run(args: argparse.Namespace) -> None:
    env = ProcessEnv()
    try:
        with in_process_sandbox(env) as sandbox, tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            args.existing = 0
            build_before(args, sandbox.session, tmp)
            total = args.columns + args.rows
            spec = generate_spec(
                args.producers, args.consumers, args.products, total, args.tables_per_product
            )
            path = write_spec(restricted(spec, args.columns, args.rows), tmp / "mesh.yaml")

            engine = Engine(path)
            started = time.perf_counter()
            with engine.locked("apply"):
                plan = engine.plan()
                result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)
            seconds = time.perf_counter() - started
            stats = engine.sessions.stats
            print(
                f"\napply of {args.columns} column-restricted and {args.rows} row-filtered "
                f"subscriptions: {len(plan.effective_changes)} changes in {seconds:.1f} s"
            )
            print(f"  {changes_by_kind(plan)}")
            print(
                f"  results: {result.count(Status.DONE)} done, {result.count(Status.FAILED)} "
                f"failed, {result.count(Status.SKIPPED)} skipped"
            )
            for r in [r for r in result.results if r.error][:3]:
                print(f"  !! {r.change.address}: {r.error}", file=sys.stderr)
            print_operations("apply (plan + execute): AWS calls per operation", stats)
            print(
                f"per subscription: {stats.total / max(1, total):.2f} calls, "
                f"{stats.writes / max(1, total):.2f} writes"
            )

            again = Engine(path)
            started = time.perf_counter()
            following = again.plan()
            print(
                f"\nfollowing plan: {len(following.effective_changes)} changes "
                f"({changes_by_kind(following) or 'none'}), {time.perf_counter() - started:.1f} s, "
                f"{again.sessions.stats.total} calls, writes {again.sessions.stats.writes}"
            )
    finally:
        env.restore()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=500, help="column-restricted subscriptions")
    parser.add_argument("--rows", type=int, default=500, help="row-filtered subscriptions")
    add_mesh_options(parser)
    args = parser.parse_args(argv)
    print(mesh_header(args))
    return run_timed(run, args)


if __name__ == "__main__":
    sys.exit(main())
