"""How a no-op `meshctl plan` scales: wall time and AWS calls for a big mesh (issue 4, "Speed").

Run: .venv/bin/python bench/plan_scale.py [--sizes 1000,5000,10000] [--producers 20]
     [--consumers 50] [--products 400] [--tables-per-product 2]

One in-process sandbox holds the mesh; sizes are built in increasing order (the generated
subscriptions of a smaller size are a prefix of a bigger one's), each by planning only what is
missing with meshctl's own planner and carrying it out with ``meshgen.apply_bulk``. Then a fresh
Engine plans the mesh file of that size: that plan must be empty (its change count is printed)
and is the one measured — load + read + plan, exactly as ``meshctl plan`` does it.

Prints figures, asserts nothing. The sandbox is CPU-bound in this one process (every AWS answer
is computed and serialised by moto under the GIL), so "read" is mostly emulator time; CPU time is
printed next to wall time because other processes on the machine stretch the wall clock.

Before the measured plan the heap is collected and frozen (``gc.freeze``): the sandbox's state
and what the build left are not part of a ``meshctl plan`` process, and without it every full
collection the plan triggers rescans them (about a second each at 5,000 subscriptions), which
the figures would charge to meshctl. The seconds the measured plan spends in collections are
printed as "gc s".
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _tests_path  # noqa: F401  (tests/support on the path)
from meshgen import (
    BuildReport,
    add_mesh_options,
    apply_bulk,
    build_sources,
    generate_spec,
    mesh_header,
    write_spec,
)
from moto.core.botocore_stubber import BotocoreStubber
from support.sandbox import ProcessEnv, in_process_sandbox

from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.stats import CallStats
from meshctl.engine import Engine
from meshctl.observed import ObservedMesh
from meshctl.planning.planner import make_plan
from meshctl.spec.load import collector_paused, mesh_digest
from meshctl.spec.model import MeshSpec

# Issue 4's targets for 5,000 subscriptions (for the verdict column, not asserted).
MESH_CALL_TARGET = 60
MEMBER_CALL_TARGET = 4
WALL_TARGET_S = 20.0


class CallTimer:
    """Seconds spent inside each AWS call, per (account, operation), from botocore's
    before-call/after-call events. Calls overlap (accounts are read in parallel), so the sum
    exceeds the wall time; it shows which calls the sandbox is slow to answer."""

    def __init__(self) -> None:
        self.seconds: Counter[tuple[str, str]] = Counter()
        self._local = threading.local()

    def attach(self, client: Any, account_id: str) -> None:
        def before(model: Any, **_: Any) -> None:
            self._local.started = time.perf_counter()

        def after(model: Any, **_: Any) -> None:
            started = getattr(self._local, "started", None)
            if started is not None:
                self.seconds[(account_id, model.name)] += time.perf_counter() - started

        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)

    def total(self, account_id: str | None = None, operation: str | None = None) -> float:
        return sum(
            s
            for (a, o), s in self.seconds.items()
            if account_id in (None, a) and operation in (None, o)
        )


class GcTime:
    """CPU seconds spent in garbage collections (``gc.callbacks``), whichever thread ran them."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started[threading.get_ident()] = time.thread_time()
        else:
            started = self._started.pop(threading.get_ident(), None)
            if started is not None:
                self.seconds += time.thread_time() - started

    @contextmanager
    def counting(self) -> Iterator[None]:
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self)
        try:
            yield
        finally:
            gc.callbacks.remove(self)
            gc.unfreeze()


