"""The apply lock: its table's own setup, and the lock held as a lease.

A live apply renews its lease, so nobody takes it over; a lease lost anyway (unlocked, taken over)
stops the apply before its next write, and a lock that was no longer ours at release is an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from support.sandbox import InProcessSandbox

from meshctl.applier import execute_plan
from meshctl.aws.lease import Lease
from meshctl.aws.lock import LockTable
from meshctl.engine import Engine
from meshctl.errors import LockError
from meshctl.outcome import Outcome, Status
from meshctl.planning.plan import Action, Change, Kind, Plan
from meshctl.sandbox.seed import seed_producers

from ._meshfile import MeshFile

MESH = "555555555555"
SALES = "111111111111"
LOCKS = "AwsDataMeshSubscriptions-Locks"
LOST = "the apply lock was lost"


def _table(sandbox: InProcessSandbox, clock: Callable[[], float] = time.time) -> LockTable:
    table = LockTable(sandbox.session(MESH).client("dynamodb"), LOCKS, clock=clock)
    table.ensure()
    return table


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the lease thread"
        time.sleep(0.01)


def _take_over(table: LockTable, lock_id: str) -> str:
    """Another person runs `meshctl unlock LOCK_ID` on our lock, then another apply takes it."""
    assert table.release(lock_id)
    return table.acquire("apply-2 on laptop pid 2", "apply").lock_id


def _overwrite(sandbox: InProcessSandbox) -> str:
    """Another apply whose clock runs an hour ahead sees our lease as expired and takes it over
    in one put (atomic, so the lease thread sees our item or theirs, never none)."""
    ahead = _table(sandbox, clock=lambda: time.time() + 3600)
    return ahead.acquire("apply-2 on laptop pid 2", "apply").lock_id


def test_ensure_enables_ttl_on_a_table_left_without_it(sandbox: InProcessSandbox) -> None:
    ddb = sandbox.session(MESH).client("dynamodb")
    # What an apply killed right after CreateTable leaves behind: the table, TTL off.
    ddb.create_table(
        TableName="AwsDataMeshSubscriptions-Locks",
        AttributeDefinitions=[{"AttributeName": "LockId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    LockTable(ddb, "AwsDataMeshSubscriptions-Locks").ensure()
    ttl = ddb.describe_time_to_live(TableName="AwsDataMeshSubscriptions-Locks")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ExpiresAt"


# --- the lease -----------------------------------------------------------------------------------


def test_a_held_lease_is_renewed_so_nobody_takes_it_over(sandbox: InProcessSandbox) -> None:
    now = [1_000_000.0]
    table = _table(sandbox, clock=lambda: now[0])
    info = table.acquire("apply-1 on ci pid 1", "apply", ttl_seconds=300)
    assert info.expires_at == 1_000_300

    with Lease(table, info, ttl_seconds=300, renew_every=0.01, clock=lambda: now[0]) as lease:
        now[0] += 100  # one renew interval later
        _wait_for(lambda: lease.expires_at >= 1_000_400)
        renewed = table.current()
        assert renewed is not None and renewed.expires_at >= 1_000_400

        now[0] = info.expires_at + 1  # past the expiry the lock was taken with
        with pytest.raises(LockError, match="another apply holds the lock: apply-1 on ci pid 1"):
            table.acquire("apply-2 on laptop pid 2", "apply")
        assert lease.lost_reason == ""
    held = table.current()
    assert held is not None and held.lock_id == info.lock_id


def test_stopping_a_lease_does_not_wait_out_the_renew_interval(sandbox: InProcessSandbox) -> None:
    table = _table(sandbox)
    lease = Lease(table, table.acquire("apply-1", "apply")).start()  # renews every 100 s
    started = time.monotonic()
    lease.stop()
    assert time.monotonic() - started < 2


def test_a_lease_expired_without_renewal_is_lost(sandbox: InProcessSandbox) -> None:
    """AWS unreachable for a whole lease: another apply may take the lock, so this one stops."""
    now = [1_000_000.0]
    table = _table(sandbox, clock=lambda: now[0])
    lease = Lease(table, table.acquire("apply-1", "apply", 300), clock=lambda: now[0])
    now[0] += 300
    with pytest.raises(LockError) as lost:
        lease.check()
    assert f"{LOST} (lock {lease.lock_id} expired at 1970-01-12T13:51:40Z unrenewed)" in str(
        lost.value
    )


class RecordingExecutor:
    """The applier's ChangeExecutor seam: records each call; ``during`` runs inside the first."""

    def __init__(self, during: Callable[[], None]) -> None:
        self.calls: list[list[str]] = []
        self._during = during

    def execute(self, changes: Sequence[Change]) -> Sequence[Outcome]:
        if not self.calls:
            self._during()
        self.calls.append([c.address for c in changes])
        return [Outcome.done(c.address) for c in changes]


