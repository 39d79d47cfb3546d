"""Apply under injected AWS faults: it succeeds (retries) or fails cleanly, and the next
fault-free apply converges to an empty plan with every invariant of ``_mesh.py`` holding.

Faults come from ``support.faults`` (seeded, reproducible): throttling, HTTP 500/503,
connection resets before and after a write reached AWS, and Lake Formation's
ConcurrentModificationException. Targeted cases pin the failure modes that found bugs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.faults import FaultInjector, FaultKind
from support.sandbox import InProcessSandbox, ServerSandbox

from meshctl.applier import ApplyResult, Status
from meshctl.engine import Engine
from meshctl.errors import MeshctlError
from meshctl.spec.model import MeshSpec

from ._mesh import EXAMPLE, lf_tag_problems, mesh_problems
from .conftest import NOW

pytestmark = pytest.mark.usefixtures("quick_retries")
MESH = "555555555555"


def _engine() -> Engine:
    return Engine(EXAMPLE, clock=lambda: NOW)


def _apply(engine: Engine) -> ApplyResult:
    with engine.locked("apply"):
        return engine.execute(engine.plan(), max_revokes=25, allow_mass_revoke=False)


def _apply_with(faults: FaultInjector) -> ApplyResult | MeshctlError:
    """One apply with ``faults`` installed; a MeshctlError is a clean, user-facing failure."""
    engine = _engine()
    faults.install(engine.sessions)
    try:
        return _apply(engine)
    except MeshctlError as exc:
        return exc


def _assert_clean(outcome: ApplyResult | MeshctlError) -> None:
    """A failed apply says what failed and why; what it skipped depends on what failed."""
    if isinstance(outcome, MeshctlError):
        assert str(outcome), "a user error needs a message"
        return
    failed = {r.change.address for r in outcome.results if r.status is Status.FAILED}
    for r in outcome.results:
        if r.status is Status.FAILED:
            assert r.error, r
        if r.status is Status.SKIPPED:
            blocker = r.error.removeprefix("depends on ")
            assert blocker in failed or blocker in {
                x.change.address for x in outcome.results if x.status is Status.SKIPPED
            }, r


def _assert_converges(sandbox: InProcessSandbox, spec: MeshSpec) -> None:
    engine = _engine()  # one engine: its sessions and clients are made once
    result = _apply(engine)
    assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]
    plan = engine.plan()
    assert not plan.has_changes, [(c.address, c.reason) for c in plan.effective_changes]
    assert mesh_problems(sandbox.session, spec, NOW.date()) == []


@pytest.mark.parametrize(
    ("rate", "seed"),
    [(0.1, 1), (0.1, 2), (0.3, 1), (0.3, 8)],  # 0.3/8: STS gives up, a clean refusal
    ids=lambda v: str(v),
)
def test_apply_under_faults_then_a_clean_apply_converges(
    seeded: InProcessSandbox, example_spec: MeshSpec, rate: float, seed: int
) -> None:
    faults = FaultInjector(rate, seed)
    outcome = _apply_with(faults)

    assert faults.injected.total() > 0
    _assert_clean(outcome)
    _assert_converges(seeded, example_spec)


def test_faults_are_reproducible_from_the_seed(seeded: InProcessSandbox) -> None:
    first, second = FaultInjector(0.3, 5), FaultInjector(0.3, 5)
    for faults in (first, second):
        faults.install(_engine().sessions)
    decisions = [
        [f._decide(svc, op, 1) for svc, op in [("iam", "CreateRole"), ("glue", "GetTable")] * 20]
        for f in (first, second)
    ]
    assert decisions[0] == decisions[1]
    assert any(decisions[0]) and not all(decisions[0])
    other = FaultInjector(0.3, 6)
    assert [other._decide("iam", "CreateRole", 1) for _ in range(40)] != decisions[0][::2]


def test_lost_answer_of_every_write_is_absorbed(
    seeded: InProcessSandbox, example_spec: MeshSpec
) -> None:
    """Every write (lock, roles, catalog, grants, invitations, records) is carried out but its
    answer is lost; botocore retries it and the retry meets the write already done: "already
    exists", a failed condition. meshctl must take that as done — not refuse its own lock, not
    report its own record write as "changed since plan"."""
    faults = FaultInjector(1.0, weights={FaultKind.LOST: 1}, first_attempts_only=True)
    outcome = _apply_with(faults)

    assert faults.injected[FaultKind.LOST] > 50
    assert faults.by_operation["dynamodb:PutItem"] >= 7  # the lock and six records
    assert isinstance(outcome, ApplyResult), outcome
    assert outcome.ok, [(r.change.address, r.error) for r in outcome.results if r.error]
    assert not _engine().plan().has_changes
    assert mesh_problems(seeded.session, example_spec, NOW.date()) == []


def test_lake_formation_concurrent_modification_is_retried(
    seeded: InProcessSandbox, example_spec: MeshSpec
) -> None:
    """Every Lake Formation write meets one ConcurrentModificationException (architecture.md)."""
    faults = FaultInjector(
        1.0, services=frozenset({"lakeformation"}), weights={FaultKind.CONCURRENT: 1}, every=2
    )
    outcome = _apply_with(faults)

    assert faults.injected[FaultKind.CONCURRENT] >= 8
    assert isinstance(outcome, ApplyResult), outcome
    assert outcome.ok, [(r.change.address, r.error) for r in outcome.results if r.error]
    assert not _engine().plan().has_changes


def test_lf_tags_are_attached_after_tagging_failed(
    seeded: InProcessSandbox, example_spec: MeshSpec
) -> None:
    """Tagging a new mesh database fails for good (the database itself was created); the next
    apply must still attach the product's LF-tags, not trust a marker written before them."""
    faults = FaultInjector(
        1.0, operations=frozenset({"AddLFTagsToResource"}), weights={FaultKind.INTERNAL: 1}
    )
    outcome = _apply_with(faults)
    assert isinstance(outcome, ApplyResult) and not outcome.ok

    _apply(_engine())
    assert lf_tag_problems(seeded.session, example_spec) == []


