"""Properties of the pure planner beyond single cases: coverage of the case files, determinism,
the plan file round trip, desired role documents, protected products, and planning speed.

The data-driven cases themselves (tests/data/planner/*.json) run against the sandbox, with the
real reader and executor: tests/integration/test_planner_cases.py. Here live states are
snapshots of desired values (``desired_snapshot``), never a simulated apply.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from support.planner_cases import (
    BASE,
    CASES,
    TODAY,
    build_spec,
    case_files,
    load_case,
    plan_of,
    source_table,
)

from meshctl import codec
from meshctl.errors import PlanError
from meshctl.observed import (
    Database,
    Grant,
    IamUser,
    LakeSettings,
    ObservedMesh,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.spec.model import (
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
)

SOURCES = tuple(source_table(t) for t in BASE["sources"])


def empty_mesh(spec: MeshSpec, sources: Iterable[Table]) -> ObservedMesh:
    """A mesh account holding nothing; the producers hold their source tables."""
    return ObservedMesh(spec.mesh.account_id, tables=tuple(sources))


def desired_snapshot(spec: MeshSpec, sources: Iterable[Table], today: date) -> ObservedMesh:
    """A live state holding exactly what ``spec`` desires: the ``after`` value of every change
    planned against an empty mesh, put where the reader puts it. A snapshot of desired values,
    not a model of apply (a plan from empty only creates and updates)."""
    plan = plan_of(spec, empty_mesh(spec, sources), today)
    after: dict[Kind, list[Any]] = defaultdict(list)
    for change in plan.changes:
        assert change.action in (Action.CREATE, Action.UPDATE), change.address
        after[change.kind].append(change.after)

    def values(cls: type[Any], *kinds: Kind) -> tuple[Any, ...]:
        return tuple(codec.from_json(cls, v) for kind in kinds for v in after[kind])

    databases = {d.address: d for d in values(Database, Kind.DATABASE, Kind.RESOURCE_LINK)}
    return ObservedMesh(
        mesh_account_id=spec.mesh.account_id,
        subscriptions_table_exists=bool(after[Kind.SUBSCRIPTIONS_TABLE]),
        subscriptions=values(SubscriptionRecord, Kind.SUBSCRIPTION),
        grants=values(Grant, Kind.GRANT),
        lake_settings=values(LakeSettings, Kind.LAKE_SETTINGS)[0],
        catalog_policy=after[Kind.CATALOG_POLICY][0]["policy"],
        lf_tags=tuple((t["key"], tuple(t["values"])) for t in after[Kind.LF_TAG]),
        roles=values(Role, Kind.ROLE),
        iam_users=values(IamUser, Kind.IAM_USER),
        databases=tuple(databases.values()),
        tables=(*sources, *values(Table, Kind.TABLE)),
        location_roles=tuple((v["resource_arn"], "") for v in after[Kind.DATA_LOCATION]),
    )


def test_every_kind_action_and_drift_is_covered_by_the_cases() -> None:
    seen: set[tuple[str, str, str]] = set()
    for path in case_files():
        for address, action, drift in json.loads(path.read_text()).get("expected", ()):
            seen.add((address.split(".")[0], action, drift))
    kinds = {k for k, _, _ in seen}
    assert {"mesh", "lf_tag", "role", "database", "table", "grant", "subscription"} <= kinds
    assert "resource_link" in kinds
    assert {a for _, a, _ in seen} == {a.value for a in Action}
    assert {d for _, _, d in seen} == {"missing", "changed", "orphaned", "unmanaged"}
    assert len(list(case_files())) >= 25


def test_desired_snapshot_plans_nothing() -> None:
    spec = build_spec()
    assert plan_of(spec, desired_snapshot(spec, SOURCES, TODAY), TODAY).changes == ()


def test_plan_is_deterministic_and_inputs_are_untouched() -> None:
    case = load_case(CASES / "44_mixed_creates_before_deletes.json")
    assert case.converged_spec is not None
    observed = desired_snapshot(case.converged_spec, case.sources, case.converged_today)
    fingerprint = codec.sha256_of(observed)
    first = plan_of(case.spec, observed, case.today)
    shuffled = dataclasses.replace(
        observed,
        grants=tuple(reversed(observed.grants)),
        subscriptions=tuple(reversed(observed.subscriptions)),
    )
    second = plan_of(case.spec, shuffled, case.today)
    assert first.changes == second.changes
    assert [c.address for c in first.changes] == [a for a, _, _ in case.raw["expected"]]
    assert codec.sha256_of(observed) == fingerprint  # the input is untouched
    assert first.observed_fingerprint == observed.fingerprint == shuffled.fingerprint
    assert dataclasses.replace(observed, catalog_policy="{}").fingerprint != observed.fingerprint


def test_plan_round_trips_through_its_json_file() -> None:
    case = load_case(CASES / "01_empty_mesh_creates_everything.json")
    plan = plan_of(case.spec, empty_mesh(case.spec, case.sources), case.today)
    assert Plan.from_json(json.loads(plan.dumps())) == plan
    assert dict(plan.context) == {"prune": "false", "today": "2026-03-01"}
    assert plan.summary == {"create": 26, "update": 2, "delete": 0}


def test_desired_roles_carry_the_policy_documents() -> None:
    from meshctl.planning import policies

    case = load_case(CASES / "01_empty_mesh_creates_everything.json")
    plan = plan_of(case.spec, empty_mesh(case.spec, case.sources), case.today)
    by_address = {c.address: c for c in plan.changes}
    admin = codec.from_json(
        Role, by_address["role.555555555555/DataMeshAdminProducer-111111111111"].after
    )
    assert json.loads(admin.trust_policy) == policies.admin_producer_trust("111111111111")
    assert json.loads(admin.policy) == policies.admin_producer_policy(
        "555555555555", "111111111111", "us-east-1"
    )
    member = codec.from_json(Role, by_address["role.111111111111/DataMeshProducer"].after)
    assert member.path == "/AwsDataMesh/" and member.account_id == "111111111111"


def test_protected_product_is_refused_even_with_prune() -> None:
    spec = build_spec({"products": {"sales.orders": None}, "subscriptions": None})
    protected = build_spec({"products": {"sales.orders": {"protect": True}}})
    observed = desired_snapshot(protected, SOURCES, TODAY)
    with pytest.raises(PlanError, match="sales-111111111111"):
        plan_of(spec, observed, TODAY, prune=True)


def big_mesh(subscriptions: int) -> tuple[MeshSpec, list[Table]]:
    """20 producers, 50 consumers, 400 products of two tables, ``subscriptions`` approved."""
    producers = [
        Account(f"p{i}", f"1{i:011d}", frozenset({AccountRole.PRODUCER})) for i in range(20)
    ]
    consumers = [
        Account(f"c{i}", f"9{i:011d}", frozenset({AccountRole.CONSUMER})) for i in range(50)
    ]
    products, sources = [], []
    for i in range(400):
        producer = producers[i % 20]
        db = f"db{i}"
        products.append(
            Product(
                f"prod{i}",
                producer.name,
                db,
                ("a", "b"),
                f"{db}-{producer.account_id}",
                owners=("o",),
                tags=(("Domain", f"d{i % 5}"),),
            )
        )
        sources += [
            source_table({"account_id": producer.account_id, "database": db, "name": t})
            for t in "ab"
        ]
    pairs = sorted(
        {(consumers[k % 50].name, f"prod{(k * 7 + k // 50) % 400}") for k in range(subscriptions)}
    )
    subs = tuple(
        Subscription(
            c,
            p,
            (),
            frozenset({"SELECT", "DESCRIBE"}),
            status=SubscriptionStatus.APPROVED,
            approved_by="o",
        )
        for c, p in pairs
    )
    spec = MeshSpec(
        MeshSettings("555555555555", "us-east-1"), (*producers, *consumers), tuple(products), subs
    )
    return spec, sources


def _noop_plan_seconds(subscriptions: int) -> float:
    spec, sources = big_mesh(subscriptions)
    observed = desired_snapshot(spec, sources, TODAY)
    best = float("inf")
    for _ in range(2):
        start = time.process_time()
        plan = plan_of(spec, observed, TODAY)
        best = min(best, time.process_time() - start)
        assert not plan.changes
    return best


def test_planning_5000_subscriptions_is_fast_and_grows_linearly() -> None:
    small = _noop_plan_seconds(1000)
    large = _noop_plan_seconds(5000)
    print(f"no-op plan: 1,000 subscriptions {small:.2f}s, 5,000 subscriptions {large:.2f}s")
    # Well under a second on an idle machine (fingerprinting the snapshot included); the bound
    # leaves room for a busy CI runner. Quadratic work would make the ratio about 25.
    assert large < 2.5
    assert large / small < 10
