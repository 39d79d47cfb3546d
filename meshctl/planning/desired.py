"""What AWS should look like: desired values of every kind, computed from the spec.

Pure. A few desired values depend on what is live, and read it from the snapshot only:
- a product's table copies are built from the producer's *source* tables, and ``tables: ["*"]``
  means the source tables that exist;
- data lake admins, LF-tag values and the catalog policy are merged, never replaced;
- a declared subscription adopts the live record it matches (keeps that record's id).

Every value is keyed by its address, so the planner diffs with dictionary look-ups only.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from meshctl.address import Address, Kind, database_address
from meshctl.codec import canonical_json
from meshctl.observed import (
    Database,
    DataFilter,
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
from meshctl.planning import iam_layout, policies
from meshctl.planning.canonical import FULL_PERMISSIONS, expand
from meshctl.planning.plan import Held
from meshctl.spec.model import Account, MeshSpec, Product

DATA_PRODUCT_TAG = "DataProduct"
PRODUCER_DATABASE_PERMISSIONS = frozenset({"CREATE_TABLE", "DESCRIBE"})
PRODUCER_TABLE_PERMISSIONS = FULL_PERMISSIONS[ResourceType.TABLE]
READ_ONLY_TABLE_PERMISSIONS = frozenset({"DESCRIBE"})
CATALOG_PERMISSIONS = frozenset({"CREATE_DATABASE"})

# Table parameters that statistics jobs and crawlers rewrite on every run; copying them would make
# the mesh copy drift all the time, so they are left out of the copy (and of the comparison).
VOLATILE_TABLE_PARAMETERS = frozenset(
    {
        "averageRecordSize",
        "last_modified_by",
        "last_modified_time",
        "numFiles",
        "numRows",
        "objectCount",
        "rawDataSize",
        "recordCount",
        "sizeKey",
        "totalSize",
        "transient_lastDdlTime",
        "UPDATED_BY_CRAWLER",
    }
)

# observed.Database gains ``protected`` (the product's ``protect``) once observed.py carries it;
# until then desired databases are built without it and protection cannot be read back.
_DATABASE_HAS_PROTECTED = "protected" in {f.name for f in dataclasses.fields(Database)}


def is_protected(database: Database) -> bool:
    return bool(getattr(database, "protected", False))


@dataclass(frozen=True)
class ProductView:
    """A product with its names resolved against the spec and the live source tables."""

    product: Product
    producer_id: str
    tables: tuple[str, ...]  # the product's table names (``*`` resolved), sorted
    available: frozenset[str]  # tables whose mesh copy exists or is planned (grants go there)
    held: bool = False  # a declared source is missing: its subscriptions gain nothing (Held)


@dataclass
class Desired:
    """Desired values by address, plus what the planner needs to explain and order them."""

    mesh_account_id: str
    lake_settings: LakeSettings = field(default_factory=LakeSettings)
    catalog_policy: str = ""
    lf_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    iam_users: dict[str, IamUser] = field(default_factory=dict)  # only with mesh.iam_users
    databases: dict[str, Database] = field(default_factory=dict)  # mesh dbs and producer links
    tables: dict[str, Table] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    data_filters: dict[str, DataFilter] = field(default_factory=dict)  # subscriptions' row filters
    links: dict[str, Database] = field(default_factory=dict)  # consumer resource links
    records: dict[str, RecordIntent] = field(default_factory=dict)  # by subscription address
    claimed: set[str] = field(default_factory=set)  # ids of live records a declaration matched
    products: dict[str, ProductView] = field(default_factory=dict)
    # mesh database -> table names meshctl keeps there (declared, or kept although unreadable)
    kept_tables: dict[str, set[str]] = field(default_factory=dict)
    producer_of: dict[str, str] = field(default_factory=dict)  # mesh database -> producer id
    reasons: dict[str, str] = field(default_factory=dict)  # address -> why it is wanted
    warnings: list[str] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)  # declared, missing in AWS (plan.Held)

    def add_grant(
        self,
        principal: str,
        resource: LfResource,
        permissions: Iterable[str],
        grantable: Iterable[str] = (),
        *,
        why: str,
    ) -> Grant:
        """Add (or union into) the desired grant for (principal, resource)."""
        perms = expand(permissions, resource.type)
        with_grant = expand(grantable, resource.type)
        address = str(Address(Kind.GRANT, principal, resource.key))
        old = self.grants.get(address)
        if old is None:
            grant = Grant(principal, resource, perms | with_grant, with_grant)
            self.reasons[address] = why
        elif perms <= old.permissions and with_grant <= old.grantable:
            return old
        else:
            grant = Grant(
                principal,
                resource,
                old.permissions | perms | with_grant,
                old.grantable | with_grant,
            )
        self.grants[address] = grant
        return grant


@dataclass(frozen=True)
class RecordIntent:
    """What one declared subscription wants of its record.

    ``after`` is None when the declared subscription has expired (its live record, if any, is
    archived). ``live`` is the record it matched (adopted), if any.
    """

    address: str
    consumer_id: str
    database: str
    after: SubscriptionRecord | None
    live: SubscriptionRecord | None
    archive_reason: str = ""  # set when the declared subscription has expired
    expired_on: str = ""  # the file's expiry (YYYY-MM-DD) that archives it, kept on the record


@dataclass
class Seen:
    """The observed snapshot indexed by address (built once, O(n))."""

    observed: ObservedMesh
    roles: dict[str, Role] = field(default_factory=dict)
    iam_users: dict[str, IamUser] = field(default_factory=dict)
    databases: dict[str, Database] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    tables_by_db: dict[tuple[str, str], list[Table]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    data_filters: dict[str, DataFilter] = field(default_factory=dict)
    records_by_id: dict[str, SubscriptionRecord] = field(default_factory=dict)
    lf_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pending: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, observed: ObservedMesh) -> Seen:
        seen = cls(observed)
        seen.roles = {r.address: r for r in observed.roles}
        seen.iam_users = {u.address: u for u in observed.iam_users}
        seen.databases = {d.address: d for d in observed.databases}
        seen.tables = {t.address: t for t in observed.tables}
        seen.grants = {g.address: g for g in observed.grants}
        seen.data_filters = {f.address: f for f in observed.data_filters}
        for t in observed.tables:
            seen.tables_by_db.setdefault((t.account_id, t.database), []).append(t)
        seen.records_by_id = {r.subscription_id: r for r in observed.subscriptions}
        seen.lf_tags = {k: tuple(v) for k, v in observed.lf_tags}
        for account_id, arn in observed.pending_invitations:
            seen.pending.setdefault(account_id, []).append(arn)
        return seen


def desire_catalog(spec: MeshSpec, seen: Seen) -> Desired:
    """Mesh settings, roles and every product's catalog side (subscriptions come after)."""
    desired = Desired(mesh_account_id=spec.mesh.account_id)
    accounts = {a.name: a for a in spec.accounts}
    _mesh_settings(spec, seen, desired)
    _roles(spec, desired)
    for product in sorted(spec.products, key=lambda p: p.name):
        _product(spec, accounts[product.producer], product, seen, desired)
    return desired


