"""Values of live resources, and the read-only snapshot of the whole mesh.

The planner computes *desired* values of these same types from the mesh file and diffs them
against the *observed* ones the readers in ``aws/`` return, so a plan's ``before`` and ``after``
are the same shape and apply can rebuild the value it must write (``codec.from_json``).

Invariant: every value here is canonical — sorted sets, ``ALL`` expanded, ``CatalogId`` filled —
so equal live states compare equal and a plan right after apply is empty.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from enum import StrEnum

from meshctl.address import Address, Kind, table_address
from meshctl.codec import canonical_json


class ResourceType(StrEnum):
    CATALOG = "catalog"
    DATABASE = "database"
    TABLE = "table"  # a named table; TableWithColumns+ColumnWildcard folds into this
    TABLE_WILDCARD = "tables"  # every table of a database (TableWildcard)
    DATA_LOCATION = "location"
    # A data cells filter: ``table`` is ``<table>#<filter name>`` (canonical.filter_resource).
    DATA_CELLS_FILTER = "filter"


@dataclass(frozen=True, order=True)
class LfResource:
    """A Lake Formation resource in canonical form (catalog id always filled)."""

    type: ResourceType
    catalog_id: str
    database: str = ""
    table: str = ""  # table name, or the S3 ARN for DATA_LOCATION

    @property
    def key(self) -> str:
        match self.type:
            case ResourceType.CATALOG:
                return f"catalog:{self.catalog_id}"
            case ResourceType.DATABASE:
                return f"database:{self.catalog_id}:{self.database}"
            case ResourceType.TABLE:
                return f"table:{self.catalog_id}:{self.database}.{self.table}"
            case ResourceType.TABLE_WILDCARD:
                return f"table:{self.catalog_id}:{self.database}.*"
            case ResourceType.DATA_LOCATION:
                return f"location:{self.catalog_id}:{self.table}"
            case ResourceType.DATA_CELLS_FILTER:
                return f"filter:{self.catalog_id}:{self.database}.{self.table}"


@dataclass(frozen=True, order=True)
class Grant:
    """One Lake Formation permission set for one principal on one resource."""

    principal: str  # an account id, an IAM ARN, or IAM_ALLOWED_PRINCIPALS
    resource: LfResource
    permissions: frozenset[str]
    grantable: frozenset[str] = frozenset()

    @property
    def address(self) -> str:
        return str(Address(Kind.GRANT, self.principal, self.resource.key))


@dataclass(frozen=True)
class Role:
    """An IAM role with one inline policy of its own name (the helper library's layout)."""

    account_id: str
    name: str
    path: str
    trust_policy: str  # canonical JSON (codec.canonical_json of the parsed document)
    policy_name: str
    policy: str  # canonical JSON of the inline policy document
    managed_by_meshctl: bool = False

    @property
    def address(self) -> str:
        return str(Address(Kind.ROLE, self.account_id, self.name))


@dataclass(frozen=True)
class IamUser:
    """The helper library's user and group beside a role (``mesh.iam_users: true``).

    User ``<role>`` and group ``<role>Group`` at the role's path, the user a member of the group,
    and the group's inline policy ``Assume<role>`` letting its members assume the role. IAM groups
    cannot be tagged, so the user's ``ManagedBy`` tag marks the pair as meshctl's.
    """

    account_id: str
    name: str  # the role's name, which the user has too
    path: str
    user_exists: bool = True
    group_exists: bool = True
    in_group: bool = True
    policy_name: str = ""  # the group's inline policy
    policy: str = ""  # canonical JSON of that policy's document
    managed_by_meshctl: bool = False

    @property
    def group_name(self) -> str:
        return f"{self.name}Group"

    @property
    def address(self) -> str:
        return str(Address(Kind.IAM_USER, self.account_id, self.name))


@dataclass(frozen=True)
class Database:
    """A Glue database: a mesh database in the mesh account, or a resource link elsewhere."""

    account_id: str
    name: str
    description: str = ""
    target_account_id: str = ""  # set for a resource link
    target_database: str = ""
    tags: tuple[tuple[str, str], ...] = ()  # LF-tags assigned to the database, sorted
    managed_by_meshctl: bool = False
    protected: bool = False  # the product's ``protect: true``, kept as a database parameter
    # KMS keys meshctl holds grants on for the database's products (docs/kms.md), kept as a
    # database parameter so a product removed from the file still names the key to clean up.
    kms_keys: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return str(Address(Kind.DATABASE, self.account_id, self.name))


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str = ""


@dataclass(frozen=True)
class Table:
    """A Glue table: a producer's source table, or its copy in a mesh database."""

    account_id: str
    database: str
    name: str
    columns: tuple[Column, ...] = ()
    partition_keys: tuple[Column, ...] = ()
    location: str = ""
    owner: str = ""
    table_type: str = "EXTERNAL_TABLE"
    input_format: str = ""
    output_format: str = ""
    serde: str = ""
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def address(self) -> str:
        return table_address(self.account_id, self.database, self.name)


@dataclass(frozen=True)
class DataFilter:
    """A Lake Formation data cells filter on a mesh table: some rows, and all, some or all but
    some columns. meshctl's are named ``meshctl-<consumer account>-<product>``."""

    catalog_id: str
    database: str
    table: str
    name: str
    row_filter: str = ""  # a filter expression; "" is every row (AllRowsWildcard)
    columns: tuple[str, ...] = ()  # only these (sorted); () with no exclusions: every column
    excluded: tuple[str, ...] = ()  # every column but these (sorted)

    @property
    def address(self) -> str:
        return str(
            Address(Kind.DATA_FILTER, self.catalog_id, f"{self.database}.{self.table}#{self.name}")
        )


@dataclass(frozen=True)
class KmsGrant:
    """A KMS grant on a product's key letting the role that registered its S3 location with Lake
    Formation decrypt the data (docs/kms.md). meshctl's are named ``meshctl-<product>``.

    Identity is (key, name, grantee); ``grant_id`` is what AWS assigned (empty in a desired value)
    and ``database`` the mesh database of the product (for views and order): neither is compared.
    """

    key_arn: str
    name: str
    grantee: str
    operations: tuple[str, ...]  # sorted
    grant_id: str = ""
    database: str = ""

    @property
    def key_account(self) -> str:
        return self.key_arn.split(":")[4]

    @property
    def address(self) -> str:
        # ``kms_grant.<key account>/<key id>/<name>/<grantee role name>``: the grantee is a role
        # that registered a location with the mesh's Lake Formation, so its name is enough.
        key_id = self.key_arn.rpartition("/")[2]
        role = self.grantee.rpartition("/")[2]
        return str(Address(Kind.KMS_GRANT, self.key_account, f"{key_id}/{self.name}/{role}"))

    def same_grant(self, other: KmsGrant) -> bool:
        return (self.key_arn, self.name, self.grantee, self.operations) == (
            other.key_arn,
            other.name,
            other.grantee,
            other.operations,
        )


class RecordStatus(StrEnum):
    """Status values exactly as the helper library writes them."""

    PENDING = "Pending"
    ACTIVE = "Active"
    DENIED = "Denied"
    DELETED = "Deleted"

    @property
    def word(self) -> str:
        """The status in the mesh file's words (pending/approved/denied), or ``archived``."""
        return _STATUS_WORDS[self]


_STATUS_WORDS = {
    RecordStatus.PENDING: "pending",
    RecordStatus.ACTIVE: "approved",
    RecordStatus.DENIED: "denied",
    RecordStatus.DELETED: "archived",
}


@dataclass(frozen=True, order=True)
class TableRestriction:
    """A subscribed table narrowed to some columns and/or rows (a ``tables`` entry mapping in
    the mesh file; the ``Restrictions`` attribute of its record).

    ``columns`` (only these) and ``excluded`` (every column but these) exclude each other; both
    sorted. ``row_filter`` is a Lake Formation filter expression, "" for every row.
    """

    table: str
    columns: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    row_filter: str = ""

    @property
    def restricts(self) -> bool:
        return bool(self.columns or self.excluded or self.row_filter)

    def describe(self) -> str:
        """``customers (id, country)``, ``payments except (card) rows where country = 'DE'``."""
        text = self.table
        if self.columns:
            text += f" ({', '.join(self.columns)})"
        elif self.excluded:
            text += f" except ({', '.join(self.excluded)})"
        if self.row_filter:
            text += f" rows where {self.row_filter}"
        return text


@dataclass(frozen=True)
class SubscriptionRecord:
    """One item of the subscription table, in the helper library's attribute layout.

    ``managed`` is ``ManagedBy == "meshctl"``; ``version`` is meshctl's optimistic-concurrency
    counter (0 for items the library wrote). ``product`` is empty on library items.
    """

    subscription_id: str
    owner: str  # OwnerPrincipal: producer account id
    subscriber: str  # SubscriberPrincipal: consumer account id
    status: RecordStatus
    database: str  # mesh database
    tables: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    grantable: tuple[str, ...] = ()
    granted_table_arns: tuple[str, ...] = ()
    ram_shares: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    imported: bool = False
    managed: bool = False
    version: int = 0
    product: str = ""
    approved_by: str = ""
    purpose: str = ""
    expires: str = ""
    created_at: str = ""
    created_by: str = ""
    updated_at: str = ""
    updated_by: str = ""
    last_plan_id: str = ""
    # meshctl's ``Principals``: the consumer's IAM roles/users that hold the access (sorted);
    # empty when the consumer account itself is the grantee (the helper library's way).
    principals: tuple[str, ...] = ()
    # meshctl's ``Restrictions``: subscribed tables narrowed to columns or rows (sorted).
    restrictions: tuple[TableRestriction, ...] = ()


@dataclass(frozen=True)
class LakeSettings:
    """The parts of the mesh account's Lake Formation settings meshctl manages."""

    admins: frozenset[str] = frozenset()
    create_table_default_permissions_empty: bool = False
    create_database_default_permissions_empty: bool = False
    # Parameters["CROSS_ACCOUNT_VERSION"]; an account that never set it is on version 1.
    cross_account_version: int = 1


@dataclass(frozen=True)
class ObservedMesh:
    """Everything a plan needs, read before planning. Read-only: the planner cannot write."""

    mesh_account_id: str
    subscriptions_table_exists: bool = False
    subscriptions: tuple[SubscriptionRecord, ...] = ()
    # Raw grants of the mesh catalog (no principal filter), and of consumer catalogs on the
    # resource links to it (a subscription's principals get DESCRIBE there).
    grants: tuple[Grant, ...] = ()
    lake_settings: LakeSettings = field(default_factory=LakeSettings)
    catalog_policy: str = ""  # canonical JSON of the mesh Glue catalog resource policy, "" if none
    catalog_policy_hash: str = ""  # Glue's PolicyHash of that policy: apply writes only over it
    lf_tags: tuple[tuple[str, tuple[str, ...]], ...] = ()  # LF-tag key -> values, mesh account
    roles: tuple[Role, ...] = ()  # mesh roles and member DataMeshProducer/Consumer roles
    iam_users: tuple[IamUser, ...] = ()  # users and groups beside those roles (library layout)
    databases: tuple[Database, ...] = ()  # mesh databases and member resource links
    tables: tuple[Table, ...] = ()  # mesh table copies and producers' source tables
    data_filters: tuple[DataFilter, ...] = ()  # data cells filters of the mesh catalog
    # RAM invitations from the mesh account still pending: (account id, invitation ARN), listed
    # in the accounts the invitation journal records (aws/invitations.py), or in every member
    # account while the journal is not kept (``invitation_journal_kept`` False).
    pending_invitations: tuple[tuple[str, str], ...] = ()
    invitation_journal_kept: bool = False
    invitation_journal: tuple[str, ...] = ()  # the accounts it records
    # Declared subscription principals (IAM ARNs, as declared) that exist in their account.
    principals_found: tuple[str, ...] = ()
    # The S3 locations registered with the mesh's Lake Formation: (S3 ARN, the role that
    # registered it). Then KMS (docs/kms.md), read only for products that use a key: (bucket,
    # KMSMasterKeyID of its default encryption, "" when not SSE-KMS), the keys whose grants were
    # read, and meshctl's grants on them (named ``meshctl-``).
    location_roles: tuple[tuple[str, str], ...] = ()
    bucket_keys: tuple[tuple[str, str], ...] = ()
    kms_keys_read: tuple[str, ...] = ()
    kms_grants: tuple[KmsGrant, ...] = ()

    def __post_init__(self) -> None:
        # Readers run accounts in parallel; sorting here makes the snapshot (and so its
        # fingerprint) independent of the order in which answers arrived. Each value is turned
        # into canonical JSON once: the same text sorts it and feeds the fingerprint.
        digest = hashlib.sha256()
        for f in fields(self):
            value = getattr(self, f.name)
            digest.update(f"{f.name}=".encode())
            if isinstance(value, tuple):
                keyed = sorted((canonical_json(v), i) for i, v in enumerate(value))
                object.__setattr__(self, f.name, tuple(value[i] for _, i in keyed))
                for text, _ in keyed:
                    digest.update(text.encode() + b"\n")  # JSON text holds no raw newline
            else:
                digest.update(canonical_json(value).encode() + b"\n")
        self.__dict__["_fingerprint"] = digest.hexdigest()

    @property
    def registered_locations(self) -> tuple[str, ...]:
        """The S3 ARNs registered with the mesh's Lake Formation."""
        return tuple(arn for arn, _ in self.location_roles)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the snapshot's canonical form: equal for two reads of the same state,
        different as soon as anything a plan depends on differs (a plan records it)."""
        return str(self.__dict__["_fingerprint"])
