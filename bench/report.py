"""One report of meshctl's figures: calls per operation, wall times, faults survived, crash points
converged — printed as markdown and written to bench/REPORT.md (issue 7).

Run: .venv/bin/python bench/report.py [--quick] [--seeds 5] [--crash full|sample|skip]
                                      [--no-benches] [--state-machine N] [--out bench/REPORT.md]

What it runs:
1. the example mesh (examples/mesh.yaml), in-process: a full apply and the no-op plan after it,
   AWS calls per operation and wall times;
2. the fault suite: applies under 10% and 30% injected faults (support.faults: throttling,
   500/503, connection resets before and after the write, ConcurrentModificationException) for
   several seeds, on the example mesh and on a generated bench mesh (20 products, 200
   subscriptions); each run must succeed or fail cleanly, then one fault-free apply must converge
   (empty plan, invariants of tests/reliability/_mesh.py);
3. the crash sweep (tests/reliability/test_crash.py through pytest; `full` kills `meshctl apply`
   after every one of its writes);
4. the other benchmarks that exist (bench/plan_scale.py, apply_scale.py, sandbox_grants.py,
   policy_scale.py, vs_helper_library.py), as subprocesses; their own output is appended, and
   vs_helper_library's figures (`--json`) become rows of the table: per phase, the helper
   library's calls and wall time against meshctl's, and issue 16's targets. `--quick` runs them
   small;
5. the state machine of tests/reliability/test_state_machine.py (random sequences of mesh.yaml and
   hand edits, each followed by plan → apply → plan and its invariants), derandomized, counting
   steps and the steps that broke an invariant instead of failing (`--state-machine N` examples).

Figures, not pass/fail: the exit status is 0 even when a run did not converge (the table says so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.reliability._mesh: the invariants the tests check

import _tests_path  # noqa: E402, F401  (tests/support on the path)
from support.faults import FaultInjector, fast_retries  # noqa: E402
from support.sandbox import (  # noqa: E402
    InProcessSandbox,
    ProcessEnv,
    in_process_sandbox,
)

from meshctl.applier import ApplyResult, Status  # noqa: E402
from meshctl.engine import Engine  # noqa: E402
from meshctl.errors import MeshctlError  # noqa: E402
from meshctl.sandbox.seed import seed_producers  # noqa: E402
from meshctl.spec.load import load_spec  # noqa: E402
from tests.reliability._mesh import EXAMPLE, mesh_problems  # noqa: E402

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
_K1000 = ["--consumers", "10", "--products", "100", "--subscriptions", "1000"]
BENCHES = [  # (script, quick args, full args)
    ("plan_scale.py", ["--sizes", "1000"], []),
    ("apply_scale.py", ["--new", "200", "--products", "40"], []),
    ("sandbox_grants.py", ["1000"], ["1000", "5000"]),
    ("restrictions_scale.py", ["--columns", "100", "--rows", "100", "--products", "40"], []),
    ("policy_scale.py", ["--sizes", "1000", "--unshared-sizes", ""], []),  # pure, seconds
    # The sizes even with --quick (about 2.5 min): at smaller ones the per-account reads
    # both tools make dominate, and the ratios say little about subscriptions.
    ("vs_helper_library.py", [], []),
    # The check phase at K=1,000 (about 12 min, most of it the library's subscriptions): the
    # library's check costs 4 calls a subscription, meshctl's one plan a constant per account,
    # so the check ratio grows with K and the 50x needs a mesh of this size.
    ("vs_helper_library.py", _K1000, _K1000),
]
# Benchmarks that also write their figures with `--json FILE`: rows of the report's table.
JSON_FIGURES = frozenset({"vs_helper_library.py"})


# --- helpers ------------------------------------------------------------------------------------


@contextmanager
def sandbox() -> Iterator[InProcessSandbox]:
    env = ProcessEnv()
    try:
        with in_process_sandbox(env) as sb:
            yield sb
    finally:
        env.restore()


def engine(path: Path) -> Engine:
    return Engine(path, clock=lambda: NOW)


def apply(eng: Engine) -> ApplyResult:
    with eng.locked("apply"):
        return eng.execute(eng.plan(), max_revokes=10**6, allow_mass_revoke=True)


@dataclass
class Mesh:
    label: str
    path: Path
    seed: Callable[[InProcessSandbox], None]


def example_mesh() -> Mesh:
    spec = load_spec(EXAMPLE)
    return Mesh("example (4 accounts, 3 products, 6 subs)", EXAMPLE, lambda sb: _seed(spec, sb))


def _seed(spec: Any, sb: InProcessSandbox) -> None:
    seed_producers(spec, sb.session)


def bench_mesh(tmp: Path, products: int = 20, subscriptions: int = 200) -> Mesh:
    """bench/meshgen.py's generator when present, else a small one of our own."""
    label = f"bench ({products} products, {subscriptions} subs)"
    path = tmp / "bench-mesh.yaml"
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        import meshgen

        spec = meshgen.generate_spec(5, 20, products, subscriptions, tables_per_product=2)
        meshgen.write_spec(spec, path)
    except (ImportError, AttributeError, TypeError):
        path.write_text(_own_mesh(products, subscriptions))
    spec = load_spec(path)
    return Mesh(label, path, lambda sb: _seed(spec, sb))


