"""meshctl against the helper library it replaces: the same work, both tools, one sandbox server.

Run: .venv/bin/python bench/vs_helper_library.py [--producers 5] [--consumers 5] [--products 20]
     [--tables 2] [--subscriptions 100] [--json FIGURES.json]

One patched moto server (as tests/support/sandbox.py starts it) serves both tools, each in its
own accounts (the library's mesh, producers and consumers have ids starting 51…, meshctl's 52…),
seeded alike with each producer's source databases and tables (not measured). Each tool then
does four phases:

1. setup: the mesh account and every producer and consumer joined to it.
   Library: DataMeshAdmin.initialize_mesh_account, DataMeshMacros.bootstrap_account per member.
   meshctl: one apply of a mesh file declaring the accounts.
2. products: N products of T tables. Library: DataMeshProducer.create_data_products per product.
   meshctl: one apply of the file that adds them.
3. subscriptions: K approved (consumer, product) subscriptions to every table, SELECT and DESCRIBE.
   Library: request_access_to_product, approve_access_request and finalize_subscription per
   subscription. meshctl: ONE apply of the file that declares them.
4. check: are all K live? Library: per subscription its get_subscription and Lake Formation
   ListPermissions on the mesh database and each table (it has no plan; its users must ask).
   meshctl: one plan, which must be empty.

The library (aws-data-mesh-utils 1.0.16, boto3 1.20) runs in its own virtualenv, built and reused
as tests/compat does (MESHCTL_HELPER_VENV moves it), through bench/drivers/helper_library_flow.py
as one subprocess that pauses after each phase (a library defect in its Glue catalog policy, which
stops the second approval, is worked around there without changing its calls). meshctl runs in
this process: Engine, as `meshctl apply --auto-approve` and `meshctl plan` use it.

How calls are counted, the same way for both: at the server. A WSGI middleware in front of moto's
app counts every HTTP request it receives by service (the SigV4 credential scope) and operation
(moto's own router: X-Amz-Target, the query Action, or the REST method and path), so retries,
waiters and sts:AssumeRole count for both alike. The counter is read between phases (the library
driver waits for it). meshctl's own botocore count (CallStats) is printed beside it as a check.
Wall time is measured inside each tool's process around the phase's work (interpreter start-up
and imports excluded); the library's own time.sleep calls (waits for AWS to propagate) stay in
its wall time and are shown beside it. meshctl shares this process, and so the GIL, with the
server, whose work is in its wall time; the library's client work runs in a process of its own.

Prints figures and the verdict against issue 16's targets; asserts nothing. ``--json`` also
writes them for bench/report.py.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _tests_path  # noqa: F401  (tests/support on the path)
import yaml
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from support.sandbox import ProcessEnv
from werkzeug.serving import make_server
from werkzeug.wsgi import get_current_url

from meshctl.engine import Engine
from meshctl.sandbox.patches import apply_patches
from meshctl.sandbox.seed import seed_producers
from meshctl.sandbox.sessions import REGION, assume_role_session, sandbox_variables
from meshctl.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "bench" / "drivers" / "helper_library_flow.py"
PHASES = ("setup", "products", "subscriptions", "check")
PERMISSIONS = ["DESCRIBE", "SELECT"]
TABLE_WORDS = ("orders", "customers", "events", "invoices", "shipments", "metrics", "products")
LIBRARY_ROLE = "Administrator"  # who runs the library in every account (sts:AssumeRole)
# Issue 16's targets (printed as a verdict, not asserted).
SUBSCRIPTION_CALLS_X, SUBSCRIPTION_WALL_X, CHECK_CALLS_X = 20.0, 10.0, 50.0

Ops = Counter[tuple[str, str]]  # (service, operation) -> requests


# --- the server, and its request counter -------------------------------------------------------


class RequestCounter:
    """WSGI middleware: counts each request by (service, operation) before moto answers it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.counts: Ops = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        key = classify(environ, body)
        with self._lock:
            self.counts[key] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Ops:
        with self._lock:
            return Counter(self.counts)


