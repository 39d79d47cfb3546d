"""Lake Formation grants in the sandbox behave as in AWS (each test fails on plain moto 5.2.5)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ._support import (
    CONSUMER,
    DB,
    MESH,
    MeshCatalog,
    database,
    list_all,
    principal,
    table,
)

ANALYST = f"arn:aws:iam::{MESH}:role/Analyst"


def _grants_of(mesh: MeshCatalog, ident: str) -> list[tuple[dict, list[str], list[str]]]:
    return [
        (g["Resource"], g["Permissions"], g["PermissionsWithGrantOption"])
        for g in list_all(mesh.lf)
        if g["Principal"]["DataLakePrincipalIdentifier"] == ident
    ]


def test_revoke_after_repeated_grant_leaves_what_was_not_revoked(mesh: MeshCatalog) -> None:
    mesh.lf.grant_permissions(
        Principal=principal(ANALYST), Resource=table("orders"), Permissions=["DESCRIBE"]
    )
    for _ in range(2):
        mesh.lf.grant_permissions(
            Principal=principal(ANALYST), Resource=table("orders"), Permissions=["SELECT"]
        )

    mesh.lf.revoke_permissions(
        Principal=principal(ANALYST), Resource=table("orders"), Permissions=["SELECT"]
    )
    assert _grants_of(mesh, ANALYST) == [(table("orders"), ["DESCRIBE"], [])]

    mesh.lf.revoke_permissions(
        Principal=principal(ANALYST), Resource=table("orders"), Permissions=["DESCRIBE"]
    )
    assert _grants_of(mesh, ANALYST) == []


def test_revoke_without_catalog_id_meets_a_grant_made_with_it(mesh: MeshCatalog) -> None:
    mesh.lf.grant_permissions(
        Principal=principal(ANALYST), Resource=table("orders"), Permissions=["SELECT"]
    )
    mesh.lf.revoke_permissions(
        Principal=principal(ANALYST), Resource=table("orders", catalog=None), Permissions=["SELECT"]
    )
    assert _grants_of(mesh, ANALYST) == []


def test_listed_grants_always_carry_the_catalog_id(mesh: MeshCatalog) -> None:
    mesh.lf.grant_permissions(
        Principal=principal(ANALYST), Resource=database(catalog=None), Permissions=["DESCRIBE"]
    )
    assert _grants_of(mesh, ANALYST) == [(database(), ["DESCRIBE"], [])]


def test_batch_grant_and_revoke_honour_grant_options(mesh: MeshCatalog) -> None:
    entry = {
        "Id": "1",
        "Principal": principal(ANALYST),
        "Resource": table("orders"),
        "Permissions": ["SELECT", "DESCRIBE"],
        "PermissionsWithGrantOption": ["SELECT"],
    }
    assert mesh.lf.batch_grant_permissions(Entries=[entry])["Failures"] == []
    assert _grants_of(mesh, ANALYST) == [(table("orders"), ["DESCRIBE", "SELECT"], ["SELECT"])]

    only_option = {**entry, "Permissions": []}
    assert mesh.lf.batch_revoke_permissions(Entries=[only_option])["Failures"] == []
    assert _grants_of(mesh, ANALYST) == [(table("orders"), ["DESCRIBE", "SELECT"], [])]


def test_revoking_a_permission_also_revokes_its_grant_option(mesh: MeshCatalog) -> None:
    mesh.lf.grant_permissions(
        Principal=principal(ANALYST),
        Resource=table("orders"),
        Permissions=["SELECT", "DESCRIBE"],
        PermissionsWithGrantOption=["SELECT"],
    )
    mesh.lf.revoke_permissions(
        Principal=principal(ANALYST), Resource=table("orders"), Permissions=["SELECT"]
    )
    assert _grants_of(mesh, ANALYST) == [(table("orders"), ["DESCRIBE"], [])]


def test_batch_reports_a_failure_per_missing_database_or_table(mesh: MeshCatalog) -> None:
    def entry(id_: str, resource: dict) -> dict:
        return {
            "Id": id_,
            "Principal": principal(ANALYST),
            "Resource": resource,
            "Permissions": ["SELECT"],
        }

    missing_db = {"Table": {"CatalogId": MESH, "DatabaseName": "nope", "Name": "orders"}}
    entries = [entry("ok", table("orders")), entry("t", table("ghost")), entry("d", missing_db)]

    failures = mesh.lf.batch_grant_permissions(Entries=entries)["Failures"]
    assert {(f["RequestEntry"]["Id"], f["Error"]["ErrorCode"]) for f in failures} == {
        ("t", "EntityNotFoundException"),
        ("d", "EntityNotFoundException"),
    }
    assert _grants_of(mesh, ANALYST) == [(table("orders"), ["SELECT"], [])]

    failures = mesh.lf.batch_revoke_permissions(Entries=entries)["Failures"]
    assert sorted(f["RequestEntry"]["Id"] for f in failures) == ["d", "t"]
    assert _grants_of(mesh, ANALYST) == []


def test_grant_on_a_missing_table_is_refused(mesh: MeshCatalog) -> None:
    with pytest.raises(ClientError) as err:
        mesh.lf.grant_permissions(
            Principal=principal(ANALYST), Resource=table("ghost"), Permissions=["SELECT"]
        )
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert _grants_of(mesh, ANALYST) == []


def test_batch_of_more_than_20_entries_is_refused(mesh: MeshCatalog) -> None:
    entries = [
        {
            "Id": str(i),
            "Principal": principal(f"arn:aws:iam::{MESH}:role/R{i}"),
            "Resource": table("orders"),
            "Permissions": ["SELECT"],
        }
        for i in range(21)
    ]
    with pytest.raises(ClientError) as err:
        mesh.lf.batch_grant_permissions(Entries=entries)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def _grant_roles(mesh: MeshCatalog, count: int) -> None:
    for start in range(0, count, 20):
        entries = [
            {
                "Id": str(i),
                "Principal": principal(f"arn:aws:iam::{MESH}:role/R{i}"),
                "Resource": table("orders"),
                "Permissions": ["SELECT"],
            }
            for i in range(start, min(start + 20, count))
        ]
        assert mesh.lf.batch_grant_permissions(Entries=entries)["Failures"] == []


def test_list_permissions_pages_by_max_results(mesh: MeshCatalog) -> None:
    _grant_roles(mesh, 25)

    sizes, seen, token = [], [], None
    while True:
        kwargs = {"MaxResults": 10} | ({"NextToken": token} if token else {})
        answer = mesh.lf.list_permissions(**kwargs)
        page = answer["PrincipalResourcePermissions"]
        sizes.append(len(page))
        seen.extend(g["Principal"]["DataLakePrincipalIdentifier"] for g in page)
        token = answer.get("NextToken")
        if not token:
            break
    assert sizes == [10, 10, 5]
    assert len(set(seen)) == 25


def test_list_permissions_defaults_to_pages_of_100(mesh: MeshCatalog) -> None:
    _grant_roles(mesh, 120)
    answer = mesh.lf.list_permissions()
    assert len(answer["PrincipalResourcePermissions"]) == 100
    assert answer["NextToken"]
    assert len(list_all(mesh.lf)) == 120


@pytest.mark.parametrize("kwargs", [{"MaxResults": 1001}, {"NextToken": "not-a-token"}])
def test_list_permissions_refuses_bad_paging(mesh: MeshCatalog, kwargs: dict) -> None:
    with pytest.raises(ClientError) as err:
        mesh.lf.list_permissions(**kwargs)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_table_filter_works_with_named_and_wildcard_grants(mesh: MeshCatalog) -> None:
    wildcard = {"Table": {"CatalogId": MESH, "DatabaseName": DB, "TableWildcard": {}}}
    columns = {
        "TableWithColumns": {
            "CatalogId": MESH,
            "DatabaseName": DB,
            "Name": "orders",
            "ColumnWildcard": {},
        }
    }
    grants = [
        ("arn:aws:iam::555555555555:role/Named", table("orders")),
        ("arn:aws:iam::555555555555:role/Other", table("customers")),
        ("arn:aws:iam::555555555555:role/Wild", wildcard),
        ("arn:aws:iam::555555555555:role/Cols", columns),
    ]
    for ident, resource in grants:
        mesh.lf.grant_permissions(
            Principal=principal(ident), Resource=resource, Permissions=["SELECT"]
        )

    def holders(resource: dict) -> set[str]:
        listed = list_all(mesh.lf, Resource=resource)
        return {g["Principal"]["DataLakePrincipalIdentifier"].rsplit("/", 1)[1] for g in listed}

    assert holders(table("orders")) == {"Named", "Cols"}
    assert holders(columns) == {"Named", "Cols"}
    assert holders(wildcard) == {"Wild"}


def test_resource_filter_wins_over_resource_type(mesh: MeshCatalog) -> None:
    # The helper library reads a database grant's RAM share this way.
    mesh.lf.grant_permissions(
        Principal=principal(CONSUMER), Resource=database(), Permissions=["DESCRIBE"]
    )
    listed = list_all(mesh.lf, CatalogId=MESH, ResourceType="TABLE", Resource=database())
    assert [g["Permissions"] for g in listed] == [["DESCRIBE"]]


def test_principal_filter_lists_only_that_principal(mesh: MeshCatalog) -> None:
    _grant_roles(mesh, 3)
    ident = f"arn:aws:iam::{MESH}:role/R1"
    listed = list_all(mesh.lf, Principal=principal(ident), Resource=table("orders"))
    assert [g["Principal"]["DataLakePrincipalIdentifier"] for g in listed] == [ident]


def test_deleting_a_table_drops_its_permissions(mesh: MeshCatalog) -> None:
    for name in ("orders", "customers"):
        mesh.lf.grant_permissions(
            Principal=principal(ANALYST), Resource=table(name), Permissions=["SELECT"]
        )
    mesh.glue.delete_table(DatabaseName=DB, Name="orders")
    assert _grants_of(mesh, ANALYST) == [(table("customers"), ["SELECT"], [])]

    mesh.glue.delete_database(Name=DB)
    assert _grants_of(mesh, ANALYST) == []