def _own_mesh(products: int, subscriptions: int) -> str:
    producers, consumers = 5, 20
    lines = ["version: 1", 'mesh: {account_id: "555555555555", region: us-east-1}', "accounts:"]
    for i in range(producers):
        lines.append(f'  p{i}: {{account_id: "1000000000{i:02d}", roles: [producer]}}')
    for j in range(consumers):
        lines.append(f'  c{j}: {{account_id: "2000000000{j:02d}", roles: [consumer]}}')
    lines.append("products:")
    for k in range(products):
        lines.append(
            f"  p{k % producers}.d{k}: {{producer: p{k % producers}, source_database: src{k}, "
            "tables: [orders, customers], owners: [o@example.com]}"
        )
    lines.append("subscriptions:")
    for s in range(subscriptions):
        lines.append(
            f"  - {{consumer: c{s % consumers}, product: p{(s // consumers) % producers}."
            f"d{s // consumers}, permissions: [SELECT], status: approved, "
            "approved_by: o@example.com}"
        )
    return "\n".join(lines) + "\n"


# --- 1. calls per operation ---------------------------------------------------------------------


@dataclass
class CallFigures:
    label: str
    apply_s: float
    apply_calls: Counter[str]
    apply_writes: int
    plan_s: float
    plan_calls: int
    plan_writes: int
    plan_empty: bool


def measure_calls(mesh: Mesh) -> CallFigures:
    with sandbox() as sb:
        mesh.seed(sb)
        eng = engine(mesh.path)
        started = time.perf_counter()
        result = apply(eng)
        apply_s = time.perf_counter() - started
        assert result.ok, [r.error for r in result.results if r.error][:3]
        calls: Counter[str] = Counter()
        for _account, service, operation, n in eng.sessions.stats.rows():
            calls[f"{service}:{operation}"] += n
        writes = eng.sessions.stats.writes
        after = engine(mesh.path)
        started = time.perf_counter()
        plan = after.plan()
        plan_s = time.perf_counter() - started
        stats = after.sessions.stats
        return CallFigures(
            mesh.label,
            apply_s,
            calls,
            writes,
            plan_s,
            stats.total,
            stats.writes,
            not plan.has_changes,
        )


# --- 2. faults ----------------------------------------------------------------------------------


@dataclass
class FaultRun:
    mesh: str
    rate: float
    seed: int
    injected: int
    kinds: dict[str, int]
    outcome: str  # "succeeded", "failed cleanly (n failed, m skipped)", "refused: ...", "ESCAPED"
    converged: bool
    seconds: float
    problems: list[str] = field(default_factory=list)


def fault_run(mesh: Mesh, rate: float, seed: int) -> FaultRun:
    with sandbox() as sb, fast_retries(0.01):
        mesh.seed(sb)
        spec = load_spec(mesh.path)
        faulty = engine(mesh.path)
        faults = FaultInjector(rate, seed)
        faults.install(faulty.sessions)
        started = time.perf_counter()
        try:
            result = apply(faulty)
            failed, skipped = result.count(Status.FAILED), result.count(Status.SKIPPED)
            outcome = (
                "succeeded" if result.ok else f"failed cleanly ({failed} failed, {skipped} skipped)"
            )
        except MeshctlError as exc:
            outcome = f"refused cleanly: {str(exc)[:60]}"
        except Exception as exc:  # what must never happen
            outcome = f"ESCAPED {type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        problems: list[str] = []
        clean = engine(mesh.path)
        try:
            again = apply(clean)
            if not again.ok:
                problems.append(
                    f"clean apply failed: {[r.error for r in again.results if r.error][:2]}"
                )
            plan = clean.plan()
            problems += [
                f"plan not empty: {c.address} ({c.reason})" for c in plan.effective_changes
            ]
            problems += mesh_problems(sb.session, spec, NOW.date())
        except Exception as exc:
            problems.append(f"clean apply raised {type(exc).__name__}: {exc}")
        return FaultRun(
            mesh.label,
            rate,
            seed,
            faults.injected.total(),
            {k.value: n for k, n in sorted(faults.injected.items())},
            outcome,
            not problems,
            seconds,
            problems,
        )


