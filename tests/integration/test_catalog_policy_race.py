"""The catalog resource policy is written only over the policy the plan read (issue 11, bug 6).

PutResourcePolicy replaces the whole policy, and the plan's policy merges the mesh statement into
what it read. Written unconditionally, it would drop any statement someone added between plan and
apply. The plan carries Glue's PolicyHash of what it read; apply sends it as PolicyHashCondition
(or PolicyExistsCondition=NOT_EXIST when there was no policy), and a refused condition fails the
change, writing nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.outcome import Outcome, Status
from meshctl.planning.plan import Action, Change, Kind
from meshctl.planning.planner import make_plan
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec

MESH = "555555555555"
CONSUMER = "999999999999"
SPEC = MeshSpec(
    mesh=MeshSettings(MESH, "us-east-1"),
    accounts=(Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),),
)
CATALOG = f"arn:aws:glue:us-east-1:{MESH}:catalog"
REFUSED = "the Glue catalog resource policy changed since plan; not overwritten — run plan again"


def _statement(account: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "glue:GetDatabase",
        "Resource": CATALOG,
    }


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def sessions(sandbox: InProcessSandbox) -> AccountSessions:
    return AccountSessions(SPEC.mesh, SPEC.accounts)


@pytest.fixture
def glue(sandbox: InProcessSandbox) -> Any:
    return sandbox.session(MESH).client("glue")


def _catalog_changes(sessions: AccountSessions) -> list[Change]:
    """The catalog policy changes of a plan of the live state."""
    plan = make_plan(
        SPEC,
        read_mesh(SPEC, sessions),
        plan_id="plan-1",
        mesh_file_sha256="0" * 64,
        today=date(2026, 5, 1),
    )
    return [c for c in plan.changes if c.kind is Kind.CATALOG_POLICY]


def _plan(sessions: AccountSessions) -> Change:
    (change,) = _catalog_changes(sessions)
    return change


def _apply(sessions: AccountSessions, change: Change) -> Outcome:
    executor = Executor(
        sessions,
        who="arn:aws:sts::123456789012:user/ci",
        plan_id="plan-1",
        commit=None,
        clock=lambda: datetime(2026, 5, 1, tzinfo=UTC),
        sleep=lambda _: None,
    )
    (outcome,) = executor.execute([change])
    return outcome


def _statements(glue: Any) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(glue.get_resource_policy()["PolicyInJson"])[
        "Statement"
    ]
    return statements


def _grants_ram(statement: dict[str, Any]) -> bool:
    return "ram.amazonaws.com" in json.dumps(statement.get("Principal"))


def test_the_plan_carries_the_hash_of_the_policy_it_read(
    sessions: AccountSessions, glue: Any
) -> None:
    written = glue.put_resource_policy(PolicyInJson=_policy(_statement("777777777777")))
    change = _plan(sessions)
    assert change.action is Action.UPDATE
    assert change.before["policy_hash"] == written["PolicyHash"]


def test_an_edit_made_after_the_plan_is_not_overwritten(
    sessions: AccountSessions, glue: Any
) -> None:
    glue.put_resource_policy(PolicyInJson=_policy(_statement("777777777777")))
    change = _plan(sessions)
    # Someone adds a statement between plan and apply.
    edited = _policy(_statement("777777777777"), _statement("888888888888"))
    glue.put_resource_policy(PolicyInJson=edited)

    outcome = _apply(sessions, change)
    assert outcome.status is Status.FAILED
    assert outcome.error == REFUSED
    assert glue.get_resource_policy()["PolicyInJson"] == edited  # their edit is still there

    # A new plan reads their edit and keeps it beside the mesh statement.
    assert _apply(sessions, _plan(sessions)).status is Status.DONE
    kept = _statements(glue)
    assert _statement("888888888888") in kept and _statement("777777777777") in kept
    assert any(_grants_ram(s) for s in kept)


def test_a_policy_created_after_the_plan_is_not_overwritten(
    sessions: AccountSessions, glue: Any
) -> None:
    change = _plan(sessions)
    assert change.action is Action.CREATE  # no policy at plan time: written only if still none
    theirs = _policy(_statement("888888888888"))
    glue.put_resource_policy(PolicyInJson=theirs)

    outcome = _apply(sessions, change)
    assert outcome.status is Status.FAILED and outcome.error == REFUSED
    assert glue.get_resource_policy()["PolicyInJson"] == theirs


def test_a_policy_deleted_after_the_plan_is_not_written_back(
    sessions: AccountSessions, glue: Any
) -> None:
    glue.put_resource_policy(PolicyInJson=_policy(_statement("777777777777")))
    change = _plan(sessions)
    glue.delete_resource_policy()

    outcome = _apply(sessions, change)
    assert outcome.status is Status.FAILED and outcome.error == REFUSED
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_resource_policy()


@pytest.mark.parametrize("existing", [True, False], ids=["update", "create"])
def test_without_a_concurrent_edit_the_policy_is_written_and_a_rerun_is_done(
    sessions: AccountSessions, glue: Any, existing: bool
) -> None:
    if existing:
        glue.put_resource_policy(PolicyInJson=_policy(_statement("777777777777")))
    change = _plan(sessions)

    assert _apply(sessions, change).status is Status.DONE
    statements = _statements(glue)
    assert any(_grants_ram(s) for s in statements)
    assert (_statement("777777777777") in statements) is existing
    # The same change again (an interrupted apply run twice): refused by Glue, but the policy is
    # already the wanted one, so it is done.
    assert _apply(sessions, change).status is Status.DONE
    assert _catalog_changes(sessions) == []
