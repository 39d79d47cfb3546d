"""What each meshctl feature needs of IAM, as data: the ``FEATURES`` table (pure).

Each ``Feature`` row names the statements a meshctl feature needs, on which side (the mesh
account or the member accounts), on which resource sets (``Res``), and when a mesh uses it.
``deployer_policy.py`` turns the rows a mesh uses into IAM documents with that mesh's ARNs. To give
a new feature its permissions, add one row here (its statements name resource sets; a new set
also needs its ARNs in ``deployer_policy._resources``); every action must be one meshctl calls
(docs/deployer-policy.md, tests/unit/test_deployer_policy.py).

``meshctl doctor`` is read-only and the README says to run it first: its statements are always
in the policy (those it shares with plan are plan's; the KMS, S3 and CloudTrail reads are its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from meshctl.spec.model import MeshSpec


class Side(StrEnum):
    MESH = "mesh"
    MEMBER = "member"


class Res(StrEnum):
    """Sets of resources a statement may name; ``_resources`` gives their ARNs for a mesh."""

    ANY = "*"  # actions IAM cannot scope (Lake Formation; list calls of IAM and RAM)
    MEMBER_DEPLOYERS = "member_deployers"  # the role meshctl assumes in each member account
    SUBSCRIPTION_TABLE = "subscription_table"
    SUBSCRIPTION_INDEXES = "subscription_indexes"  # its Owner and Subscriber indexes
    LOCK_TABLE = "lock_table"
    MESH_ROLES = "mesh_roles"  # roles under /AwsDataMesh/ of the side's accounts
    MESH_USERS = "mesh_users"
    MESH_GROUPS = "mesh_groups"
    LF_SERVICE_ROLE = "lf_service_role"
    MESH_CATALOG = "mesh_catalog"
    MESH_DATABASES = "mesh_databases"
    MESH_TABLES = "mesh_tables"
    MEMBER_CATALOGS = "member_catalogs"
    SOURCE_DATABASES = "source_databases"
    SOURCE_TABLES = "source_tables"
    LINK_DATABASES = "link_databases"  # resource links to the mesh databases, in member catalogs
    MESH_INVITATIONS = "mesh_invitations"  # RAM invitations the mesh account sends
    # KMS keys meshctl grants on in the side's accounts: each declared ``kms_key_arn`` of a
    # producer or the mesh account; any key of the producer and the mesh account for a
    # ``kms_key_arn: bucket`` product (its key is known only once its bucket is read).
    GRANT_KEYS = "grant_keys"
    ACCOUNT_KEYS = "account_keys"  # every key of the side's accounts in the mesh's region
    # The products' source buckets: named only by the Glue tables' locations, never by the file,
    # and an S3 bucket ARN names no account, so this is every bucket (read-only, see the docs).
    PRODUCT_BUCKETS = "product_buckets"
    MESH_TRAILS = "mesh_trails"  # CloudTrail trails of the mesh account, in any region


@dataclass(frozen=True)
class Need:
    """One statement: ``sid`` (unique), its actions, and the resource sets they act on."""

    sid: str
    side: Side
    actions: tuple[str, ...]
    resources: tuple[Res, ...]


@dataclass(frozen=True)
class Feature:
    """What meshctl does (a command, or a kind of change apply makes) and what it needs."""

    name: str
    needs: tuple[Need, ...]
    used: Callable[[MeshSpec], bool] = lambda spec: True


def _has_members(spec: MeshSpec) -> bool:
    return bool(spec.accounts)


def _has_products(spec: MeshSpec) -> bool:
    return bool(spec.products)


def _has_tags(spec: MeshSpec) -> bool:
    return any(p.tags for p in spec.products)


def _has_row_filters(spec: MeshSpec) -> bool:
    return any(r.row_filter for s in spec.subscriptions for r in s.restrictions)


def _has_principals(spec: MeshSpec) -> bool:
    return any(s.principals for s in spec.subscriptions)


def _has_users(spec: MeshSpec) -> bool:
    return spec.mesh.iam_users


def _has_keys(spec: MeshSpec) -> bool:
    return any(p.kms_key_arn for p in spec.products)


def _has_member_products(spec: MeshSpec) -> bool:
    return _has_members(spec) and _has_products(spec)


_IAM_ROLES = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
)
_IAM_USERS = (
    "iam:CreateUser",
    "iam:DeleteUser",
    "iam:GetLoginProfile",
    "iam:ListAccessKeys",
    "iam:ListAttachedUserPolicies",
    "iam:ListMFADevices",
    "iam:ListSSHPublicKeys",
    "iam:ListServiceSpecificCredentials",
    "iam:ListSigningCertificates",
    "iam:ListUserPolicies",
    "iam:TagUser",
    "iam:UpdateUser",
)
_IAM_GROUPS = (
    "iam:AddUserToGroup",
    "iam:CreateGroup",
    "iam:DeleteGroup",
    "iam:DeleteGroupPolicy",
    "iam:DetachGroupPolicy",
    "iam:GetGroup",
    "iam:ListAttachedGroupPolicies",
    "iam:ListGroupPolicies",
    "iam:PutGroupPolicy",
    "iam:RemoveUserFromGroup",
    "iam:UpdateGroup",
)
_DATABASE_WRITES = (
    "glue:CreateDatabase",
    "glue:DeleteDatabase",
    "glue:GetDatabase",
    "glue:UpdateDatabase",
)
_TABLE_WRITES = ("glue:CreateTable", "glue:DeleteTable", "glue:GetTable", "glue:UpdateTable")
_KMS_GRANTS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
_KMS_KEY_READS = ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListGrants")

# The one table of what meshctl needs (the lead adds a feature's statements here). Read by
# ``deployer_policy``; tests/integration/test_deployer_policy.py proves each statement is needed.
FEATURES: tuple[Feature, ...] = (
    Feature(
        "reach member accounts (every command)",
        (Need("AssumeMemberDeployers", Side.MESH, ("sts:AssumeRole",), (Res.MEMBER_DEPLOYERS,)),),
        _has_members,
    ),
    Feature(
        "read the subscription table (plan, access, import, subscriptions)",
        (
            Need(
                "ReadSubscriptions",
                Side.MESH,
                ("dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"),
                (Res.SUBSCRIPTION_TABLE, Res.SUBSCRIPTION_INDEXES),
            ),
        ),
    ),
    Feature(
        "write subscription records (apply)",
        (
            Need(
                "WriteSubscriptions",
                Side.MESH,
                (
                    "dynamodb:CreateTable",
                    "dynamodb:PutItem",
                    "dynamodb:TagResource",
                    "dynamodb:UpdateItem",
                ),
                (Res.SUBSCRIPTION_TABLE,),
            ),
        ),
    ),
    Feature(
        "the apply lock and the invitation journal (plan, apply, unlock)",
        (
            Need(
                "ApplyLock",
                Side.MESH,
                (
                    "dynamodb:CreateTable",
                    "dynamodb:DeleteItem",
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeTimeToLive",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:UpdateTimeToLive",
                ),
                (Res.LOCK_TABLE,),
            ),
        ),
    ),
    Feature(
        "read IAM (plan, access, import)",
        (
            Need("ReadIam", Side.MESH, ("iam:GetAccountAuthorizationDetails",), (Res.ANY,)),
            Need("ReadMemberIam", Side.MEMBER, ("iam:GetAccountAuthorizationDetails",), (Res.ANY,)),
        ),
    ),
    Feature(
        "mesh roles under /AwsDataMesh/ (apply)",
        (
            Need("MeshRoles", Side.MESH, _IAM_ROLES, (Res.MESH_ROLES,)),
            Need("MemberRoles", Side.MEMBER, _IAM_ROLES, (Res.MESH_ROLES,)),
        ),
    ),
    Feature(
        "mesh.iam_users: users and groups beside the roles (apply)",
        (
            Need("MeshUsers", Side.MESH, _IAM_USERS, (Res.MESH_USERS,)),
            Need("MeshGroups", Side.MESH, _IAM_GROUPS, (Res.MESH_GROUPS,)),
            Need("MemberUsers", Side.MEMBER, _IAM_USERS, (Res.MESH_USERS,)),
            Need("MemberGroups", Side.MEMBER, _IAM_GROUPS, (Res.MESH_GROUPS,)),
        ),
        _has_users,
    ),
    Feature(
        "read the mesh catalog (plan, access, import)",
        (
            Need(
                "ReadMeshCatalog",
                Side.MESH,
                ("glue:GetDatabases", "glue:GetResourcePolicy", "glue:SearchTables"),
                (Res.MESH_CATALOG, Res.MESH_DATABASES, Res.MESH_TABLES),
            ),
        ),
    ),
    Feature(
        "mesh databases and table copies (apply)",
        (
            Need(
                "MeshDatabases",
                Side.MESH,
                (*_DATABASE_WRITES, *_TABLE_WRITES),
                (Res.MESH_CATALOG, Res.MESH_DATABASES, Res.MESH_TABLES),
            ),
        ),
        _has_products,
    ),
    Feature(
        "the mesh catalog's resource policy (apply)",
        (Need("CatalogPolicy", Side.MESH, ("glue:PutResourcePolicy",), (Res.MESH_CATALOG,)),),
    ),
    Feature(
        "read Lake Formation (plan, access, import)",
        (
            Need(
                "ReadLakeFormation",
                Side.MESH,
                (
                    "lakeformation:GetDataLakeSettings",
                    "lakeformation:ListDataCellsFilter",
                    "lakeformation:ListLFTags",
                    "lakeformation:ListPermissions",
                    "lakeformation:ListResources",
                ),
                (Res.ANY,),
            ),
        ),
    ),
    Feature(
        "data lake settings: admins, defaults, cross-account version (apply)",
        (
            Need(
                "LakeSettings",
                Side.MESH,
                ("lakeformation:PutDataLakeSettings",),
                (Res.ANY,),
            ),
        ),
    ),
    Feature(
        "Lake Formation grants and their RAM shares (apply)",
        (
            Need(
                "LakeFormationGrants",
                Side.MESH,
                ("lakeformation:BatchGrantPermissions", "lakeformation:BatchRevokePermissions"),
                (Res.ANY,),
            ),
            # Lake Formation shares cross-account grants through RAM as the caller
            # (the guide's cross-account prerequisites, AWSLakeFormationCrossAccountManager).
            Need(
                "LakeFormationSharing",
                Side.MESH,
                (
                    "ram:AssociateResourceShare",
                    "ram:CreateResourceShare",
                    "ram:DeleteResourceShare",
                    "ram:DisassociateResourceShare",
                    "ram:GetResourceShares",
                    "ram:UpdateResourceShare",
                ),
                (Res.ANY,),
            ),
        ),
        _has_members,
    ),
    Feature(
        "register product locations with Lake Formation (apply)",
        (
            Need("RegisterLocations", Side.MESH, ("lakeformation:RegisterResource",), (Res.ANY,)),
            # RegisterResource with UseServiceLinkedRole creates Lake Formation's role and its
            # policy as the caller (the guide's "Requirements for roles used to register").
            Need(
                "LakeFormationServiceRole",
                Side.MESH,
                ("iam:CreateServiceLinkedRole", "iam:PutRolePolicy"),
                (Res.LF_SERVICE_ROLE,),
            ),
        ),
        _has_products,
    ),
    Feature(
        "products' tags as LF-tags (apply)",
        (
            Need(
                "LfTags",
                Side.MESH,
                (
                    "lakeformation:AddLFTagsToResource",
                    "lakeformation:CreateLFTag",
                    "lakeformation:RemoveLFTagsFromResource",
                    "lakeformation:UpdateLFTag",
                ),
                (Res.ANY,),
            ),
        ),
        _has_tags,
    ),
    Feature(
        "row filters as data cells filters (apply)",
        (
            Need(
                "DataCellsFilters",
                Side.MESH,
                (
                    "lakeformation:CreateDataCellsFilter",
                    "lakeformation:DeleteDataCellsFilter",
                    "lakeformation:GetDataCellsFilter",
                    "lakeformation:UpdateDataCellsFilter",
                ),
                (Res.ANY,),
            ),
        ),
        _has_row_filters,
    ),
    Feature(
        "read member catalogs: sources and resource links (plan, import)",
        (
            Need(
                "ReadMemberCatalog",
                Side.MEMBER,
                ("glue:GetDatabases", "glue:SearchTables"),
                (
                    Res.MEMBER_CATALOGS,
                    Res.SOURCE_DATABASES,
                    Res.SOURCE_TABLES,
                    Res.LINK_DATABASES,
                ),
            ),
        ),
        _has_members,
    ),
    Feature(
        "resource links in member catalogs (apply)",
        (
            Need(
                "ResourceLinks",
                Side.MEMBER,
                _DATABASE_WRITES,
                (Res.MEMBER_CATALOGS, Res.LINK_DATABASES),
            ),
        ),
        _has_products,
    ),
    Feature(
        "RAM invitations from the mesh account (plan, apply)",
        (
            Need("ReadInvitations", Side.MEMBER, ("ram:GetResourceShareInvitations",), (Res.ANY,)),
            Need(
                "AcceptInvitations",
                Side.MEMBER,
                ("ram:AcceptResourceShareInvitation",),
                (Res.MESH_INVITATIONS,),
            ),
        ),
        _has_members,
    ),
    Feature(
        # A subscription record that ever named principals keeps them, so plan reads that
        # consumer's link grants even after the file drops them.
        "read grants on consumers' resource links (plan)",
        (Need("ReadLinkGrants", Side.MEMBER, ("lakeformation:ListPermissions",), (Res.ANY,)),),
        _has_members,
    ),
    Feature(
        "subscriptions with principals: DESCRIBE on the consumer's resource link (apply)",
        (
            Need(
                "LinkGrants",
                Side.MEMBER,
                ("lakeformation:BatchGrantPermissions", "lakeformation:BatchRevokePermissions"),
                (Res.ANY,),
            ),
        ),
        _has_principals,
    ),
    Feature(
        # GetBucketEncryption: doctor reads every product bucket (its existence and default
        # encryption), plan the buckets of `kms_key_arn: bucket` products (docs/kms.md).
        "product buckets' default encryption (doctor; plan with kms_key_arn: bucket)",
        (
            Need(
                "ReadBucketEncryption",
                Side.MEMBER,
                ("s3:GetEncryptionConfiguration",),
                (Res.PRODUCT_BUCKETS,),
            ),
        ),
        _has_member_products,
    ),
    Feature(
        "KMS grants for products with kms_key_arn (plan, apply)",
        (
            Need("MeshKeyGrants", Side.MESH, _KMS_GRANTS, (Res.GRANT_KEYS,)),
            Need("MemberKeyGrants", Side.MEMBER, _KMS_GRANTS, (Res.GRANT_KEYS,)),
        ),
        _has_keys,
    ),
    Feature(
        # Doctor reads the key of each SSE-KMS product bucket in the key's account, whatever the
        # file says about kms_key_arn: any key of the mesh's region in a reached account.
        "the keys of SSE-KMS product buckets (doctor)",
        (
            Need("DoctorMeshKeys", Side.MESH, _KMS_KEY_READS, (Res.ACCOUNT_KEYS,)),
            Need("DoctorMemberKeys", Side.MEMBER, _KMS_KEY_READS, (Res.ACCOUNT_KEYS,)),
        ),
        _has_member_products,
    ),
    Feature(
        "a CloudTrail trail logging in the mesh account (doctor)",
        (
            Need("DoctorTrails", Side.MESH, ("cloudtrail:DescribeTrails",), (Res.ANY,)),
            Need(
                "DoctorTrailStatus", Side.MESH, ("cloudtrail:GetTrailStatus",), (Res.MESH_TRAILS,)
            ),
        ),
    ),
)
