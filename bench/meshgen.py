"""Big meshes for benchmarks: a generated spec, its mesh.yaml text, and its live state.

- ``generate_spec(producers, consumers, products, subscriptions, tables_per_product=2)``: a
  deterministic, valid ``MeshSpec`` (producer-only and consumer-only accounts, products spread
  evenly over producers, approved subscriptions spread evenly over consumers and products).
- ``spec_yaml(spec)`` / ``write_spec(spec, path)``: the mesh.yaml text of a spec, which
  ``meshctl.spec.load.load_spec`` reads back to an equal spec.
- ``build_live(spec, session_for_account, *, applied)``: build the live state in a sandbox.
  ``applied=False``: only what producers have before they join (source databases and tables).
  ``applied=True``: the mesh as ``meshctl apply`` leaves it, so a plan is empty. See
  ``build_live`` for how that is built quickly and why it matches what meshctl writes.

``session_for_account(account_id) -> boto3.Session`` reaches an account (e.g.
``InProcessSandbox.session``). Used by bench/plan_scale.py and bench/apply_scale.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeSerializer

from meshctl.applier import execute_plan
from meshctl.aws import invitations
from meshctl.aws.api import AccountApi
from meshctl.aws.apply.executor import Executor
from meshctl.aws.lock import LockTable
from meshctl.aws.read.glue import MANAGED_BY_PARAMETER
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.tracker import MANAGED_BY, format_date, item_from_record
from meshctl.codec import from_json
from meshctl.importer.text import table_entry
from meshctl.observed import Database, Grant, SubscriptionRecord
from meshctl.planning.canonical import grant_entries
from meshctl.planning.plan import Action, Change, Kind, Plan
from meshctl.planning.planner import make_plan
from meshctl.sandbox.seed import bucket_name, table_input
from meshctl.spec.model import (
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
)

SessionFor = Callable[[str], boto3.Session]
T = TypeVar("T")

MESH_ACCOUNT = "555555555555"
REGION = "us-east-1"
# Table names of a product, cycled; the seed's column sets recognise these words.
TABLE_WORDS = ("orders", "customers", "events", "invoices", "shipments", "metrics", "products")
PERMISSIONS = frozenset({"SELECT", "DESCRIBE"})


# --- the spec ---------------------------------------------------------------------------------


def producer_id(i: int) -> str:
    return f"{100000000000 + i}"


def consumer_id(j: int) -> str:
    return f"{200000000000 + j}"


def generate_spec(
    producers: int,
    consumers: int,
    products: int,
    subscriptions: int,
    tables_per_product: int = 2,
    *,
    mesh_account_id: str = MESH_ACCOUNT,
    region: str = REGION,
) -> MeshSpec:
    """A valid mesh with ``subscriptions`` approved subscriptions, each a distinct
    (consumer, product) pair, so at most ``consumers * products`` of them.

    Every 10th subscription reads only the product's first table; every 7th may re-grant SELECT.
    """
    if subscriptions > consumers * products:
        raise ValueError(f"at most {consumers * products} distinct subscriptions")
    accounts = [
        Account(f"producer-{i:03d}", producer_id(i), frozenset({AccountRole.PRODUCER}))
        for i in range(producers)
    ] + [
        Account(f"consumer-{j:03d}", consumer_id(j), frozenset({AccountRole.CONSUMER}))
        for j in range(consumers)
    ]
    prods = []
    for k in range(products):
        owner = accounts[k % producers]
        source = f"src_{k:04d}"
        tables = tuple(
            f"{TABLE_WORDS[t % len(TABLE_WORDS)]}_{t // len(TABLE_WORDS)}"
            if t >= len(TABLE_WORDS)
            else TABLE_WORDS[t]
            for t in range(tables_per_product)
        )
        prods.append(
            Product(
                name=f"{owner.name}.p{k:04d}",
                producer=owner.name,
                source_database=source,
                tables=tables,
                mesh_database=f"{source}-{owner.account_id}",
                description=f"generated product {k}",
                owners=(f"{owner.name}-owners@example.com",),
                tags=(("Domain", f"domain-{k % 10}"),),
            )
        )
    subs = []
    for s in range(subscriptions):
        # Distinct pairs: for a fixed consumer, the rows s // consumers are distinct.
        c = s % consumers
        product = prods[(s // consumers + c * 7) % products]
        subs.append(
            Subscription(
                consumer=accounts[producers + c].name,
                product=product.name,
                tables=product.tables[:1] if s % 10 == 9 else (),
                permissions=PERMISSIONS,
                grantable=frozenset({"SELECT"}) if s % 7 == 6 else frozenset(),
                status=SubscriptionStatus.APPROVED,
                approved_by=product.owners[0],
                purpose=f"generated subscription {s}",
            )
        )
    return MeshSpec(
        mesh=MeshSettings(mesh_account_id, region),
        accounts=tuple(accounts),
        products=tuple(prods),
        subscriptions=tuple(subs),
    )


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def spec_yaml(spec: MeshSpec) -> str:
    """The mesh.yaml text of ``spec`` (every field meshctl reads back, nothing else)."""
    m = spec.mesh
    out = [
        "version: 1",
        "mesh:",
        f"  account_id: {_q(m.account_id)}",
        f"  region: {m.region}",
        f"  subscriptions_table: {m.subscriptions_table}",
        "accounts:",
    ]
    for a in spec.accounts:
        roles = sorted(r.value for r in a.roles)
        out += [
            f"  {a.name}:",
            f"    account_id: {_q(a.account_id)}",
            f"    roles: [{', '.join(roles)}]",
        ]
    out.append("products:")
    for p in spec.products:
        out += [
            f"  {p.name}:",
            f"    producer: {p.producer}",
            f"    source_database: {_q(p.source_database)}",
            f"    tables: {_flow(p.tables)}",
            f"    mesh_database: {_q(p.mesh_database)}",
            f"    description: {_q(p.description)}",
            f"    owners: {_flow(p.owners)}",
        ]
        if p.tags:
            out.append("    tags: {" + ", ".join(f"{k}: {_q(v)}" for k, v in p.tags) + "}")
        if p.protect:
            out.append("    protect: true")
    out.append("subscriptions:" if spec.subscriptions else "subscriptions: []")
    for s in spec.subscriptions:
        out += [f"  - consumer: {s.consumer}", f"    product: {s.product}"]
        if s.restrictions:
            out.append("    tables:")
            for table in s.tables:
                out += table_entry(table, s.restriction(table))  # as meshctl import writes it
        elif s.tables:
            out.append(f"    tables: {_flow(s.tables)}")
        out.append(f"    permissions: {_flow(sorted(s.permissions))}")
        if s.grantable:
            out.append(f"    grantable: {_flow(sorted(s.grantable))}")
        out.append(f"    status: {s.status.value}")
        if s.approved_by:
            out.append(f"    approved_by: {_q(s.approved_by)}")
        if s.purpose:
            out.append(f"    purpose: {_q(s.purpose)}")
        if s.expires:
            out.append(f"    expires: {s.expires.isoformat()}")
    return "\n".join(out) + "\n"


def write_spec(spec: MeshSpec, path: Path) -> Path:
    path.write_text(spec_yaml(spec), encoding="utf-8")
    return path


# --- the live state ---------------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    name: str
    count: int = 0  # changes (or tables) carried out
    calls: int = 0  # AWS calls made by meshgen itself (the executor's are not counted here)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU: the in-process sandbox's work is in it too


@dataclasses.dataclass
class BuildReport:
    """What a build did, step by step."""

    steps: dict[str, Step] = dataclasses.field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        found = self.steps.setdefault(name, Step(name))
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield found
        finally:
            found.wall_s += time.perf_counter() - wall
            found.cpu_s += time.process_time() - cpu

    @property
    def wall_s(self) -> float:
        return sum(s.wall_s for s in self.steps.values())

    @property
    def cpu_s(self) -> float:
        return sum(s.cpu_s for s in self.steps.values())

    def lines(self) -> list[str]:
        return [
            f"{s.name}: {s.count} in {s.wall_s:.1f} s (cpu {s.cpu_s:.1f} s, {s.calls} calls)"
            for s in self.steps.values()
        ]


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Sessions:
    """One session per account, one client per service: assuming a role and making a client
    cost more than most calls."""

    def __init__(self, session_for_account: SessionFor, region: str) -> None:
        self._for = session_for_account
        self._region = region
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, account_id: str, service: str) -> Any:
        key = (account_id, service)
        if key not in self._clients:
            if account_id not in self._sessions:
                self._sessions[account_id] = self._for(account_id)
            session = self._sessions[account_id]
            self._clients[key] = session.client(service, region_name=self._region)
        return self._clients[key]


def build_sources(spec: MeshSpec, session_for_account: SessionFor) -> int:
    """Each producer's bucket, source databases and tables; returns the number of tables.

    Assumes a fresh sandbox (no "already exists" handling: use meshctl.sandbox.seed for that).
    """
    clients = _Sessions(session_for_account, spec.mesh.region)
    accounts = {a.name: a for a in spec.accounts}
    buckets: set[str] = set()
    count = 0
    for product in spec.products:
        account = accounts[product.producer]
        bucket = bucket_name(account.name, account.account_id)
        if bucket not in buckets:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if spec.mesh.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec.mesh.region}
            clients.client(account.account_id, "s3").create_bucket(**kwargs)
            buckets.add(bucket)
        glue = clients.client(account.account_id, "glue")
        db = product.source_database
        glue.create_database(DatabaseInput={"Name": db, "LocationUri": f"s3://{bucket}/{db}/"})
        for table in product.tables:
            location = f"s3://{bucket}/{db}/{table}/"
            glue.create_table(DatabaseName=db, TableInput=table_input(table, location))
            count += 1
    return count


# Kinds written in bulk by ``apply_bulk``: they grow with subscriptions. Everything else (the
# catalog, roles, settings: a constant per account and product) goes through meshctl's executor.
BULK_KINDS = frozenset({Kind.GRANT, Kind.RESOURCE_LINK, Kind.SUBSCRIPTION})
WHO = "arn:aws:sts::555555555555:assumed-role/MeshctlDeployer/meshgen"


def apply_bulk(
    spec: MeshSpec,
    plan: Plan,
    session_for_account: SessionFor,
    *,
    sessions: AccountSessions | None = None,
    report: BuildReport | None = None,
) -> BuildReport:
    """Carry out ``plan`` (a ``meshctl.planning.plan.Plan``) as meshctl would, only faster.

    The desired values come from meshctl's own planner, so nothing here re-derives the mesh
    rules; only the writes differ: creates of grants, consumer links and subscription records
    (what grows with subscriptions) are written in bulk by direct boto3 calls — 20 grants per
    BatchGrantPermissions, 25 records per BatchWriteItem, each RAM invitation accepted once —
    with the attributes and parameters meshctl's executor writes. Every other change runs
    through meshctl's executor (``sessions``: a ``meshctl.aws.sessions.AccountSessions``,
    made from the ambient credentials when not given). A no-op plan afterwards proves the match.
    """

    report = report or BuildReport()
    bulk = [c for c in plan.changes if c.action is Action.CREATE and c.kind in BULK_KINDS]
    bulk_ids = {id(c) for c in bulk}
    rest = [c for c in plan.effective_changes if id(c) not in bulk_ids]
    if rest:
        with report.step("catalog (meshctl executor)") as step:
            sessions = sessions or AccountSessions.for_spec(spec)
            executor = Executor(sessions, who=WHO, plan_id=plan.plan_id, commit=None, spec=spec)
            result = execute_plan(dataclasses.replace(plan, changes=tuple(rest)), executor)
            failed = [(r.change.address, r.error) for r in result.results if r.error]
            if failed:
                raise RuntimeError(f"{len(failed)} catalog changes failed, first: {failed[0]}")
            step.count += len(rest)
            step.calls += sessions.stats.total

    clients = _Sessions(session_for_account, spec.mesh.region)
    by_kind: dict[Kind, list[Change]] = {k: [] for k in BULK_KINDS}
    for change in bulk:
        by_kind[change.kind].append(change)
    _bulk_grants(spec, by_kind[Kind.GRANT], clients, report)
    # Every account granted something across accounts got RAM invitations (consumers and
    # producers alike); meshctl's resource-link action accepts them.
    invited = {
        grant.principal
        for grant in (from_json(Grant, c.after) for c in by_kind[Kind.GRANT])
        if grant.principal.isdigit() and grant.principal != spec.mesh.account_id
    }
    _accept_invitations(spec, invited, clients, report)
    _bulk_links(spec, by_kind[Kind.RESOURCE_LINK], clients, report)
    _bulk_records(spec, plan.plan_id, by_kind[Kind.SUBSCRIPTION], clients, report)
    # An apply leaves the invitation journal kept and empty (aws/invitations.py): every
    # invitation above is accepted.
    with report.step("invitation journal (as apply leaves it)") as step:
        sessions = sessions or AccountSessions.for_spec(spec)
        m = spec.mesh.account_id
        LockTable(sessions.client(m, "dynamodb"), spec.mesh.locks_table).ensure()
        invitations.record(AccountApi(sessions, m), spec.mesh.locks_table, ())
        step.count = 1
    return report


def _bulk_grants(
    spec: MeshSpec, changes: list[Change], clients: _Sessions, report: BuildReport
) -> None:
    m = spec.mesh.account_id
    with report.step("grants (BatchGrantPermissions, 20 a call)") as step:
        lf = clients.client(m, "lakeformation")
        entries = [grant_entries(from_json(Grant, c.after)) for c in changes]
        for chunk in _chunks(entries, 20):
            answer = lf.batch_grant_permissions(
                CatalogId=m, Entries=[{**e, "Id": str(i)} for i, e in enumerate(chunk)]
            )
            step.calls += 1
            if answer.get("Failures"):
                raise RuntimeError(f"batch grant failed: {answer['Failures'][0]}")
        step.count += len(entries)


def _accept_invitations(
    spec: MeshSpec, accounts: set[str], clients: _Sessions, report: BuildReport
) -> None:
    """Accept, one call each, the mesh account's pending RAM invitations to ``accounts``."""
    with report.step("RAM invitations accepted (one call each)") as step:
        for account_id in sorted(accounts):
            ram = clients.client(account_id, "ram")
            pending = []
            for page in ram.get_paginator("get_resource_share_invitations").paginate():
                step.calls += 1
                pending += [
                    inv["resourceShareInvitationArn"]
                    for inv in page["resourceShareInvitations"]
                    if inv["status"] == "PENDING"
                    and str(inv["senderAccountId"]) == spec.mesh.account_id
                ]
            for arn in pending:
                ram.accept_resource_share_invitation(resourceShareInvitationArn=arn)
            step.calls += len(pending)
            step.count += len(pending)


