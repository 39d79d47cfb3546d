"""Build the ``ObservedMesh`` snapshot: every read a plan needs, accounts in parallel.

Cost model (architecture.md): the mesh account costs a constant plus one call per page of
subscription items, grants, databases, tables and roles; each member account costs a small
constant — role assumption, one ``SearchTables``/``GetDatabases``/``GetAccountAuthorizationDetails``
page each for a producer, ``GetDatabases``/GAAD for a consumer — plus one
``GetResourceShareInvitations`` page where the invitation journal (``aws/invitations.py``) says an
invitation may be pending, or everywhere while the journal is not kept. Nothing is read per
subscription, grant, table or database. A member account the file no longer
declares is read too (a second round, like a member) while meshctl's mesh role for it exists, so
its member roles and consumer links are removed rather than forgotten.

A missing subscription table, role or database is observed as absent, never as an error.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from meshctl.aws.api import AccountApi
from meshctl.aws.invitations import InvitationJournal, pending_from, read_journal
from meshctl.aws.read.glue import (
    database_from_api,
    list_databases,
    read_catalog_policy,
    search_tables,
    table_from_api,
)
from meshctl.aws.read.iam import MEMBER_ROLE_NAMES, read_iam
from meshctl.aws.read.kms import read_bucket_key, read_kms_grants
from meshctl.aws.read.lakeformation import (
    read_data_filters,
    read_grants,
    read_lf_tags,
    read_locations,
    read_settings,
)
from meshctl.aws.sessions import AccountSessions
from meshctl.aws.tracker import record_from_item
from meshctl.observed import (
    Database,
    DataFilter,
    Grant,
    IamUser,
    KmsGrant,
    LakeSettings,
    ObservedMesh,
    ResourceType,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.planning import kms, policies
from meshctl.planning.canonical import pathless
from meshctl.spec.model import Account, MeshSpec

MAX_WORKERS = 8
# The helper library names mesh databases "<source database>-<producer account id>".
_LIBRARY_MESH_DATABASE = re.compile(r".+-\d{12}$")


@dataclass
class _Fragment:
    """What one read task found; fragments are merged into one ``ObservedMesh``."""

    table_exists: bool | None = None
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)
    grants: tuple[Grant, ...] = ()
    data_filters: tuple[DataFilter, ...] = ()
    settings: LakeSettings | None = None
    catalog_policy: tuple[str, str] | None = None  # (policy, PolicyHash)
    lf_tags: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    locations: tuple[tuple[str, str], ...] | None = None  # (S3 ARN, role that registered it)
    bucket_keys: list[tuple[str, str]] = field(default_factory=list)
    kms_keys_read: list[str] = field(default_factory=list)
    kms_grants: tuple[KmsGrant, ...] = ()
    roles: list[Role] = field(default_factory=list)
    iam_users: list[IamUser] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    journal: InvitationJournal | None = None
    pending_invitations: list[tuple[str, str]] = field(default_factory=list)
    principals_found: list[str] = field(default_factory=list)


def read_mesh(
    spec: MeshSpec, sessions: AccountSessions, *, max_workers: int = MAX_WORKERS
) -> ObservedMesh:
    """Read everything a plan needs. Raises ``AwsError`` for access, credential or network
    problems; the first such error (in task order) is the one raised."""
    mesh = AccountApi(sessions, spec.mesh.account_id)
    tasks: list[Callable[[], _Fragment]] = [
        lambda: _read_tracker(mesh, spec.mesh.subscriptions_table),
        lambda: _read_lakeformation(mesh),
        lambda: _read_mesh_catalog(mesh, spec),
        lambda: _iam_fragment(mesh),
        lambda: _Fragment(journal=read_journal(mesh, spec.mesh.locks_table)),
    ]
    tasks += [
        partial(_read_member, AccountApi(sessions, account.account_id), spec, account)
        for account in spec.accounts
    ]
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="read") as pool:
        futures = [pool.submit(task) for task in tasks]
        fragments = [f.result() for f in futures]
        # A second round, of reads the first round's answers decide. Accounts removed from the
        # file still hold what meshctl made there (member roles, consumer links): their mesh
        # roles name them, and a plan must see it to remove it.
        former_ids = _former_members(spec, fragments)
        second = [
            partial(_read_member, AccountApi(sessions, account_id), spec, _former(account_id))
            for account_id in former_ids
        ]
        # Pending RAM invitations where the journal says one may be (everywhere without it).
        journal = next(f.journal for f in fragments if f.journal is not None)
        members = [a.account_id for a in spec.accounts] + former_ids
        second += [
            partial(_read_invitations, AccountApi(sessions, account_id), mesh.account_id)
            for account_id in journal.accounts_to_read(members)
        ]
        # Consumers whose subscriptions name principals (in the file or on a live record):
        # their DESCRIBE grants on the resource links live in the consumer's catalog.
        links = [
            (d.account_id, d.name)
            for f in fragments
            for d in f.databases
            if d.target_account_id == mesh.account_id and d.account_id != mesh.account_id
        ]
        second += [
            partial(
                _read_link_grants,
                AccountApi(sessions, account_id),
                {name for owner, name in links if owner == account_id},
            )
            for account_id in _principal_consumers(spec, fragments)
        ]
        second += [
            partial(_read_key_grants, AccountApi(sessions, account_id), keys)
            for account_id, keys in sorted(_keys_to_read(spec, fragments).items())
        ]
        fragments += [f.result() for f in [pool.submit(task) for task in second]]
    return _merge(spec.mesh.account_id, fragments)


def _keys_to_read(spec: MeshSpec, fragments: list[_Fragment]) -> dict[str, list[str]]:
    """Key account → the keys whose grants a plan needs: those of the products that use a key
    (when meshctl reaches them), and those the mesh databases record (docs/kms.md)."""
    bucket_keys = {bucket: key for f in fragments for bucket, key in f.bucket_keys}
    tables = [t for f in fragments for t in f.tables]
    found: set[str] = set()
    for product_keys in kms.product_keys(spec, bucket_keys, tables).values():
        found.update(product_keys.keys)
    reachable = {spec.mesh.account_id} | {a.account_id for a in spec.accounts}
    m = spec.mesh.account_id
    for f in fragments:
        found.update(k for d in f.databases if d.account_id == m for k in d.kms_keys)
    by_account: dict[str, list[str]] = {}
    for arn in sorted(found):
        if kms.key_account(arn) in reachable:
            by_account.setdefault(kms.key_account(arn), []).append(arn)
    return by_account


def _read_key_grants(api: AccountApi, keys: list[str]) -> _Fragment:
    grants = [g for key in keys for g in read_kms_grants(api, key)]
    return _Fragment(kms_keys_read=list(keys), kms_grants=tuple(grants))


# meshctl's mesh role of a member account: "DataMeshAdminProducer-<id>" / "...Consumer-<id>".
_ADMIN_ROLE = re.compile(
    rf"^(?:{re.escape(policies.admin_producer_role(''))}|"
    rf"{re.escape(policies.admin_consumer_role(''))})(\d{{12}})$"
)


def _former_members(spec: MeshSpec, fragments: Iterable[_Fragment]) -> list[str]:
    """Member accounts meshctl's mesh roles name that the file no longer declares."""
    m = spec.mesh.account_id
    declared = {a.account_id for a in spec.accounts} | {m}
    found = {
        match.group(1)
        for f in fragments
        for role in f.roles
        if role.account_id == m and role.managed_by_meshctl
        if (match := _ADMIN_ROLE.match(role.name))
    }
    return sorted(found - declared)


