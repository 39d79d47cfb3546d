"""Apply's guards against the sandbox: stale and reused saved plans, the lock, partial failure,
``protect``, ``--max-revokes``, and records changed by someone else since plan.

Every refusal is checked for what a user cares about: the message, and that nothing was changed
(no write call to Lake Formation, Glue, IAM, RAM or the subscription table; the lock's own table
is the only thing an apply may touch before it refuses).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console
from support.sandbox import InProcessSandbox

from meshctl.applier import ApplyResult, Status
from meshctl.aws.lock import LockTable
from meshctl.aws.stats import CallKey
from meshctl.codec import sha256_of
from meshctl.engine import Engine
from meshctl.errors import LockError, PlanError
from meshctl.ids import subscription_id
from meshctl.planning.plan import Plan
from meshctl.planning.planner import revoke_count
from meshctl.render.markdown import render_apply_result
from meshctl.sandbox.seed import seed_producers

from ._meshfile import MeshFile

MESH = "555555555555"
SALES = "111111111111"
LOGISTICS = "222222222222"
FINANCE = "333333333333"
MARKETING = "999999999999"
SALES_DB = f"sales-{SALES}"
LOGISTICS_DB = f"logistics-{LOGISTICS}"
TABLE = "AwsDataMeshSubscriptions"
LOCKS = f"{TABLE}-Locks"
NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


# --- the mesh file and the engine, as a user drives them ----------------------------------------


class Mesh(MeshFile):
    """The mesh file and the engine, as a user drives them."""

    def __init__(self, sandbox: InProcessSandbox, path: Path) -> None:
        self.sandbox = sandbox
        super().__init__(path)

    def engine(self) -> Engine:
        return Engine(self.path, clock=lambda: NOW)

    def apply(
        self,
        engine: Engine | None = None,
        *,
        saved: Plan | None = None,
        max_revokes: int = 25,
        allow_mass_revoke: bool = False,
    ) -> ApplyResult:
        """`meshctl apply [PLANFILE]`: lock, check or make the plan, execute."""
        engine = engine or self.engine()
        with engine.locked("apply"):
            if saved is not None:
                engine.check_saved_plan(saved)
                plan = saved
            else:
                plan = engine.plan()
            return engine.execute(
                plan, max_revokes=max_revokes, allow_mass_revoke=allow_mass_revoke
            )

    def converge(self) -> None:
        result = self.apply(allow_mass_revoke=True)
        assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]
        assert not self.engine().plan().has_changes


@pytest.fixture
def mesh(sandbox: InProcessSandbox, tmp_path: Path) -> Mesh:
    """examples/mesh.yaml, seeded and applied once."""
    path = tmp_path / "mesh.yaml"
    m = Mesh(sandbox, path)
    seed_producers(m.engine().spec, sandbox.session)
    m.converge()
    return m


def saved_copy(plan: Plan) -> Plan:
    """The plan as `meshctl plan --out` writes it and `meshctl apply PLANFILE` reads it."""
    return Plan.from_json(json.loads(plan.dumps()))


# --- what a user looks at ------------------------------------------------------------------------


def status_of(sandbox: InProcessSandbox, consumer_id: str, product: str) -> dict[str, Any]:
    ddb = sandbox.session(MESH).client("dynamodb")
    key = {"SubscriptionId": {"S": subscription_id(consumer_id, product)}}
    item: dict[str, Any] = ddb.get_item(TableName=TABLE, Key=key, ConsistentRead=True)["Item"]
    return item


def grants_to(sandbox: InProcessSandbox, principal: str, database: str) -> dict[str, list[str]]:
    """The principal's raw grants on a mesh database and its tables: resource name -> perms."""
    lf = sandbox.session(MESH).client("lakeformation")
    out: dict[str, list[str]] = {}
    token = None
    while True:
        page = lf.list_permissions(CatalogId=MESH, **({"NextToken": token} if token else {}))
        for entry in page["PrincipalResourcePermissions"]:
            resource = entry["Resource"]
            if entry["Principal"]["DataLakePrincipalIdentifier"] != principal:
                continue
            if resource.get("Database", {}).get("Name") == database:
                out[database] = sorted(entry["Permissions"])
            table = resource.get("Table") or {}
            if table.get("DatabaseName") == database:
                out[f"{database}.{table['Name']}"] = sorted(entry["Permissions"])
        token = page.get("NextToken")
        if not token:
            return out


