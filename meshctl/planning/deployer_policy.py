"""The IAM policies the ``MeshctlDeployer`` role needs, per side of the mesh: pure.

One table, ``FEATURES``, says which statements each meshctl feature needs, on which side (the mesh
account or the member accounts) and on which resources; ``deployer_policy`` keeps the features a
mesh uses and turns each statement's resource sets into ARNs of that mesh. To give a new feature
its permissions, add one ``Feature`` row (its statements name the resource sets below, or a new
one added to ``_resources``); every action must be one meshctl calls (docs/deployer-policy.md).

Conventions (as ``policies``): no statement allows action ``*`` or a whole-service wildcard;
actions without resource-level permissions in IAM (Lake Formation, the RAM and IAM list calls,
CloudTrail's DescribeTrails) are the only ones on resource ``*``; every list is sorted, so the
output is stable.

``meshctl doctor`` is read-only and the README says to run it first: its statements are always
in the policy (those it shares with plan are plan's; the KMS, S3 and CloudTrail reads are its own).

The mesh policy also lets the mesh deployer assume each member account's deployer role: meshctl
reaches member accounts from the identity it runs as (architecture.md, *Credentials*), which in
CI is the mesh account's ``MeshctlDeployer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from meshctl.planning.policies import MESH_ROLE_PATH, Document
from meshctl.spec.model import BUCKET_KEY, Account, MeshSpec, Product

DEPLOYER_ROLE = "MeshctlDeployer"  # aws.sessions.DEFAULT_ROLE_NAME (planning cannot import aws)
_VERSION = "2012-10-17"
# Lake Formation's service-linked role, used to register product locations (UseServiceLinkedRole).
LF_SERVICE_ROLE = (
    "role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess"
)


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
        "the apply lock (apply, unlock)",
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


# --- resources --------------------------------------------------------------------------------


def member_deployer_arn(account: Account) -> str:
    """The role meshctl assumes in a member account (architecture.md, *Credentials*)."""
    return account.role_arn or f"arn:aws:iam::{account.account_id}:role/{DEPLOYER_ROLE}"


def _glue(spec: MeshSpec, account_id: str, what: str) -> str:
    return f"arn:aws:glue:{spec.mesh.region}:{account_id}:{what}"


def _table_names(product: Product) -> tuple[str, ...]:
    """The product's tables as ARN name patterns: ``*`` for a ``["*"]`` product."""
    return ("*",) if product.all_tables else product.tables


def _links(spec: MeshSpec) -> list[tuple[str, str]]:
    """(member account id, link database) for each producer's and subscriber's resource link."""
    ids = {a.name: a.account_id for a in spec.accounts}
    products = {p.name: p for p in spec.products}
    found = {(ids[p.producer], p.mesh_database) for p in spec.products}
    found |= {(ids[s.consumer], products[s.product].mesh_database) for s in spec.subscriptions}
    return sorted(found)