class SandboxCpu:
    """CPU seconds the in-process sandbox spends answering (moto's request handler, measured
    with per-thread CPU time), so a figure can be split into meshctl's share and moto's."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[None]:
        original = BotocoreStubber.process_request

        def timed(stub: Any, request: Any) -> Any:
            started = time.thread_time()
            try:
                return original(stub, request)
            finally:
                with self._lock:
                    self.seconds += time.thread_time() - started

        BotocoreStubber.process_request = timed
        try:
            yield
        finally:
            BotocoreStubber.process_request = original


def _timed(engine: Engine) -> CallTimer:
    """Time every call of ``engine``: its CallStats sees every client it creates."""
    timer = CallTimer()
    stats = engine.sessions.stats
    attach = stats.attach

    def attach_both(client: Any, account_id: str) -> None:
        attach(client, account_id)
        timer.attach(client, account_id)

    stats.attach = attach_both  # type: ignore[method-assign]
    return timer


@dataclass
class Figures:
    size: int
    changes: int
    unmanaged: int
    load_s: float
    read_s: float
    plan_s: float
    wall_s: float
    cpu_s: float
    sandbox_cpu_s: float
    gc_s: float
    stats: CallStats
    timer: CallTimer
    mesh_account: str
    members: list[str]
    build: BuildReport = field(default_factory=BuildReport)

    @property
    def mesh_calls(self) -> int:
        return self.stats.calls(account_id=self.mesh_account)

    def member_calls(self) -> Counter[str]:
        return Counter({m: self.stats.calls(account_id=m) for m in self.members})


def _now() -> datetime:
    return datetime.now(UTC)


def measure_plan(path: Path, spec: MeshSpec, size: int) -> tuple[Figures, ObservedMesh]:
    """A no-op plan as `meshctl plan` makes it, with a fresh engine (fresh sessions)."""
    engine = Engine(path)
    sandbox = SandboxCpu()
    collections = GcTime()
    with collections.counting():
        wall0, cpu0 = time.perf_counter(), time.process_time()
        loaded = engine.validate()
        wall1 = time.perf_counter()
        timer = _timed(engine)  # makes the engine's sessions (no call yet), after the load
        with collector_paused():  # as Engine.plan does
            with sandbox.counting():
                observed = engine.observe()
            wall2 = time.perf_counter()
            plan = make_plan(
                loaded,
                observed,
                plan_id=uuid.uuid4().hex,
                mesh_file_sha256=mesh_digest(path),
                today=engine.today,
            )
        wall3, cpu3 = time.perf_counter(), time.process_time()
    figures = Figures(
        size=size,
        changes=len(plan.effective_changes),
        unmanaged=len(plan.changes) - len(plan.effective_changes),
        load_s=wall1 - wall0,
        read_s=wall2 - wall1,
        plan_s=wall3 - wall2,
        wall_s=wall3 - wall0,
        cpu_s=cpu3 - cpu0,
        sandbox_cpu_s=sandbox.seconds,
        gc_s=collections.seconds,
        stats=engine.sessions.stats,
        timer=timer,
        mesh_account=spec.mesh.account_id,
        members=[a.account_id for a in spec.accounts],
    )
    if plan.effective_changes:
        kinds = Counter(f"{c.kind.value} {c.action.value}" for c in plan.effective_changes)
        print(f"  !! the plan of {size} is not empty: {dict(kinds)}", file=sys.stderr)
        for change in plan.effective_changes[:3]:
            print(f"     {change.address}: {change.reason}", file=sys.stderr)
    return figures, observed


def run(args: argparse.Namespace) -> list[Figures]:
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    shape = (args.producers, args.consumers, args.products)
    results: list[Figures] = []
    env = ProcessEnv()
    try:
        with in_process_sandbox(env) as sandbox, tempfile.TemporaryDirectory() as tmp:
            first = generate_spec(*shape, sizes[0], args.tables_per_product)
            started = time.perf_counter()
            tables = build_sources(first, sandbox.session)
            print(
                f"built {tables} source tables in {args.producers} producer accounts "
                f"({time.perf_counter() - started:.1f} s)"
            )
            observed = read_mesh(first, AccountSessions.for_spec(first))
            for size in sizes:
                spec = generate_spec(*shape, size, args.tables_per_product)
                path = write_spec(spec, Path(tmp) / f"mesh-{size}.yaml")
                # Only what is missing (the catalog once, then the new subscriptions).
                delta = make_plan(
                    spec,
                    observed,
                    plan_id=uuid.uuid4().hex,
                    mesh_file_sha256="",
                    today=_now().date(),
                )
                build = apply_bulk(spec, delta, sandbox.session)
                print(
                    f"built {size} subscriptions: {len(delta.effective_changes)} changes in "
                    f"{build.wall_s:.1f} s (cpu {build.cpu_s:.1f} s)"
                )
                for line in build.lines():
                    print(f"    {line}")
                figures, observed = measure_plan(path, spec, size)
                figures.build = build
                results.append(figures)
                _print_one(figures)
    finally:
        env.restore()
    return results


def _print_one(f: Figures) -> None:
    members = f.member_calls()
    print(
        f"  plan of {f.size}: {f.changes} changes ({f.unmanaged} unmanaged no-ops), "
        f"wall {f.wall_s:.1f} s (load {f.load_s:.1f} + read {f.read_s:.1f} + "
        f"plan {f.plan_s:.1f}), cpu {f.cpu_s:.1f} s (sandbox {f.sandbox_cpu_s:.1f} s, "
        f"gc {f.gc_s:.1f} s), "
        f"{f.stats.total} calls, "
        f"mesh {f.mesh_calls}, max per member {max(members.values(), default=0)}, "
        f"writes {f.stats.writes}"
    )


def _mesh_operations(results: list[Figures]) -> None:
    ops = sorted({(r[1], r[2]) for f in results for r in f.stats.rows() if r[0] == f.mesh_account})
    head = f"{'mesh account ' + results[0].mesh_account:<50}" + "".join(
        f"{f.size:>8}" for f in results
    )
    print("\n" + head)
    for service, operation in ops:
        row = f"  {service + ':' + operation:<48}"
        for f in results:
            row += f"{f.stats.calls(account_id=f.mesh_account, operation=operation):>8}"
        print(row)
    print(f"  {'total':<48}" + "".join(f"{f.mesh_calls:>8}" for f in results))
    print(
        f"\n{'seconds inside the calls (sandbox answering)':<50}"
        + "".join(f"{f.size:>8}" for f in results)
    )
    for service, operation in ops:
        row = f"  {'mesh ' + service + ':' + operation:<48}"
        for f in results:
            row += f"{f.timer.total(f.mesh_account, operation):>8.1f}"
        print(row)
    row = f"  {'all member accounts':<48}"
    for f in results:
        row += f"{sum(f.timer.total(m) for m in f.members):>8.1f}"
    print(row)


def _member_operations(results: list[Figures]) -> None:
    print(
        f"\n{'member accounts (calls per account: min-max)':<50}"
        + "".join(f"{f.size:>8}" for f in results)
    )
    ops = sorted(
        {
            (r[1], r[2])
            for f in results
            for r in f.stats.rows()
            if r[0] not in (f.mesh_account, "caller")
        }
    )
    for service, operation in ops:
        row = f"  {service + ':' + operation:<48}"
        for f in results:
            counts = [f.stats.calls(account_id=m, operation=operation) for m in f.members]
            row += f"{min(counts)}-{max(counts):>2}".rjust(8)
        print(row)
    row = f"  {'total per member':<48}"
    for f in results:
        counts = list(f.member_calls().values())
        row += f"{min(counts)}-{max(counts):>2}".rjust(8)
    print(row)


def _summary(results: list[Figures]) -> None:
    print(
        "\n| subscriptions | changes | wall s | cpu s | of which sandbox | meshctl cpu s "
        "| gc s | load s | read s | plan s | calls | mesh calls | max per member | writes |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for f in results:
        most = max(f.member_calls().values(), default=0)
        print(
            f"| {f.size:,} | {f.changes} | {f.wall_s:.1f} | {f.cpu_s:.1f} | "
            f"{f.sandbox_cpu_s:.1f} | {f.cpu_s - f.sandbox_cpu_s:.1f} | {f.gc_s:.1f} | "
            f"{f.load_s:.1f} | "
            f"{f.read_s:.1f} | {f.plan_s:.2f} | {f.stats.total} | {f.mesh_calls} | {most} | "
            f"{f.stats.writes} |"
        )
    for f in results:
        most = max(f.member_calls().values(), default=0)
        verdict = [
            f"mesh calls {f.mesh_calls} {'<=' if f.mesh_calls <= MESH_CALL_TARGET else '>'} "
            f"{MESH_CALL_TARGET}",
            f"max per member {most} {'<=' if most <= MEMBER_CALL_TARGET else '>'} "
            f"{MEMBER_CALL_TARGET}",
            f"wall {f.wall_s:.1f} s {'<' if f.wall_s < WALL_TARGET_S else '>='} "
            f"{WALL_TARGET_S:.0f} s",
        ]
        print(f"targets at {f.size:,}: " + "; ".join(verdict))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="subscription counts")
    add_mesh_options(parser)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(mesh_header(args, f"sizes {args.sizes}; "))
    results = run(args)
    _mesh_operations(results)
    _member_operations(results)
    _summary(results)
    print(f"\nbenchmark wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