def classify(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    """(service, operation) of a request: service from the SigV4 scope, operation by moto's
    router for that service (the same routing moto uses to answer it)."""
    scope = environ.get("HTTP_AUTHORIZATION", "").split("Credential=")[-1].split(",")[0]
    parts = scope.split("/")
    service = parts[3] if len(parts) > 3 else "unknown"
    headers = {
        k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    request = Request.from_primitives(
        environ["REQUEST_METHOD"], get_current_url(environ), headers, body
    )
    try:
        operation, _ = get_service_router(service).match(request)
        return service, operation.name
    except Exception:  # an unknown service or route: still a request, counted as such
        return service, "unknown"


class CountingMotoServer(ThreadedMotoServer):
    """moto's threaded server with the RequestCounter in front of its app."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.counter = RequestCounter(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(
            self._ip_address, self._port, self.counter, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextmanager
def counting_server() -> Iterator[tuple[str, RequestCounter]]:
    """The patched sandbox server on a free port; yields its endpoint and request counter."""
    apply_patches()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = CountingMotoServer()
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}", server.counter
    finally:
        server.stop()


# --- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    producers: int
    consumers: int
    products: int
    tables: int
    subscriptions: int


def account_ids(prefix: str, sizes: Sizes) -> tuple[str, list[str], list[str]]:
    """(mesh, producers, consumers) account ids of one tool: 12 digits starting with prefix."""
    base = int(prefix) * 10**10
    mesh = str(base)
    producers = [str(base + 1 * 10**8 + i) for i in range(sizes.producers)]
    consumers = [str(base + 2 * 10**8 + j) for j in range(sizes.consumers)]
    return mesh, producers, consumers


def mesh_document(
    prefix: str, sizes: Sizes, *, products: int, subscriptions: int
) -> dict[str, Any]:
    """The mesh file of one tool, with the first ``products`` products and ``subscriptions``
    subscriptions (distinct consumer/product pairs, every table, SELECT and DESCRIBE)."""
    mesh, producer_ids, consumer_ids = account_ids(prefix, sizes)
    accounts = {
        f"producer-{i}": {"account_id": a, "roles": ["producer"]}
        for i, a in enumerate(producer_ids)
    }
    accounts |= {
        f"consumer-{j}": {"account_id": a, "roles": ["consumer"]}
        for j, a in enumerate(consumer_ids)
    }
    tables = [
        TABLE_WORDS[t % len(TABLE_WORDS)] + ("" if t < 7 else f"_{t // 7}")
        for t in range(sizes.tables)
    ]
    prods = {}
    for k in range(products):
        i = k % sizes.producers
        prods[f"producer-{i}.p{k:03d}"] = {
            "producer": f"producer-{i}",
            "source_database": f"src_{k:03d}",
            "tables": list(tables),
            "mesh_database": f"src_{k:03d}-{producer_ids[i]}",
            "owners": [f"owner-{i}@example.com"],
        }
    names = list(prods)
    subs = []
    for s in range(subscriptions):
        j, k = s % sizes.consumers, s // sizes.consumers  # distinct pairs while s < C * N
        product = names[(k + j) % products]
        subs.append(
            {
                "consumer": f"consumer-{j}",
                "product": product,
                "permissions": list(PERMISSIONS),
                "status": "approved",
                "approved_by": prods[product]["owners"][0],
            }
        )
    return {
        "version": 1,
        "mesh": {"account_id": mesh, "region": REGION},
        "accounts": accounts,
        "products": prods,
        "subscriptions": subs,
    }


def library_workload(doc: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """The same mesh, as the library driver's input (account ids instead of names)."""
    ids = {name: a["account_id"] for name, a in doc["accounts"].items()}
    names = list(doc["products"])
    products = [
        {
            "producer": ids[p["producer"]],
            "source_database": p["source_database"],
            "mesh_database": p["mesh_database"],
            "tables": p["tables"],
        }
        for p in doc["products"].values()
    ]
    return {
        "endpoint": endpoint,
        "region": REGION,
        "role": LIBRARY_ROLE,
        "mesh": doc["mesh"]["account_id"],
        "producers": [
            a["account_id"] for a in doc["accounts"].values() if "producer" in a["roles"]
        ],
        "consumers": [
            a["account_id"] for a in doc["accounts"].values() if "consumer" in a["roles"]
        ],
        "products": products,
        "subscriptions": [
            {
                "consumer": ids[s["consumer"]],
                "product": names.index(s["product"]),
                "permissions": s["permissions"],
            }
            for s in doc["subscriptions"]
        ],
    }


def seed(doc: dict[str, Any], tmp: Path, endpoint: str) -> None:
    """Each producer's source databases, tables and bucket, as before it joins (not measured)."""
    path = write_mesh(doc, tmp / f"seed-{doc['mesh']['account_id']}.yaml")
    seed_producers(load_spec(path), lambda account: assume_role_session(endpoint, account))


def write_mesh(doc: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


# --- one phase's figures -----------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    slept: float = 0.0  # the library's own sleeps, inside seconds
    ops: Ops = field(default_factory=Counter)
    note: str = ""

    @property
    def calls(self) -> int:
        return sum(self.ops.values())


@contextmanager
def counted(counter: RequestCounter, phase: Phase) -> Iterator[Phase]:
    """Server requests made while the block runs, into ``phase.ops``."""
    before = counter.snapshot()
    try:
        yield phase
    finally:
        phase.ops = counter.snapshot() - before


# --- the library -------------------------------------------------------------------------------


def helper_python() -> Path:
    """The library's virtualenv python (tests/compat builds it once, then reuses it)."""
    sys.path.insert(0, str(ROOT))
    from tests.compat.helper_venv import ensure_helper_venv

    return ensure_helper_venv()


def run_library(
    doc: dict[str, Any], endpoint: str, counter: RequestCounter, tmp: Path
) -> list[Phase]:
    workload = tmp / "library-workload.json"
    workload.write_text(json.dumps(library_workload(doc, endpoint)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= sandbox_variables(endpoint) | {"AWS_EC2_METADATA_DISABLED": "true"}
    with subprocess.Popen(
        [str(helper_python()), str(DRIVER), str(workload)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as driver:
        assert driver.stdin is not None and driver.stdout is not None
        mark = counter.snapshot()
        phases = []
        for _ in ("ready", *PHASES):
            phase = library_phase(driver.stdout, counter, mark)
            mark = counter.snapshot()  # before the driver is let go: the next phase starts here
            phases.append(phase)
            driver.stdin.write("\n")
            driver.stdin.flush()
        driver.stdin.close()
        if driver.wait(timeout=60) != 0:
            raise RuntimeError(f"the library driver exited {driver.returncode}")
    return phases[1:]


def library_phase(stdout: Any, counter: RequestCounter, mark: Ops) -> Phase:
    """Wait for the driver's end-of-phase line (it then waits); the requests since ``mark``."""
    line = stdout.readline()
    if not line:
        raise RuntimeError("the library driver stopped early (its error is above)")
    done = json.loads(line)
    phase = Phase(done["phase"], done["seconds"], done["slept"], counter.snapshot() - mark)
    if "live" in done:
        phase.note = f"{done['live']}/{done['checked']} subscriptions found live"
    return phase


# --- meshctl -----------------------------------------------------------------------------------


def run_meshctl(doc: dict[str, Any], counter: RequestCounter, tmp: Path) -> list[Phase]:
    """Three applies (accounts; + products; + subscriptions), then one plan, each by a fresh
    Engine as `meshctl apply --auto-approve` / `meshctl plan` would run it."""
    stages = {
        "setup": {**doc, "products": {}, "subscriptions": []},
        "products": {**doc, "subscriptions": []},
        "subscriptions": doc,
    }
    phases = []
    for name, stage in stages.items():
        path = write_mesh(stage, tmp / f"mesh-{name}.yaml")
        with counted(counter, Phase(name)) as phase:
            phase.seconds, phase.note = timed(lambda p=path: meshctl_apply(p))
        phases.append(phase)
    with counted(counter, Phase("check")) as phase:
        phase.seconds, phase.note = timed(lambda: meshctl_plan(tmp / "mesh-subscriptions.yaml"))
    phases.append(phase)
    return phases


def timed(work: Callable[[], str]) -> tuple[float, str]:
    started = time.perf_counter()
    note = work()
    return time.perf_counter() - started, note


def meshctl_apply(path: Path) -> str:
    engine = Engine(path)
    with engine.locked("apply"):
        plan = engine.plan()
        result = engine.execute(plan, max_revokes=10**6, allow_mass_revoke=True)
    failed = [r for r in result.results if r.error]
    for r in failed[:3]:
        print(f"  !! {r.change.address}: {r.error}", file=sys.stderr)
    return (
        f"{len(plan.effective_changes)} changes, {len(failed)} failed; "
        f"meshctl's own count {engine.sessions.stats.total} calls"
    )


def meshctl_plan(path: Path) -> str:
    engine = Engine(path)
    plan = engine.plan()
    return (
        f"plan: {len(plan.effective_changes)} changes, {len(plan.held)} held "
        f"({'empty' if not plan.has_changes and not plan.held else 'NOT empty'}); "
        f"meshctl's own count {engine.sessions.stats.total} calls"
    )


@contextmanager
def sandbox_environment(endpoint: str) -> Iterator[None]:
    """This process pointed at the server, as `meshctl` run by a user of the sandbox is."""
    env = ProcessEnv()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
        env.delenv(name, raising=False)
    for name, value in sandbox_variables(endpoint).items():
        env.setenv(name, value)
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        yield
    finally:
        env.restore()


# --- the report --------------------------------------------------------------------------------


def ratio(library: float, meshctl: float) -> float:
    return library / meshctl if meshctl else float("inf")


def print_phases(library: list[Phase], meshctl: list[Phase]) -> None:
    print(
        f"\n{'phase':<15}{'library calls':>14}{'meshctl calls':>15}{'ratio':>8}"
        f"{'library s':>11}{'(sleeping)':>11}{'meshctl s':>11}{'ratio':>8}"
    )
    for lib, mc in zip(library, meshctl, strict=True):
        print(
            f"{lib.name:<15}{lib.calls:>14,}{mc.calls:>15,}{ratio(lib.calls, mc.calls):>7.1f}x"
            f"{lib.seconds:>11.1f}{lib.slept:>11.1f}{mc.seconds:>11.1f}"
            f"{ratio(lib.seconds, mc.seconds):>7.1f}x"
        )
    lib_total = sum(p.calls for p in library)
    mc_total = sum(p.calls for p in meshctl)
    lib_s, mc_s = sum(p.seconds for p in library), sum(p.seconds for p in meshctl)
    print(
        f"{'total':<15}{lib_total:>14,}{mc_total:>15,}{ratio(lib_total, mc_total):>7.1f}x"
        f"{lib_s:>11.1f}{sum(p.slept for p in library):>11.1f}{mc_s:>11.1f}"
        f"{ratio(lib_s, mc_s):>7.1f}x"
    )
    for tool, phases in (("library", library), ("meshctl", meshctl)):
        for p in phases:
            if p.note:
                print(f"  {tool} {p.name}: {p.note}")


def targets(library: list[Phase], meshctl: list[Phase]) -> list[tuple[str, float, float]]:
    """(figure, library / meshctl, target ratio) for issue 16's three targets."""
    lib, mc = {p.name: p for p in library}, {p.name: p for p in meshctl}
    subs_lib, subs_mc = lib["subscriptions"], mc["subscriptions"]
    return [
        ("subscriptions: calls", ratio(subs_lib.calls, subs_mc.calls), SUBSCRIPTION_CALLS_X),
        ("subscriptions: wall time", ratio(subs_lib.seconds, subs_mc.seconds), SUBSCRIPTION_WALL_X),
        ("check: calls", ratio(lib["check"].calls, mc["check"].calls), CHECK_CALLS_X),
    ]


def print_verdict(library: list[Phase], meshctl: list[Phase]) -> None:
    print("\ntargets (issue 16): meshctl at least N times better than the library")
    for label, got, target in targets(library, meshctl):
        verdict = "met" if got >= target else "NOT met"
        print(f"  {label:<26} {got:>7.1f}x  (target {target:.0f}x)  {verdict}")


def print_operations(title: str, phase: Phase, top: int = 8) -> None:
    print(f"\n{title}: {phase.calls:,} calls")
    for (service, operation), n in phase.ops.most_common(top):
        print(f"  {service + ':' + operation:<49}{n:>7,}")
    rest = phase.calls - sum(n for _, n in phase.ops.most_common(top))
    if rest:
        print(f"  {'(others)':<49}{rest:>7,}")


def run(sizes: Sizes) -> tuple[list[Phase], list[Phase]]:
    """Both tools' phases (the library's first), against one server."""
    library_doc = mesh_document(
        "51", sizes, products=sizes.products, subscriptions=sizes.subscriptions
    )
    meshctl_doc = mesh_document(
        "52", sizes, products=sizes.products, subscriptions=sizes.subscriptions
    )
    with counting_server() as (endpoint, counter), tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with sandbox_environment(endpoint):
            for doc in (library_doc, meshctl_doc):
                seed(doc, tmp, endpoint)
            print(
                f"sandbox {endpoint}: seeded {sizes.products * sizes.tables} source tables "
                "per tool",
                flush=True,
            )
            library = run_library(library_doc, endpoint, counter, tmp)
            print("library done", flush=True)
            meshctl = run_meshctl(meshctl_doc, counter, tmp)
    return library, meshctl


def print_report(library: list[Phase], meshctl: list[Phase]) -> None:
    print_phases(library, meshctl)
    print_verdict(library, meshctl)
    for lib, mc in zip(library, meshctl, strict=True):
        if lib.name in ("subscriptions", "check"):
            print_operations(f"library, {lib.name}", lib, top=12)
            print_operations(f"meshctl, {mc.name}", mc)


def figures(sizes: Sizes, library: list[Phase], meshctl: list[Phase]) -> dict[str, Any]:
    """What --json writes (bench/report.py makes its rows from it)."""

    def tool(p: Phase) -> dict[str, Any]:
        top = [[f"{s}:{o}", n] for (s, o), n in p.ops.most_common(6)]
        return {
            "calls": p.calls,
            "seconds": p.seconds,
            "slept": p.slept,
            "note": p.note,
            "top": top,
        }

    return {
        "sizes": vars(sizes),
        "phases": [
            {"phase": lib.name, "library": tool(lib), "meshctl": tool(mc)}
            for lib, mc in zip(library, meshctl, strict=True)
        ],
        "targets": [
            {"figure": label, "ratio": got, "target": target, "met": got >= target}
            for label, got, target in targets(library, meshctl)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=5)
    parser.add_argument("--consumers", type=int, default=5)
    parser.add_argument("--products", type=int, default=20, help="N")
    parser.add_argument("--tables", type=int, default=2, help="T, tables per product")
    parser.add_argument("--subscriptions", type=int, default=100, help="K")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    sizes = Sizes(args.producers, args.consumers, args.products, args.tables, args.subscriptions)
    if sizes.subscriptions > sizes.consumers * sizes.products:
        parser.error("--subscriptions is at most consumers x products (distinct pairs)")
    print(
        f"both tools: {sizes.producers} producers, {sizes.consumers} consumers, "
        f"{sizes.products} products x {sizes.tables} tables, {sizes.subscriptions} "
        f"subscriptions; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    started = time.perf_counter()
    library, meshctl = run(sizes)
    print_report(library, meshctl)
    if args.json:
        args.json.write_text(json.dumps(figures(sizes, library, meshctl), indent=1), "utf-8")
    print(f"\nbench wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
