"""The facts ``meshctl doctor`` reads (``aws/doctor.py``) and the findings it gives (pure values).

``planning/doctor.py`` turns the facts into findings; ``planning/doctor_keys.py`` judges SSE-KMS
keys; ``render/doctor.py`` shows them (docs/doctor.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class Check(StrEnum):
    CREDENTIALS = "credentials"
    CROSS_ACCOUNT_VERSION = "cross_account_version"
    DATA_LAKE_ADMINS = "data_lake_admins"
    DEFAULT_PERMISSIONS = "default_permissions"
    IAM_ALLOWED_PRINCIPALS = "iam_allowed_principals"
    HYBRID_ACCESS = "hybrid_access"
    SOURCE_TABLES = "source_tables"
    DATA_LOCATION = "data_location"
    BUCKET = "bucket"
    ENCRYPTION = "encryption"
    CLOUDTRAIL = "cloudtrail"
    INVITATIONS = "invitations"


# --- facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountAccess:
    """How meshctl reached one account: the identity AWS answered with, or why it could not."""

    account_id: str
    identity: str = ""  # sts:GetCallerIdentity Arn
    identity_account: str = ""
    error: str = ""

    @property
    def reached(self) -> bool:
        return not self.error and self.identity_account == self.account_id


@dataclass(frozen=True)
class LakeFacts:
    admins: frozenset[str] = frozenset()
    cross_account_version: int = 1
    # Principals of CreateDatabaseDefaultPermissions / CreateTableDefaultPermissions.
    database_defaults: tuple[str, ...] = ()
    table_defaults: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisteredLocation:
    resource_arn: str
    role_arn: str = ""
    hybrid_access: bool = False

    def covers(self, arn: str) -> bool:
        return arn == self.resource_arn or arn.startswith(self.resource_arn.rstrip("/") + "/")


@dataclass(frozen=True)
class IamAllowedGrant:
    """A grant to IAM_ALLOWED_PRINCIPALS on a mesh database or table (``table`` "" for the db)."""

    database: str
    table: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class SourceTable:
    account_id: str
    database: str
    name: str
    location: str


@dataclass(frozen=True)
class Bucket:
    """A product bucket, read in the producer account: whether it exists and its default key."""

    name: str
    account_id: str
    exists: bool | None  # None: could not tell (``error``)
    kms_key: str = ""  # KMSMasterKeyID of an SSE-KMS default encryption ("" for none or SSE-S3)
    error: str = ""


@dataclass(frozen=True)
class KmsKey:
    """A bucket's KMS key: who it lets decrypt, read in the key's own account when reachable."""

    key: str  # as the bucket names it
    key_arn: str = ""
    account_id: str = ""
    reachable: bool = False  # an account of the mesh meshctl reached
    decrypt_grantees: frozenset[str] = frozenset()  # GranteePrincipal of grants with Decrypt
    policy: str = ""  # the key policy (JSON)
    error: str = ""


@dataclass(frozen=True)
class Trail:
    name: str
    logging: bool


@dataclass(frozen=True)
class DoctorFacts:
    """Everything ``diagnose`` looks at, read once (``aws/doctor.py``)."""

    mesh_account_id: str
    access: tuple[AccountAccess, ...] = ()
    lake: LakeFacts | None = None
    iam_allowed: tuple[IamAllowedGrant, ...] | None = None
    locations: tuple[RegisteredLocation, ...] | None = None
    # Producer account id -> its source tables (only the products' source databases).
    source_tables: tuple[SourceTable, ...] = ()
    producers_read: frozenset[str] = frozenset()
    buckets: tuple[Bucket, ...] = ()
    keys: tuple[KmsKey, ...] = ()
    trails: tuple[Trail, ...] | None = None
    # Member account -> the ARNs of its pending RAM invitations from the mesh account (only the
    # member accounts read).
    invitations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    read_errors: tuple[tuple[str, str], ...] = field(default=())  # (account id, message)


# --- findings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    account_id: str
    check: Check
    status: Status
    message: str
    fix: str = ""
    subject: str = ""  # what the check looked at (a product, a bucket, a key), "" for the account
