"""The planner, driven by data: tests/data/planner/*.json hold (spec, observed, today, prune) and
the changes expected, in order. A case's spec is ``_base.json``'s spec with the case's overlay
merged in (maps merge key by key, ``null`` removes a key, lists are replaced); subscriptions are
a map keyed ``consumer/product``.

Observed state is built the way it would be after earlier applies: ``converged`` is the state
after applying the plan of a spec (the case's own, or ``_base`` with another overlay) to an
empty mesh holding only the producers' source tables; edits then remove, add or change values.
Applying is simulated here: each change's ``after`` value is written where the readers would
find it (this is the contract apply follows: ``codec.from_json(Type, change.after)``).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from meshctl import codec
from meshctl.canonical import canonical_grants
from meshctl.errors import PlanError
from meshctl.model import (
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
)
from meshctl.observed import (
    Column,
    Database,
    Grant,
    IamUser,
    LakeSettings,
    LfResource,
    ObservedMesh,
    ResourceType,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.plan import Action, Kind, Plan
from meshctl.planner import make_plan, revoke_count

CASES = Path(__file__).parent.parent / "data" / "planner"
BASE = json.loads((CASES / "_base.json").read_text())
TODAY = date.fromisoformat(BASE["today"])


# --- building inputs ----------------------------------------------------------------------------


def merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(overlay)


def build_spec(overlay: dict[str, Any] | None = None) -> MeshSpec:
    raw = merge(BASE["spec"], overlay or {})
    mesh = raw["mesh"]
    accounts = tuple(
        Account(name, a["account_id"], frozenset(AccountRole(r) for r in a["roles"]))
        for name, a in sorted(raw["accounts"].items())
    )
    products = tuple(
        Product(
            name=name,
            producer=p["producer"],
            source_database=p["source_database"],
            tables=tuple(p["tables"]),
            mesh_database=p.get("mesh_database")
            or f"{p['source_database']}-{raw['accounts'][p['producer']]['account_id']}",
            description=p.get("description", ""),
            owners=tuple(p.get("owners", ())),
            tags=tuple(sorted(p.get("tags", {}).items())),
            protect=p.get("protect", False),
        )
        for name, p in sorted(raw.get("products", {}).items())
    )
    subscriptions = tuple(
        Subscription(
            consumer=key.split("/")[0],
            product=key.split("/")[1],
            tables=tuple(s.get("tables", ())),
            permissions=frozenset(s["permissions"]),
            grantable=frozenset(s.get("grantable", ())),
            status=SubscriptionStatus(s.get("status", "pending")),
            approved_by=s.get("approved_by"),
            purpose=s.get("purpose", ""),
            expires=date.fromisoformat(s["expires"]) if s.get("expires") else None,
        )
        for key, s in sorted(raw.get("subscriptions", {}).items())
    )
    return MeshSpec(
        mesh=MeshSettings(
            mesh["account_id"],
            mesh["region"],
            role_arn=mesh.get("role_arn"),
            iam_users=mesh.get("iam_users", False),
        ),
        accounts=accounts,
        products=products,
        subscriptions=subscriptions,
    )


def source_table(raw: dict[str, Any]) -> Table:
    return Table(
        account_id=raw["account_id"],
        database=raw["database"],
        name=raw["name"],
        columns=tuple(Column(n, t) for n, t in raw.get("columns", [["id", "bigint"]])),
        partition_keys=tuple(Column(n, t) for n, t in raw.get("partition_keys", [])),
        location=raw.get("location", f"s3://{raw['database']}/{raw['name']}/"),
        owner=raw.get("owner", "etl"),
        input_format="org.apache.hadoop.mapred.TextInputFormat",
        serde="org.openx.data.jsonserde.JsonSerDe",
        parameters=tuple(sorted(raw.get("parameters", {"classification": "json"}).items())),
    )


@dataclasses.dataclass
class State:
    """A mutable observed snapshot keyed by address, turned into an ``ObservedMesh`` on demand."""

    mesh_account_id: str
    table_exists: bool = False
    records: dict[str, SubscriptionRecord] = dataclasses.field(default_factory=dict)
    grants: dict[str, Grant] = dataclasses.field(default_factory=dict)
    settings: LakeSettings = dataclasses.field(default_factory=LakeSettings)
    catalog_policy: str = ""
    lf_tags: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    roles: dict[str, Role] = dataclasses.field(default_factory=dict)
    iam_users: dict[str, IamUser] = dataclasses.field(default_factory=dict)
    databases: dict[str, Database] = dataclasses.field(default_factory=dict)
    tables: dict[str, Table] = dataclasses.field(default_factory=dict)
    pending: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    locations: set[str] = dataclasses.field(default_factory=set)

    def freeze(self) -> ObservedMesh:
        return ObservedMesh(
            mesh_account_id=self.mesh_account_id,
            subscriptions_table_exists=self.table_exists,
            subscriptions=tuple(self.records.values()),
            grants=tuple(self.grants.values()),
            lake_settings=self.settings,
            catalog_policy=self.catalog_policy,
            lf_tags=tuple(sorted(self.lf_tags.items())),
            roles=tuple(self.roles.values()),
            iam_users=tuple(self.iam_users.values()),
            databases=tuple(self.databases.values()),
            tables=tuple(self.tables.values()),
            pending_invitations=tuple(sorted(self.pending)),
            registered_locations=tuple(sorted(self.locations)),
        )

    def by_address(self) -> tuple[dict[str, Any], ...]:
        """The values case files may remove or edit by address."""
        return (self.grants, self.roles, self.iam_users, self.databases, self.tables)

    def apply(self, plan: Plan) -> None:
        """Write every change's ``after`` value where the readers would find it."""
        for change in plan.effective_changes:
            deleting = change.action is Action.DELETE
            match change.kind:
                case Kind.SUBSCRIPTIONS_TABLE:
                    self.table_exists = True
                case Kind.LAKE_SETTINGS:
                    self.settings = codec.from_json(LakeSettings, change.after)
                case Kind.CATALOG_POLICY:
                    self.catalog_policy = change.after["policy"]
                case Kind.LF_TAG:
                    self.lf_tags[change.after["key"]] = tuple(change.after["values"])
                case Kind.DATA_LOCATION:
                    self.locations.add(change.after["resource_arn"])
                case Kind.ROLE:
                    self._put(self.roles, Role, change.address, change.after, deleting)
                case Kind.IAM_USER:
                    self._put(self.iam_users, IamUser, change.address, change.after, deleting)
                case Kind.TABLE:
                    self._put(self.tables, Table, change.address, change.after, deleting)
                case Kind.GRANT:
                    self._put(self.grants, Grant, change.address, change.after, deleting)
                case Kind.DATABASE | Kind.RESOURCE_LINK:
                    value = codec.from_json(Database, change.after or change.before)
                    self._put(self.databases, Database, value.address, change.after, deleting)
                    if change.kind is Kind.RESOURCE_LINK and not deleting:
                        self.pending = {p for p in self.pending if p[0] != value.account_id}
                case Kind.SUBSCRIPTION:
                    record = codec.from_json(SubscriptionRecord, change.after)
                    record = dataclasses.replace(record, version=record.version + 1)
                    self.records[record.subscription_id] = record

    @staticmethod
    def _put(where: dict[str, Any], cls: type, address: str, after: Any, deleting: bool) -> None:
        if deleting:
            del where[address]
        else:
            where[address] = codec.from_json(cls, after)


