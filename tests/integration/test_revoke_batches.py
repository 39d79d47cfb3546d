"""Revokes batched 20 a call: an answer about the whole call is never taken as every entry's."""

from __future__ import annotations

from support.faults import FaultInjector
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.codec import to_json
from meshctl.observed import Grant, LfResource, ResourceType
from meshctl.outcome import Status
from meshctl.planning.plan import Action, Change, Kind
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec

MESH, CONSUMER, DB = "555555555555", "999999999999", "sales-111111111111"
SPEC = MeshSpec(
    mesh=MeshSettings(MESH, "us-east-1"),
    accounts=(Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),),
)
NOTHING_REVOKED = (
    400,
    "InvalidInputException",
    "No permissions revoked. Grantee has no permissions and no grantable permissions on resource",
)


def _grant(table: str) -> Grant:
    return Grant(CONSUMER, LfResource(ResourceType.TABLE, MESH, DB, table), frozenset({"SELECT"}))


def _change(action: Action, grant: Grant) -> Change:
    value = to_json(grant)
    before, after = (value, None) if action is Action.DELETE else (None, value)
    return Change(grant.address, Kind.GRANT, action, MESH, before=before, after=after)


def test_a_call_level_nothing_revoked_answer_is_checked_entry_by_entry(
    sandbox: InProcessSandbox,
) -> None:
    glue = sandbox.session(MESH).client("glue")
    glue.create_database(DatabaseInput={"Name": DB})
    for name in ("orders", "customers", "payments"):
        glue.create_table(DatabaseName=DB, TableInput={"Name": name})
    sessions = AccountSessions(SPEC.mesh, SPEC.accounts)
    executor = Executor(sessions, who="test", plan_id="p", commit=None, sleep=lambda _: None)
    held = [_grant("orders"), _grant("customers")]
    never = _grant("payments")  # nothing to revoke: done, as before
    assert all(
        o.status is Status.DONE for o in executor.execute([_change(Action.CREATE, g) for g in held])
    )
    # The first revoke call of three entries is answered "No permissions revoked" as a whole.
    faults = FaultInjector(
        1.0, operations=frozenset({"BatchRevokePermissions"}), limit=1, error=NOTHING_REVOKED
    )
    faults.install(sessions)

    outcomes = executor.execute([_change(Action.DELETE, g) for g in (*held, never)])

    assert faults.injected.total() == 1
    assert [o.status for o in outcomes] == [Status.DONE] * 3
    left = [g for g in read_mesh(SPEC, sessions).grants if g.principal == CONSUMER]
    assert left == []  # the two held grants were really revoked, not just reported done
    assert sessions.stats.calls(operation="BatchRevokePermissions") == 1 + 3
