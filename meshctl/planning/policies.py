"""IAM documents for the mesh roles, as pure functions returning plain dicts.

Names, paths and trust shapes follow the helper library (every role lives under
``/AwsDataMesh/``, so its ARN is ``arn:aws:iam::<account>:role/AwsDataMesh/<name>``), so a mesh the
library built is recognised and one meshctl built stays usable by the library. The permissions are
narrower than the library's:

- no statement allows action ``*`` or a whole-service wildcard, and none pairs ``*`` with ``*``;
- Lake Formation grant/revoke actions have no resource-level permissions, so they use resource
  ``*``, but no producer or consumer role may change data lake settings (``PutDataLakeSettings``):
  no producer is a data lake admin;
- Glue and DynamoDB actions are scoped to the mesh account's catalog and subscription table;
- a producer/consumer admin role is assumable only by its own member account's role (not by the
  read-only role: every member may assume that one, so trusting it would let any member become
  any producer's admin).

Invariant: every list in a document is sorted, so ``codec.canonical_json`` of a document is stable
and equal to what the reader returns after apply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meshctl.spec.model import DEFAULT_SUBSCRIPTIONS_TABLE

Document = dict[str, Any]

MESH_ROLE_PATH = "/AwsDataMesh/"
MANAGER_ROLE = "DataMeshManager"
READ_ONLY_ROLE = "DataMeshAdminReadOnly"
PRODUCER_ROLE = "DataMeshProducer"
CONSUMER_ROLE = "DataMeshConsumer"
_ADMIN_PRODUCER = "DataMeshAdminProducer"
_ADMIN_CONSUMER = "DataMeshAdminConsumer"
_VERSION = "2012-10-17"


def role_arn(account_id: str, role_name: str) -> str:
    """The ARN of a mesh role (path included, as the library builds it)."""
    return f"arn:aws:iam::{account_id}:role{MESH_ROLE_PATH}{role_name}"


def admin_producer_role(account_id: str) -> str:
    return f"{_ADMIN_PRODUCER}-{account_id}"


def admin_consumer_role(account_id: str) -> str:
    return f"{_ADMIN_CONSUMER}-{account_id}"


def _root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _doc(*statements: Document) -> Document:
    return {"Version": _VERSION, "Statement": list(statements)}


def _allow(sid: str, actions: Iterable[str], resources: Iterable[str] | str) -> Document:
    res = resources if isinstance(resources, str) else sorted(set(resources))
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": res}


def _trust(principals: Iterable[str]) -> Document:
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": sorted(set(principals))},
            "Action": "sts:AssumeRole",
        }
    )


# --- trust policies -----------------------------------------------------------------------------


def manager_trust(mesh_account_id: str) -> Document:
    return _trust([_root(mesh_account_id)])


def read_only_trust(
    mesh_account_id: str, producer_ids: Iterable[str], consumer_ids: Iterable[str]
) -> Document:
    """The mesh account, and every member's DataMeshProducer / DataMeshConsumer role."""
    members = [role_arn(p, PRODUCER_ROLE) for p in producer_ids]
    members += [role_arn(c, CONSUMER_ROLE) for c in consumer_ids]
    return _trust([_root(mesh_account_id), *members])


def admin_producer_trust(producer_id: str) -> Document:
    return _trust([role_arn(producer_id, PRODUCER_ROLE)])


def admin_consumer_trust(consumer_id: str) -> Document:
    return _trust([role_arn(consumer_id, CONSUMER_ROLE)])


def member_trust(member_account_id: str) -> Document:
    """DataMeshProducer / DataMeshConsumer: assumable by principals of their own account."""
    return _trust([_root(member_account_id)])


# --- resources ----------------------------------------------------------------------------------


def _catalog_arns(region: str, account_id: str) -> list[str]:
    return [
        f"arn:aws:glue:{region}:{account_id}:catalog",
        f"arn:aws:glue:{region}:{account_id}:database/*",
        f"arn:aws:glue:{region}:{account_id}:table/*/*",
    ]


def _table_arns(region: str, mesh_account_id: str, table: str) -> list[str]:
    base = f"arn:aws:dynamodb:{region}:{mesh_account_id}:table/{table}"
    return [base, f"{base}/index/*"]


