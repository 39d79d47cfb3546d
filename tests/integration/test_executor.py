"""Executor actions against the patched sandbox: each kind, idempotency, batching, conditions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.codec import canonical_json, to_json
from meshctl.ids import subscription_id
from meshctl.observed import (
    Column,
    Database,
    Grant,
    IamUser,
    LakeSettings,
    LfResource,
    RecordStatus,
    ResourceType,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.outcome import Status
from meshctl.planning import policies
from meshctl.planning.kinds.subscriptions import archived
from meshctl.planning.plan import Action, Change, Kind
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec, Product

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
MESH_DB = f"sales-{PRODUCER}"
WHO = "arn:aws:sts::123456789012:user/ci"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

SPEC = MeshSpec(
    mesh=MeshSettings(MESH, "us-east-1"),
    accounts=(
        Account("sales", PRODUCER, frozenset({AccountRole.PRODUCER})),
        Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),
    ),
    products=(Product("sales.orders", "sales", "sales", ("*",), MESH_DB),),
)


@pytest.fixture
def sessions(sandbox: InProcessSandbox) -> AccountSessions:
    return AccountSessions(SPEC.mesh, SPEC.accounts)


def _executor(sessions: AccountSessions, plan_id: str = "plan-1") -> Executor:
    return Executor(
        sessions, who=WHO, plan_id=plan_id, commit="c0ffee", clock=lambda: NOW, sleep=lambda _: None
    )


def _change(
    kind: Kind, action: Action, address: str, account: str, before: Any = None, after: Any = None
) -> Change:
    return Change(
        address=address,
        kind=kind,
        action=action,
        account_id=account,
        before=to_json(before) if before is not None else None,
        after=to_json(after) if after is not None else None,
    )


def _run_twice(executor: Executor, changes: list[Change]) -> None:
    """Apply, then apply again: both succeed (every action is idempotent)."""
    for _ in range(2):
        outcomes = executor.execute(changes)
        assert [o.status for o in outcomes] == [Status.DONE] * len(changes), outcomes


def _table_change(sessions: AccountSessions) -> None:
    change = _change(
        Kind.SUBSCRIPTIONS_TABLE,
        Action.CREATE,
        "mesh.subscriptions_table",
        MESH,
        after={"name": TABLE},
    )
    _run_twice(_executor(sessions), [change])


# --- mesh account --------------------------------------------------------------------------


def test_subscription_table_has_the_library_layout(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    _table_change(sessions)
    table = sandbox.session(MESH).client("dynamodb").describe_table(TableName=TABLE)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "SubscriptionId", "KeyType": "HASH"}]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {
        f"{TABLE}-Owner",
        f"{TABLE}-Subscriber",
    }
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_lake_settings_merge_admins_and_write_nothing_when_converged(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    lf = sandbox.session(MESH).client("lakeformation")
    existing = f"arn:aws:iam::{MESH}:role/SomeoneElse"
    lf.put_data_lake_settings(
        DataLakeSettings={"DataLakeAdmins": [{"DataLakePrincipalIdentifier": existing}]}
    )
    manager = f"arn:aws:iam::{MESH}:role/AwsDataMesh/DataMeshManager"
    wanted = LakeSettings(frozenset({manager}), True, True)
    change = _change(Kind.LAKE_SETTINGS, Action.UPDATE, "mesh.lake_settings", MESH, after=wanted)
    _run_twice(_executor(sessions), [change])
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    admins = {a["DataLakePrincipalIdentifier"] for a in settings["DataLakeAdmins"]}
    assert admins == {existing, manager}  # never replaced, only merged
    assert settings["CreateTableDefaultPermissions"] == []
    assert settings["CreateDatabaseDefaultPermissions"] == []
    assert sessions.stats.calls(operation="PutDataLakeSettings") == 1  # second run wrote nothing


def test_catalog_policy_and_lf_tag(sessions: AccountSessions, sandbox: InProcessSandbox) -> None:
    policy = canonical_json(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "glue:ShareResource"}],
        }
    )
    executor = _executor(sessions)
    _run_twice(
        executor,
        [
            _change(
                Kind.CATALOG_POLICY,
                Action.CREATE,
                "mesh.catalog_policy",
                MESH,
                after={"policy": policy},
            )
        ],
    )
    assert read_mesh(SPEC, sessions).catalog_policy == policy

    tag = {"key": "Domain", "values": ["Sales"]}
    _run_twice(executor, [_change(Kind.LF_TAG, Action.CREATE, "lf_tag.Domain", MESH, after=tag)])
    more = {"key": "Domain", "values": ["Finance", "Sales"]}
    _run_twice(executor, [_change(Kind.LF_TAG, Action.UPDATE, "lf_tag.Domain", MESH, tag, more)])
    lf = sandbox.session(MESH).client("lakeformation")
    assert sorted(lf.get_lf_tag(TagKey="Domain")["TagValues"]) == ["Finance", "Sales"]
    assert read_mesh(SPEC, sessions).lf_tags == (("Domain", ("Finance", "Sales")),)


@pytest.mark.parametrize(
    ("kind", "address", "before", "why"),
    [
        (Kind.CATALOG_POLICY, "mesh.catalog_policy", {"policy": "{}"}, "other teams' statements"),
        (Kind.LF_TAG, "lf_tag.Domain", {"key": "Domain", "values": ["Sales"]}, "LF-tag may be"),
        (Kind.LAKE_SETTINGS, "mesh.lake_settings", {}, "only ever merged"),
        (Kind.DATA_LOCATION, "data_location.x", {"resource_arn": "arn:aws:s3:::b"}, "rely on"),
    ],
)
def test_a_delete_the_planner_never_plans_fails_and_deletes_nothing(
    sessions: AccountSessions,
    sandbox: InProcessSandbox,
    kind: Kind,
    address: str,
    before: Any,
    why: str,
) -> None:
    """The catalog policy, LF-tags, lake settings and registered locations are shared beyond
    meshctl: the planner only creates and updates them, and a delete in a plan is refused."""
    glue = sandbox.session(MESH).client("glue")
    glue.put_resource_policy(PolicyInJson=json.dumps({"Version": "2012-10-17", "Statement": []}))
    lf = sandbox.session(MESH).client("lakeformation")
    lf.create_lf_tag(TagKey="Domain", TagValues=["Sales"])

    [outcome] = _executor(sessions).execute([_change(kind, Action.DELETE, address, MESH, before)])

    assert outcome.status is Status.FAILED
    assert outcome.error.startswith(f"meshctl never deletes {address}: ") and why in outcome.error
    assert sessions.stats.calls(service="glue") + sessions.stats.calls(service="lakeformation") == 0
    assert glue.get_resource_policy()["PolicyInJson"]
    assert lf.get_lf_tag(TagKey="Domain")["TagValues"] == ["Sales"]


def _role(policy_action: str = "glue:Get*") -> Role:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PRODUCER}:role/AwsDataMesh/DataMeshProducer"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": policy_action, "Resource": "*"}],
    }
    name = f"DataMeshAdminProducer-{PRODUCER}"
    return Role(
        MESH, name, "/AwsDataMesh/", canonical_json(trust), name, canonical_json(policy), True
    )


def _member_role() -> Role:
    """The producer's DataMeshProducer role, which the mesh admin role of ``_role()`` trusts."""
    trust = policies.member_trust(PRODUCER)
    name = "DataMeshProducer"
    return Role(PRODUCER, name, "/AwsDataMesh/", canonical_json(trust), name, "", True)


