"""The reads behind ``meshctl doctor``: a frozen ``DoctorFacts`` snapshot, read-only.

Cost (every account in parallel, like the plan reader): per account an sts:GetCallerIdentity
through the session plan uses (the role assumption included); in the mesh account
GetDataLakeSettings, ListPermissions and ListResources pages, DescribeTrails and one
GetTrailStatus per trail; per member account one GetResourceShareInvitations page; per producer
one SearchTables page and one GetBucketEncryption per product bucket; per customer-managed key
of a bucket DescribeKey, ListGrants and GetKeyPolicy in the key's account. Nothing is written.

An account meshctl cannot reach is a fact (``AccountAccess.error``), not an exception: the other
accounts are still read. A read that fails in a reached account is a fact too (``read_errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from meshctl.aws.api import AccountApi
from meshctl.aws.errors import error_code
from meshctl.aws.invitations import pending_from
from meshctl.aws.read.glue import search_tables
from meshctl.aws.read.kms import default_kms_key
from meshctl.aws.read.lakeformation import PERMISSIONS_PAGE, cross_account_version
from meshctl.aws.sessions import AccountSessions
from meshctl.errors import AwsError
from meshctl.planning.canonical import IAM_ALLOWED_PRINCIPALS
from meshctl.planning.doctor_facts import (
    AccountAccess,
    Bucket,
    DoctorFacts,
    IamAllowedGrant,
    KmsKey,
    LakeFacts,
    RegisteredLocation,
    SourceTable,
    Trail,
)
from meshctl.planning.kms import bucket_of
from meshctl.spec.model import MeshSpec

MAX_WORKERS = 8
_NO_ENCRYPTION = frozenset({"ServerSideEncryptionConfigurationNotFoundError"})
_NO_BUCKET = frozenset({"NoSuchBucket"})


@dataclass
class _Found:
    lake: LakeFacts | None = None
    iam_allowed: tuple[IamAllowedGrant, ...] | None = None
    locations: tuple[RegisteredLocation, ...] | None = None
    trails: tuple[Trail, ...] | None = None
    invitations: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    tables: list[SourceTable] = field(default_factory=list)
    producers_read: set[str] = field(default_factory=set)
    buckets: list[Bucket] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def read_doctor_facts(
    spec: MeshSpec, sessions: AccountSessions, *, max_workers: int = MAX_WORKERS
) -> DoctorFacts:
    m = spec.mesh.account_id
    accounts = list(dict.fromkeys([m, *(a.account_id for a in spec.accounts)]))
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="doctor") as pool:
        access = list(pool.map(lambda a: _reach(AccountApi(sessions, a)), accounts))
        reached = {a.account_id for a in access if a.reached}
        tasks: list[Callable[[], _Found]] = []
        if m in reached:
            api = AccountApi(sessions, m)
            databases = {p.mesh_database for p in spec.products}
            tasks += [
                lambda: _guarded(api, lambda f: _read_lake(api, f)),
                lambda: _guarded(api, lambda f: _read_iam_allowed(api, databases, f)),
                lambda: _guarded(api, lambda f: _read_locations(api, f)),
                lambda: _guarded(api, lambda f: _read_trails(api, f)),
            ]
        for account in spec.accounts:
            sources = {p.source_database for p in spec.products if p.producer == account.name}
            if sources and account.account_id in reached:
                producer = AccountApi(sessions, account.account_id)
                tasks.append(
                    partial(_guarded, producer, partial(_read_producer, producer, sources))
                )
        for account in spec.accounts:
            if account.account_id in reached and account.account_id != m:
                member = AccountApi(sessions, account.account_id)
                tasks.append(partial(_guarded, member, partial(_read_invitations, member, m)))
        found = [f.result() for f in [pool.submit(t) for t in tasks]]
        buckets = [b for f in found for b in f.buckets]
        keys = {b.kms_key: b.account_id for b in buckets if b.kms_key}
        key_facts = list(
            pool.map(lambda kv: _read_key(sessions, kv[0], kv[1], reached), sorted(keys.items()))
        )
    merged = _Found()
    for f in found:
        merged.lake = f.lake or merged.lake
        merged.iam_allowed = f.iam_allowed if f.iam_allowed is not None else merged.iam_allowed
        merged.locations = f.locations if f.locations is not None else merged.locations
        merged.trails = f.trails if f.trails is not None else merged.trails
        merged.tables += f.tables
        merged.invitations += f.invitations
        merged.producers_read |= f.producers_read
        merged.errors += f.errors
    return DoctorFacts(
        mesh_account_id=m,
        access=tuple(access),
        lake=merged.lake,
        iam_allowed=merged.iam_allowed,
        locations=merged.locations,
        source_tables=tuple(merged.tables),
        producers_read=frozenset(merged.producers_read),
        buckets=tuple(sorted(buckets, key=lambda b: b.name)),
        keys=tuple(key_facts),
        trails=merged.trails,
        invitations=tuple(sorted(merged.invitations)),
        read_errors=tuple(sorted(set(merged.errors))),
    )


def _reach(api: AccountApi) -> AccountAccess:
    """sts:GetCallerIdentity through the account's session: the role assumption plan makes."""
    try:
        answer = api.require("sts", "get_caller_identity")
    except AwsError as exc:
        return AccountAccess(api.account_id, error=str(exc))
    return AccountAccess(
        api.account_id, identity=str(answer["Arn"]), identity_account=str(answer["Account"])
    )