def test_unreachable_lock_table_is_a_clean_error(seeded: InProcessSandbox) -> None:
    """The network fails for good while taking the lock: a message, not a traceback."""
    faults = FaultInjector(
        1.0, operations=frozenset({"PutItem"}), weights={FaultKind.UNREACHABLE: 1}
    )
    outcome = _apply_with(faults)

    assert isinstance(outcome, MeshctlError)
    assert "cannot reach" in str(outcome) and "lock table" in str(outcome)


def test_new_grant_to_a_linked_consumer_converges_in_one_apply(
    seeded: InProcessSandbox, tmp_path: Path
) -> None:
    """Found by the fault suite (a grant step failed, so the clean apply granted after the link
    existed and its RAM invitation waited for the next plan); the same happened with no fault
    when a subscription gains a table. Fixed in kinds/links.py plan_links."""
    _apply(_engine())
    wider = tmp_path / "mesh.yaml"
    wider.write_text(
        # marketing's subscription (the example's first) gains order_lines beside its orders
        EXAMPLE.read_text().replace(
            "      - name: orders\n", "      - order_lines\n      - name: orders\n", 1
        )
    )
    engine = Engine(wider, clock=lambda: NOW)
    result = _apply(engine)
    assert result.ok and any(r.change.address.startswith("grant.999") for r in result.results)

    plan = Engine(wider, clock=lambda: NOW).plan()
    assert not plan.has_changes, [(c.address, c.reason) for c in plan.effective_changes]


