"""A write refused by a concurrent one (``ConcurrentModificationException``, which botocore does
not retry) is tried again by meshctl: whole calls by ``AccountApi.call``, single entries of a
batch by ``apply/grants.py``, both with ``retry.CONFLICT_BACKOFF`` and the sleep passed in."""

from __future__ import annotations

from typing import Any

import pytest
from support.faults import FaultInjector, FaultKind
from support.sandbox import InProcessSandbox

from meshctl.aws.api import AccountApi
from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.retry import CONFLICT_BACKOFF
from meshctl.aws.sessions import AccountSessions
from meshctl.codec import to_json
from meshctl.errors import AwsError
from meshctl.observed import Grant, LfResource, ResourceType
from meshctl.outcome import Status
from meshctl.planning.plan import Action, Change, Kind
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec

MESH, CONSUMER, DB = "555555555555", "999999999999", "sales-111111111111"
SPEC = MeshSpec(
    mesh=MeshSettings(MESH, "us-east-1"),
    accounts=(Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),),
)
ADMIN = f"arn:aws:iam::{MESH}:role/Admin"


def _conflicts(operation: str, limit: int | None) -> FaultInjector:
    return FaultInjector(
        1.0, operations=frozenset({operation}), weights={FaultKind.CONCURRENT: 1}, limit=limit
    )


def _put_settings(api: AccountApi) -> None:
    api.require(
        "lakeformation",
        "put_data_lake_settings",
        DataLakeSettings={"DataLakeAdmins": [{"DataLakePrincipalIdentifier": ADMIN}]},
    )


def test_a_call_refused_by_a_concurrent_write_is_retried_with_the_injected_sleep(
    sandbox: InProcessSandbox,
) -> None:
    sessions = AccountSessions(SPEC.mesh, SPEC.accounts)
    faults = _conflicts("PutDataLakeSettings", limit=2)
    faults.install(sessions)
    slept: list[float] = []

    _put_settings(AccountApi(sessions, MESH, sleep=slept.append))

    assert faults.injected[FaultKind.CONCURRENT] == 2
    assert slept == [0.25, 0.5]
    admins = sandbox.session(MESH).client("lakeformation").get_data_lake_settings()
    assert admins["DataLakeSettings"]["DataLakeAdmins"] == [{"DataLakePrincipalIdentifier": ADMIN}]


def test_a_lasting_conflict_fails_after_every_try_of_the_policy(sandbox: InProcessSandbox) -> None:
    sessions = AccountSessions(SPEC.mesh, SPEC.accounts)
    _conflicts("PutDataLakeSettings", limit=None).install(sessions)
    slept: list[float] = []

    with pytest.raises(AwsError) as raised:
        _put_settings(AccountApi(sessions, MESH, sleep=slept.append))

    assert slept == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert sessions.stats.calls(operation="PutDataLakeSettings") == CONFLICT_BACKOFF.attempts
    assert str(raised.value).startswith(
        f"lakeformation:PutDataLakeSettings failed in account {MESH}: "
        "ConcurrentModificationException"
    )


def _grants(sandbox: InProcessSandbox) -> list[Change]:
    glue = sandbox.session(MESH).client("glue")
    glue.create_database(DatabaseInput={"Name": DB})
    changes = []
    for name in ("orders", "customers"):
        glue.create_table(DatabaseName=DB, TableInput={"Name": name})
        grant = Grant(
            CONSUMER, LfResource(ResourceType.TABLE, MESH, DB, name), frozenset({"SELECT"})
        )
        changes.append(Change(grant.address, Kind.GRANT, Action.CREATE, MESH, after=to_json(grant)))
    return changes


def _granted(sessions: AccountSessions) -> set[str]:
    return {g.resource.table for g in read_mesh(SPEC, sessions).grants if g.principal == CONSUMER}


def test_a_batch_call_refused_as_a_whole_is_retried_once_not_twice(
    sandbox: InProcessSandbox,
) -> None:
    """The whole call is AccountApi's to retry; grants.py sees it only if every try failed."""
    changes = _grants(sandbox)
    sessions = AccountSessions(SPEC.mesh, SPEC.accounts)
    _conflicts("BatchGrantPermissions", limit=1).install(sessions)
    slept: list[float] = []
    executor = Executor(sessions, who="test", plan_id="p", commit=None, sleep=slept.append)

    outcomes = executor.execute(changes)

    assert [o.status for o in outcomes] == [Status.DONE, Status.DONE]
    assert slept == [0.25]
    assert sessions.stats.calls(operation="BatchGrantPermissions") == 2
    assert _granted(sessions) == {"orders", "customers"}


def test_a_batch_entry_refused_alone_is_retried_alone_with_the_same_backoff(
    sandbox: InProcessSandbox,
) -> None:
    changes = _grants(sandbox)
    sessions = AccountSessions(SPEC.mesh, SPEC.accounts)
    slept: list[float] = []
    executor = Executor(sessions, who="test", plan_id="p", commit=None, sleep=slept.append)
    sent: list[list[str]] = []

    def record_entries(params: dict[str, Any], **_: Any) -> None:
        sent.append([str(e["Id"]) for e in params["Entries"]])

    def answer_conflict_once(parsed: dict[str, Any], **_: Any) -> None:
        if len(sent) == 1:  # the first call's answer: entry 0 lost a race (as Lake Formation says)
            error = {"ErrorCode": "ConcurrentModificationException", "ErrorMessage": "retry"}
            parsed["Failures"] = [{"RequestEntry": {"Id": "0"}, "Error": error}]

    events = sessions.client(MESH, "lakeformation").meta.events
    events.register("provide-client-params.lakeformation.BatchGrantPermissions", record_entries)
    events.register("after-call.lakeformation.BatchGrantPermissions", answer_conflict_once)

    outcomes = executor.execute(changes)

    assert [o.status for o in outcomes] == [Status.DONE, Status.DONE]
    assert sent == [["0", "1"], ["0"]]  # only the refused entry again
    assert slept == [CONFLICT_BACKOFF.delay(0)]
    assert _granted(sessions) == {"orders", "customers"}
