"""What `meshctl plan --policy DIR` adds at scale: the example policies over a big mesh (issue 17).

Run: .venv/bin/python bench/policy_scale.py [--sizes 1000,5000] [--unshared-sizes 1000]
     [--policies examples/policies] [--producers 20] [--consumers 50] [--products 400]
     [--tables-per-product 2] [--repeat 3]

Pure and in-process, no AWS: ``meshgen``'s mesh of each size, a no-op plan (no changes: the
example policies are about subscriptions and products, and a no-op plan is issue 16's case), the
policies loaded and compiled as `--policy` does, then ``check_plan`` exactly as the plan command
calls it, ``--repeat`` times (the best run is printed, as the machine is shared).

Prints the compile time, the check's CPU time in total and per evaluation (one policy over one
subject), the evaluation count and how many of them ran CEL ("CEL runs": a condition that reads
only some fields of its subject runs once per distinct combination of their values), and where
the time goes: building each subject's data (``rules/subjects.py``) against evaluating the CEL
conditions (and everything else in the check). The split comes from a second, profiled run of
the check (cProfile's cumulative time of the subject builders, as a share of the check's).

A second table ("unshared") checks the same policies with each condition extended by
``|| SUBJECT['name-field'] == '-'`` (never true, so the same violations): a condition that reads
its subject whole shares no result, so every evaluation runs CEL, the cost of celpy itself (run
once per size, at ``--unshared-sizes``). Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from meshgen import add_mesh_options, generate_spec, mesh_header, run_timed

from meshctl.planning.plan import Plan
from meshctl.rules.cel import compile_condition
from meshctl.rules.check import check_plan
from meshctl.rules.load import FIELDS, Policy, Subject, load_policies
from meshctl.spec.model import MeshSpec

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 4)
# Issue 16: a no-op plan of 5,000 subscriptions spends at most 5 s of meshctl's own CPU.
NOOP_PLAN_CPU_TARGET_S = 5.0
# The functions that build a subject's data (subjects.py), whatever calls them.
SUBJECT_BUILDERS = ("subscription_data", "product_data", "change_data")
# The function that runs one condition over one subject (before: ``evaluate``, converting too).
CEL_ENTRIES = ("evaluate_cel", "evaluate")


def evaluations(policies: tuple[Policy, ...], spec: MeshSpec, plan: Plan) -> int:
    count = {
        Subject.SUBSCRIPTION: len(spec.subscriptions),
        Subject.PRODUCT: len(spec.products),
        Subject.CHANGE: len(plan.effective_changes),
    }
    return sum(count[p.for_each] for p in policies)


def timed_check(policies: tuple[Policy, ...], spec: MeshSpec, plan: Plan) -> tuple[float, int]:
    """CPU seconds of one check and its violation count."""
    started = time.process_time()
    report = check_plan(policies, spec, plan, today=TODAY)
    return time.process_time() - started, len(report.violations)


def profiled(policies: tuple[Policy, ...], spec: MeshSpec, plan: Plan) -> tuple[float, int]:
    """The share of the check's time spent building subjects' data, and the CEL runs."""
    profile = cProfile.Profile()
    profile.enable()
    check_plan(policies, spec, plan, today=TODAY)
    profile.disable()
    stats = pstats.Stats(profile)
    total = 0.0
    building = 0.0
    runs = {}
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        cumulative = row[3]
        if name == "check_plan" and filename.endswith("check.py"):
            total = cumulative
        if name in SUBJECT_BUILDERS and filename.endswith("subjects.py"):
            building += cumulative
        if name in CEL_ENTRIES and filename.endswith("cel.py"):
            runs[name] = row[1]  # calls, recursion excluded
    cel_runs = next((runs[n] for n in CEL_ENTRIES if n in runs), 0)
    return (building / total if total else 0.0), cel_runs


def unshared(policies: tuple[Policy, ...]) -> tuple[Policy, ...]:
    """The same policies, each condition reading its subject whole (same results)."""
    name_field = {kind: FIELDS[kind][0] for kind in Subject}
    return tuple(
        replace(
            p,
            condition=compile_condition(
                f"({p.condition.source}) || {p.for_each.value}['{name_field[p.for_each]}'] == '-'"
            ),
        )
        for p in policies
    )


def table(args: argparse.Namespace, policies: tuple[Policy, ...], sizes: str, repeat: int) -> None:
    header = (
        f"{'subs':>6} {'products':>8} {'evals':>7} {'CEL runs':>8} {'check s':>8} "
        f"{'us/eval':>8} {'subjects %':>10} {'CEL+rest %':>10} {'violations':>10}"
    )
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in sizes.split(",")):
        spec = generate_spec(
            args.producers, args.consumers, args.products, size, args.tables_per_product
        )
        plan = Plan("bench", "0" * 64, "")
        count = evaluations(policies, spec, plan)
        runs = [timed_check(policies, spec, plan) for _ in range(repeat)]
        seconds = min(s for s, _ in runs)
        violations = runs[0][1]
        share, cel_runs = profiled(policies, spec, plan)
        print(
            f"{size:>6} {len(spec.products):>8} {count:>7} {cel_runs:>8} {seconds:>8.2f} "
            f"{seconds / max(1, count) * 1e6:>8.0f} {share * 100:>9.0f}% "
            f"{(1 - share) * 100:>9.0f}% {violations:>10}"
        )
    print()


def run(args: argparse.Namespace) -> None:
    started = time.process_time()
    policies = load_policies(Path(args.policies))
    compile_s = time.process_time() - started
    kinds = ", ".join(f"{p.name} ({p.for_each.value})" for p in policies)
    print(f"policies: {len(policies)} from {args.policies}: {kinds}")
    print(f"load + compile: {compile_s * 1000:.0f} ms CPU")
    print("example policies:")
    table(args, policies, args.sizes, args.repeat)
    if args.unshared_sizes:
        print("unshared (every evaluation runs CEL):")
        table(args, unshared(policies), args.unshared_sizes, 1)
    print(
        f"(issue 16: a no-op plan of 5,000 subscriptions spends at most "
        f"{NOOP_PLAN_CPU_TARGET_S:.0f} s of meshctl's CPU, the policy check included)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="subscription counts")
    parser.add_argument("--policies", default=str(ROOT / "examples" / "policies"))
    add_mesh_options(parser)
    parser.add_argument(
        "--unshared-sizes",
        default="1000",
        help="subscription counts for the unshared table, run once each ('' skips it)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="checks per size; the best is shown")
    args = parser.parse_args(argv)
    print(mesh_header(args))
    return run_timed(run, args)


if __name__ == "__main__":
    sys.exit(main())
