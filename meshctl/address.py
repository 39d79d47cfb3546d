"""Addresses: a value built in one place (here), written as text only at the edge.

The foundation holds it, so the observed model (``observed.py``), the planner and the views
all build addresses the same way; ``Kind`` lives here for the same reason.

``str(address)`` is the text plans, views and users know: ``kind.account/name``
(``role.555555555555/DataMeshManager``; a grant's "account" is its principal:
``grant.999999999999/table:555555555555:db.orders``), ``kind.name`` for what has no account
(``lf_tag.domain``), and ``mesh.<kind>`` for the mesh's singletons (``mesh.lake_settings``).
Nothing parses the text back: what a view needs (the product, the account) travels as data on
the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Resource kinds, in the order they are created (deletes run in the reverse order)."""

    SUBSCRIPTIONS_TABLE = "subscriptions_table"
    IAM_USER = "iam_user"  # before roles: IAM refuses a trust policy naming a missing user
    ROLE = "role"  # before lake settings: Lake Formation refuses an admin that does not exist
    LAKE_SETTINGS = "lake_settings"
    CATALOG_POLICY = "catalog_policy"
    LF_TAG = "lf_tag"
    DATA_LOCATION = "data_location"  # a product's S3 location registered with Lake Formation
    DATABASE = "database"
    # A KMS grant letting the role that registered a product's location decrypt its data: after
    # the location (registering it with the service-linked role creates that role) and the mesh
    # database (which records the key first, so a later plan finds the grant).
    KMS_GRANT = "kms_grant"
    TABLE = "table"
    DATA_FILTER = "data_filter"  # a Lake Formation data cells filter on a mesh table
    GRANT = "grant"
    RESOURCE_LINK = "resource_link"  # consumer side: invitation accepted, link database created
    SUBSCRIPTION = "subscription"  # last: a record says Active only once access exists


# One of each per mesh, in the mesh account.
MESH_SINGLETONS = frozenset({Kind.SUBSCRIPTIONS_TABLE, Kind.LAKE_SETTINGS, Kind.CATALOG_POLICY})


@dataclass(frozen=True, order=True)
class Address:
    kind: Kind
    account: str  # the account id (a grant's principal); "" for what has no account
    name: str  # "" for the mesh's singletons

    def __str__(self) -> str:
        if self.kind in MESH_SINGLETONS:
            return f"mesh.{self.kind.value}"
        if not self.account:
            return f"{self.kind.value}.{self.name}"
        return f"{self.kind.value}.{self.account}/{self.name}"


def database_address(account_id: str, name: str) -> str:
    return str(Address(Kind.DATABASE, account_id, name))


def table_address(account_id: str, database: str, name: str) -> str:
    return str(Address(Kind.TABLE, account_id, f"{database}.{name}"))


def link_address(account_id: str, database: str) -> str:
    return str(Address(Kind.RESOURCE_LINK, account_id, database))