def _bulk_links(
    spec: MeshSpec, changes: list[Change], clients: _Sessions, report: BuildReport
) -> None:
    """The consumers' resource links to mesh databases (once their invitations are accepted)."""
    by_account: dict[str, list[Database]] = {}
    for change in changes:
        link = from_json(Database, change.after)
        by_account.setdefault(link.account_id, []).append(link)
    with report.step("consumer links (CreateDatabase)") as step:
        for account_id, links in by_account.items():
            glue = clients.client(account_id, "glue")
            for link in links:
                database_input: dict[str, Any] = {
                    "Name": link.name,
                    "TargetDatabase": {
                        "CatalogId": link.target_account_id,
                        "DatabaseName": link.target_database or link.name,
                    },
                    "Parameters": {MANAGED_BY_PARAMETER: MANAGED_BY},
                }
                if link.description:
                    database_input["Description"] = link.description
                glue.create_database(DatabaseInput=database_input)
            step.calls += len(links)
            step.count += len(links)


def _bulk_records(
    spec: MeshSpec, plan_id: str, changes: list[Change], clients: _Sessions, report: BuildReport
) -> None:
    """Records as meshctl's create writes them (version 1, ManagedBy, who/when), 25 a call."""
    serialize = TypeSerializer().serialize
    now = format_date(datetime.now(UTC))
    table = spec.mesh.subscriptions_table
    with report.step("subscription records (BatchWriteItem, 25 a call)") as step:
        ddb = clients.client(spec.mesh.account_id, "dynamodb")
        items = []
        for change in changes:
            record = dataclasses.replace(
                from_json(SubscriptionRecord, change.after),
                version=1,
                managed=True,
                created_at="",
                created_by="",
            )
            item = item_from_record(record, WHO, plan_id, None, now=now)
            items.append({k: serialize(v) for k, v in item.items()})
        for chunk in _chunks(items, 25):
            requests = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
            while requests:  # DynamoDB may hand some back; write those again
                answer = ddb.batch_write_item(RequestItems=requests)
                step.calls += 1
                requests = answer.get("UnprocessedItems") or {}
        step.count += len(items)


