"""read_mesh against the patched in-process sandbox: what is observed, and what it costs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.mesh import subscriptions_table_definition
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.tracker import item_from_record
from meshctl.ids import subscription_id
from meshctl.observed import (
    Column,
    LfResource,
    RecordStatus,
    ResourceType,
    SubscriptionRecord,
    Table,
)
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec, Product

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
MESH_DB = f"sales-{PRODUCER}"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PRODUCER}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "glue:Get*", "Resource": "*"}],
}


def _spec() -> MeshSpec:
    return MeshSpec(
        mesh=MeshSettings(MESH, "us-east-1"),
        accounts=(
            Account("sales", PRODUCER, frozenset({AccountRole.PRODUCER})),
            Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),
        ),
        products=(Product("sales.orders", "sales", "sales", ("*",), MESH_DB),),
    )


def _sessions() -> AccountSessions:
    spec = _spec()
    return AccountSessions(spec.mesh, spec.accounts)


def _put_raw(sandbox: InProcessSandbox, item: dict[str, Any]) -> None:
    ddb = sandbox.session(MESH).client("dynamodb")
    serialize = TypeSerializer().serialize
    ddb.put_item(TableName=TABLE, Item={k: serialize(v) for k, v in item.items()})


def _create_table(sandbox: InProcessSandbox) -> None:
    sandbox.session(MESH).client("dynamodb").create_table(**subscriptions_table_definition(TABLE))


def test_empty_mesh_observes_absence_without_error(sandbox: InProcessSandbox) -> None:
    sessions = _sessions()
    observed = read_mesh(_spec(), sessions)
    assert observed.mesh_account_id == MESH
    assert observed.subscriptions_table_exists is False
    assert observed.subscriptions == ()
    assert observed.roles == ()
    assert observed.grants == ()
    assert observed.databases == () and observed.tables == ()
    assert observed.catalog_policy == ""
    # A member account costs a small constant, role assumption included (architecture.md).
    # A small constant per member account: AssumeRole, IAM (one GAAD page), GetDatabases, and
    # SearchTables for a producer; and RAM invitations, since no apply has kept the invitation
    # journal yet (aws/invitations.py). Producers read invitations too: their grants on the mesh
    # database send invitations they must accept.
    assert sessions.stats.calls(account_id=PRODUCER) <= 5
    assert sessions.stats.calls(account_id=CONSUMER) <= 4
    # The mesh account: tracker, grants, data cells filters, settings, LF-tags, locations,
    # databases, tables, catalog policy, IAM, invitation journal: one call (or page) each.
    assert sessions.stats.calls(account_id=MESH) <= 12
    assert sessions.stats.writes == 0


def test_item_written_by_the_helper_library_is_read(sandbox: InProcessSandbox) -> None:
    _create_table(sandbox)
    share = f"arn:aws:ram:us-east-1:{MESH}:resource-share/abc"
    _put_raw(
        sandbox,
        {
            "SubscriptionId": "5HZ3ub2ZqXkGq9yhnmPjbT",  # shortuuid, as the library makes them
            "OwnerPrincipal": PRODUCER,
            "SubscriberPrincipal": CONSUMER,
            "Status": "Active",
            "DatabaseName": MESH_DB,
            "TableName": ["orders", "customers"],
            "RequestedGrants": ["SELECT", "DESCRIBE"],
            "PermittedGrants": ["SELECT", "DESCRIBE"],
            "GrantedTableARNs": [f"arn:aws:glue:us-east-1:{MESH}:table/{MESH_DB}/orders"],
            "RamShares": {MESH_DB: {"type": "Database", "arn": share}},
            "Notes": {"approved by producer"},
            "CreationDate": "2024-01-02 03:04:05",
            "CreatedBy": f"arn:aws:sts::{CONSUMER}:assumed-role/DataMeshConsumer/x",
        },
    )
    _put_raw(
        sandbox,
        {
            "SubscriptionId": "second",
            "OwnerPrincipal": PRODUCER,
            "SubscriberPrincipal": CONSUMER,
            "Status": "Pending",
            "DatabaseName": MESH_DB,
            "TableName": ["orders"],
            "RequestedGrants": ["SELECT"],
            "Notes": "a plain string note",  # some library paths store Notes as a string
        },
    )
    observed = read_mesh(_spec(), _sessions())
    assert observed.subscriptions_table_exists
    library, pending = sorted(observed.subscriptions, key=lambda r: r.status != "Active")
    assert library.subscription_id == "5HZ3ub2ZqXkGq9yhnmPjbT"
    assert library.status is RecordStatus.ACTIVE
    assert library.tables == ("customers", "orders")
    assert library.permitted == ("DESCRIBE", "SELECT")
    assert library.ram_shares == ((MESH_DB, share),)
    assert library.notes == ("approved by producer",)
    assert library.managed is False and library.version == 0 and library.product == ""
    assert pending.status is RecordStatus.PENDING
    assert pending.notes == ("a plain string note",)


def test_meshctl_item_round_trips(sandbox: InProcessSandbox) -> None:
    _create_table(sandbox)
    record = SubscriptionRecord(
        subscription_id=subscription_id(CONSUMER, "sales.orders"),
        owner=PRODUCER,
        subscriber=CONSUMER,
        status=RecordStatus.ACTIVE,
        database=MESH_DB,
        tables=("orders",),
        requested=("DESCRIBE", "SELECT"),
        permitted=("DESCRIBE", "SELECT"),
        grantable=("SELECT",),
        ram_shares=((MESH_DB, "arn:aws:ram:x"),),
        notes=("approved",),
        imported=True,
        managed=True,
        version=3,
        product="sales.orders",
        approved_by="owners@example.com",
        purpose="attribution",
        expires="2027-06-30",
    )
    item = item_from_record(record, "arn:aws:sts::1:assumed-role/ci/x", "plan-1", "abc123", now="t")
    assert item["Version"] == 3 and item["GitCommit"] == "abc123"
    _put_raw(sandbox, item)
    (observed,) = read_mesh(_spec(), _sessions()).subscriptions
    assert observed == record.__class__(
        **{
            **record.__dict__,
            "created_at": "t",
            "created_by": "arn:aws:sts::1:assumed-role/ci/x",
            "updated_at": "t",
            "updated_by": "arn:aws:sts::1:assumed-role/ci/x",
            "last_plan_id": "plan-1",
        }
    )
    # The helper library's layout: its attribute names and types, readable by it.
    raw = sandbox.session(MESH).client("dynamodb").scan(TableName=TABLE)["Items"][0]
    assert raw["Status"] == {"S": "Active"}
    assert raw["Notes"] == {"SS": ["approved"]}
    assert raw["RamShares"]["M"][MESH_DB]["M"]["type"] == {"S": "Database"}
    assert raw["Version"] == {"N": str(Decimal(3))}


def _build_mesh(sandbox: InProcessSandbox) -> None:
    """A small live mesh built by direct boto3 calls, as an operator or the library would."""
    mesh = sandbox.session(MESH)
    _create_table(sandbox)
    iam = mesh.client("iam")
    for name, tags in (("DataMeshManager", [{"Key": "ManagedBy", "Value": "meshctl"}]), ("X", [])):
        iam.create_role(
            RoleName=name,
            Path="/AwsDataMesh/" if name != "X" else "/",
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Tags=tags,
        )
        iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(POLICY))
    glue = mesh.client("glue")
    glue.create_database(
        DatabaseInput={
            "Name": MESH_DB,
            "Description": "orders",
            "Parameters": {"ManagedBy": "meshctl", "MeshctlLfTags": '{"Domain":"Sales"}'},
        }
    )
    glue.create_database(DatabaseInput={"Name": "scratch"})
    sd = {"Columns": [{"Name": "id", "Type": "int"}], "Location": "s3://sales/orders/"}
    glue.create_table(
        DatabaseName=MESH_DB, TableInput={"Name": "orders", "StorageDescriptor": sd, "Owner": "x"}
    )
    glue.create_table(DatabaseName="scratch", TableInput={"Name": "tmp", "StorageDescriptor": sd})
    glue.put_resource_policy(PolicyInJson=json.dumps(POLICY))
    lf = mesh.client("lakeformation")
    lf.put_data_lake_settings(
        DataLakeSettings={
            "DataLakeAdmins": [{"DataLakePrincipalIdentifier": f"arn:aws:iam::{MESH}:role/Admin"}],
            "CreateTableDefaultPermissions": [],
            "CreateDatabaseDefaultPermissions": [],
        }
    )
    lf.create_lf_tag(TagKey="Domain", TagValues=["Sales", "Finance"])
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": CONSUMER},
        Resource={
            "TableWithColumns": {
                "CatalogId": MESH,
                "DatabaseName": MESH_DB,
                "Name": "orders",
                "ColumnWildcard": {},
            }
        },
        Permissions=["SELECT"],
    )
    # Producer: its source database and table, a resource link to the mesh, its member role.
    producer = sandbox.session(PRODUCER)
    pglue = producer.client("glue")
    pglue.create_database(DatabaseInput={"Name": "sales"})
    pglue.create_database(DatabaseInput={"Name": "unrelated"})
    pglue.create_table(DatabaseName="sales", TableInput={"Name": "orders", "StorageDescriptor": sd})
    pglue.create_table(DatabaseName="unrelated", TableInput={"Name": "t", "StorageDescriptor": sd})
    pglue.create_database(
        DatabaseInput={
            "Name": MESH_DB,
            "TargetDatabase": {"CatalogId": MESH, "DatabaseName": MESH_DB},
        }
    )
    producer.client("iam").create_role(
        RoleName="DataMeshProducer",
        Path="/AwsDataMesh/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
    )


def test_small_mesh_is_observed_in_canonical_form(sandbox: InProcessSandbox) -> None:
    _build_mesh(sandbox)
    sessions = _sessions()
    observed = read_mesh(_spec(), sessions)

    roles = {r.address: r for r in observed.roles}
    assert set(roles) == {f"role.{MESH}/DataMeshManager", f"role.{PRODUCER}/DataMeshProducer"}
    manager = roles[f"role.{MESH}/DataMeshManager"]
    assert manager.managed_by_meshctl and manager.path == "/AwsDataMesh/"
    assert json.loads(manager.trust_policy) == TRUST
    assert manager.policy_name == "DataMeshManager" and json.loads(manager.policy) == POLICY

    dbs = {d.address: d for d in observed.databases}
    assert set(dbs) == {f"database.{MESH}/{MESH_DB}", f"database.{PRODUCER}/{MESH_DB}"}
    mesh_db = dbs[f"database.{MESH}/{MESH_DB}"]
    assert mesh_db.managed_by_meshctl and mesh_db.tags == (("Domain", "Sales"),)
    link = dbs[f"database.{PRODUCER}/{MESH_DB}"]
    assert (link.target_account_id, link.target_database) == (MESH, MESH_DB)

    tables = {t.address: t for t in observed.tables}
    assert set(tables) == {f"table.{MESH}/{MESH_DB}.orders", f"table.{PRODUCER}/sales.orders"}
    assert tables[f"table.{PRODUCER}/sales.orders"] == Table(
        PRODUCER,
        "sales",
        "orders",
        (Column("id", "int"),),
        location="s3://sales/orders/",
        table_type="",
    )

    # TableWithColumns + ColumnWildcard comes back folded into a Table grant.
    (grant,) = [g for g in observed.grants if g.principal == CONSUMER]
    assert grant.resource == LfResource(ResourceType.TABLE, MESH, MESH_DB, "orders")
    assert grant.permissions == frozenset({"SELECT"})

    assert observed.lake_settings.admins == frozenset({f"arn:aws:iam::{MESH}:role/Admin"})
    assert observed.lake_settings.create_table_default_permissions_empty
    assert json.loads(observed.catalog_policy) == POLICY
    assert observed.lf_tags == (("Domain", ("Finance", "Sales")),)
    # The cross-account grant left the consumer a pending RAM invitation from the mesh.
    assert [a for a, _ in observed.pending_invitations] == [CONSUMER]
    assert sessions.stats.writes == 0
    assert sessions.stats.calls(account_id=PRODUCER) <= 5  # see the empty-mesh test


def test_reads_follow_every_page(sandbox: InProcessSandbox) -> None:
    glue = sandbox.session(MESH).client("glue")
    lf = sandbox.session(MESH).client("lakeformation")
    names = [f"db{i:03d}-{PRODUCER}" for i in range(130)]
    for name in names:
        glue.create_database(DatabaseInput={"Name": name})
    entries = [
        {
            "Id": str(i),
            "Principal": {"DataLakePrincipalIdentifier": f"{i:012d}"},
            "Resource": {"Database": {"CatalogId": MESH, "Name": names[i % 130]}},
            "Permissions": ["DESCRIBE"],
        }
        for i in range(1, 1101)
    ]
    for start in range(0, len(entries), 20):
        lf.batch_grant_permissions(CatalogId=MESH, Entries=entries[start : start + 20])
    sessions = _sessions()
    observed = read_mesh(_spec(), sessions)
    assert len(observed.databases) == 130
    assert len(observed.grants) == 1100
    assert sessions.stats.calls(account_id=MESH, operation="GetDatabases") == 2  # 100 a page
    assert sessions.stats.calls(account_id=MESH, operation="ListPermissions") == 2  # 1,000 a page