# --- the injector itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("dynamodb", lambda c: c.list_tables(), "ThrottlingException"),  # json
        ("lakeformation", lambda c: c.list_permissions(), "ThrottlingException"),  # rest-json
        ("iam", lambda c: c.list_roles(), "Throttling"),  # query
        ("sts", lambda c: c.get_caller_identity(), "Throttling"),  # query
        ("s3", lambda c: c.list_buckets(), "SlowDown"),  # rest-xml
    ],
)
def test_injected_throttles_parse_as_real_errors_of_each_protocol(
    sandbox: InProcessSandbox, service: str, call: Any, code: str
) -> None:
    """With retries off, the error botocore raises is the service's own throttling error:
    so with retries on, botocore's retry handler treats it exactly as AWS's."""
    session = sandbox.session(MESH)
    client = session.client(service, config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    FaultInjector(1.0, weights={FaultKind.THROTTLE: 1}).install(client)
    with pytest.raises(ClientError) as raised:
        call(client)
    assert raised.value.response["Error"]["Code"] == code


def test_concurrent_modification_only_hits_lake_formation_writes(sandbox: InProcessSandbox) -> None:
    faults = FaultInjector(1.0, weights={FaultKind.CONCURRENT: 1})
    lf = sandbox.session(MESH).client("lakeformation")
    faults.install(lf)
    assert "PrincipalResourcePermissions" in lf.list_permissions()  # a read: never
    with pytest.raises(ClientError) as raised:
        lf.put_data_lake_settings(DataLakeSettings={"DataLakeAdmins": []})
    assert raised.value.response["Error"]["Code"] == "ConcurrentModificationException"


def test_lost_answer_is_carried_out_through_the_server_too(sandbox_server: ServerSandbox) -> None:
    """``lost`` delivers the request (here over HTTP to the moto server), then drops the answer;
    botocore's retry then sees the table that the lost call created."""
    ddb = sandbox_server.session(MESH).client("dynamodb")
    faults = FaultInjector(1.0, weights={FaultKind.LOST: 1}, first_attempts_only=True)
    faults.install(ddb)
    with pytest.raises(ClientError) as raised:
        ddb.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert raised.value.response["Error"]["Code"] == "ResourceInUseException"
    assert faults.injected[FaultKind.LOST] == 1
    assert ddb.list_tables()["TableNames"] == ["t"]


_IAM_USER_WRITES = frozenset(
    {
        "CreateUser",
        "TagUser",
        "CreateGroup",
        "AddUserToGroup",
        "PutGroupPolicy",
        "RemoveUserFromGroup",
        "DeleteGroupPolicy",
        "DeleteGroup",
        "DeleteUser",
    }
)


@pytest.mark.parametrize("kind", ["30%-faults", "lost-answers"])
def test_iam_users_turned_on_then_off_under_faults_converge(
    seeded: InProcessSandbox, tmp_path: Path, kind: str
) -> None:
    """``mesh.iam_users`` on, then off, each apply under faults and followed by a clean apply:
    every user and group comes, then goes, and nothing is left behind. A lost answer makes
    botocore repeat the write, which meets "already exists" / "not found": that counts as done."""
    import yaml

    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = tmp_path / "mesh.yaml"
    for flag in (True, False):
        doc["mesh"]["iam_users"] = flag
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        if kind == "lost-answers":
            # Only the user and group writes: botocore's retry quota (500 a client) keeps the
            # 14 a retry costs when the retry ends in an error answer ("already exists", "not
            # found"), so losing the answer of every write of an account would drain it.
            faults = FaultInjector(
                1.0,
                operations=_IAM_USER_WRITES,
                weights={FaultKind.LOST: 1},
                first_attempts_only=True,
            )
        else:
            faults = FaultInjector(0.3, 3 if flag else 4)
        engine = Engine(path, clock=lambda: NOW)
        faults.install(engine.sessions)
        try:
            outcome: ApplyResult | MeshctlError = _apply(engine)
        except MeshctlError as exc:
            outcome = exc
        assert faults.injected.total() > 0
        _assert_clean(outcome)
        if kind == "lost-answers":
            assert isinstance(outcome, ApplyResult), outcome
            failed = [(r.change.address, r.error) for r in outcome.results if r.error]
            assert outcome.ok, failed
        clean = Engine(path, clock=lambda: NOW)
        result = _apply(clean)
        assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]
        assert not clean.plan().has_changes
        users = {
            account_id: seeded.session(account_id).client("iam").list_users()["Users"]
            for account_id in (MESH, *(a.account_id for a in clean.spec.accounts))
        }
        assert sum(len(u) for u in users.values()) == (14 if flag else 0)