def _principal_consumers(spec: MeshSpec, fragments: Iterable[_Fragment]) -> list[str]:
    ids = {a.name: a.account_id for a in spec.accounts}
    found = {ids[s.consumer] for s in spec.subscriptions if s.principals}
    found |= {r.subscriber for f in fragments for r in f.subscriptions if r.principals}
    return sorted(found - {spec.mesh.account_id})


def _read_link_grants(api: AccountApi, links: set[str]) -> _Fragment:
    """Grants on the account's resource links to the mesh catalog (in the account's catalog):
    one ListPermissions page per 1,000 grants, only for consumers that name principals."""
    if not links:
        return _Fragment()
    return _Fragment(
        grants=tuple(
            g
            for g in read_grants(api)
            if g.resource.type is ResourceType.DATABASE and g.resource.database in links
        )
    )


def _former(account_id: str) -> Account:
    return Account(name=account_id, account_id=account_id, roles=frozenset())


def _iam_fragment(api: AccountApi) -> _Fragment:
    roles, users = read_iam(api)
    return _Fragment(roles=roles, iam_users=users)


# --- mesh account ----------------------------------------------------------------------------


def _read_tracker(api: AccountApi, table: str) -> _Fragment:
    if api.call("dynamodb", "describe_table", absent=True, TableName=table) is None:
        return _Fragment(table_exists=False)
    decode = TypeDeserializer().deserialize
    records = []
    for page in api.pages("dynamodb", "scan", TableName=table, ConsistentRead=True):
        for raw in page.get("Items", []):
            item = {k: decode(v) for k, v in raw.items()}
            records.append(record_from_item(item))
    return _Fragment(table_exists=True, subscriptions=records)