def _plan() -> Plan:
    """Three writes in three waves: a role, a database, then a grant on that database."""
    changes = (
        Change("role.555555555555/mesh-admin", Kind.ROLE, Action.CREATE, MESH),
        Change("database.111111111111/sales", Kind.DATABASE, Action.CREATE, SALES),
        Change(
            "grant.111111111111/sales/marketing",
            Kind.GRANT,
            Action.CREATE,
            SALES,
            depends_on=("database.111111111111/sales",),
        ),
    )
    return Plan("plan-1", mesh_file_sha256="", observed_fingerprint="", changes=changes)


def test_a_lease_taken_over_stops_the_apply_before_its_next_write(
    sandbox: InProcessSandbox,
) -> None:
    table = _table(sandbox)
    info = table.acquire("apply-1 on ci pid 1", "apply")
    taken: list[str] = []

    with Lease(table, info, renew_every=0.01) as lease:

        def take_over_mid_apply() -> None:
            taken.append(_overwrite(sandbox))
            _wait_for(lambda: lease.lost_reason != "")  # the next renewal is refused

        executor = RecordingExecutor(during=take_over_mid_apply)
        result = execute_plan(_plan(), executor, before_write=lease.check)

        with pytest.raises(LockError, match=LOST):
            lease.check()

    assert executor.calls == [["role.555555555555/mesh-admin"]]  # no write after the takeover
    statuses = {r.change.address: (r.status, r.error) for r in result.results}
    assert statuses["role.555555555555/mesh-admin"] == (Status.DONE, "")
    for address in ("database.111111111111/sales", "grant.111111111111/sales/marketing"):
        status, error = statuses[address]
        assert status is Status.SKIPPED
        assert error.startswith(f"{LOST} (lock {info.lock_id} is no longer held: it is now held")
        assert "apply-2 on laptop pid 2" in error
        assert error.endswith("nothing after this point was changed; run plan again")
    held = table.current()
    assert held is not None and held.lock_id == taken[0]  # the new holder's lock is untouched


# --- the engine ----------------------------------------------------------------------------------


def test_a_lock_no_longer_ours_at_release_fails_the_apply(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    file = MeshFile(tmp_path / "mesh.yaml")
    seed_producers(Engine(file.path).spec, sandbox.session)
    engine = Engine(file.path)
    table = _table(sandbox)

    with pytest.raises(LockError) as refused, engine.locked("apply") as lease:
        plan = engine.plan()
        assert plan.has_changes
        taken = _take_over(table, lease.lock_id)
        lease.renew()  # what the lease thread does every 100 s
        result = engine.execute(plan, max_revokes=100, allow_mass_revoke=False)

    message = str(refused.value)
    assert message.startswith(f"the apply lock was no longer ours at release: lock {lease.lock_id}")
    assert "apply-2 on laptop pid 2" in message and "run plan again" in message
    assert {r.status for r in result.results} == {Status.SKIPPED}
    assert all(r.error.startswith(LOST) for r in result.results)
    replan = Engine(file.path).plan()  # nothing was written
    assert [c.address for c in replan.effective_changes] == [
        c.address for c in plan.effective_changes
    ]
    held = table.current()
    assert held is not None and held.lock_id == taken  # the other apply's lock stands


def test_an_error_in_the_apply_is_not_hidden_by_the_lost_lock(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    engine = Engine(MeshFile(tmp_path / "mesh.yaml").path)
    table = _table(sandbox)
    with (
        pytest.raises(RuntimeError, match="the apply itself failed"),
        engine.locked("apply") as lease,
    ):
        _take_over(table, lease.lock_id)
        raise RuntimeError("the apply itself failed")