_GLUE_READ = (
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTableVersion",
    "glue:GetTableVersions",
    "glue:GetTables",
    "glue:GetTags",
    "glue:SearchTables",
)
_LF_READ = (
    "lakeformation:DescribeResource",
    "lakeformation:GetDataLakeSettings",
    "lakeformation:GetLFTag",
    "lakeformation:GetResourceLFTags",
    "lakeformation:ListLFTags",
    "lakeformation:ListPermissions",
    "lakeformation:ListResources",
)
_LF_GRANT = (
    "lakeformation:BatchGrantPermissions",
    "lakeformation:BatchRevokePermissions",
    "lakeformation:GrantPermissions",
    "lakeformation:RevokePermissions",
)
_DDB_READ = ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
_DDB_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")
_RAM_ACCEPT = (
    "ram:AcceptResourceShareInvitation",
    "ram:GetResourceShareInvitations",
    "ram:GetResourceShares",
    "ram:ListResources",
)


# --- inline policies of the mesh account's roles --------------------------------------------------


def manager_policy(
    mesh_account_id: str, region: str, subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE
) -> Document:
    """DataMeshManager: runs the mesh (a data lake admin, as in the library)."""
    m = mesh_account_id
    return _doc(
        _allow(
            "ManageMeshRoles",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UpdateAssumeRolePolicy",
            ],
            [f"arn:aws:iam::{m}:role{MESH_ROLE_PATH}*"],
        ),
        _allow(
            "MeshCatalog",
            [
                *_GLUE_READ,
                "glue:CreateDatabase",
                "glue:CreateTable",
                "glue:DeleteDatabase",
                "glue:DeleteTable",
                "glue:GetResourcePolicy",
                "glue:PutResourcePolicy",
                "glue:UpdateDatabase",
                "glue:UpdateTable",
            ],
            _catalog_arns(region, m),
        ),
        _allow(
            "LakeFormation",
            [
                *_LF_READ,
                *_LF_GRANT,
                "lakeformation:AddLFTagsToResource",
                "lakeformation:CreateLFTag",
                "lakeformation:PutDataLakeSettings",
                "lakeformation:RegisterResource",
                "lakeformation:UpdateLFTag",
            ],
            "*",
        ),
        _allow(
            "SubscriptionTable",
            [*_DDB_READ, *_DDB_WRITE, "dynamodb:CreateTable", "dynamodb:UpdateTable"],
            _table_arns(region, m, subscriptions_table),
        ),
        _allow("RamShares", [*_RAM_ACCEPT, "ram:CreateResourceShare"], "*"),
    )


def read_only_policy(
    mesh_account_id: str, region: str, subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE
) -> Document:
    """DataMeshAdminReadOnly: read the mesh catalog, its grants and the subscription table."""
    return _doc(
        _allow("ReadCatalog", _GLUE_READ, _catalog_arns(region, mesh_account_id)),
        _allow("ReadLakeFormation", _LF_READ, "*"),
        _allow(
            "ReadSubscriptions",
            _DDB_READ,
            _table_arns(region, mesh_account_id, subscriptions_table),
        ),
    )


def admin_producer_policy(
    mesh_account_id: str,
    producer_id: str,
    region: str,
    subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE,
) -> Document:
    """DataMeshAdminProducer-<id>: publish tables into the mesh catalog and grant on them.

    Not a data lake admin: it may grant only what it holds with grant option, and cannot change
    data lake settings.
    """
    m = mesh_account_id
    return _doc(
        _allow(
            "PublishToMeshCatalog",
            [
                *_GLUE_READ,
                "glue:BatchCreatePartition",
                "glue:CreateDatabase",
                "glue:CreatePartition",
                "glue:CreateTable",
                "glue:UpdateDatabase",
                "glue:UpdatePartition",
                "glue:UpdateTable",
            ],
            _catalog_arns(region, m),
        ),
        _allow("GrantOnMeshCatalog", [*_LF_READ, *_LF_GRANT], "*"),
        _allow(
            "Subscriptions",
            [*_DDB_READ, *_DDB_WRITE],
            _table_arns(region, m, subscriptions_table),
        ),
        _allow("ShareWithRam", ["ram:CreateResourceShare", "ram:GetResourceShares"], "*"),
    )