def database_exists(sandbox: InProcessSandbox, account_id: str, name: str) -> bool:
    glue = sandbox.session(account_id).client("glue")
    try:
        glue.get_database(Name=name)
    except glue.exceptions.EntityNotFoundException:
        return False
    return True


class WriteWatch:
    """Every write call an engine makes, and the DynamoDB table each DynamoDB write targets.

    Counts come from the engine's own CallStats; table names from a hook on its mesh-account
    DynamoDB client (the client the lock, the ledger and the record writes all go through).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dynamodb: list[tuple[str, str]] = []
        engine.sessions.stats.reset()
        client = engine.sessions.client(MESH, "dynamodb")
        client.meta.events.register("before-call.dynamodb", self._hook)

    def _hook(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        self.dynamodb.append((model.name, str(body.get("TableName", ""))))

    def outside_lock_table(self) -> list[str]:
        """Writes anywhere but the Locks table: an apply that refused must have none."""
        stats = self.engine.sessions.stats
        out = [
            f"{k.account_id} {k.service}:{k.operation}"
            for k, (n, _) in stats.snapshot().items()
            if k.is_write and k.service != "dynamodb" and n
        ]
        out += [
            f"dynamodb:{op} on {table}"
            for op, table in self.dynamodb
            if CallKey(MESH, "dynamodb", op).is_write and table != LOCKS
        ]
        return out


def lock_table(sandbox: InProcessSandbox) -> LockTable:
    table = LockTable(sandbox.session(MESH).client("dynamodb"), LOCKS)
    table.ensure()
    return table


# --- saved plans ---------------------------------------------------------------------------------


def test_stale_saved_plan_is_refused_and_changes_nothing(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    mesh.approve("marketing", "logistics.shipments", "logistics-data@example.com")
    saved = saved_copy(mesh.engine().plan())
    assert saved.has_changes

    # Someone revokes a grant by hand after the plan was made.
    sandbox.session(MESH).client("lakeformation").revoke_permissions(
        Principal={"DataLakePrincipalIdentifier": LOGISTICS},
        Resource={"Table": {"CatalogId": MESH, "DatabaseName": SALES_DB, "Name": "orders"}},
        Permissions=["SELECT"],
    )
    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match="plan is stale: the live mesh changed") as refused:
        mesh.apply(engine, saved=saved)
    assert saved.plan_id in str(refused.value)
    assert "nothing was changed" in str(refused.value)

    assert watch.outside_lock_table() == []
    assert status_of(sandbox, MARKETING, "logistics.shipments")["Status"]["S"] == "Pending"
    assert grants_to(sandbox, MARKETING, LOGISTICS_DB) == {}
    assert grants_to(sandbox, LOGISTICS, SALES_DB)[f"{SALES_DB}.orders"] == ["DESCRIBE"]
    assert lock_table(sandbox).current() is None, "the lock is released after a refusal"


def test_saved_plan_is_refused_when_the_mesh_file_changed(mesh: Mesh) -> None:
    saved = saved_copy(mesh.engine().plan())
    mesh.approve("marketing", "logistics.shipments", "logistics-data@example.com")
    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match=r"plan is stale: .*mesh\.yaml changed"):
        mesh.apply(engine, saved=saved)
    assert watch.outside_lock_table() == []


def test_a_saved_plan_is_applied_at_most_once(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    mesh.approve("marketing", "logistics.shipments", "logistics-data@example.com")
    saved = saved_copy(mesh.engine().plan())
    assert mesh.apply(saved=saved).ok
    assert grants_to(sandbox, MARKETING, LOGISTICS_DB)

    # The same file again: refused (the live mesh has moved on since), nothing written.
    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match="plan is stale: the live mesh changed"):
        mesh.apply(engine, saved=saved)
    assert watch.outside_lock_table() == []

    # A plan whose state still matches (no changes) is refused the second time by the ledger.
    quiet = saved_copy(mesh.engine().plan())
    assert not quiet.has_changes
    assert mesh.apply(saved=quiet).ok
    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match=f"plan {quiet.plan_id} was already applied"):
        mesh.apply(engine, saved=quiet)
    assert watch.outside_lock_table() == []


# --- the lock ------------------------------------------------------------------------------------


def test_a_second_concurrent_apply_is_refused_naming_the_holder(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    mesh.remove("marketing", "sales.orders")  # the first apply has work to do
    in_progress, finish = threading.Event(), threading.Event()
    outcome: list[ApplyResult | BaseException] = []

    def first_apply() -> None:
        def hold(_: object) -> None:  # the first result blocks until the test is done
            in_progress.set()
            finish.wait(30)

        try:
            engine = mesh.engine()
            with engine.locked("apply"):
                plan = engine.plan()
                result = engine.execute(
                    plan, max_revokes=25, allow_mass_revoke=False, on_result=hold
                )
            outcome.append(result)
        except BaseException as exc:  # surfaced by the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=first_apply)
    worker.start()
    try:
        assert in_progress.wait(30), "the first apply never started"
        second = mesh.engine()
        watch = WriteWatch(second)
        with pytest.raises(LockError) as refused:
            mesh.apply(second)
        held = lock_table(sandbox).current()
        assert held is not None
        message = str(refused.value)
        assert "another apply holds the lock" in message
        assert held.holder in message and "(apply)" in message
        assert f"meshctl unlock {held.lock_id}" in message
        assert watch.outside_lock_table() == []
    finally:
        finish.set()
        worker.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], ApplyResult) and outcome[0].ok
    assert status_of(sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Deleted"
    assert lock_table(sandbox).current() is None


def test_a_dead_holders_lock_is_released_by_unlock(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    held = lock_table(sandbox).acquire("ci-run-7 on runner-3 pid 4242", "apply")
    mesh.remove("marketing", "sales.orders")
    with pytest.raises(LockError, match="ci-run-7 on runner-3 pid 4242") as refused:
        mesh.apply()
    assert f"meshctl unlock {held.lock_id}" in str(refused.value)
    assert status_of(sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Active"

    engine = mesh.engine()
    assert not engine.unlock("not-the-lock-id")
    assert engine.unlock(held.lock_id)
    mesh.converge()
    assert status_of(sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Deleted"


def test_an_expired_lock_is_taken_over(mesh: Mesh) -> None:
    """A holder that crashed long ago (its lock past ExpiresAt) does not block applies."""
    lock_table(mesh.sandbox).acquire("crashed run", "apply", ttl_seconds=-60)
    mesh.remove("marketing", "sales.orders")
    mesh.converge()
    assert status_of(mesh.sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Deleted"
    assert lock_table(mesh.sandbox).current() is None


# --- partial failure -----------------------------------------------------------------------------


def _fail_create_table_in(database: str) -> Callable[..., None]:
    """A botocore ``before-call`` hook: Glue CreateTable into ``database`` fails as AWS would
    fail it for a missing permission. Fault injection through botocore's event system."""

    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        if body.get("DatabaseName") == database:
            raise ClientError(
                {
                    "Error": {
                        "Code": "AccessDeniedException",
                        "Message": f"injected: no glue:CreateTable on {database}",
                    }
                },
                model.name,
            )

    return hook


