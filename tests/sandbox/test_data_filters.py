"""Data cells filters and column-level grants in the sandbox, as Lake Formation documents them
(developer guide, "Data filters in Lake Formation", "Data filtering limitations"; API reference,
CreateDataCellsFilter). Plain moto creates no filter and accepts any column grant."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._support import CONSUMER, DB, MESH, MeshCatalog, list_all, principal

TABLE = "payments"


@pytest.fixture
def payments(mesh: MeshCatalog) -> MeshCatalog:
    mesh.glue.create_table(
        DatabaseName=DB,
        TableInput={
            "Name": TABLE,
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "bigint"},
                    {"Name": "country", "Type": "string"},
                    {"Name": "card_number", "Type": "string"},
                ]
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        },
    )
    return mesh


def _filter(name: str = "de_only", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "TableCatalogId": MESH,
        "DatabaseName": DB,
        "TableName": TABLE,
        "Name": name,
        "RowFilter": {"FilterExpression": "country = 'DE'"},
        "ColumnWildcard": {"ExcludedColumnNames": ["card_number"]},
    }
    data.update(extra)
    return data


def _ref(name: str = "de_only") -> dict[str, Any]:
    return {"TableCatalogId": MESH, "DatabaseName": DB, "TableName": TABLE, "Name": name}


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_a_filter_is_created_read_listed_updated_and_deleted(payments: MeshCatalog) -> None:
    lf = payments.lf
    lf.create_data_cells_filter(TableData=_filter())
    got = lf.get_data_cells_filter(**_ref())["DataCellsFilter"]
    assert got["RowFilter"] == {"FilterExpression": "country = 'DE'"}
    assert got["ColumnWildcard"] == {"ExcludedColumnNames": ["card_number"]}

    lf.update_data_cells_filter(TableData=_filter(RowFilter={"FilterExpression": "country = 'FR'"}))
    assert lf.get_data_cells_filter(**_ref())["DataCellsFilter"]["RowFilter"] == {
        "FilterExpression": "country = 'FR'"
    }
    listed = lf.list_data_cells_filter(Table={"CatalogId": MESH, "DatabaseName": DB, "Name": TABLE})
    assert [f["Name"] for f in listed["DataCellsFilters"]] == ["de_only"]

    lf.delete_data_cells_filter(**_ref())
    with pytest.raises(ClientError) as err:
        lf.get_data_cells_filter(**_ref())
    assert _code(err) == "EntityNotFoundException"


def test_listing_filters_is_paginated(payments: MeshCatalog) -> None:
    for i in range(5):
        payments.lf.create_data_cells_filter(TableData=_filter(f"f{i}"))
    names, token = [], None
    while True:
        page = payments.lf.list_data_cells_filter(
            MaxResults=2, **({"NextToken": token} if token else {})
        )
        names += [f["Name"] for f in page["DataCellsFilters"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"f{i}" for i in range(5)]


def test_the_errors_aws_gives(payments: MeshCatalog) -> None:
    lf = payments.lf
    lf.create_data_cells_filter(TableData=_filter())
    with pytest.raises(ClientError) as err:
        lf.create_data_cells_filter(TableData=_filter())
    assert _code(err) == "AlreadyExistsException"
    with pytest.raises(ClientError) as err:
        lf.create_data_cells_filter(
            TableData=_filter("x", ColumnWildcard={"ExcludedColumnNames": ["pan"]})
        )
    assert _code(err) == "InvalidInputException" and "pan" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        lf.update_data_cells_filter(TableData=_filter("missing"))
    assert _code(err) == "EntityNotFoundException"
    with pytest.raises(ClientError) as err:
        lf.create_data_cells_filter(TableData={**_filter("y"), "TableName": "nope"})
    assert _code(err) == "EntityNotFoundException"


def test_select_on_a_filter_needs_the_filter_and_goes_with_it(payments: MeshCatalog) -> None:
    lf = payments.lf
    resource = {"DataCellsFilter": _ref()}
    with pytest.raises(ClientError) as err:
        lf.grant_permissions(
            Principal=principal(CONSUMER), Resource=resource, Permissions=["SELECT"]
        )
    assert _code(err) == "EntityNotFoundException"
    lf.create_data_cells_filter(TableData=_filter())
    lf.grant_permissions(Principal=principal(CONSUMER), Resource=resource, Permissions=["SELECT"])
    listed = [e for e in list_all(lf, CatalogId=MESH) if "DataCellsFilter" in e["Resource"]]
    assert [e["Resource"]["DataCellsFilter"]["Name"] for e in listed] == ["de_only"]
    lf.delete_data_cells_filter(**_ref())
    assert not [e for e in list_all(lf, CatalogId=MESH) if "DataCellsFilter" in e["Resource"]]


def test_column_grants_take_select_only_and_known_columns(payments: MeshCatalog) -> None:
    lf = payments.lf
    columns = {
        "TableWithColumns": {
            "CatalogId": MESH,
            "DatabaseName": DB,
            "Name": TABLE,
            "ColumnNames": ["id", "country"],
        }
    }
    lf.grant_permissions(Principal=principal(CONSUMER), Resource=columns, Permissions=["SELECT"])
    with pytest.raises(ClientError) as err:
        lf.grant_permissions(Principal=principal(CONSUMER), Resource=columns, Permissions=["ALTER"])
    assert _code(err) == "InvalidInputException"
    unknown = {
        "TableWithColumns": {
            "CatalogId": MESH,
            "DatabaseName": DB,
            "Name": TABLE,
            "ColumnWildcard": {"ExcludedColumnNames": ["pan"]},
        }
    }
    with pytest.raises(ClientError) as err:
        lf.grant_permissions(
            Principal=principal(CONSUMER), Resource=unknown, Permissions=["SELECT"]
        )
    assert _code(err) == "InvalidInputException"
    [granted] = [e for e in list_all(lf, CatalogId=MESH) if "TableWithColumns" in e["Resource"]]
    assert granted["Resource"]["TableWithColumns"]["ColumnNames"] == ["id", "country"]
    assert granted["Permissions"] == ["SELECT"]


def _shared_with_consumer(mesh: MeshCatalog) -> set[str]:
    """The Glue ARNs in the mesh account's RAM shares that name the consumer account."""
    ram = mesh.client(MESH, "ram")
    shares = [
        s["resourceShareArn"]
        for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
        if s["status"] == "ACTIVE"
    ]
    if not shares:
        return set()
    answer = ram.get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=shares
    )
    return {a["associatedEntity"] for a in answer["resourceShareAssociations"]}


