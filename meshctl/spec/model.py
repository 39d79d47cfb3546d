"""The desired mesh: frozen data built from a validated mesh file (see load.py).

Nothing here validates; load.py does that once (JSON Schema, then semantic rules) and then builds
these values. Every collection is a tuple or frozenset so a spec can be shared and hashed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# A restricted ``tables`` entry; its record keeps the same value (observed.py).
from meshctl.observed import TableRestriction as TableRestriction

DEFAULT_SUBSCRIPTIONS_TABLE = "AwsDataMeshSubscriptions"
ALL_TABLES = "*"
BUCKET_KEY = "bucket"  # ``kms_key_arn: bucket``: the key of the bucket's default encryption
DEFAULT_CROSS_ACCOUNT_VERSION = 4
PRINCIPALS_MIN_VERSION = 3  # Lake Formation grants to other accounts' IAM principals from v3


class AccountRole(StrEnum):
    PRODUCER = "producer"
    CONSUMER = "consumer"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


# Lake Formation permissions a mesh file may name for a subscription (table-level permissions).
TABLE_PERMISSIONS: tuple[str, ...] = (
    "ALL",
    "SELECT",
    "ALTER",
    "DROP",
    "DELETE",
    "INSERT",
    "DESCRIBE",
)


@dataclass(frozen=True)
class MeshSettings:
    account_id: str
    region: str
    subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE
    role_arn: str | None = None
    iam_users: bool = False
    # Lake Formation's cross-account data sharing version (DataLakeSettings.Parameters
    # CROSS_ACCOUNT_VERSION): 4 is what Lake Formation recommends for new setups; grants to
    # principals of other accounts (a subscription's ``principals``) need 3 or later.
    cross_account_version: int = DEFAULT_CROSS_ACCOUNT_VERSION

    @property
    def locks_table(self) -> str:
        return f"{self.subscriptions_table}-Locks"


@dataclass(frozen=True)
class Account:
    name: str
    account_id: str
    roles: frozenset[AccountRole]
    role_arn: str | None = None

    @property
    def is_producer(self) -> bool:
        return AccountRole.PRODUCER in self.roles

    @property
    def is_consumer(self) -> bool:
        return AccountRole.CONSUMER in self.roles


@dataclass(frozen=True)
class Product:
    name: str
    producer: str  # account name
    source_database: str
    tables: tuple[str, ...]  # ("*",) means every table of source_database
    mesh_database: str
    description: str = ""
    owners: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    protect: bool = False
    # The customer-managed KMS key of the product's data (docs/kms.md): a key ARN, BUCKET_KEY for
    # the key of the source bucket's default encryption, or "" for none.
    kms_key_arn: str = ""

    @property
    def all_tables(self) -> bool:
        return self.tables == (ALL_TABLES,)


# What a restricted table entry may grant: Lake Formation takes only SELECT on columns and data
# cells filters; DESCRIBE stays a grant on the table (the schema, never the data).
RESTRICTED_PERMISSIONS = frozenset({"SELECT", "DESCRIBE"})


@dataclass(frozen=True)
class Subscription:
    consumer: str  # account name
    product: str  # product name
    tables: tuple[str, ...]  # () means every table of the product
    permissions: frozenset[str]
    grantable: frozenset[str] = frozenset()
    status: SubscriptionStatus = SubscriptionStatus.PENDING
    approved_by: str | None = None
    purpose: str = ""
    expires: date | None = None
    # IAM role/user ARNs of the consumer account that get the access instead of the account
    # (sorted, shorthand resolved); () means the account itself, as the helper library grants.
    principals: tuple[str, ...] = ()
    # Tables narrowed to columns or rows, by table name (each also in ``tables``).
    restrictions: tuple[TableRestriction, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.consumer}/{self.product}"

    def restriction(self, table: str) -> TableRestriction | None:
        return next((r for r in self.restrictions if r.table == table), None)


@dataclass(frozen=True)
class MeshSpec:
    mesh: MeshSettings
    accounts: tuple[Account, ...] = ()
    products: tuple[Product, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    # Where each YAML path was defined, "file:line", for messages after validation.
    sources: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def account(self, name: str) -> Account:
        return next(a for a in self.accounts if a.name == name)

    def product(self, name: str) -> Product:
        return next(p for p in self.products if p.name == name)

    def account_by_id(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)