# --- 3. crash sweep -----------------------------------------------------------------------------


def crash_sweep(mode: str) -> tuple[list[dict[str, Any]], float, int]:
    """Run the crash suite through pytest; returns its crash points, wall time, exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "crash.jsonl"
        env = dict(os.environ, MESHCTL_RELIABILITY_SUMMARY=str(summary))
        if mode == "full":
            env["MESHCTL_CRASH_SWEEP"] = "full"
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/reliability/test_crash.py",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        points = (
            [json.loads(line) for line in summary.read_text().splitlines()]
            if summary.exists()
            else []
        )
        if done.returncode != 0:
            print(done.stdout[-3000:], file=sys.stderr)
        return points, wall, done.returncode


# --- 4. other benchmarks ------------------------------------------------------------------------


@dataclass
class BenchRun:
    script: str
    args: list[str]
    seconds: float
    returncode: int
    output: str
    figures: dict[str, Any] | None = None  # what the script wrote with --json, if it did


def run_benches(quick: bool) -> list[BenchRun]:
    runs = []
    for script, quick_args, full_args in BENCHES:
        path = ROOT / "bench" / script
        if not path.exists():
            continue
        args = quick_args if quick else full_args
        with tempfile.TemporaryDirectory() as tmp:
            figures_path = Path(tmp) / "figures.json"
            extra = ["--json", str(figures_path)] if script in JSON_FIGURES else []
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(path), *args, *extra],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            figures = json.loads(figures_path.read_text()) if figures_path.exists() else None
        output = done.stdout + (f"\n[stderr]\n{done.stderr[-2000:]}" if done.returncode else "")
        seconds = time.perf_counter() - started
        runs.append(BenchRun(script, args, seconds, done.returncode, output, figures))
        print(
            f"  {script} {' '.join(args)}: {runs[-1].seconds:.0f} s, exit {done.returncode}",
            file=sys.stderr,
        )
    return runs


def helper_library_rows(run: BenchRun) -> list[list[str]]:
    """bench/vs_helper_library.py's figures: per phase, the library against meshctl."""
    assert run.figures is not None
    z = run.figures["sizes"]
    label = (
        f"vs helper library ({z['producers']} producers, {z['consumers']} consumers, "
        f"{z['products']}x{z['tables']} tables, {z['subscriptions']} subs)"
    )
    rows = []
    for p in run.figures["phases"]:
        lib, mc = p["library"], p["meshctl"]
        calls_x = lib["calls"] / mc["calls"] if mc["calls"] else float("inf")
        wall_x = lib["seconds"] / mc["seconds"] if mc["seconds"] else float("inf")
        slept = f", {lib['slept']:.0f} s of it sleeping" if lib["slept"] else ""
        rows.append(
            [
                label,
                f"{p['phase']}: AWS calls, library vs meshctl",
                f"{lib['calls']:,} vs {mc['calls']:,} ({calls_x:.1f}x)",
            ]
        )
        rows.append(
            [
                label,
                f"{p['phase']}: wall time, library vs meshctl",
                f"{lib['seconds']:.1f} s{slept} vs {mc['seconds']:.1f} s ({wall_x:.1f}x)",
            ]
        )
        if p["phase"] == "subscriptions":
            top = ", ".join(f"{op} {n}" for op, n in lib["top"])
            rows.append([label, "subscriptions: library's top operations", top])
        if p["phase"] == "check":
            rows.append([label, "check: outcome", f"library: {lib['note']}; meshctl: {mc['note']}"])
    for t in run.figures["targets"]:
        verdict = "met" if t["met"] else "NOT met"
        rows.append(
            [label, f"target: {t['figure']} >= {t['target']:.0f}x", f"{t['ratio']:.1f}x, {verdict}"]
        )
    return rows