def parse_resource(key: str) -> LfResource:
    """The inverse of ``LfResource.key`` (for compact grants in case files)."""
    kind, catalog, rest = ([*key.split(":", 2), ""])[:3]
    if kind == "catalog":
        return LfResource(ResourceType.CATALOG, catalog)
    if kind == "database":
        return LfResource(ResourceType.DATABASE, catalog, rest)
    if kind == "location":
        return LfResource(ResourceType.DATA_LOCATION, catalog, table=rest)
    db, table = rest.split(".", 1)
    if table == "*":
        return LfResource(ResourceType.TABLE_WILDCARD, catalog, db)
    return LfResource(ResourceType.TABLE, catalog, db, table)


def compact_grant(raw: dict[str, Any]) -> Grant:
    grantable = frozenset(raw.get("grantable", ()))
    return Grant(
        raw["principal"],
        parse_resource(raw["resource"]),
        frozenset(raw["permissions"]) | grantable,
        grantable,
    )


def converged(spec: MeshSpec, sources: list[Table], today: date) -> State:
    state = State(spec.mesh.account_id)
    state.tables = {t.address: t for t in sources}
    state.apply(plan_of(spec, state.freeze(), today))
    return state


def plan_of(spec: MeshSpec, observed: ObservedMesh, today: date, prune: bool = False) -> Plan:
    return make_plan(
        spec, observed, plan_id="test", mesh_file_sha256="0" * 64, today=today, prune=prune
    )


