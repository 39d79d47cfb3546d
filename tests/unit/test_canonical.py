"""Canonical grants: each Lake Formation listing quirk folds into one comparable form."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.observed import Grant, LfResource, ResourceType
from meshctl.planning.canonical import (
    FULL_PERMISSIONS,
    IAM_ALLOWED_PRINCIPALS,
    canonical_grants,
    drop_implicit,
    filter_resource,
    grant_entries,
    is_column_resource,
    resource_to_api,
    table_name,
)

MESH = "555555555555"
CONSUMER = "999999999999"
DB = "sales-111111111111"
ORDERS = LfResource(ResourceType.TABLE, MESH, DB, "orders")
TABLE_ALL = {"ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT", "SELECT"}


def entry(
    resource: dict[str, Any],
    permissions: list[str],
    grantable: list[str] | None = None,
    principal: str = CONSUMER,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "Principal": {"DataLakePrincipalIdentifier": principal},
        "Resource": resource,
        "Permissions": permissions,
    }
    if grantable is not None:
        raw["PermissionsWithGrantOption"] = grantable
    return raw


def table(name: str = "orders", catalog: str | None = MESH) -> dict[str, Any]:
    t: dict[str, Any] = {"DatabaseName": DB, "Name": name}
    if catalog:
        t["CatalogId"] = catalog
    return {"Table": t}


def test_all_is_expanded_to_the_full_set_of_its_resource_type() -> None:
    (on_table,) = canonical_grants([entry(table(), ["ALL"], ["ALL"])], MESH)
    assert on_table.permissions == TABLE_ALL
    assert on_table.grantable == TABLE_ALL
    (on_db,) = canonical_grants([entry({"Database": {"Name": DB}}, ["ALL"])], MESH)
    assert on_db.permissions == {"ALTER", "CREATE_TABLE", "DESCRIBE", "DROP"}


def test_explicit_full_set_equals_all() -> None:
    via_all = canonical_grants([entry(table(), ["ALL"])], MESH)
    listed = canonical_grants([entry(table(), sorted(TABLE_ALL))], MESH)
    both = canonical_grants([entry(table(), ["ALL", *sorted(TABLE_ALL)])], MESH)
    assert via_all == listed == both


def test_table_with_column_wildcard_folds_into_the_table_grant() -> None:
    # How Lake Formation lists a table grant of SELECT + DESCRIBE: two entries, two shapes.
    raw = [
        entry({"TableWithColumns": {**table()["Table"], "ColumnWildcard": {}}}, ["SELECT"]),
        entry(table(), ["DESCRIBE"]),
    ]
    assert canonical_grants(raw, MESH) == (
        Grant(CONSUMER, ORDERS, frozenset({"SELECT", "DESCRIBE"})),
    )


def test_named_columns_stay_a_distinct_resource_with_the_columns_in_the_key() -> None:
    raw = [
        entry(
            {"TableWithColumns": {**table()["Table"], "ColumnNames": ["total", "id"]}}, ["SELECT"]
        ),
        entry(table(), ["DESCRIBE"]),
    ]
    whole, columns = sorted(canonical_grants(raw, MESH), key=lambda g: g.resource.table)
    assert whole.resource == ORDERS
    assert is_column_resource(columns.resource)
    assert columns.resource.key == f"table:{MESH}:{DB}.orders#columns=id,total"
    assert table_name(columns.resource) == "orders"


def test_wildcard_with_excluded_columns_is_not_the_whole_table() -> None:
    twc = {**table()["Table"], "ColumnWildcard": {"ExcludedColumnNames": ["ssn"]}}
    (grant,) = canonical_grants([entry({"TableWithColumns": twc}, ["SELECT"])], MESH)
    assert grant.resource.key == f"table:{MESH}:{DB}.orders#excluding=ssn"


def test_missing_catalog_id_is_filled_with_the_listing_catalog() -> None:
    raw = [
        entry(table(catalog=None), ["SELECT"]),
        entry({"Database": {"Name": DB}}, ["DESCRIBE"]),
        entry({"Catalog": {}}, ["CREATE_DATABASE"]),
        entry({"DataLocation": {"ResourceArn": "arn:aws:s3:::bucket"}}, ["DATA_LOCATION_ACCESS"]),
    ]
    grants = canonical_grants(raw, MESH)
    assert {g.resource.catalog_id for g in grants} == {MESH}
    assert canonical_grants([entry(table(), ["SELECT"])], MESH)[0] in grants


def test_permission_order_and_duplicates_do_not_matter() -> None:
    a = canonical_grants([entry(table(), ["SELECT", "DESCRIBE"])], MESH)
    b = canonical_grants([entry(table(), ["DESCRIBE", "SELECT"]), entry(table(), ["SELECT"])], MESH)
    assert a == b


def test_grantable_permissions_are_also_held() -> None:
    (grant,) = canonical_grants([entry(table(), [], ["SELECT"])], MESH)
    assert grant.permissions == {"SELECT"} and grant.grantable == {"SELECT"}


def test_table_wildcard_is_its_own_resource() -> None:
    wildcard = {"Table": {"CatalogId": MESH, "DatabaseName": DB, "TableWildcard": {}}}
    (grant,) = canonical_grants([entry(wildcard, ["SELECT"])], MESH)
    assert grant.resource.type is ResourceType.TABLE_WILDCARD
    assert grant.resource.key == f"table:{MESH}:{DB}.*"


def test_resources_meshctl_does_not_model_are_skipped() -> None:
    raw = [
        entry({"LFTag": {"TagKey": "Domain", "TagValues": ["Sales"]}}, ["ASSOCIATE"]),
        entry(table(), ["SELECT"]),
    ]
    assert [g.resource for g in canonical_grants(raw, MESH)] == [ORDERS]


def test_a_data_cells_filter_grant_is_a_filter_resource_and_goes_back_unchanged() -> None:
    raw = {"DataCellsFilter": {"DatabaseName": DB, "TableName": "orders", "Name": "f"}}
    (grant,) = canonical_grants([entry(raw, ["SELECT"])], MESH)
    assert grant.resource == filter_resource(MESH, DB, "orders", "f")
    assert grant.resource.key == f"filter:{MESH}:{DB}.orders#f"
    assert resource_to_api(grant.resource) == {
        "DataCellsFilter": {**raw["DataCellsFilter"], "TableCatalogId": MESH}
    }


def test_output_is_sorted_by_principal_and_resource() -> None:
    raw = [
        entry(table("b"), ["SELECT"], principal="2"),
        entry(table("a"), ["SELECT"], principal="2"),
        entry(table("z"), ["SELECT"], principal="1"),
    ]
    got = [(g.principal, g.resource.table) for g in canonical_grants(raw, MESH)]
    assert got == [("1", "z"), ("2", "a"), ("2", "b")]


def test_implicit_admin_creator_and_service_grants_are_dropped() -> None:
    admin = "arn:aws:iam::555555555555:role/AwsDataMesh/DataMeshManager"
    deployer = "arn:aws:iam::555555555555:role/MeshctlDeployer"
    service = "arn:aws:iam::555555555555:role/aws-service-role/lakeformation.amazonaws.com/X"
    raw = [
        entry(table(), ["ALL"], ["ALL"], principal=admin),
        entry(table(), ["ALL"], principal=deployer),
        entry(table(), ["SELECT"], principal=service),
        entry(table(), ["ALL"], principal=IAM_ALLOWED_PRINCIPALS),
        entry(table(), ["SELECT"]),
    ]
    kept = drop_implicit(canonical_grants(raw, MESH), admins={admin}, ignored_principals={deployer})
    # IAM_ALLOWED_PRINCIPALS is kept: the planner warns about it (and never changes it).
    assert sorted(g.principal for g in kept) == sorted([CONSUMER, IAM_ALLOWED_PRINCIPALS])


@pytest.mark.parametrize(
    "resource",
    [
        LfResource(ResourceType.CATALOG, MESH),
        LfResource(ResourceType.DATABASE, MESH, DB),
        ORDERS,
        LfResource(ResourceType.TABLE_WILDCARD, MESH, DB),
        LfResource(ResourceType.DATA_LOCATION, MESH, table="arn:aws:s3:::bucket/prefix"),
        LfResource(ResourceType.TABLE, MESH, DB, "orders#columns=id,total"),
        LfResource(ResourceType.TABLE, MESH, DB, "orders#excluding=ssn"),
    ],
    ids=lambda r: r.key,
)
def test_resource_to_api_round_trips(resource: LfResource) -> None:
    api = resource_to_api(resource)
    if resource.type is ResourceType.CATALOG:
        default = MESH  # the Catalog shape has no CatalogId: the call's CatalogId argument says it
    else:
        (shape,) = api.values()
        assert shape["CatalogId"] == MESH  # always explicit, never the caller's default
        default = "000000000000"
    (grant,) = canonical_grants([entry(api, ["DESCRIBE"])], default)
    assert grant.resource == resource


def test_resource_to_api_of_a_column_grant_is_table_with_columns() -> None:
    resource = LfResource(ResourceType.TABLE, MESH, DB, "orders#columns=id,total")
    assert resource_to_api(resource) == {
        "TableWithColumns": {
            "CatalogId": MESH,
            "DatabaseName": DB,
            "Name": "orders",
            "ColumnNames": ["id", "total"],
        }
    }


def test_grant_entries_are_batch_entries_with_a_stable_id() -> None:
    grant = Grant(CONSUMER, ORDERS, frozenset(TABLE_ALL), frozenset({"SELECT"}))
    first = grant_entries(grant)
    assert first == grant_entries(grant)
    assert first["Principal"] == {"DataLakePrincipalIdentifier": CONSUMER}
    assert first["Resource"] == resource_to_api(ORDERS)
    assert first["Permissions"] == sorted(TABLE_ALL)  # expanded, never "ALL"
    assert first["PermissionsWithGrantOption"] == ["SELECT"]
    other = Grant("111111111111", ORDERS, frozenset({"SELECT"}))
    assert grant_entries(other)["Id"] != first["Id"]
    assert "PermissionsWithGrantOption" not in grant_entries(other)


def test_grant_entries_can_carry_only_a_delta() -> None:
    grant = Grant(CONSUMER, ORDERS, frozenset({"SELECT", "INSERT"}))
    added = grant_entries(grant, permissions={"INSERT"}, grantable=())
    assert added["Permissions"] == ["INSERT"]
    assert "PermissionsWithGrantOption" not in added


def test_full_permission_sets_cover_every_resource_type() -> None:
    assert set(FULL_PERMISSIONS) == set(ResourceType)