def _read_lakeformation(api: AccountApi) -> _Fragment:
    return _Fragment(
        grants=read_grants(api),
        data_filters=read_data_filters(api),
        settings=read_settings(api),
        lf_tags=read_lf_tags(api),
        locations=read_locations(api),
    )


def _read_mesh_catalog(api: AccountApi, spec: MeshSpec) -> _Fragment:
    """Mesh databases (declared, meshctl's, or named as the library names them) and their tables."""
    declared = {p.mesh_database for p in spec.products}
    databases = []
    for raw in list_databases(api):
        db = database_from_api(api.account_id, raw)
        if db.target_account_id and db.name not in declared:
            continue  # a resource link in the mesh account is not a mesh database
        if db.name in declared or db.managed_by_meshctl or _LIBRARY_MESH_DATABASE.match(db.name):
            databases.append(db)
    kept = {d.name for d in databases}
    tables = [
        table_from_api(api.account_id, raw)
        for raw in search_tables(api)
        if raw.get("DatabaseName") in kept
    ]
    return _Fragment(catalog_policy=read_catalog_policy(api), databases=databases, tables=tables)


# --- member accounts -------------------------------------------------------------------------


def read_tables(
    spec: MeshSpec, sessions: AccountSessions, *, max_workers: int = MAX_WORKERS
) -> tuple[Table, ...]:
    """Only the tables a plan would read (``meshctl catalog``): the mesh databases' copies and the
    producers' source tables. The mesh account's GetDatabases, SearchTables and catalog policy,
    and one SearchTables pass per producer; consumers are not entered."""
    mesh = AccountApi(sessions, spec.mesh.account_id)
    producers = [a for a in spec.accounts if a.is_producer]
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="read") as pool:
        copies = pool.submit(_read_mesh_catalog, mesh, spec)
        sources = [
            pool.submit(_source_tables, AccountApi(sessions, a.account_id), spec, a)
            for a in producers
        ]
        found = [*copies.result().tables, *(t for f in sources for t in f.result())]
    return tuple(_unique(found, lambda t: t.address))


def _source_tables(api: AccountApi, spec: MeshSpec, account: Account) -> list[Table]:
    """The producer's tables in its products' source databases (one SearchTables pass)."""
    sources = {p.source_database for p in spec.products if p.producer == account.name}
    if not sources:
        return []
    return [
        table_from_api(api.account_id, raw)
        for raw in search_tables(api)
        if raw.get("DatabaseName") in sources
    ]


def _read_member(api: AccountApi, spec: MeshSpec, account: Account) -> _Fragment:
    found = _Fragment()
    mesh_id = spec.mesh.account_id
    if account.is_producer:
        found.tables = _source_tables(api, spec, account)
        # Only `kms_key_arn: bucket` products: one read per source bucket (docs/kms.md).
        found.bucket_keys = [
            (bucket, read_bucket_key(api, bucket))
            for bucket in kms.buckets_needed(spec, api.account_id, found.tables)
        ]
    # Resource links to the mesh catalog: the producer's and the consumer's side of a product.
    for raw in list_databases(api):
        db = database_from_api(api.account_id, raw)
        if db.target_account_id == mesh_id or (db.managed_by_meshctl and db.target_account_id):
            found.databases.append(db)
    identities: set[str] = set()
    found.roles, found.iam_users = read_iam(api, names=MEMBER_ROLE_NAMES, identities=identities)
    declared = {p for s in spec.subscriptions for p in s.principals}
    found.principals_found = [p for p in declared if pathless(p) in identities]
    return found