def _resources(spec: MeshSpec, side: Side, res: Res) -> list[str]:
    m, region = spec.mesh.account_id, spec.mesh.region
    table = spec.mesh.subscriptions_table
    accounts = [m] if side is Side.MESH else sorted(a.account_id for a in spec.accounts)
    producers = {a.name: a.account_id for a in spec.accounts}
    match res:
        case Res.ANY:
            return ["*"]
        case Res.MEMBER_DEPLOYERS:
            return [member_deployer_arn(a) for a in spec.accounts]
        case Res.SUBSCRIPTION_TABLE:
            return [f"arn:aws:dynamodb:{region}:{m}:table/{table}"]
        case Res.SUBSCRIPTION_INDEXES:
            return [f"arn:aws:dynamodb:{region}:{m}:table/{table}/index/*"]
        case Res.LOCK_TABLE:
            return [f"arn:aws:dynamodb:{region}:{m}:table/{spec.mesh.locks_table}"]
        case Res.MESH_ROLES | Res.MESH_USERS | Res.MESH_GROUPS:
            kind = res.value.removeprefix("mesh_").removesuffix("s")
            return [f"arn:aws:iam::{a}:{kind}{MESH_ROLE_PATH}*" for a in accounts]
        case Res.LF_SERVICE_ROLE:
            return [f"arn:aws:iam::{m}:{LF_SERVICE_ROLE}"]
        case Res.MESH_CATALOG:
            return [_glue(spec, m, "catalog")]
        case Res.MESH_DATABASES:
            return [_glue(spec, m, f"database/{p.mesh_database}") for p in spec.products]
        case Res.MESH_TABLES:
            # Every table of a mesh database: meshctl owns them all, and deletes the copy of a
            # table the file no longer lists.
            return [_glue(spec, m, f"table/{p.mesh_database}/*") for p in spec.products]
        case Res.MEMBER_CATALOGS:
            return [_glue(spec, a, "catalog") for a in accounts]
        case Res.SOURCE_DATABASES:
            return [
                _glue(spec, producers[p.producer], f"database/{p.source_database}")
                for p in spec.products
            ]
        case Res.SOURCE_TABLES:
            return [
                _glue(spec, producers[p.producer], f"table/{p.source_database}/{t}")
                for p in spec.products
                for t in _table_names(p)
            ]
        case Res.LINK_DATABASES:
            return [_glue(spec, a, f"database/{db}") for a, db in _links(spec)]
        case Res.MESH_INVITATIONS:
            return [f"arn:aws:ram:{region}:{m}:resource-share-invitation/*"]
        case Res.GRANT_KEYS:
            return _grant_keys(spec, set(accounts))
        case Res.ACCOUNT_KEYS:
            return [_any_key(spec, a) for a in accounts]
        case Res.PRODUCT_BUCKETS:
            return ["arn:aws:s3:::*"]
        case Res.MESH_TRAILS:
            return [f"arn:aws:cloudtrail:*:{m}:trail/*"]


def _any_key(spec: MeshSpec, account_id: str) -> str:
    return f"arn:aws:kms:{spec.mesh.region}:{account_id}:key/*"


def _grant_keys(spec: MeshSpec, accounts: set[str]) -> list[str]:
    """The keys meshctl grants on (planning/kms.py: a key of the producer or the mesh account;
    a key of any other account gets a warning, no call) that belong to ``accounts``."""
    m = spec.mesh.account_id
    found: set[str] = set()
    for p in spec.products:
        producer = spec.account(p.producer).account_id
        if p.kms_key_arn == BUCKET_KEY:
            found.update(_any_key(spec, a) for a in (producer, m) if a in accounts)
        elif p.kms_key_arn:
            owner = p.kms_key_arn.split(":")[4]
            if owner in (producer, m) and owner in accounts:
                found.add(p.kms_key_arn)
    return sorted(found)


# --- the documents ----------------------------------------------------------------------------


def needs_of(spec: MeshSpec, side: Side) -> list[Need]:
    """The statements ``spec`` needs on ``side``, in table order."""
    return [n for f in FEATURES if f.used(spec) for n in f.needs if n.side is side]


def statement(spec: MeshSpec, need: Need) -> Document | None:
    """``need`` as a policy statement for ``spec``; None when it names no resource there."""
    resources: set[str] = set()
    for res in need.resources:
        resources.update(_resources(spec, need.side, res))
    if not resources:
        return None
    if "*" in resources:
        resources = {"*"}
    listed = sorted(resources)
    return {
        "Sid": need.sid,
        "Effect": "Allow",
        "Action": sorted(set(need.actions)),
        "Resource": listed[0] if len(listed) == 1 else listed,
    }


def deployer_policy(spec: MeshSpec, side: Side, *, without: Iterable[str] = ()) -> Document:
    """The policy of the deployer role on ``side`` of ``spec``'s mesh; ``without`` drops the
    statements of those sids (the proof that each one is needed)."""
    dropped = set(without)
    wanted = [statement(spec, n) for n in needs_of(spec, side) if n.sid not in dropped]
    return {"Version": _VERSION, "Statement": [s for s in wanted if s is not None]}