def _guarded(api: AccountApi, read: Callable[[_Found], None]) -> _Found:
    found = _Found()
    try:
        read(found)
    except AwsError as exc:
        found.errors.append((api.account_id, str(exc)))
    return found


def _principals(entries: list[dict[str, Any]] | None) -> tuple[str, ...]:
    return tuple(
        sorted(
            str(e.get("Principal", {}).get("DataLakePrincipalIdentifier", ""))
            for e in entries or []
        )
    )


def _read_lake(api: AccountApi, found: _Found) -> None:
    answer = api.require("lakeformation", "get_data_lake_settings", CatalogId=api.account_id)
    settings: dict[str, Any] = answer.get("DataLakeSettings", {})
    found.lake = LakeFacts(
        admins=frozenset(
            str(a["DataLakePrincipalIdentifier"]) for a in settings.get("DataLakeAdmins", [])
        ),
        cross_account_version=cross_account_version(settings),
        database_defaults=_principals(settings.get("CreateDatabaseDefaultPermissions")),
        table_defaults=_principals(settings.get("CreateTableDefaultPermissions")),
    )


def _read_iam_allowed(api: AccountApi, databases: set[str], found: _Found) -> None:
    """Grants to IAM_ALLOWED_PRINCIPALS on the mesh databases and their tables, from the raw
    grants (ListPermissions, 1,000 a page: a Principal filter needs a Resource too)."""
    grants: list[IamAllowedGrant] = []
    for page in api.pages(
        "lakeformation",
        "list_permissions",
        page_size=PERMISSIONS_PAGE,
        CatalogId=api.account_id,
    ):
        for entry in page.get("PrincipalResourcePermissions", []):
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier")
            if principal != IAM_ALLOWED_PRINCIPALS:
                continue
            resource = entry.get("Resource", {})
            table = resource.get("Table") or resource.get("TableWithColumns") or {}
            database = table.get("DatabaseName") or resource.get("Database", {}).get("Name", "")
            if database not in databases:
                continue
            name = str(table.get("Name", "*" if "TableWildcard" in table else ""))
            permissions = tuple(sorted(str(p) for p in entry.get("Permissions", [])))
            grants.append(IamAllowedGrant(str(database), name, permissions))
    found.iam_allowed = tuple(sorted(set(grants), key=lambda g: (g.database, g.table)))


