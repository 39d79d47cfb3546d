"""The IAM policies the ``MeshctlDeployer`` role needs, per side of the mesh: pure.

One table, ``FEATURES`` (``deployer_features.py``), says which statements each meshctl feature
needs, on which side (the mesh account or the member accounts) and on which resources;
``deployer_policy`` keeps the features a mesh uses and turns each statement's resource sets into
ARNs of that mesh (docs/deployer-policy.md).

Conventions (as ``policies``): no statement allows action ``*`` or a whole-service wildcard;
actions without resource-level permissions in IAM (Lake Formation, the RAM and IAM list calls,
CloudTrail's DescribeTrails) are the only ones on resource ``*``; every list is sorted, so the
output is stable.

The mesh policy also lets the mesh deployer assume each member account's deployer role: meshctl
reaches member accounts from the identity it runs as (architecture.md, *Credentials*), which in
CI is the mesh account's ``MeshctlDeployer``.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshctl.planning.deployer_features import FEATURES as FEATURES
from meshctl.planning.deployer_features import Need, Res
from meshctl.planning.deployer_features import Side as Side
from meshctl.planning.kms import service_linked_role
from meshctl.planning.policies import MESH_ROLE_PATH, Document
from meshctl.spec.model import BUCKET_KEY, Account, MeshSpec, Product

DEPLOYER_ROLE = "MeshctlDeployer"  # aws.sessions.DEFAULT_ROLE_NAME (planning cannot import aws)
_VERSION = "2012-10-17"


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
            return [service_linked_role(m)]
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
