"""LF-tags on resources and data-location registration behave as in AWS (fail on plain moto)."""

from __future__ import annotations

import pytest

from ._support import DB, MESH, MeshCatalog, table


@pytest.fixture
def tagged(mesh: MeshCatalog) -> MeshCatalog:
    mesh.lf.create_lf_tag(TagKey="Domain", TagValues=["Sales", "Logistics"])
    mesh.lf.create_lf_tag(TagKey="DataProduct", TagValues=["sales.orders"])
    return mesh


def _table_tags(mesh: MeshCatalog) -> dict[str, list[str]]:
    answer = mesh.lf.get_resource_lf_tags(Resource=table("orders"))
    return {t["TagKey"]: t["TagValues"] for t in answer.get("LFTagsOnTable", [])}


def test_untagged_resource_has_no_tags(tagged: MeshCatalog) -> None:
    assert _table_tags(tagged) == {}
    answer = tagged.lf.get_resource_lf_tags(Resource={"Database": {"Name": DB}})
    assert answer.get("LFTagOnDatabase", []) == []


def test_add_lf_tags_adds_and_replaces_only_the_named_key(tagged: MeshCatalog) -> None:
    def add(key: str, value: str) -> list:
        answer = tagged.lf.add_lf_tags_to_resource(
            Resource=table("orders"), LFTags=[{"TagKey": key, "TagValues": [value]}]
        )
        return list(answer["Failures"])

    assert add("Domain", "Sales") == []
    assert add("DataProduct", "sales.orders") == []
    assert _table_tags(tagged) == {"Domain": ["Sales"], "DataProduct": ["sales.orders"]}

    assert add("Domain", "Logistics") == []
    assert _table_tags(tagged) == {"Domain": ["Logistics"], "DataProduct": ["sales.orders"]}


def test_add_unknown_tag_value_fails_per_tag(tagged: MeshCatalog) -> None:
    answer = tagged.lf.add_lf_tags_to_resource(
        Resource=table("orders"), LFTags=[{"TagKey": "Domain", "TagValues": ["Nope"]}]
    )
    assert [f["LFTag"]["TagKey"] for f in answer["Failures"]] == ["Domain"]
    assert _table_tags(tagged) == {}


def test_removing_a_tag_the_resource_lacks_is_a_no_op(tagged: MeshCatalog) -> None:
    tagged.lf.remove_lf_tags_from_resource(
        Resource=table("orders"), LFTags=[{"TagKey": "Domain", "TagValues": ["Sales"]}]
    )
    assert _table_tags(tagged) == {}


def test_register_with_service_linked_role_creates_the_role(mesh: MeshCatalog) -> None:
    arn = "arn:aws:s3:::sales-data-111111111111/sales"
    mesh.lf.register_resource(ResourceArn=arn, UseServiceLinkedRole=True)

    iam = mesh.client(MESH, "iam")
    role = iam.get_role(RoleName="AWSServiceRoleForLakeFormationDataAccess")["Role"]
    assert role["Path"] == "/aws-service-role/lakeformation.amazonaws.com/"
    described = mesh.lf.describe_resource(ResourceArn=arn)["ResourceInfo"]
    assert described["RoleArn"] == role["Arn"]

    mesh.lf.register_resource(ResourceArn=arn + "2", UseServiceLinkedRole=True)
    roles = iam.list_roles(PathPrefix="/aws-service-role/")["Roles"]
    assert [r["RoleName"] for r in roles] == ["AWSServiceRoleForLakeFormationDataAccess"]


def test_list_resources_says_which_locations_are_in_hybrid_access_mode(mesh: MeshCatalog) -> None:
    # AWS: RegisterResource(HybridAccessEnabled=True) registers a location in hybrid access mode,
    # and ResourceInfo.HybridAccessEnabled says so (false otherwise). Moto dropped the flag.
    hybrid, plain = (
        "arn:aws:s3:::sales-data-111111111111/a",
        "arn:aws:s3:::sales-data-111111111111/b",
    )
    mesh.lf.register_resource(
        ResourceArn=hybrid, UseServiceLinkedRole=True, HybridAccessEnabled=True
    )
    mesh.lf.register_resource(ResourceArn=plain, UseServiceLinkedRole=True)

    listed = mesh.lf.list_resources()["ResourceInfoList"]
    assert {r["ResourceArn"]: r["HybridAccessEnabled"] for r in listed} == {
        hybrid: True,
        plain: False,
    }
    assert mesh.lf.describe_resource(ResourceArn=hybrid)["ResourceInfo"]["HybridAccessEnabled"]