def _read_locations(api: AccountApi, found: _Found) -> None:
    locations = []
    for page in api.pages("lakeformation", "list_resources", page_size=PERMISSIONS_PAGE):
        for r in page.get("ResourceInfoList", []):
            locations.append(
                RegisteredLocation(
                    resource_arn=str(r["ResourceArn"]),
                    role_arn=str(r.get("RoleArn", "")),
                    hybrid_access=bool(r.get("HybridAccessEnabled", False)),
                )
            )
    found.locations = tuple(sorted(locations, key=lambda r: r.resource_arn))


def _read_trails(api: AccountApi, found: _Found) -> None:
    trails = []
    described = api.require("cloudtrail", "describe_trails", includeShadowTrails=True)
    for trail in described.get("trailList", []):
        arn = str(trail.get("TrailARN") or trail.get("Name"))
        status = api.call("cloudtrail", "get_trail_status", absent=True, Name=arn) or {}
        trails.append(Trail(str(trail.get("Name", arn)), bool(status.get("IsLogging", False))))
    found.trails = tuple(trails)


def _read_invitations(api: AccountApi, mesh_id: str, found: _Found) -> None:
    found.invitations.append((api.account_id, tuple(pending_from(api, mesh_id))))


def _read_producer(api: AccountApi, sources: set[str], found: _Found) -> None:
    """The products' source tables (SearchTables pages) and, per bucket they point at, its
    default encryption."""
    for raw in search_tables(api):
        if raw.get("DatabaseName") not in sources:
            continue
        location = str(raw.get("StorageDescriptor", {}).get("Location", ""))
        found.tables.append(
            SourceTable(api.account_id, str(raw["DatabaseName"]), str(raw["Name"]), location)
        )
    found.producers_read.add(api.account_id)
    names = {bucket_of(t.location) for t in found.tables} - {""}
    found.buckets = [_read_bucket(api, name) for name in sorted(names)]


def _read_bucket(api: AccountApi, name: str) -> Bucket:
    """GetBucketEncryption: the bucket's default encryption, and "no such bucket" in one call."""
    client = api.client("s3")
    try:
        answer = client.get_bucket_encryption(Bucket=name)
    except ClientError as exc:
        code = error_code(exc)
        if code in _NO_BUCKET:
            return Bucket(name, api.account_id, exists=False)
        if code in _NO_ENCRYPTION:
            return Bucket(name, api.account_id, exists=True)
        return Bucket(name, api.account_id, exists=None, error=str(api.error(exc, "s3")))
    key = default_kms_key(answer)
    kms_key = "" if key is None else key or "aws/s3"
    return Bucket(name, api.account_id, exists=True, kms_key=kms_key)


def _key_account(key: str, bucket_account: str) -> str:
    """A key ARN (or alias ARN) names its account; a bare id or alias is the bucket's own."""
    if key.startswith("arn:"):
        return key.split(":")[4]
    return bucket_account


def _read_key(
    sessions: AccountSessions, key: str, bucket_account: str, reached: set[str]
) -> KmsKey:
    account = _key_account(key, bucket_account)
    if account not in reached:
        return KmsKey(key, key_arn=key if key.startswith("arn:") else "", account_id=account)
    api = AccountApi(sessions, account)
    key_id = key if key != "aws/s3" else "alias/aws/s3"
    try:
        metadata = api.require("kms", "describe_key", KeyId=key_id)["KeyMetadata"]
        arn = str(metadata["Arn"])
        grantees = {
            str(g.get("GranteePrincipal", ""))
            for page in api.pages("kms", "list_grants", KeyId=arn)
            for g in page.get("Grants", [])
            if "Decrypt" in g.get("Operations", [])
        }
        policy = api.require("kms", "get_key_policy", KeyId=arn, PolicyName="default")
    except AwsError as exc:
        return KmsKey(key, account_id=account, reachable=True, error=str(exc))
    return KmsKey(
        key,
        key_arn=arn,
        account_id=account,
        reachable=True,
        decrypt_grantees=frozenset(grantees),
        policy=str(policy.get("Policy", "")),
    )