def test_select_on_a_filter_shares_its_table_with_the_grantee_account(
    payments: MeshCatalog,
) -> None:
    """AWS (Lake Formation guide, "Cross-account data sharing in Lake Formation": tables are
    shared "with data filters" through RAM): a grant on a filter to another account puts the
    filter's table in a RAM share and invites the account; deleting the filter, which drops its
    grants, takes the table out of the share again."""
    lf = payments.lf
    lf.create_data_cells_filter(TableData=_filter())
    resource = {"DataCellsFilter": _ref()}
    lf.grant_permissions(Principal=principal(CONSUMER), Resource=resource, Permissions=["SELECT"])

    table_arn = f"arn:aws:glue:{lf.meta.region_name}:{MESH}:table/{DB}/{TABLE}"
    assert _shared_with_consumer(payments) == {table_arn}
    consumer_ram = payments.client(CONSUMER, "ram")
    invitations = consumer_ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert [i["status"] for i in invitations] == ["PENDING"]
    [granted] = [e for e in list_all(lf, CatalogId=MESH) if "DataCellsFilter" in e["Resource"]]
    assert granted["AdditionalDetails"]["ResourceShare"] == [invitations[0]["resourceShareArn"]]

    lf.delete_data_cells_filter(**_ref())
    assert _shared_with_consumer(payments) == set()