def _mesh_roles(sessions: AccountSessions) -> tuple[Role, ...]:
    return tuple(r for r in read_mesh(SPEC, sessions).roles if r.account_id == MESH)


def test_role_create_update_delete(sessions: AccountSessions) -> None:
    executor = _executor(sessions)
    role = _role()
    # IAM refuses a trust naming a role that does not exist yet (the plan creates member roles
    # first): the change fails with AWS's words and nothing is created.
    (refused,) = executor.execute(
        [_change(Kind.ROLE, Action.CREATE, role.address, MESH, after=role)]
    )
    assert refused.status is Status.FAILED
    assert "MalformedPolicyDocument" in refused.error and "Invalid principal" in refused.error
    assert _mesh_roles(sessions) == ()

    member = _member_role()
    _run_twice(
        executor, [_change(Kind.ROLE, Action.CREATE, member.address, PRODUCER, after=member)]
    )
    _run_twice(executor, [_change(Kind.ROLE, Action.CREATE, role.address, MESH, after=role)])
    assert _mesh_roles(sessions) == (role,)

    changed = _role("glue:*")
    _run_twice(executor, [_change(Kind.ROLE, Action.UPDATE, role.address, MESH, role, changed)])
    assert _mesh_roles(sessions) == (changed,)

    _run_twice(executor, [_change(Kind.ROLE, Action.DELETE, role.address, MESH, before=changed)])
    assert _mesh_roles(sessions) == ()


