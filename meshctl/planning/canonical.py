"""Lake Formation grants in one comparable form, and back to the shapes boto3 expects.

Lake Formation lists the same access in several shapes (``ListPermissions`` without a principal
filter returns the *raw* grants): a table ``SELECT`` comes back as ``TableWithColumns`` with a
``ColumnWildcard`` beside a ``Table`` entry holding ``DESCRIBE``; ``ALL`` comes back as its own
permission; ``CatalogId`` is sometimes missing; admins and resource creators hold implicit
permissions that cannot be revoked. Diffing those shapes directly gives perpetual diffs (the
Terraform AWS provider's issues #17299, #38066, #49453), so everything is folded first:

- one ``Grant`` per (principal, resource): entries for the same pair are merged (set union);
- ``ALL`` is replaced by the full permission set of its resource type, so an explicit full set
  and ``ALL`` compare equal; ``permissions`` always contains ``grantable``;
- ``TableWithColumns`` + ``ColumnWildcard`` (no exclusions) folds into the ``Table`` resource;
- ``TableWithColumns`` with named columns, or a wildcard with excluded columns, stays distinct:
  it is a TABLE resource whose ``table`` field carries the column list after ``#``
  (``orders#columns=a,b`` / ``orders#excluding=c``, each list sorted: a set), so its key and
  address differ from the table's; ``resource_to_api`` turns it back into ``TableWithColumns``;
- a ``DataCellsFilter`` is a DATA_CELLS_FILTER resource whose ``table`` is ``<table>#<name>``;
- ``CatalogId`` is always filled (the catalog of the call when the entry omits it);
- resources meshctl does not model (LF-tag resources and policies) are skipped: meshctl neither
  creates nor revokes them.

This module is pure: no AWS calls and no boto3 import; the aws/ layer calls it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from typing import Any

from meshctl.observed import Grant, LfResource, ResourceType

IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
ALL = "ALL"

# The permissions ``ALL`` ("Super") stands for, per resource type.
_TABLE_ALL = frozenset({"ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT"})
FULL_PERMISSIONS: Mapping[ResourceType, frozenset[str]] = {
    ResourceType.CATALOG: frozenset(
        {"ALTER", "CREATE_CATALOG", "CREATE_DATABASE", "DESCRIBE", "DROP"}
    ),
    ResourceType.DATABASE: frozenset({"ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"}),
    ResourceType.TABLE: _TABLE_ALL,
    ResourceType.TABLE_WILDCARD: _TABLE_ALL,
    ResourceType.DATA_LOCATION: frozenset({"DATA_LOCATION_ACCESS"}),
    ResourceType.DATA_CELLS_FILTER: frozenset({"DESCRIBE", "DROP", "SELECT"}),
}

# Column lists ride in LfResource.table after this separator (Glue table names cannot hold it).
COLUMN_SEPARATOR = "#"
_COLUMNS = "columns="
_EXCLUDING = "excluding="


def expand(permissions: Iterable[str], resource_type: ResourceType) -> frozenset[str]:
    """``permissions`` with ``ALL`` replaced by the full set of ``resource_type``."""
    return _expand(frozenset(permissions), resource_type)


@cache  # a mesh has few distinct permission sets; planning calls this per grant
def _expand(perms: frozenset[str], resource_type: ResourceType) -> frozenset[str]:
    if ALL in perms:
        return (perms - {ALL}) | FULL_PERMISSIONS[resource_type]
    return perms


def column_resource(
    catalog_id: str,
    database: str,
    table: str,
    *,
    columns: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> LfResource:
    """The canonical resource of a column-level grant (named columns, or wildcard minus some)."""
    if names := sorted(set(columns)):
        suffix = _COLUMNS + ",".join(names)
    else:
        suffix = _EXCLUDING + ",".join(sorted(set(excluded)))
    return LfResource(
        ResourceType.TABLE, catalog_id, database, f"{table}{COLUMN_SEPARATOR}{suffix}"
    )


def filter_resource(catalog_id: str, database: str, table: str, name: str) -> LfResource:
    """The canonical resource of a grant on the data cells filter ``name`` of ``table``."""
    return LfResource(
        ResourceType.DATA_CELLS_FILTER, catalog_id, database, f"{table}{COLUMN_SEPARATOR}{name}"
    )


def resource_filter_name(resource: LfResource) -> str:
    return resource.table.split(COLUMN_SEPARATOR, 1)[1]


def is_column_resource(resource: LfResource) -> bool:
    return resource.type is ResourceType.TABLE and COLUMN_SEPARATOR in resource.table


def table_name(resource: LfResource) -> str:
    """The Glue table a TABLE resource is on (without any column list)."""
    return resource.table.split(COLUMN_SEPARATOR, 1)[0]


def _resource(raw: Mapping[str, Any], default_catalog_id: str) -> LfResource | None:
    """The canonical resource of one raw ``Resource`` map, or None for kinds meshctl skips."""
    if "Catalog" in raw:
        catalog = raw["Catalog"] or {}
        return LfResource(ResourceType.CATALOG, catalog.get("Id") or default_catalog_id)
    if "Database" in raw:
        db = raw["Database"]
        return LfResource(
            ResourceType.DATABASE, db.get("CatalogId") or default_catalog_id, db["Name"]
        )
    if "Table" in raw:
        t = raw["Table"]
        catalog_id = t.get("CatalogId") or default_catalog_id
        if "TableWildcard" in t or not t.get("Name"):
            return LfResource(ResourceType.TABLE_WILDCARD, catalog_id, t["DatabaseName"])
        return LfResource(ResourceType.TABLE, catalog_id, t["DatabaseName"], t["Name"])
    if "TableWithColumns" in raw:
        t = raw["TableWithColumns"]
        catalog_id = t.get("CatalogId") or default_catalog_id
        wildcard = t.get("ColumnWildcard")
        excluded = (wildcard or {}).get("ExcludedColumnNames") or []
        if wildcard is not None and not excluded:
            return LfResource(ResourceType.TABLE, catalog_id, t["DatabaseName"], t["Name"])
        return column_resource(
            catalog_id,
            t["DatabaseName"],
            t["Name"],
            columns=t.get("ColumnNames") or (),
            excluded=excluded,
        )
    if "DataCellsFilter" in raw:
        f = raw["DataCellsFilter"]
        catalog_id = f.get("TableCatalogId") or default_catalog_id
        return filter_resource(catalog_id, f["DatabaseName"], f["TableName"], f["Name"])
    if "DataLocation" in raw:
        loc = raw["DataLocation"]
        return LfResource(
            ResourceType.DATA_LOCATION,
            loc.get("CatalogId") or default_catalog_id,
            table=loc["ResourceArn"],
        )
    return None


def canonical_grants(
    entries: Iterable[Mapping[str, Any]], default_catalog_id: str
) -> tuple[Grant, ...]:
    """Merge raw ``PrincipalResourcePermissions`` entries into canonical grants, sorted.

    ``default_catalog_id`` is the catalog the listing was made in (the mesh account id); it
    fills every missing ``CatalogId``.
    """
    merged: dict[tuple[str, LfResource], tuple[set[str], set[str]]] = {}
    for entry in entries:
        principal = (entry.get("Principal") or {}).get("DataLakePrincipalIdentifier")
        resource = _resource(entry.get("Resource") or {}, default_catalog_id)
        if not principal or resource is None:
            continue
        perms, grantable = merged.setdefault((principal, resource), (set(), set()))
        perms |= expand(entry.get("Permissions") or (), resource.type)
        grantable |= expand(entry.get("PermissionsWithGrantOption") or (), resource.type)
    grants = (
        # A grantable permission is always held too; keep that invariant explicit.
        Grant(principal, resource, frozenset(perms | grantable), frozenset(grantable))
        for (principal, resource), (perms, grantable) in merged.items()
    )
    return tuple(sorted((g for g in grants if g.permissions), key=_grant_order))


def _grant_order(grant: Grant) -> tuple[str, str]:
    return (grant.principal, grant.resource.key)


def is_service_principal(principal: str) -> bool:
    """Service-linked roles (Lake Formation's own data access role) are AWS's, never meshctl's."""
    return ":role/aws-service-role/" in principal


def drop_implicit(
    grants: Iterable[Grant],
    *,
    admins: Collection[str],
    ignored_principals: Collection[str] = (),
) -> tuple[Grant, ...]:
    """The grants meshctl may compare and change: implicit and foreign principals removed.

    Dropped, because revoking them fails (``No permissions revoked``) or is not meshctl's call:
    - data lake admins (``admins``): they hold every permission implicitly, and anything Lake
      Formation lists for them is a side effect of their being creators;
    - ``ignored_principals``: the identities meshctl itself runs as (the deployer role, a
      ``role_arn``, or the caller's own identity), which Lake Formation lists as creator of the
      databases and tables meshctl made; a role or user matches whatever its path;
    - AWS service-linked roles.
    Kept: ``IAM_ALLOWED_PRINCIPALS`` — the planner never changes it but warns about it.
    """
    skip = {pathless(p) for p in (*admins, *ignored_principals)}
    return tuple(
        g
        for g in grants
        if pathless(g.principal) not in skip and not is_service_principal(g.principal)
    )


def iam_principal(arn: str) -> str:
    """The IAM principal Lake Formation names for an identity: an STS assumed-role session
    (``arn:aws:sts::A:assumed-role/R/session``) is its role ``arn:aws:iam::A:role/R``; an IAM
    ARN is itself; anything else (no ARN) is ""."""
    if arn.startswith("arn:aws:sts::") and ":assumed-role/" in arn:
        account = arn.split(":")[4]
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return f"arn:aws:iam::{account}:role/{role}"
    return arn if arn.startswith("arn:aws:iam::") else ""


def principal_account(principal: str) -> str:
    """The account of an IAM ARN (``arn:aws:iam::<id>:role/x``); an account id is its own."""
    parts = principal.split(":")
    return parts[4] if len(parts) > 5 and principal.startswith("arn:") else principal


def pathless(principal: str) -> str:
    """A role or user ARN without its path: an STS session names its role without the path, so
    identities compare by account, type and name (names are unique per account, path or not)."""
    for kind in (":role/", ":user/"):
        head, found, rest = principal.partition(kind)
        if found and head.startswith("arn:aws:iam::"):
            return f"{head}{kind}{rest.rsplit('/', 1)[-1]}"
    return principal


def resource_to_api(resource: LfResource) -> dict[str, Any]:
    """The boto3 ``Resource`` argument of Grant/Revoke(Batch)Permissions for ``resource``.

    Every shape carries ``CatalogId`` except ``Catalog``, whose shape has none: pass
    ``CatalogId=resource.catalog_id`` as the call's own argument for it.
    """
    cid = resource.catalog_id
    match resource.type:
        case ResourceType.CATALOG:
            return {"Catalog": {}}
        case ResourceType.DATABASE:
            return {"Database": {"CatalogId": cid, "Name": resource.database}}
        case ResourceType.TABLE_WILDCARD:
            return {
                "Table": {"CatalogId": cid, "DatabaseName": resource.database, "TableWildcard": {}}
            }
        case ResourceType.DATA_LOCATION:
            return {"DataLocation": {"CatalogId": cid, "ResourceArn": resource.table}}
        case ResourceType.DATA_CELLS_FILTER:
            table, name = resource.table.split(COLUMN_SEPARATOR, 1)
            return {
                "DataCellsFilter": {
                    "TableCatalogId": cid,
                    "DatabaseName": resource.database,
                    "TableName": table,
                    "Name": name,
                }
            }
        case ResourceType.TABLE if is_column_resource(resource):
            name, spec = resource.table.split(COLUMN_SEPARATOR, 1)
            twc: dict[str, Any] = {
                "CatalogId": cid,
                "DatabaseName": resource.database,
                "Name": name,
            }
            if spec.startswith(_COLUMNS):
                twc["ColumnNames"] = spec[len(_COLUMNS) :].split(",")
            else:
                excluded = [c for c in spec[len(_EXCLUDING) :].split(",") if c]
                twc["ColumnWildcard"] = {"ExcludedColumnNames": excluded}
            return {"TableWithColumns": twc}
        case _:
            return {
                "Table": {
                    "CatalogId": cid,
                    "DatabaseName": resource.database,
                    "Name": resource.table,
                }
            }


def entry_id(grant: Grant) -> str:
    """A short, stable id for a batch entry, so per-entry ``Failures`` map back to the grant."""
    return hashlib.sha256(grant.address.encode()).hexdigest()[:32]


def grant_entries(
    grant: Grant,
    *,
    permissions: Iterable[str] | None = None,
    grantable: Iterable[str] | None = None,
) -> dict[str, Any]:
    """One ``Entries`` item of BatchGrantPermissions / BatchRevokePermissions for ``grant``.

    ``permissions``/``grantable`` override the grant's sets (an update grants only what was
    added, then revokes only what was dropped). Permissions go out expanded, never as ``ALL``.
    """
    perms = sorted(grant.permissions if permissions is None else permissions)
    with_grant = sorted(grant.grantable if grantable is None else grantable)
    entry: dict[str, Any] = {
        "Id": entry_id(grant),
        "Principal": {"DataLakePrincipalIdentifier": grant.principal},
        "Resource": resource_to_api(grant.resource),
        "Permissions": perms,
    }
    if with_grant:
        entry["PermissionsWithGrantOption"] = with_grant
    return entry