# --- 5. state machine ---------------------------------------------------------------------------

STATE_MACHINE_STEPS = 10


@dataclass
class StateMachineRun:
    examples: int  # asked for
    steps: int  # at most, per example
    ran_examples: int
    ran_steps: int
    violations: dict[str, int]
    first: dict[str, str]
    seconds: float
    error: str = ""  # an exception that escaped the machine (not an invariant)


def state_machine_run(examples: int, steps: int = STATE_MACHINE_STEPS) -> StateMachineRun:
    from tests.reliability.test_state_machine import run_for_report

    started = time.perf_counter()
    error = ""
    try:
        tally = run_for_report(examples, steps)
    except Exception as exc:  # a crash of the machine itself; the figure says so
        from tests.reliability import test_state_machine

        tally = test_state_machine.TALLY
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    return StateMachineRun(
        examples,
        steps,
        tally.examples,
        tally.steps,
        dict(tally.violations),
        dict(tally.first),
        time.perf_counter() - started,
        error,
    )


# --- the report ---------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def render(
    calls: list[CallFigures],
    faults: list[FaultRun],
    crash: tuple[list[dict[str, Any]], float, int] | None,
    crash_mode: str,
    benches: list[BenchRun],
    machine: StateMachineRun | None = None,
) -> str:
    rows: list[list[str]] = []
    for c in calls:
        top = ", ".join(f"{op} {n}" for op, n in c.apply_calls.most_common(6))
        rows.append(
            [
                c.label,
                "full apply: AWS calls (writes)",
                f"{sum(c.apply_calls.values())} ({c.apply_writes})",
            ]
        )
        rows.append([c.label, "full apply: wall time", f"{c.apply_s:.2f} s"])
        rows.append([c.label, "full apply: top operations", top])
        rows.append(
            [
                c.label,
                "no-op plan after apply: calls (writes)",
                f"{c.plan_calls} ({c.plan_writes}), empty: {c.plan_empty}",
            ]
        )
        rows.append([c.label, "no-op plan: wall time", f"{c.plan_s:.2f} s"])
    for label in dict.fromkeys(f.mesh for f in faults):
        for rate in sorted({f.rate for f in faults if f.mesh == label}):
            runs = [f for f in faults if f.mesh == label and f.rate == rate]
            ok = sum(f.outcome == "succeeded" for f in runs)
            clean = sum(f.outcome.startswith(("failed cleanly", "refused cleanly")) for f in runs)
            escaped = sum(f.outcome.startswith("ESCAPED") for f in runs)
            conv = sum(f.converged for f in runs)
            injected = sum(f.injected for f in runs)
            rows.append(
                [
                    label,
                    f"faults {rate:.0%}: {len(runs)} seeded applies",
                    f"{injected} faults injected; {ok} succeeded, {clean} failed cleanly, "
                    f"{escaped} escaped; {conv}/{len(runs)} converged after one clean apply",
                ]
            )
            rows.append(
                [
                    label,
                    f"faults {rate:.0%}: wall time per apply",
                    f"{sum(f.seconds for f in runs) / len(runs):.2f} s "
                    "(retry backoff time-dilated 100x)",
                ]
            )
    if crash is not None:
        points, wall, rc = crash
        killed = [p for p in points if p["killed"]]
        conv = sum(p["converged"] for p in points)
        locks = sum(p["lock_left"] for p in points)
        rows.append(
            [
                "example",
                f"crash sweep ({crash_mode}): SIGKILL after write k",
                f"{conv}/{len(points)} crash points converged ({len(killed)} killed mid-apply, "
                f"{locks} left a lock, all recovered with `meshctl unlock`); pytest exit {rc}",
            ]
        )
        if points:
            per = sum(p["seconds"] for p in points) / len(points)
            rows.append(
                ["example", "crash sweep: wall time", f"{wall:.0f} s ({per:.1f} s per crash point)"]
            )
    if machine is not None:
        label = "state machine (universe: 4 accounts, 3 products)"
        broken = sum(machine.violations.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(machine.violations.items()))
        rows.append(
            [
                label,
                f"{machine.examples} derandomized examples of up to {machine.steps} edits",
                f"{machine.ran_examples} examples, {machine.ran_steps} steps "
                "(plan → apply → plan each)",
            ]
        )
        rows.append(
            [
                label,
                "invariant violations (steps)",
                f"{broken}"
                + (f": {kinds}" if kinds else "")
                + (f"; machine error: {machine.error}" if machine.error else ""),
            ]
        )
        rows.append([label, "wall time", f"{machine.seconds:.0f} s"])
    for b in benches:
        if b.figures is not None and b.script == "vs_helper_library.py":
            rows += helper_library_rows(b)
    for b in benches:
        name = " ".join([b.script, *b.args])
        rows.append([name, "wall time (exit status)", f"{b.seconds:.0f} s ({b.returncode})"])

    lines = [
        "# meshctl reliability and scale figures",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/report.py` on "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); moto sandbox, "
        "in-process unless noted.",
        "",
        *_table(["mesh / script", "figure", "value"], rows),
    ]
    if calls:
        lines += ["", "## Calls per operation, full apply of the example mesh", ""]
        lines += _table(
            ["operation", "calls"], [[op, str(n)] for op, n in sorted(calls[0].apply_calls.items())]
        )
    if faults:
        lines += ["", "## Fault runs", ""]
        lines += _table(
            ["mesh", "rate", "seed", "faults", "kinds", "faulty apply", "converged", "s"],
            [
                [
                    f.mesh,
                    f"{f.rate:.0%}",
                    str(f.seed),
                    str(f.injected),
                    " ".join(f"{k}={n}" for k, n in f.kinds.items()),
                    f.outcome,
                    "yes" if f.converged else "NO: " + "; ".join(f.problems)[:300],
                    f"{f.seconds:.1f}",
                ]
                for f in faults
            ],
        )
    if crash is not None and crash[0]:
        lines += ["", f"## Crash points ({crash_mode})", ""]
        lines += _table(
            ["k", "k-th write", "killed", "lock left", "converged", "s"],
            [
                [
                    str(p["k"]),
                    p["write"],
                    str(p["killed"]),
                    str(p["lock_left"]),
                    "yes" if p["converged"] else "NO: " + "; ".join(p["problems"])[:300],
                    str(p["seconds"]),
                ]
                for p in crash[0]
            ],
        )
    if machine is not None and machine.first:
        lines += ["", "## State machine: first violation of each kind", ""]
        lines += _table(
            ["invariant", "first problem"],
            [[kind, text[:300]] for kind, text in sorted(machine.first.items())],
        )
    for b in benches:
        lines += ["", f"## {b.script} {' '.join(b.args)}", "", "```text", b.output.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small benchmarks, sampled crash sweep, 2 seeds"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="fault seeds per rate and mesh (default 5; 2 with --quick)",
    )
    parser.add_argument("--crash", choices=["full", "sample", "skip"], default=None)
    parser.add_argument(
        "--no-benches", action="store_true", help="skip the other benchmark scripts"
    )
    parser.add_argument(
        "--state-machine",
        type=int,
        default=None,
        metavar="N",
        help="state-machine examples (default 30; 4 with --quick; 0 skips)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "REPORT.md")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    crash_mode = args.crash or ("sample" if args.quick else "full")
    for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)

    with tempfile.TemporaryDirectory() as tmp:
        meshes = [example_mesh(), bench_mesh(Path(tmp))]
        print("calls per operation ...", file=sys.stderr)
        calls = [measure_calls(m) for m in meshes]
        faults = []
        for mesh in meshes:
            for rate in (0.1, 0.3):
                for seed in range(1, seeds + 1):
                    run = fault_run(mesh, rate, seed)
                    print(
                        f"  faults {mesh.label} {rate:.0%} seed {seed}: {run.outcome}, "
                        f"converged {run.converged}",
                        file=sys.stderr,
                    )
                    faults.append(run)
    crash = None
    if crash_mode != "skip":
        print(f"crash sweep ({crash_mode}) ...", file=sys.stderr)
        crash = crash_sweep(crash_mode)
    benches = [] if args.no_benches else run_benches(args.quick)
    examples = args.state_machine if args.state_machine is not None else (4 if args.quick else 30)
    machine = None
    if examples > 0:
        print(f"state machine ({examples} examples) ...", file=sys.stderr)
        machine = state_machine_run(examples)
    report = render(calls, faults, crash, crash_mode, benches, machine)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