def build_live(
    spec: MeshSpec,
    session_for_account: SessionFor,
    *,
    applied: bool,
    sessions: AccountSessions | None = None,
    today: date | None = None,
) -> BuildReport:
    """Build ``spec``'s live state in a fresh sandbox.

    ``applied=False``: only the producers' source databases and tables (what exists before the
    first apply). ``applied=True``: also the whole mesh, as ``meshctl apply`` leaves it: meshctl
    plans it against the sandbox (a full read) and ``apply_bulk`` carries that plan out.
    ``sessions`` (an ``AccountSessions``) defaults to one made from the ambient credentials,
    which ``in_process_sandbox`` sets.
    """

    report = BuildReport()
    with report.step("producer sources (databases and tables)") as step:
        step.count = build_sources(spec, session_for_account)
    if not applied:
        return report
    sessions = sessions or AccountSessions.for_spec(spec)
    with report.step("plan of the empty mesh (meshctl planner)") as step:
        plan = make_plan(
            spec,
            read_mesh(spec, sessions),
            plan_id=uuid.uuid4().hex,
            mesh_file_sha256="",
            today=today or datetime.now(UTC).date(),
        )
        step.count = len(plan.effective_changes)
        step.calls = sessions.stats.total
    sessions.stats.reset()
    return apply_bulk(spec, plan, session_for_account, sessions=sessions, report=report)


# --- the command line of the scale benches -----------------------------------------------------


def add_mesh_options(parser: argparse.ArgumentParser) -> None:
    """The generated mesh's shape: the same flags and defaults in every scale bench."""
    parser.add_argument("--producers", type=int, default=20)
    parser.add_argument("--consumers", type=int, default=50)
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--tables-per-product", type=int, default=2)


def mesh_header(args: argparse.Namespace, detail: str = "") -> str:
    """The first line a scale bench prints: the mesh, ``detail``, the machine."""
    return (
        f"mesh: {args.producers} producers, {args.consumers} consumers, {args.products} "
        f"products x {args.tables_per_product} tables; {detail}{os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def run_timed(run: Callable[[argparse.Namespace], object], args: argparse.Namespace) -> int:
    """``run(args)``, then the bench's wall time (bench/report.py reads the line)."""
    started = time.perf_counter()
    run(args)
    print(f"\nbench wall time {time.perf_counter() - started:.1f} s")
    return 0
