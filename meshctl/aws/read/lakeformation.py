"""Lake Formation reads of the mesh account: raw grants, data cells filters, data lake settings,
LF-tags.

Grants come from ``ListPermissions`` WITHOUT a principal filter (with one, Lake Formation returns
computed effective permissions, which differ from the raw grants apply writes), 1,000 a page.
"""

from __future__ import annotations

from typing import Any

from meshctl.aws.api import AccountApi
from meshctl.observed import DataFilter, Grant, LakeSettings
from meshctl.planning.canonical import canonical_grants
from meshctl.planning.data_filters import filter_from_api

PERMISSIONS_PAGE = 1000


def read_grants(api: AccountApi) -> tuple[Grant, ...]:
    entries: list[dict[str, Any]] = []
    for page in api.pages(
        "lakeformation", "list_permissions", page_size=PERMISSIONS_PAGE, CatalogId=api.account_id
    ):
        entries.extend(page.get("PrincipalResourcePermissions", []))
    return canonical_grants(entries, api.account_id)


def read_data_filters(api: AccountApi) -> tuple[DataFilter, ...]:
    """Every data cells filter of the account's catalog (ListDataCellsFilter pages)."""
    found: list[DataFilter] = []
    for page in api.pages("lakeformation", "list_data_cells_filter", page_size=PERMISSIONS_PAGE):
        found.extend(filter_from_api(f, api.account_id) for f in page.get("DataCellsFilters", []))
    return tuple(found)


def read_share_arns(api: AccountApi) -> dict[tuple[str, str, str], str]:
    """(principal, database, table or "") → the RAM share carrying that cross-account grant, from
    ``AdditionalDetails.ResourceShare`` of every grant (pages of 1,000, not one call a record)."""
    shares: dict[tuple[str, str, str], str] = {}
    for page in api.pages(
        "lakeformation", "list_permissions", page_size=PERMISSIONS_PAGE, CatalogId=api.account_id
    ):
        for entry in page.get("PrincipalResourcePermissions", []):
            arns = entry.get("AdditionalDetails", {}).get("ResourceShare") or []
            resource = entry.get("Resource", {})
            table = resource.get("Table") or resource.get("TableWithColumns") or {}
            database = table.get("DatabaseName") or resource.get("Database", {}).get("Name")
            if not arns or not database:
                continue
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            shares[(str(principal), str(database), str(table.get("Name", "")))] = str(arns[0])
    return shares


def read_locations(api: AccountApi) -> tuple[tuple[str, str], ...]:
    """S3 locations registered with the account's Lake Formation, each with the role that
    registered it ("" when ListResources names none), from ListResources pages."""
    found: list[tuple[str, str]] = []
    for page in api.pages("lakeformation", "list_resources", page_size=PERMISSIONS_PAGE):
        found.extend(
            (str(r["ResourceArn"]), str(r.get("RoleArn") or ""))
            for r in page.get("ResourceInfoList", [])
        )
    return tuple(sorted(found))


def read_settings(api: AccountApi) -> LakeSettings:
    answer = api.require("lakeformation", "get_data_lake_settings", CatalogId=api.account_id)
    settings: dict[str, Any] = answer.get("DataLakeSettings", {})
    admins = frozenset(
        str(a["DataLakePrincipalIdentifier"]) for a in settings.get("DataLakeAdmins", [])
    )
    return LakeSettings(
        admins=admins,
        cross_account_version=cross_account_version(settings),
        create_table_default_permissions_empty=not settings.get("CreateTableDefaultPermissions"),
        create_database_default_permissions_empty=not settings.get(
            "CreateDatabaseDefaultPermissions"
        ),
    )


CROSS_ACCOUNT_VERSION = "CROSS_ACCOUNT_VERSION"  # the Parameters key AWS and Terraform use


def cross_account_version(settings: dict[str, Any]) -> int:
    """``Parameters["CROSS_ACCOUNT_VERSION"]``; an account that never set it is on version 1."""
    raw = (settings.get("Parameters") or {}).get(CROSS_ACCOUNT_VERSION, "1")
    try:
        return int(str(raw))
    except ValueError:
        return 1


def read_lf_tags(api: AccountApi) -> tuple[tuple[str, tuple[str, ...]], ...]:
    tags: dict[str, tuple[str, ...]] = {}
    for page in api.pages(
        "lakeformation", "list_lf_tags", page_size=PERMISSIONS_PAGE, CatalogId=api.account_id
    ):
        for tag in page.get("LFTags", []):
            tags[str(tag["TagKey"])] = tuple(sorted(str(v) for v in tag.get("TagValues", [])))
    return tuple(sorted(tags.items()))
