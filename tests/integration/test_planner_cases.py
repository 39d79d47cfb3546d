"""The planner's data-driven cases (tests/data/planner/*.json, see support/planner_cases.py),
against the sandbox rather than a model of AWS.

For each case: the producers' source tables are created, the ``converged`` spec is applied with
the real reader, planner and executor, and the case's hand edits are made with plain boto3 calls
(_hand.py). Then, as `meshctl apply` does: read, plan, and check the plan against the case
(changes in order, warnings, depends_on, after, before, revoke_count, raises); apply it with the
real executor (every change done); plan again, which must change nothing. Lake Formation's own
ListPermissions, before and after the apply, must show exactly the revokes the plan announced:
a grant that disappears without a DELETE change of its own is a silent revoke.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.planner_cases import Case, case_files, load_case
from support.sandbox import InProcessSandbox

from meshctl import codec
from meshctl.errors import PlanError
from meshctl.observed import Grant
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.planning.planner import revoke_count

from ._hand import Hand, make_edits
from ._live import (
    Console,
    LiveMesh,
    create_table,
    failures,
    lf_grants,
    record_statuses,
    sandbox_sessions,
)


def build_live(console: Console, case: Case) -> LiveMesh:
    """The case's observed state, made in the sandbox; the mesh as the case's spec reads it."""
    sessions = sandbox_sessions(case.spec)  # the converging apply's too: same mesh, same keys
    for table in case.sources:
        create_table(console, table)
    if (converged := case.converged_spec) is not None:
        LiveMesh(converged, sessions).converge(case.converged_today)
    live = LiveMesh(case.spec, sessions)
    make_edits(Hand(console, live.read), case.observed)
    return live


def check_plan(case: dict[str, Any], plan: Plan) -> None:
    got = [[c.address, c.action.value, c.drift.value if c.drift else None] for c in plan.changes]
    assert got == case["expected"]
    if "warnings" in case:
        assert list(plan.warnings) == case["warnings"]
    if "held" in case:
        assert [h.message for h in plan.held] == case["held"]
    by_address = {c.address: c for c in plan.changes}
    for address, deps in case.get("depends_on", {}).items():
        assert sorted(by_address[address].depends_on) == sorted(deps), address
    for address, want in case.get("after", {}).items():
        after = by_address[address].after
        assert {k: after[k] for k in want} == want, address
    for address, want in case.get("before", {}).items():
        before = by_address[address].before
        assert {k: before[k] for k in want} == want, address
    if "revoke_count" in case:
        assert revoke_count(plan) == case["revoke_count"]


def _dropped(before: Grant, after: Grant) -> bool:
    return bool(before.permissions - after.permissions or before.grantable - after.grantable)


Taken = tuple[dict[str, Grant], dict[str, str]]  # grants by address, record statuses by id


def taken(console: Console) -> Taken:
    """What access exists, straight from AWS: ListPermissions and the subscription items."""
    return lf_grants(console), record_statuses(console)


def check_revokes(plan: Plan, before: Taken, after: Taken) -> None:
    """What apply took away is exactly what the plan announced (no silent revoke)."""
    (grants_before, statuses_before), (grants_after, statuses_after) = before, after
    changes = plan.effective_changes
    gone = sorted(grants_before.keys() - grants_after.keys())
    narrowed = sorted(
        a
        for a in grants_before.keys() & grants_after.keys()
        if _dropped(grants_before[a], grants_after[a])
    )
    archived = sorted(
        i for i, s in statuses_after.items() if s == "Deleted" and statuses_before.get(i) != s
    )
    grant_changes = [c for c in changes if c.kind is Kind.GRANT]
    revoked = sorted(c.address for c in grant_changes if c.action is Action.DELETE)
    assert gone == revoked, "grants gone from ListPermissions vs grant deletes planned"
    assert narrowed == sorted(
        c.address
        for c in grant_changes
        if c.action is Action.UPDATE
        and _dropped(codec.from_json(Grant, c.before), codec.from_json(Grant, c.after))
    ), "grants that lost permissions vs grant updates planned to drop some"
    assert archived == sorted(
        c.before["subscription_id"]
        for c in changes
        if c.kind is Kind.SUBSCRIPTION and c.action is Action.DELETE
    ), "records archived vs archives planned"
    # One count for the summary and --max-revokes: every delete, and the narrowing grant updates.
    other_deletes = [
        c
        for c in changes
        if c.action is Action.DELETE and c.kind not in (Kind.GRANT, Kind.SUBSCRIPTION)
    ]
    assert revoke_count(plan) == len(gone) + len(narrowed) + len(archived) + len(other_deletes)


@pytest.mark.parametrize("path", list(case_files()), ids=lambda p: p.stem)
def test_case(path: Path, sandbox: InProcessSandbox) -> None:
    case = load_case(path)
    console = Console(sandbox, case.spec)
    live = build_live(console, case)
    if "raises" in case.raw:
        with pytest.raises(PlanError, match=case.raw["raises"]):
            live.plan(case.today, prune=case.prune)
        return
    plan = live.plan(case.today, prune=case.prune)
    check_plan(case.raw, plan)

    before = taken(console)
    result = live.apply(plan, case.today)
    assert result.ok, failures(result)
    check_revokes(plan, before, taken(console))

    again = live.plan(case.today, prune=case.prune)
    assert [(c.address, c.action.value, c.reason) for c in again.effective_changes] == []