def test_role_trusting_a_principal_iam_does_not_know_yet_waits_for_it(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    """IAM is eventually consistent: a role created moments ago may be refused in a trust policy
    ("Invalid principal") for a few seconds. meshctl waits and tries again; here the member role
    appears during the second wait, and the mesh role is then created."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # IAM "propagates" the member role
            member = _member_role()
            sandbox.session(PRODUCER).client("iam").create_role(
                RoleName=member.name, Path=member.path, AssumeRolePolicyDocument=member.trust_policy
            )

    executor = Executor(
        sessions, who=WHO, plan_id="plan-1", commit=None, clock=lambda: NOW, sleep=sleep
    )
    role = _role()
    (outcome,) = executor.execute(
        [_change(Kind.ROLE, Action.CREATE, role.address, MESH, after=role)]
    )
    assert outcome.status is Status.DONE, outcome.error
    assert waits == [1.0, 2.0]
    assert _mesh_roles(sessions) == (role,)


def test_role_update_writes_only_what_differs(sessions: AccountSessions) -> None:
    """A role whose trust alone drifted is fixed with one UpdateAssumeRolePolicy (not create,
    tag and put as well); a role deleted since the plan is created again by the update."""
    executor = _executor(sessions)
    member, role = _member_role(), _role()
    executor.execute([_change(Kind.ROLE, Action.CREATE, member.address, PRODUCER, after=member)])
    executor.execute([_change(Kind.ROLE, Action.CREATE, role.address, MESH, after=role)])
    wider = replace(role, trust_policy=canonical_json(policies.member_trust(MESH)))
    sessions.stats.reset()
    _run_twice(executor, [_change(Kind.ROLE, Action.UPDATE, role.address, MESH, wider, role)])
    assert sessions.stats.calls(service="iam") == 2  # one call per run
    assert sessions.stats.calls(service="iam", operation="UpdateAssumeRolePolicy") == 2

    iam = sessions.session(MESH).client("iam")
    iam.delete_role_policy(RoleName=role.name, PolicyName=role.policy_name)
    iam.delete_role(RoleName=role.name)
    outcomes = executor.execute(
        [_change(Kind.ROLE, Action.UPDATE, role.address, MESH, wider, role)]
    )
    assert [o.status for o in outcomes] == [Status.DONE]
    assert _mesh_roles(sessions) == (role,)


def test_member_role_at_another_path_fails_saying_why(sessions: AccountSessions) -> None:
    """A DataMeshProducer role someone made at "/" cannot be moved (IAM has no such call, and the
    name is taken whatever the path): the change fails naming the path, and nothing is changed."""
    iam = sessions.session(PRODUCER).client("iam")
    iam.create_role(
        RoleName="DataMeshProducer", AssumeRolePolicyDocument=_member_role().trust_policy
    )
    (live,) = [r for r in read_mesh(SPEC, sessions).roles if r.account_id == PRODUCER]
    assert live.path == "/"
    want = _member_role()
    (outcome,) = _executor(sessions).execute(
        [_change(Kind.ROLE, Action.UPDATE, want.address, PRODUCER, live, want)]
    )
    assert outcome.status is Status.FAILED
    assert "exists at path /" in outcome.error and "cannot move a role" in outcome.error
    assert iam.get_role(RoleName="DataMeshProducer")["Role"]["Path"] == "/"


def _user(name: str = "DataMeshManager", account: str = MESH) -> IamUser:
    return IamUser(
        account_id=account,
        name=name,
        path="/AwsDataMesh/",
        policy_name=f"Assume{name}",
        policy=canonical_json(policies.assume_role_policy(account, name)),
        managed_by_meshctl=True,
    )


def test_iam_user_create_adopt_and_delete(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    """The user and its group, the membership and the group's policy come and go together; each
    action succeeds again on a state where it is done."""
    executor = _executor(sessions)
    user = _user()
    _run_twice(executor, [_change(Kind.IAM_USER, Action.CREATE, user.address, MESH, after=user)])
    assert read_mesh(SPEC, sessions).iam_users == (user,)
    iam = sandbox.session(MESH).client("iam")
    group = iam.get_group(GroupName="DataMeshManagerGroup")
    assert [u["UserName"] for u in group["Users"]] == ["DataMeshManager"]
    assert group["Group"]["Path"] == "/AwsDataMesh/"

    # Someone takes the user out of the group and deletes the group's policy: the update restores.
    iam.remove_user_from_group(GroupName="DataMeshManagerGroup", UserName="DataMeshManager")
    iam.delete_group_policy(GroupName="DataMeshManagerGroup", PolicyName="AssumeDataMeshManager")
    (drifted,) = read_mesh(SPEC, sessions).iam_users
    assert (drifted.in_group, drifted.policy_name) == (False, "")
    change = _change(Kind.IAM_USER, Action.UPDATE, user.address, MESH, drifted, user)
    _run_twice(executor, [change])
    assert read_mesh(SPEC, sessions).iam_users == (user,)

    # A managed policy someone attached to the group does not stop the delete.
    arn = iam.create_policy(PolicyName="Extra", PolicyDocument=_user().policy)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="DataMeshManagerGroup", PolicyArn=arn)
    _run_twice(executor, [_change(Kind.IAM_USER, Action.DELETE, user.address, MESH, before=user)])
    assert read_mesh(SPEC, sessions).iam_users == ()
    assert iam.list_groups(PathPrefix="/AwsDataMesh/")["Groups"] == []


def test_iam_user_group_made_at_another_path_is_found_and_converges(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    """A user's group someone re-made at "/" is still its group: the update fills it in and the
    next read matches (were it looked for under /AwsDataMesh/ only, every plan would say
    "missing" while CreateGroup answers "exists")."""
    executor = _executor(sessions)
    user = _user()
    executor.execute([_change(Kind.IAM_USER, Action.CREATE, user.address, MESH, after=user)])
    iam = sandbox.session(MESH).client("iam")
    group = "DataMeshManagerGroup"
    iam.remove_user_from_group(GroupName=group, UserName=user.name)
    iam.delete_group_policy(GroupName=group, PolicyName=user.policy_name)
    iam.delete_group(GroupName=group)
    iam.create_group(GroupName=group, Path="/")
    (live,) = read_mesh(SPEC, sessions).iam_users
    assert (live.group_exists, live.in_group, live.policy) == (True, False, "")
    executor.execute([_change(Kind.IAM_USER, Action.UPDATE, user.address, MESH, live, user)])
    assert read_mesh(SPEC, sessions).iam_users == (user,)


def test_iam_user_with_access_keys_is_not_deleted(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    """Credentials someone gave a meshctl user are never deleted: the change fails naming them
    before anything changes, and the whole pair (and so the plan's delete) stays for the next
    apply. More cases: test_iam_user_delete.py."""
    user = _user("DataMeshProducer", PRODUCER)
    executor = _executor(sessions)
    executor.execute([_change(Kind.IAM_USER, Action.CREATE, user.address, PRODUCER, after=user)])
    iam = sandbox.session(PRODUCER).client("iam")
    key = iam.create_access_key(UserName="DataMeshProducer")["AccessKey"]["AccessKeyId"]
    (outcome,) = executor.execute(
        [_change(Kind.IAM_USER, Action.DELETE, user.address, PRODUCER, before=user)]
    )
    assert outcome.status is Status.FAILED
    assert "has 1 access key;" in outcome.error and "never deletes credentials" in outcome.error
    assert (
        iam.list_access_keys(UserName="DataMeshProducer")["AccessKeyMetadata"][0]["AccessKeyId"]
        == key
    )
    (left,) = read_mesh(SPEC, sessions).iam_users
    assert left == user  # group, its policy and the membership untouched


# --- catalog -------------------------------------------------------------------------------


def test_mesh_database_with_lf_tags_and_table_copy(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    executor = _executor(sessions)
    lf = sandbox.session(MESH).client("lakeformation")
    lf.create_lf_tag(TagKey="Domain", TagValues=["Sales"])
    db = Database(MESH, MESH_DB, "orders", tags=(("Domain", "Sales"),), managed_by_meshctl=True)
    _run_twice(executor, [_change(Kind.DATABASE, Action.CREATE, db.address, MESH, after=db)])
    tags = lf.get_resource_lf_tags(Resource={"Database": {"CatalogId": MESH, "Name": MESH_DB}})
    assert [(t["TagKey"], t["TagValues"]) for t in tags["LFTagOnDatabase"]] == [
        ("Domain", ["Sales"])
    ]

    table = Table(
        MESH,
        MESH_DB,
        "orders",
        (Column("id", "int"), Column("total", "double", "in EUR")),
        (Column("day", "string"),),
        location="s3://sales/orders/",
        owner=PRODUCER,
        input_format="org.apache.hadoop.mapred.TextInputFormat",
        serde="org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        parameters=(("classification", "csv"),),
    )
    _run_twice(executor, [_change(Kind.TABLE, Action.CREATE, table.address, MESH, after=table)])
    wider = replace(table, columns=(*table.columns, Column("currency", "string")))
    _run_twice(executor, [_change(Kind.TABLE, Action.UPDATE, table.address, MESH, table, wider)])
    observed = read_mesh(SPEC, sessions)
    assert observed.databases == (db,)
    assert observed.tables == (wider,)

    _run_twice(executor, [_change(Kind.TABLE, Action.DELETE, table.address, MESH, before=wider)])
    _run_twice(executor, [_change(Kind.DATABASE, Action.DELETE, db.address, MESH, before=db)])
    observed = read_mesh(SPEC, sessions)
    assert observed.databases == () and observed.tables == ()


def test_existing_database_is_adopted_keeping_foreign_parameters(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    sandbox.session(MESH).client("glue").create_database(
        DatabaseInput={"Name": MESH_DB, "Parameters": {"owner_team": "sales"}}
    )
    db = Database(MESH, MESH_DB, "orders", managed_by_meshctl=True)
    _run_twice(
        _executor(sessions), [_change(Kind.DATABASE, Action.CREATE, db.address, MESH, after=db)]
    )
    live = sandbox.session(MESH).client("glue").get_database(Name=MESH_DB)["Database"]
    assert live["Parameters"] == {"owner_team": "sales", "ManagedBy": "meshctl"}
    assert live["Description"] == "orders"


# --- grants --------------------------------------------------------------------------------


def _tables(sandbox: InProcessSandbox, count: int) -> list[str]:
    glue = sandbox.session(MESH).client("glue")
    glue.create_database(DatabaseInput={"Name": MESH_DB})
    names = [f"t{i:02d}" for i in range(count)]
    for name in names:
        glue.create_table(DatabaseName=MESH_DB, TableInput={"Name": name})
    return names


def _grant(table: str, perms: set[str], grantable: set[str] | None = None) -> Grant:
    return Grant(
        CONSUMER,
        LfResource(ResourceType.TABLE, MESH, MESH_DB, table),
        frozenset(perms),
        frozenset(grantable or set()),
    )


def _consumer_grants(sessions: AccountSessions) -> dict[str, Grant]:
    return {
        g.resource.table: g for g in read_mesh(SPEC, sessions).grants if g.principal == CONSUMER
    }


def test_grants_are_batched_twenty_a_call(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    names = _tables(sandbox, 45)
    grants = [_grant(n, {"SELECT", "DESCRIBE"}, {"SELECT"}) for n in names]
    changes = [_change(Kind.GRANT, Action.CREATE, g.address, MESH, after=g) for g in grants]
    outcomes = _executor(sessions).execute(changes)
    assert all(o.status is Status.DONE for o in outcomes)
    assert sessions.stats.calls(operation="BatchGrantPermissions") == 3
    assert _consumer_grants(sessions) == {g.resource.table: g for g in grants}  # grant options kept

    again = _executor(sessions).execute(changes)
    assert all(o.status is Status.DONE for o in again)
    assert _consumer_grants(sessions) == {g.resource.table: g for g in grants}


def test_grant_update_grants_first_then_revokes(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    (name,) = _tables(sandbox, 1)
    before = _grant(name, {"SELECT", "DESCRIBE"}, {"SELECT"})
    after = _grant(name, {"SELECT", "INSERT"})
    executor = _executor(sessions)
    executor.execute([_change(Kind.GRANT, Action.CREATE, before.address, MESH, after=before)])
    calls: list[str] = []
    lf = sessions.client(MESH, "lakeformation")
    lf.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    _run_twice(executor, [_change(Kind.GRANT, Action.UPDATE, after.address, MESH, before, after)])
    assert calls[:2] == ["BatchGrantPermissions", "BatchRevokePermissions"]
    assert _consumer_grants(sessions)[name] == after


def test_revoke_is_idempotent(sessions: AccountSessions, sandbox: InProcessSandbox) -> None:
    (name,) = _tables(sandbox, 1)
    grant = _grant(name, {"SELECT"})
    executor = _executor(sessions)
    executor.execute([_change(Kind.GRANT, Action.CREATE, grant.address, MESH, after=grant)])
    _run_twice(executor, [_change(Kind.GRANT, Action.DELETE, grant.address, MESH, before=grant)])
    assert _consumer_grants(sessions) == {}


def test_per_entry_failure_fails_only_that_change(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    (name,) = _tables(sandbox, 1)
    good, missing = _grant(name, {"SELECT"}), _grant("no_such_table", {"SELECT"})
    outcomes = _executor(sessions).execute(
        [_change(Kind.GRANT, Action.CREATE, g.address, MESH, after=g) for g in (good, missing)]
    )
    assert outcomes[0].status is Status.DONE
    assert outcomes[1].status is Status.FAILED
    assert "grant failed" in outcomes[1].error and "no_such_table" in outcomes[1].error
    assert set(_consumer_grants(sessions)) == {name}


# --- subscription records ------------------------------------------------------------------


def _record(**changes: Any) -> SubscriptionRecord:
    base = SubscriptionRecord(
        subscription_id=subscription_id(CONSUMER, "sales.orders"),
        owner=PRODUCER,
        subscriber=CONSUMER,
        status=RecordStatus.PENDING,
        database=MESH_DB,
        tables=("orders",),
        requested=("DESCRIBE", "SELECT"),
        product="sales.orders",
        purpose="attribution",
    )
    return replace(base, **changes)


def _items(sandbox: InProcessSandbox) -> list[dict[str, Any]]:
    decode = TypeDeserializer().deserialize
    raw = sandbox.session(MESH).client("dynamodb").scan(TableName=TABLE)["Items"]
    return [{k: decode(v) for k, v in item.items()} for item in raw]


def test_subscription_create_writes_who_and_why(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    _table_change(sessions)
    record = _record()
    change = _change(
        Kind.SUBSCRIPTION, Action.CREATE, "subscription.marketing/sales.orders", MESH, after=record
    )
    _run_twice(_executor(sessions), [change])  # a re-run of the same plan is done, not a conflict
    (item,) = _items(sandbox)
    assert item["Status"] == "Pending" and item["ManagedBy"] == "meshctl" and item["Version"] == 1
    assert item["CreatedBy"] == item["UpdatedBy"] == WHO
    assert item["CreationDate"] == "2026-05-01 12:00:00"
    assert item["LastPlanId"] == "plan-1" and item["GitCommit"] == "c0ffee"
    assert "Notes" not in item  # an empty string set cannot be stored

    # Another plan that thought the record was missing must not overwrite it.
    (outcome,) = _executor(sessions, "plan-2").execute([change])
    assert outcome.status is Status.FAILED
    assert "changed since plan" in outcome.error


def test_conditional_update_refuses_a_record_changed_since_plan(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    _table_change(sessions)
    address = "subscription.marketing/sales.orders"
    pending = _record()
    _executor(sessions).execute(
        [_change(Kind.SUBSCRIPTION, Action.CREATE, address, MESH, after=pending)]
    )
    (observed,) = read_mesh(SPEC, sessions).subscriptions
    approved = replace(observed, status=RecordStatus.ACTIVE, permitted=("DESCRIBE", "SELECT"))
    update = _change(Kind.SUBSCRIPTION, Action.UPDATE, address, MESH, observed, approved)

    # Someone approves by hand after the plan was made: the version moves on.
    sandbox.session(MESH).client("dynamodb").update_item(
        TableName=TABLE,
        Key={"SubscriptionId": {"S": pending.subscription_id}},
        UpdateExpression="SET Version = :v, #S = :s",
        ExpressionAttributeNames={"#S": "Status"},
        ExpressionAttributeValues={":v": {"N": "2"}, ":s": {"S": "Denied"}},
    )
    (outcome,) = _executor(sessions, "plan-2").execute([update])
    assert outcome.status is Status.FAILED
    assert "changed since plan" in outcome.error and "re-run plan" in outcome.error
    (item,) = _items(sandbox)
    assert item["Status"] == "Denied" and item["Version"] == 2  # untouched


def test_library_item_is_adopted_then_archived_with_a_note(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    _table_change(sessions)
    ddb = sandbox.session(MESH).client("dynamodb")
    ddb.put_item(
        TableName=TABLE,
        Item={
            "SubscriptionId": {"S": "libid"},
            "OwnerPrincipal": {"S": PRODUCER},
            "SubscriberPrincipal": {"S": CONSUMER},
            "Status": {"S": "Active"},
            "DatabaseName": {"S": MESH_DB},
            "TableName": {"L": [{"S": "orders"}]},
            "RequestedGrants": {"L": [{"S": "SELECT"}]},
            "PermittedGrants": {"L": [{"S": "SELECT"}]},
            "Notes": {"SS": ["approved by library"]},
            "CreationDate": {"S": "2024-01-01 00:00:00"},
            "CreatedBy": {"S": "arn:aws:sts::1:assumed-role/DataMeshConsumer/x"},
        },
    )
    address = "subscription.marketing/sales.orders"
    (library,) = read_mesh(SPEC, sessions).subscriptions
    adopted = replace(library, product="sales.orders", approved_by="owners@example.com")
    _run_twice(
        _executor(sessions),
        [_change(Kind.SUBSCRIPTION, Action.UPDATE, address, MESH, library, adopted)],
    )
    (item,) = _items(sandbox)
    assert item["SubscriptionId"] == "libid" and item["Version"] == 1
    assert item["ManagedBy"] == "meshctl" and item["ProductName"] == "sales.orders"
    assert item["CreatedBy"] == "arn:aws:sts::1:assumed-role/DataMeshConsumer/x"  # kept

    (managed,) = read_mesh(SPEC, sessions).subscriptions
    archive = Change(
        address=address,
        kind=Kind.SUBSCRIPTION,
        action=Action.DELETE,
        account_id=MESH,
        before=to_json(managed),
        after=to_json(archived(managed, "removed from mesh.yaml", NOW.date())),
        reason="removed from mesh.yaml",
    )
    _run_twice(_executor(sessions, "plan-3"), [archive])
    (item,) = _items(sandbox)
    assert item["Status"] == "Deleted" and item["Version"] == 2
    assert item["Notes"] == {
        "approved by library",
        "archived by meshctl on 2026-05-01: removed from mesh.yaml",
    }


def test_archive_writes_the_planned_record_and_never_reads_the_reason(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    """The reason is for people: a plan whose reason text was edited archives the same way."""
    _table_change(sessions)
    record = _record(status=RecordStatus.ACTIVE, notes=("archived by meshctl on 2026-05-01: x",))
    _executor(sessions).execute(
        [_change(Kind.SUBSCRIPTION, Action.CREATE, "subscription.a", MESH, after=record)]
    )
    (live,) = read_mesh(SPEC, sessions).subscriptions
    archive = Change(
        address="subscription.a",
        kind=Kind.SUBSCRIPTION,
        action=Action.DELETE,
        account_id=MESH,
        before=to_json(live),
        after=to_json(archived(live, "x", NOW.date())),  # the same words archived it before
        reason="TEXT FOR PEOPLE ONLY",
    )
    (outcome,) = _executor(sessions, "plan-2").execute([archive])
    assert outcome.status is Status.DONE
    (item,) = _items(sandbox)
    assert item["Status"] == "Deleted"
    assert item["Notes"] == {"archived by meshctl on 2026-05-01: x"}

    without_value = replace(archive, before=to_json(replace(live, version=2)), after=None)
    (refused,) = _executor(sessions, "plan-3").execute([without_value])
    assert refused.status is Status.FAILED
    assert "holds no archived record" in refused.error


# --- consumer side -------------------------------------------------------------------------


def test_resource_link_accepts_the_mesh_invitation(
    sessions: AccountSessions, sandbox: InProcessSandbox
) -> None:
    _tables(sandbox, 1)
    grant = Grant(
        CONSUMER, LfResource(ResourceType.DATABASE, MESH, MESH_DB), frozenset({"DESCRIBE"})
    )
    _executor(sessions).execute(
        [_change(Kind.GRANT, Action.CREATE, grant.address, MESH, after=grant)]
    )
    assert [a for a, _ in read_mesh(SPEC, sessions).pending_invitations] == [CONSUMER]

    link = Database(
        CONSUMER, MESH_DB, target_account_id=MESH, target_database=MESH_DB, managed_by_meshctl=True
    )
    address = f"resource_link.{CONSUMER}/{MESH_DB}"
    _run_twice(
        _executor(sessions),
        [_change(Kind.RESOURCE_LINK, Action.CREATE, address, CONSUMER, after=link)],
    )
    observed = read_mesh(SPEC, sessions)
    assert observed.pending_invitations == ()
    ram = sessions.client(CONSUMER, "ram")
    invitations = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert [i["status"] for i in invitations] == ["ACCEPTED"]
    assert link in observed.databases


def test_changes_of_mixed_kinds_are_refused(sessions: AccountSessions) -> None:
    db = Database(MESH, MESH_DB)
    with pytest.raises(ValueError):
        _executor(sessions).execute(
            [
                _change(Kind.DATABASE, Action.CREATE, db.address, MESH, after=db),
                _change(Kind.DATABASE, Action.DELETE, db.address, MESH, before=db),
            ]
        )


def test_policy_documents_round_trip_as_canonical_json(sessions: AccountSessions) -> None:
    role, member = _role(), _member_role()
    _executor(sessions).execute(
        [_change(Kind.ROLE, Action.CREATE, member.address, PRODUCER, after=member)]
    )
    _executor(sessions).execute([_change(Kind.ROLE, Action.CREATE, role.address, MESH, after=role)])
    (observed,) = _mesh_roles(sessions)
    assert json.loads(observed.policy) == json.loads(role.policy)
    assert observed.trust_policy == role.trust_policy
