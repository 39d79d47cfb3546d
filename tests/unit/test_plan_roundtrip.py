"""A saved plan must come back from JSON exactly as it was made (apply reads plan files)."""

from __future__ import annotations

import json

from meshctl.codec import from_json, sha256_of, to_json
from meshctl.observed import Grant, LfResource, ResourceType
from meshctl.planning.plan import Action, Change, Drift, GroupRef, Kind, Plan, Scope


def _grant() -> Grant:
    return Grant(
        principal="999999999999",
        resource=LfResource(ResourceType.TABLE, "555555555555", "sales-111111111111", "orders"),
        permissions=frozenset({"SELECT", "DESCRIBE"}),
        grantable=frozenset(),
    )


def test_value_round_trips_through_json() -> None:
    grant = _grant()
    assert from_json(Grant, json.loads(json.dumps(to_json(grant)))) == grant


def test_same_value_same_fingerprint_regardless_of_set_order() -> None:
    a = _grant()
    b = Grant(a.principal, a.resource, frozenset({"DESCRIBE", "SELECT"}))
    assert sha256_of(a) == sha256_of(b)


def test_plan_round_trips_and_counts_summary() -> None:
    grant = _grant()
    plan = Plan(
        plan_id="p1",
        mesh_file_sha256="abc",
        observed_fingerprint="def",
        changes=(
            Change(
                address=grant.address,
                kind=Kind.GRANT,
                action=Action.CREATE,
                account_id="555555555555",
                after=to_json(grant),
                drift=Drift.MISSING,
                reason="approved subscription",
                group=GroupRef(Scope.DATABASE, "sales-111111111111"),
            ),
        ),
    )
    assert plan.to_json()["changes"][0]["group"] == {
        "scope": "database",
        "name": "sales-111111111111",
    }
    again = Plan.from_json(json.loads(plan.dumps()))
    assert again == plan
    assert again.summary == {"create": 1, "update": 0, "delete": 0}
    assert grant.address == "grant.999999999999/table:555555555555:sales-111111111111.orders"
