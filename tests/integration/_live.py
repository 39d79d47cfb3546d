"""A mesh in the in-process sandbox, driven the way `meshctl plan` and `meshctl apply` drive it:
``read_mesh`` → ``make_plan`` → ``execute_plan`` with the real ``Executor`` (wired as engine.py
wires them, with a clock of the case's day), plus what a user checks straight in AWS.

meshctl's sessions share the sandbox's botocore model loader: with a fresh loader per
``AccountSessions`` every test parses the service models again (1.1 s of CPU a case, not 0.7 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from support.planner_cases import plan_of
from support.sandbox import InProcessSandbox

from meshctl.applier import ApplyResult, execute_plan
from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.observed import Grant, ObservedMesh, Table
from meshctl.planning.canonical import canonical_grants
from meshctl.planning.plan import Plan
from meshctl.sandbox.sessions import botocore_session
from meshctl.spec.model import MeshSpec


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def failures(result: ApplyResult) -> list[tuple[str, str, str]]:
    return [(r.change.address, r.status.value, r.error) for r in result.results if r.error]


def sandbox_sessions(spec: MeshSpec) -> AccountSessions:
    """meshctl's sessions, as engine.py makes them (``for_spec``), on the shared model loader."""
    base = boto3.Session(botocore_session=botocore_session(), region_name=spec.mesh.region)
    return AccountSessions.for_spec(spec, base_session=base)


@dataclass
class LiveMesh:
    """``spec`` read, planned and applied against the sandbox with meshctl's ``sessions``."""

    spec: MeshSpec
    sessions: AccountSessions

    def read(self) -> ObservedMesh:
        return read_mesh(self.spec, self.sessions)

    def plan(self, today: date, *, prune: bool = False, plan_id: str = "test") -> Plan:
        return plan_of(self.spec, self.read(), today, prune, plan_id)

    def apply(self, plan: Plan, today: date) -> ApplyResult:
        executor = Executor(
            self.sessions,
            spec=self.spec,
            who=self.sessions.caller_arn(),
            plan_id=plan.plan_id,
            commit=None,
            clock=lambda: noon(today),
            sleep=lambda _: None,  # IAM is consistent at once in the sandbox
        )
        return execute_plan(plan, executor)

    def converge(self, today: date) -> None:
        """Apply this spec's plan; the live state then plans nothing more."""
        result = self.apply(self.plan(today, plan_id="converge"), today)
        assert result.ok, f"converging apply failed: {failures(result)}"
        again = self.plan(today, plan_id="converged")
        assert not again.effective_changes, [c.address for c in again.effective_changes]


@dataclass
class Console:
    """A person's view of the mesh's accounts: plain boto3 clients (by sts:AssumeRole, one per
    account and service), independent of meshctl's sessions."""

    sandbox: InProcessSandbox
    spec: MeshSpec
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def mesh(self) -> str:
        return self.spec.mesh.account_id

    def client(self, account_id: str, service: str) -> Any:
        key = (account_id, service)
        if key not in self._clients:
            self._clients[key] = self.sandbox.session(account_id).client(service)
        return self._clients[key]


# --- the producers' tables, as they exist before the mesh -------------------------------------


def table_input(t: Table) -> dict[str, Any]:
    """A Glue ``TableInput`` holding every field of ``t``."""
    storage: dict[str, Any] = {
        "Columns": [{"Name": c.name, "Type": c.type} for c in t.columns],
        "Location": t.location,
        "InputFormat": t.input_format,
        "SerdeInfo": {"SerializationLibrary": t.serde},
    }
    if t.output_format:
        storage["OutputFormat"] = t.output_format
    return {
        "Name": t.name,
        "Owner": t.owner,
        "TableType": t.table_type,
        "StorageDescriptor": storage,
        "PartitionKeys": [{"Name": c.name, "Type": c.type} for c in t.partition_keys],
        "Parameters": dict(t.parameters),
    }


def create_table(console: Console, t: Table) -> None:
    """The table, and its database when missing, as the producer's ETL makes them."""
    glue = console.client(t.account_id, "glue")
    try:
        glue.create_database(DatabaseInput={"Name": t.database})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AlreadyExistsException":
            raise
    glue.create_table(DatabaseName=t.database, TableInput=table_input(t))


# --- what a user checks straight in AWS ---------------------------------------------------------


def lf_entries(console: Console) -> list[dict[str, Any]]:
    """The mesh catalog's grants exactly as ListPermissions returns them."""
    lf = console.client(console.mesh, "lakeformation")
    entries: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:  # botocore has no paginator for ListPermissions
        page = lf.list_permissions(CatalogId=console.mesh, MaxResults=1000, **token)
        entries += page["PrincipalResourcePermissions"]
        if not page.get("NextToken"):
            return entries
        token = {"NextToken": page["NextToken"]}


def lf_grants(console: Console) -> dict[str, Grant]:
    """The same grants folded as meshctl addresses them (plan addresses), by address."""
    return {g.address: g for g in canonical_grants(lf_entries(console), console.mesh)}


def record_statuses(console: Console) -> dict[str, str]:
    """Subscription id → Status of every item of the subscription table ({} without it)."""
    ddb = console.client(console.mesh, "dynamodb")
    decode = TypeDeserializer().deserialize
    try:
        scan = ddb.get_paginator("scan")
        pages = list(scan.paginate(TableName=console.spec.mesh.subscriptions_table))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return {}
        raise
    items = [{k: decode(v) for k, v in raw.items()} for p in pages for raw in p["Items"]]
    return {str(i["SubscriptionId"]): str(i.get("Status", "")) for i in items}