def _mesh_settings(spec: MeshSpec, seen: Seen, desired: Desired) -> None:
    m, region = spec.mesh.account_id, spec.mesh.region
    observed = seen.observed
    manager = policies.role_arn(m, policies.MANAGER_ROLE)
    # PutDataLakeSettings replaces the admin list: keep every live admin, add the manager.
    desired.lake_settings = LakeSettings(
        admins=observed.lake_settings.admins | {manager},
        create_table_default_permissions_empty=True,
        create_database_default_permissions_empty=True,
        cross_account_version=spec.mesh.cross_account_version,
    )
    live_policy: dict[str, Any] | None = None
    if observed.catalog_policy:
        try:
            live_policy = json.loads(observed.catalog_policy)
        except ValueError:
            live_policy = None
    desired.catalog_policy = canonical_json(policies.merged_catalog_policy(live_policy, m, region))
    used: dict[str, set[str]] = {}
    for product in spec.products:
        for key, value in _database_tags(product):
            used.setdefault(key, set()).add(value)
    # LF-tag values are only ever added: removing a value still assigned somewhere fails.
    desired.lf_tags = {
        key: tuple(sorted(values | set(seen.lf_tags.get(key, ()))))
        for key, values in sorted(used.items())
    }


def _database_tags(product: Product) -> tuple[tuple[str, str], ...]:
    tags = dict(product.tags)
    tags[DATA_PRODUCT_TAG] = product.name
    return tuple(sorted(tags.items()))


def _roles(spec: MeshSpec, desired: Desired) -> None:
    """The library's role layout; with ``mesh.iam_users`` also a user and group beside each role,
    and each role's trust names its own user (as the library's does)."""
    m = spec.mesh.account_id
    for p in sorted(a.account_id for a in spec.accounts if a.is_producer):
        desired.add_grant(
            policies.role_arn(m, policies.admin_producer_role(p)),
            LfResource(ResourceType.CATALOG, m),
            CATALOG_PERMISSIONS,
            why="the producer's mesh role may create databases",
        )
    for want in iam_layout.mesh_roles(spec):
        trust = want.trust
        if spec.mesh.iam_users:
            trust = iam_layout.trusting(trust, iam_layout.user_arn(want.account_id, want.name))
            user = IamUser(
                account_id=want.account_id,
                name=want.name,
                path=policies.MESH_ROLE_PATH,
                policy_name=policies.assume_policy_name(want.name),
                policy=canonical_json(policies.assume_role_policy(want.account_id, want.name)),
                managed_by_meshctl=True,
            )
            desired.iam_users[user.address] = user
        role = Role(
            account_id=want.account_id,
            name=want.name,
            path=policies.MESH_ROLE_PATH,
            trust_policy=canonical_json(trust),
            policy_name=want.name,
            policy=canonical_json(want.policy),
            managed_by_meshctl=True,
        )
        desired.roles[role.address] = role