def admin_consumer_policy(
    mesh_account_id: str,
    consumer_id: str,
    region: str,
    subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE,
) -> Document:
    """DataMeshAdminConsumer-<id>: read the mesh catalog and request/read subscriptions."""
    m = mesh_account_id
    return _doc(
        _allow("ReadMeshCatalog", _GLUE_READ, _catalog_arns(region, m)),
        _allow("ReadLakeFormation", _LF_READ, "*"),
        _allow(
            "Subscriptions",
            [*_DDB_READ, *_DDB_WRITE],
            _table_arns(region, m, subscriptions_table),
        ),
    )


# --- inline policies of the member accounts' roles ------------------------------------------------


def _member_policy(member_id: str, mesh_account_id: str, admin_role: str, region: str) -> Document:
    return _doc(
        _allow(
            "AssumeMeshRoles",
            ["sts:AssumeRole"],
            [role_arn(mesh_account_id, admin_role), role_arn(mesh_account_id, READ_ONLY_ROLE)],
        ),
        _allow(
            "OwnCatalog",
            [*_GLUE_READ, "glue:CreateDatabase", "glue:UpdateDatabase"],
            _catalog_arns(region, member_id),
        ),
        _allow(
            "AcceptMeshShares",
            [*_RAM_ACCEPT, "lakeformation:GetDataAccess", "lakeformation:ListPermissions"],
            "*",
        ),
    )


def member_producer_policy(producer_id: str, mesh_account_id: str, region: str) -> Document:
    """DataMeshProducer (member account): reach the mesh, read its own source tables."""
    return _member_policy(producer_id, mesh_account_id, admin_producer_role(producer_id), region)


def member_consumer_policy(consumer_id: str, mesh_account_id: str, region: str) -> Document:
    """DataMeshConsumer (member account): reach the mesh, accept shares, create resource links."""
    return _member_policy(consumer_id, mesh_account_id, admin_consumer_role(consumer_id), region)


# --- the groups beside the roles (``mesh.iam_users``) ---------------------------------------------


def assume_policy_name(role_name: str) -> str:
    """The library's name for the policy that lets a role's group assume it."""
    return f"Assume{role_name}"


def assume_role_policy(account_id: str, role_name: str) -> Document:
    """A role's group may assume that role and nothing else: its members act through the role.

    Narrower than the library, which also attaches the role's data access policy to the group:
    a user holding both could act outside the role's session, its trust and its audit trail.
    """
    return _doc(_allow("AssumeOwnRole", ["sts:AssumeRole"], [role_arn(account_id, role_name)]))


# --- Glue catalog resource policy ---------------------------------------------------------------


def ram_share_statement(mesh_account_id: str, region: str) -> Document:
    """Lets RAM share the mesh catalog's databases and tables (``glue:ShareResource``)."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": ["ram.amazonaws.com"]},
        "Action": ["glue:ShareResource"],
        "Resource": sorted(_catalog_arns(region, mesh_account_id)),
    }


def catalog_resource_policy(mesh_account_id: str, region: str) -> Document:
    return _doc(ram_share_statement(mesh_account_id, region))


def _normal(value: Any) -> Any:
    """A statement with Sid dropped and every string-or-list field as a sorted list.

    IAM accepts ``"Action": "x"`` and ``"Action": ["x"]`` alike; both normalise to ``["x"]``.
    """
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in sorted(value.items()) if k != "Sid"}
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        items = (v if isinstance(v, str) else _normal(v) for v in value)
        return sorted(items, key=repr)
    return value


def merged_catalog_policy(observed: Document | None, mesh_account_id: str, region: str) -> Document:
    """The catalog policy with meshctl's RAM statement added; other statements are kept.

    Lake Formation and other tools add their own statements, so meshctl never replaces the
    document: it returns ``observed`` unchanged when an equivalent statement is already there.
    """
    required = ram_share_statement(mesh_account_id, region)
    if not observed:
        return _doc(required)
    statements = observed.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    if any(_normal(s) == _normal(required) for s in statements):
        return observed
    return {**observed, "Statement": [*statements, required]}