def build_observed(case: dict[str, Any], spec: MeshSpec, sources: list[Table]) -> State:
    raw = case.get("observed", {})
    base = raw.get("converged", True)
    base_today = date.fromisoformat(raw.get("today", BASE["today"]))
    if base is True:
        state = converged(spec, sources, base_today)
    elif isinstance(base, dict):
        state = converged(build_spec(base), sources, base_today)
    else:
        state = State(spec.mesh.account_id)
        state.tables = {t.address: t for t in sources}
    for address in raw.get("remove", ()):
        _remove(state, address)
    for address, fields in raw.get("edit", {}).items():
        _edit(state, address, fields)
    add = raw.get("add", {})
    for g in add.get("grants", ()):
        grant = compact_grant(g)
        state.grants[grant.address] = grant
    for g in canonical_grants(raw.get("raw_grants", ()), spec.mesh.account_id):
        state.grants[g.address] = g
    for r in add.get("records", ()):
        record = codec.from_json(SubscriptionRecord, r)
        state.records[record.subscription_id] = record
    for d in add.get("databases", ()):
        db = codec.from_json(Database, d)
        state.databases[db.address] = db
    for r in add.get("roles", ()):
        role = codec.from_json(Role, r)
        state.roles[role.address] = role
    for u in add.get("iam_users", ()):
        user = codec.from_json(IamUser, u)
        state.iam_users[user.address] = user
    for t in add.get("tables", ()):
        table = source_table(t)
        state.tables[table.address] = table
    state.pending |= {tuple(p) for p in add.get("pending_invitations", ())}  # type: ignore[misc]
    if admins := add.get("admins"):
        state.settings = dataclasses.replace(
            state.settings, admins=state.settings.admins | frozenset(admins)
        )
    if "lake_settings" in raw:
        state.settings = codec.from_json(LakeSettings, raw["lake_settings"])
    if "catalog_policy" in raw:
        state.catalog_policy = codec.canonical_json(raw["catalog_policy"])
    for key, values in raw.get("lf_tags", {}).items():
        state.lf_tags[key] = tuple(values)
    return state


def _remove(state: State, address: str) -> None:
    if address == "mesh.subscriptions_table":
        state.table_exists = False
    elif address == "mesh.lake_settings":
        state.settings = LakeSettings()
    elif address == "mesh.catalog_policy":
        state.catalog_policy = ""
    elif address.startswith("lf_tag."):
        del state.lf_tags[address.removeprefix("lf_tag.")]
    elif address.startswith("subscription:"):  # by subscription id
        del state.records[address.removeprefix("subscription:")]
    else:
        for where in state.by_address():
            if address in where:
                del where[address]
                return
        raise KeyError(f"nothing observed at {address}")