def _mesh_database(m: str, product: Product, old: Database | None) -> Database:
    values: dict[str, Any] = {
        "account_id": m,
        "name": product.mesh_database,
        "description": product.description,
        "tags": _database_tags(product),
        "managed_by_meshctl": True,
    }
    if old is not None:
        # Two products sharing one mesh database: one database. A resource holds one value per
        # LF-tag key, so for a key both products set, the first product (by name) wins.
        values["tags"] = tuple(sorted({**dict(values["tags"]), **dict(old.tags)}.items()))
        values["description"] = old.description or product.description
    if _DATABASE_HAS_PROTECTED:
        values["protected"] = product.protect or (old is not None and is_protected(old))
    return Database(**values)


def _product(
    spec: MeshSpec, producer: Account, product: Product, seen: Seen, desired: Desired
) -> None:
    m = spec.mesh.account_id
    p = producer.account_id
    db = product.mesh_database
    src = product.source_database
    sources = {t.name: t for t in seen.tables_by_db.get((p, src), ())}
    served = {t.name for t in seen.tables_by_db.get((m, db), ())}  # live mesh copies
    if product.all_tables:
        # No source table at all: keep serving the live copies, never delete them for this.
        names = tuple(sorted(sources or served))
        missing: tuple[str, ...] = () if sources else (f"database {src} (or any table in it)",)
    else:
        names = tuple(sorted(set(product.tables)))
        missing = tuple(f"table {src}.{n}" for n in names if n not in sources and n not in served)
    if missing:
        desired.held.append(Held(f"product {product.name}", p, missing))
        if database_address(m, db) not in seen.databases:
            # Nothing of it is live: want nothing, so apply creates no empty mesh database.
            view = ProductView(product, p, names, frozenset(), held=True)
            desired.products[product.name] = view
            return

    db_address = database_address(m, db)
    desired.databases[db_address] = _mesh_database(m, product, desired.databases.get(db_address))
    desired.reasons.setdefault(db_address, f"mesh database of product {product.name}")
    link = Database(
        account_id=p, name=db, target_account_id=m, target_database=db, managed_by_meshctl=True
    )
    desired.databases[link.address] = link
    desired.reasons.setdefault(link.address, f"producer's resource link of product {product.name}")
    desired.producer_of[db] = p
    kept = desired.kept_tables.setdefault(db, set())

    available: set[str] = set()
    for name in names:
        source = sources.get(name)
        if source is not None:
            copy = _table_copy(m, db, p, source)
            desired.tables[copy.address] = copy
            desired.reasons[copy.address] = (
                f"copy of {product.source_database}.{name} of producer {p} (product {product.name})"
            )
            available.add(name)
        else:
            if not missing:  # a held product's message names its missing tables already
                desired.warnings.append(
                    f"source table {src}.{name} not found in producer account {p} (product "
                    f"{product.name}): meshctl keeps serving the last copy of it"
                )
            if name in served:
                available.add(name)  # keep serving the last copy; never delete it for this
        kept.add(name)

    mine = f"producer of product {product.name}"
    database = LfResource(ResourceType.DATABASE, m, db)
    desired.add_grant(p, database, PRODUCER_DATABASE_PERMISSIONS, why=mine)
    read_only = policies.role_arn(m, policies.READ_ONLY_ROLE)
    for name in sorted(available):
        resource = LfResource(ResourceType.TABLE, m, db, name)
        desired.add_grant(
            p, resource, PRODUCER_TABLE_PERMISSIONS, PRODUCER_TABLE_PERMISSIONS, why=mine
        )
        desired.add_grant(
            read_only, resource, READ_ONLY_TABLE_PERMISSIONS, why="mesh-wide metadata read access"
        )
    desired.products[product.name] = ProductView(
        product, p, names, frozenset(available), held=bool(missing)
    )


def _table_copy(m: str, db: str, producer_id: str, source: Table) -> Table:
    return dataclasses.replace(
        source,
        account_id=m,
        database=db,
        owner=producer_id,
        parameters=tuple(
            sorted((k, v) for k, v in source.parameters if k not in VOLATILE_TABLE_PARAMETERS)
        ),
    )