def _read_invitations(api: AccountApi, mesh_id: str) -> _Fragment:
    """RAM invitations the mesh account sent that are pending (consumers and producers both
    receive them: producers for their grants on the mesh database)."""
    pending = [(api.account_id, arn) for arn in pending_from(api, mesh_id)]
    return _Fragment(pending_invitations=pending)


# --- merge -----------------------------------------------------------------------------------


def _unique(values: Iterable[Any], key: Callable[[Any], str]) -> list[Any]:
    by_key: dict[str, Any] = {}
    for value in values:
        by_key.setdefault(key(value), value)
    return [by_key[k] for k in sorted(by_key)]


def _merge(mesh_account_id: str, fragments: list[_Fragment]) -> ObservedMesh:
    """One snapshot; an account read twice (mesh account also a member) counts once."""
    grants: list[Grant] = []
    data_filters: list[DataFilter] = []
    records: list[SubscriptionRecord] = []
    roles: list[Role] = []
    iam_users: list[IamUser] = []
    databases: list[Database] = []
    tables: list[Table] = []
    journal = InvitationJournal()
    pending: set[tuple[str, str]] = set()
    principals_found: set[str] = set()
    table_exists = False
    settings = LakeSettings()
    policy = ("", "")
    lf_tags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    locations: tuple[tuple[str, str], ...] = ()
    bucket_keys: set[tuple[str, str]] = set()
    keys_read: set[str] = set()
    kms_grants: list[KmsGrant] = []
    for f in fragments:
        table_exists = table_exists or bool(f.table_exists)
        records.extend(f.subscriptions)
        grants.extend(f.grants)
        data_filters.extend(f.data_filters)
        roles.extend(f.roles)
        iam_users.extend(f.iam_users)
        databases.extend(f.databases)
        tables.extend(f.tables)
        journal = f.journal if f.journal is not None else journal
        pending.update(f.pending_invitations)
        principals_found.update(f.principals_found)
        settings = f.settings if f.settings is not None else settings
        policy = f.catalog_policy if f.catalog_policy is not None else policy
        lf_tags = f.lf_tags if f.lf_tags is not None else lf_tags
        locations = f.locations if f.locations is not None else locations
        bucket_keys.update(f.bucket_keys)
        keys_read.update(f.kms_keys_read)
        kms_grants.extend(f.kms_grants)
    # A grant belongs to the mesh database that records its key (for views).
    key_database = {
        k: d.name for d in databases if d.account_id == mesh_account_id for k in d.kms_keys
    }
    kms_grants = [
        dataclasses.replace(g, database=key_database.get(g.key_arn, "")) for g in kms_grants
    ]
    return ObservedMesh(
        mesh_account_id=mesh_account_id,
        subscriptions_table_exists=table_exists,
        subscriptions=tuple(sorted(records, key=lambda r: r.subscription_id)),
        grants=tuple(sorted(set(grants))),
        lake_settings=settings,
        catalog_policy=policy[0],
        catalog_policy_hash=policy[1],
        lf_tags=lf_tags,
        roles=tuple(_unique(roles, lambda r: r.address)),
        iam_users=tuple(_unique(iam_users, lambda u: u.address)),
        databases=tuple(_unique(databases, lambda d: d.address)),
        tables=tuple(_unique(tables, lambda t: t.address)),
        data_filters=tuple(_unique(data_filters, lambda f: f.address)),
        pending_invitations=tuple(sorted(pending)),
        invitation_journal_kept=journal.kept,
        invitation_journal=tuple(sorted(journal.accounts)),
        location_roles=locations,
        bucket_keys=tuple(sorted(bucket_keys)),
        kms_keys_read=tuple(sorted(keys_read)),
        kms_grants=tuple(kms_grants),
        principals_found=tuple(sorted(principals_found)),
    )