def _edit(state: State, address: str, fields: dict[str, Any]) -> None:
    if address.startswith("subscription:"):
        where: dict[str, Any] = state.records
        key = address.removeprefix("subscription:")
    else:
        where = next(w for w in state.by_address() if address in w)
        key = address
    value = where[key]
    types = {f.name: f.type for f in dataclasses.fields(value)}
    decoded = codec.from_json(type(value), {**codec.to_json(value), **fields})
    assert set(fields) <= set(types), f"unknown fields {set(fields) - set(types)}"
    where[key] = decoded
    if address.startswith("subscription:") is False and decoded.address != address:
        raise AssertionError("an edit may not move a value to another address")


# --- the data-driven cases ----------------------------------------------------------------------


def case_files() -> Iterator[Path]:
    yield from sorted(p for p in CASES.glob("*.json") if not p.name.startswith("_"))


def load_case(path: Path) -> tuple[dict[str, Any], MeshSpec, State, date]:
    case = json.loads(path.read_text())
    spec = build_spec(case.get("spec"))
    sources = [source_table(t) for t in case.get("sources", BASE["sources"])]
    state = build_observed(case, spec, sources)
    return case, spec, state, date.fromisoformat(case.get("today", BASE["today"]))


@pytest.mark.parametrize("path", list(case_files()), ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case, spec, state, today = load_case(path)
    prune = case.get("prune", False)
    if "raises" in case:
        with pytest.raises(PlanError, match=case["raises"]):
            plan_of(spec, state.freeze(), today, prune)
        return
    plan = plan_of(spec, state.freeze(), today, prune)
    got = [[c.address, c.action.value, c.drift.value if c.drift else None] for c in plan.changes]
    assert got == case["expected"]
    if "warnings" in case:
        assert list(plan.warnings) == case["warnings"]
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
    # Applying the plan converges: planning again (same spec, same day) changes nothing.
    state.apply(plan)
    again = plan_of(spec, state.freeze(), today, prune)
    assert [c.address for c in again.effective_changes] == []


# --- properties beyond single cases -------------------------------------------------------------


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


def test_plan_is_deterministic_and_inputs_are_untouched() -> None:
    _case, spec, state, today = load_case(CASES / "44_mixed_creates_before_deletes.json")
    observed = state.freeze()
    fingerprint = codec.sha256_of(observed)
    first = plan_of(spec, observed, today)
    shuffled = dataclasses.replace(
        observed,
        grants=tuple(reversed(observed.grants)),
        subscriptions=tuple(reversed(observed.subscriptions)),
    )
    second = plan_of(spec, shuffled, today)
    assert first.changes == second.changes
    assert codec.sha256_of(observed) == fingerprint  # the input is untouched
    assert first.observed_fingerprint == observed.fingerprint == shuffled.fingerprint
    assert dataclasses.replace(observed, catalog_policy="{}").fingerprint != observed.fingerprint


def test_plan_round_trips_through_its_json_file() -> None:
    _, spec, state, today = load_case(CASES / "01_empty_mesh_creates_everything.json")
    plan = plan_of(spec, state.freeze(), today)
    assert Plan.from_json(json.loads(plan.dumps())) == plan
    assert dict(plan.context) == {"prune": "false", "today": "2026-03-01"}
    assert plan.summary == {"create": 26, "update": 2, "delete": 0}


def test_desired_roles_carry_the_policy_documents() -> None:
    from meshctl import policies

    _, spec, state, today = load_case(CASES / "01_empty_mesh_creates_everything.json")
    plan = plan_of(spec, state.freeze(), today)
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
    sources = [source_table(t) for t in BASE["sources"]]
    state = converged(build_spec({"products": {"sales.orders": {"protect": True}}}), sources, TODAY)
    with pytest.raises(PlanError, match="sales-111111111111"):
        plan_of(spec, state.freeze(), TODAY, prune=True)


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
    observed = converged(spec, sources, TODAY).freeze()
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