def _apply_with_logistics_failing(sandbox: InProcessSandbox, tmp_path: Path) -> Mesh:
    """Apply the example (with marketing's logistics subscription approved) from empty while
    every Glue CreateTable into the logistics mesh database fails; check what a user sees."""
    mesh = Mesh(sandbox, tmp_path / "mesh.yaml")
    mesh.approve("marketing", "logistics.shipments", "logistics-data@example.com")
    seed_producers(mesh.engine().spec, sandbox.session)

    engine = mesh.engine()
    glue = engine.sessions.client(MESH, "glue")
    glue.meta.events.register("before-call.glue.CreateTable", _fail_create_table_in(LOGISTICS_DB))
    result = mesh.apply(engine)

    assert not result.ok
    by_status: dict[Status, set[str]] = {s: set() for s in Status}
    for r in result.results:
        by_status[r.status].add(r.change.address)
    tables = {f"table.{MESH}/{LOGISTICS_DB}.{t}" for t in ("carriers", "depots", "shipments")}
    assert by_status[Status.FAILED] == tables
    # The failed product's dependents were skipped, never attempted...
    skipped = by_status[Status.SKIPPED]
    assert f"grant.{LOGISTICS}/table:{MESH}:{LOGISTICS_DB}.shipments" in skipped
    assert f"grant.{MARKETING}/table:{MESH}:{LOGISTICS_DB}.shipments" in skipped
    assert "subscription.marketing/logistics.shipments" in skipped
    assert all(LOGISTICS_DB in a or "logistics.shipments" in a for a in skipped), skipped
    # ...and every other product is applied.
    assert grants_to(sandbox, MARKETING, SALES_DB)
    assert status_of(sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Active"
    assert status_of(sandbox, MARKETING, "finance.invoices")["Status"]["S"] == "Denied"
    assert f"{LOGISTICS_DB}.shipments" not in grants_to(sandbox, MARKETING, LOGISTICS_DB)

    # What the user sees: each change done / failed / skipped, the AWS error, the summary.
    out = io.StringIO()
    render_apply_result(
        [(r.change, r.status.value, r.error) for r in result.results],
        Console(file=out, width=300, color_system=None),
    )
    text = out.getvalue()
    assert "may not perform glue:CreateTable (injected: no glue:CreateTable" in text
    assert f"depends on table.{MESH}/{LOGISTICS_DB}" in text
    done, failed, skip = (result.count(s) for s in (Status.DONE, Status.FAILED, Status.SKIPPED))
    assert f"Apply complete: {done} done, {failed} failed, {skip} skipped." in text
    assert failed == 3 and skip >= 5 and done > 40
    return mesh


def test_a_failed_product_leaves_the_others_applied_and_a_re_apply_completes_it(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    mesh = _apply_with_logistics_failing(sandbox, tmp_path)

    # The fault gone, a re-apply carries out what failed or was skipped.
    again = mesh.apply()
    assert again.ok, [(r.change.address, r.error) for r in again.results if r.error]
    assert {r.change.address for r in again.results} >= {
        f"table.{MESH}/{LOGISTICS_DB}.shipments",
        "subscription.marketing/logistics.shipments",
    }
    assert grants_to(sandbox, MARKETING, LOGISTICS_DB) == {
        LOGISTICS_DB: ["DESCRIBE"],
        f"{LOGISTICS_DB}.shipments": ["SELECT"],
    }
    assert status_of(sandbox, MARKETING, "logistics.shipments")["Status"]["S"] == "Active"


def test_a_re_apply_after_a_failure_converges_to_an_empty_plan(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    mesh = _apply_with_logistics_failing(sandbox, tmp_path)
    mesh.converge()


# --- protect and --max-revokes -------------------------------------------------------------------


def test_removing_a_protected_product_is_refused_and_changes_nothing(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    # The live state as the unchanged file sees it (what is read depends on what is declared).
    original = mesh.path.with_name("original.yaml")
    original.write_text(mesh.path.read_text())
    before = sha256_of(Engine(original, clock=lambda: NOW).observe())
    mesh.remove_product("sales.orders")
    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match=rf"protected product database.*{SALES_DB}") as refused:
        mesh.apply(engine, allow_mass_revoke=True)
    assert "protect: false" in str(refused.value)
    assert watch.outside_lock_table() == []
    assert sha256_of(Engine(original, clock=lambda: NOW).observe()) == before
    assert database_exists(sandbox, MESH, SALES_DB)

    # The documented way out: unprotect, apply, then remove.
    mesh.reset()
    mesh.data["products"]["sales.orders"]["protect"] = False
    mesh.save()
    mesh.converge()
    mesh.remove_product("sales.orders")
    mesh.converge()
    assert not database_exists(sandbox, MESH, SALES_DB)
    assert status_of(sandbox, MARKETING, "sales.orders")["Status"]["S"] == "Deleted"


def test_max_revokes_refuses_a_mass_revoke_unless_allowed(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    for consumer in ("marketing", "logistics", "finance"):
        mesh.remove(consumer, "sales.orders")
    plan = mesh.engine().plan()
    revokes = revoke_count(plan)
    # 10 grants revoked (finance's role: its DESCRIBE on its resource link too; marketing's
    # SELECT on its data cells filter), marketing's filter deleted, 3 records archived,
    # 3 consumer links deleted
    assert revokes == 17

    engine = mesh.engine()
    watch = WriteWatch(engine)
    with pytest.raises(PlanError, match=rf"takes away {revokes} .* --max-revokes {revokes - 1}"):
        mesh.apply(engine, max_revokes=revokes - 1)
    assert watch.outside_lock_table() == []
    assert grants_to(sandbox, MARKETING, SALES_DB)
    assert status_of(sandbox, FINANCE, "sales.orders")["Status"]["S"] == "Active"

    # Exactly at the limit is allowed; so is any number with --allow-mass-revoke.
    assert mesh.apply(max_revokes=revokes).ok
    assert grants_to(sandbox, MARKETING, SALES_DB) == {}
    mesh.reset()
    mesh.converge()
    for consumer in ("marketing", "logistics", "finance"):
        mesh.remove(consumer, "sales.orders")
    assert mesh.apply(max_revokes=0, allow_mass_revoke=True).ok
    for consumer_id in (MARKETING, LOGISTICS, FINANCE):
        assert grants_to(sandbox, consumer_id, SALES_DB) == {}
        assert status_of(sandbox, consumer_id, "sales.orders")["Status"]["S"] == "Deleted"


# --- records changed by someone else ------------------------------------------------------------


def test_a_record_changed_since_plan_is_never_overwritten(mesh: Mesh) -> None:
    sandbox = mesh.sandbox
    mesh.subscription("finance", "logistics.shipments")["status"] = "denied"
    mesh.save()
    engine = mesh.engine()
    plan = engine.plan()
    assert [c.address for c in plan.effective_changes] == [
        "subscription.finance/logistics.shipments"
    ]

    # Between plan and execute, someone edits the item in the console.
    sandbox.session(MESH).client("dynamodb").update_item(
        TableName=TABLE,
        Key={"SubscriptionId": {"S": subscription_id(FINANCE, "logistics.shipments")}},
        UpdateExpression="SET #v = #v + :one, Purpose = :p",
        ExpressionAttributeNames={"#v": "Version"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":p": {"S": "edited by hand"}},
    )
    result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)

    assert not result.ok
    (failed,) = result.results
    assert failed.status is Status.FAILED
    assert "changed since plan" in failed.error and "not overwritten" in failed.error
    item = status_of(sandbox, FINANCE, "logistics.shipments")
    assert item["Status"]["S"] == "Pending"
    assert item["Purpose"]["S"] == "edited by hand"
    assert item["Version"]["N"] == "2"

    # A new plan sees the edit and proposes the change again, from the edited record.
    again = mesh.engine().plan()
    (change,) = again.effective_changes
    assert change.before is not None and change.before["version"] == 2
    assert change.before["purpose"] == "edited by hand"
