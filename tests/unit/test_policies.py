"""IAM documents: least privilege (no "*" on "*", no producer admin), the library's trust shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from meshctl.codec import canonical_json
from meshctl.planning import iam_layout, policies

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
REGION = "us-east-1"


def inline_policies() -> dict[str, dict[str, Any]]:
    return {
        "DataMeshManager": policies.manager_policy(MESH, REGION),
        "DataMeshAdminReadOnly": policies.read_only_policy(MESH, REGION),
        "DataMeshAdminProducer": policies.admin_producer_policy(MESH, PRODUCER, REGION),
        "DataMeshAdminConsumer": policies.admin_consumer_policy(MESH, CONSUMER, REGION),
        "DataMeshProducer": policies.member_producer_policy(PRODUCER, MESH, REGION),
        "DataMeshConsumer": policies.member_consumer_policy(CONSUMER, MESH, REGION),
    }


def trust_policies() -> dict[str, dict[str, Any]]:
    return {
        "DataMeshManager": policies.manager_trust(MESH),
        "DataMeshAdminReadOnly": policies.read_only_trust(MESH, [PRODUCER], [CONSUMER]),
        "DataMeshAdminProducer": policies.admin_producer_trust(PRODUCER),
        "DataMeshAdminConsumer": policies.admin_consumer_trust(CONSUMER),
        "DataMeshProducer": policies.member_trust(PRODUCER),
        "DataMeshConsumer": policies.member_trust(CONSUMER),
    }


def statements(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    assert doc["Version"] == "2012-10-17"
    yield from doc["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def actions_of(doc: dict[str, Any]) -> set[str]:
    return {a for s in statements(doc) for a in as_list(s["Action"])}


def assumable_by(trust: dict[str, Any]) -> set[str]:
    (statement,) = statements(trust)
    assert statement["Action"] == "sts:AssumeRole"
    return set(statement["Principal"]["AWS"])


@pytest.mark.parametrize("name", sorted(inline_policies()))
def test_no_statement_allows_everything(name: str) -> None:
    for statement in statements(inline_policies()[name]):
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        assert "*" not in actions
        assert not any(a.endswith(":*") for a in actions), "whole-service wildcards"
        assert not ("*" in resources and "*" in actions)


@pytest.mark.parametrize("name", sorted(set(inline_policies()) - {"DataMeshManager"}))
def test_no_producer_or_consumer_role_can_become_a_data_lake_admin(name: str) -> None:
    actions = actions_of(inline_policies()[name])
    assert "lakeformation:PutDataLakeSettings" not in actions
    assert not any(a.startswith("iam:") and "Put" in a for a in actions)


def test_the_manager_alone_manages_lake_settings_and_mesh_roles() -> None:
    manager = policies.manager_policy(MESH, REGION)
    assert "lakeformation:PutDataLakeSettings" in actions_of(manager)
    iam = next(s for s in statements(manager) if "iam:CreateRole" in s["Action"])
    assert iam["Resource"] == [f"arn:aws:iam::{MESH}:role/AwsDataMesh/*"]


def test_glue_and_dynamodb_are_scoped_to_the_mesh_account() -> None:
    for name in ("DataMeshAdminProducer", "DataMeshAdminConsumer", "DataMeshAdminReadOnly"):
        for statement in statements(inline_policies()[name]):
            actions = as_list(statement["Action"])
            if any(a.startswith(("glue:", "dynamodb:")) for a in actions):
                for resource in as_list(statement["Resource"]):
                    assert f":{MESH}:" in resource, (name, resource)
    subscriptions = policies.admin_consumer_policy(MESH, CONSUMER, REGION, "MyTable")
    resources = {r for s in statements(subscriptions) for r in as_list(s["Resource"])}
    assert f"arn:aws:dynamodb:{REGION}:{MESH}:table/MyTable" in resources


def test_mesh_admin_roles_trust_only_their_member_role() -> None:
    producer_role = f"arn:aws:iam::{PRODUCER}:role/AwsDataMesh/DataMeshProducer"
    consumer_role = f"arn:aws:iam::{CONSUMER}:role/AwsDataMesh/DataMeshConsumer"
    assert assumable_by(policies.admin_producer_trust(PRODUCER)) == {producer_role}
    assert assumable_by(policies.admin_consumer_trust(CONSUMER)) == {consumer_role}
    # Every member may reach the read-only role, as in the helper library.
    assert assumable_by(policies.read_only_trust(MESH, [PRODUCER], [CONSUMER])) == {
        f"arn:aws:iam::{MESH}:root",
        producer_role,
        consumer_role,
    }


def test_member_roles_trust_their_account_and_reach_only_their_mesh_roles() -> None:
    assert assumable_by(policies.member_trust(PRODUCER)) == {f"arn:aws:iam::{PRODUCER}:root"}
    member = policies.member_producer_policy(PRODUCER, MESH, REGION)
    (assume,) = [s for s in statements(member) if "sts:AssumeRole" in s["Action"]]
    assert set(assume["Resource"]) == {
        f"arn:aws:iam::{MESH}:role/AwsDataMesh/DataMeshAdminProducer-{PRODUCER}",
        f"arn:aws:iam::{MESH}:role/AwsDataMesh/DataMeshAdminReadOnly",
    }
    consumer = policies.member_consumer_policy(CONSUMER, MESH, REGION)
    (assume,) = [s for s in statements(consumer) if "sts:AssumeRole" in s["Action"]]
    assert (
        f"arn:aws:iam::{MESH}:role/AwsDataMesh/DataMeshAdminConsumer-{CONSUMER}"
        in (assume["Resource"])
    )


def test_role_names_and_paths_follow_the_helper_library() -> None:
    assert policies.MESH_ROLE_PATH == "/AwsDataMesh/"
    assert policies.admin_producer_role(PRODUCER) == f"DataMeshAdminProducer-{PRODUCER}"
    assert policies.admin_consumer_role(CONSUMER) == f"DataMeshAdminConsumer-{CONSUMER}"
    assert (
        policies.role_arn(MESH, policies.MANAGER_ROLE)
        == f"arn:aws:iam::{MESH}:role/AwsDataMesh/DataMeshManager"
    )


def test_documents_are_deterministic() -> None:
    a = policies.read_only_trust(MESH, [CONSUMER, PRODUCER], [])
    b = policies.read_only_trust(MESH, [PRODUCER, CONSUMER], [])
    assert canonical_json(a) == canonical_json(b)
    for doc in [*inline_policies().values(), *trust_policies().values()]:
        assert json.loads(json.dumps(doc)) == doc  # plain JSON values only


def test_catalog_policy_lets_ram_share_the_mesh_catalog() -> None:
    (statement,) = statements(policies.catalog_resource_policy(MESH, REGION))
    assert statement["Principal"] == {"Service": ["ram.amazonaws.com"]}
    assert statement["Action"] == ["glue:ShareResource"]
    assert set(statement["Resource"]) == {
        f"arn:aws:glue:{REGION}:{MESH}:catalog",
        f"arn:aws:glue:{REGION}:{MESH}:database/*",
        f"arn:aws:glue:{REGION}:{MESH}:table/*/*",
    }


def test_catalog_policy_merge_keeps_other_statements_and_is_idempotent() -> None:
    other = {"Effect": "Deny", "Principal": "*", "Action": "glue:DeleteDatabase", "Resource": "*"}
    live = {"Version": "2012-10-17", "Statement": [other]}
    merged = policies.merged_catalog_policy(live, MESH, REGION)
    assert merged["Statement"][0] == other
    assert len(merged["Statement"]) == 2
    assert policies.merged_catalog_policy(merged, MESH, REGION) == merged
    assert policies.merged_catalog_policy(None, MESH, REGION) == policies.catalog_resource_policy(
        MESH, REGION
    )


def test_catalog_policy_merge_recognises_the_library_statement() -> None:
    library = {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "x",
            "Effect": "Allow",
            "Action": "glue:ShareResource",
            "Principal": {"Service": "ram.amazonaws.com"},
            "Resource": [
                f"arn:aws:glue:{REGION}:{MESH}:table/*/*",
                f"arn:aws:glue:{REGION}:{MESH}:database/*",
                f"arn:aws:glue:{REGION}:{MESH}:catalog",
            ],
        },
    }
    assert policies.merged_catalog_policy(library, MESH, REGION) is library


def test_a_roles_group_may_only_assume_that_role() -> None:
    """``mesh.iam_users``: the group's one statement is sts:AssumeRole on its own role, so a
    member gets data access only through the role's session (the library also attached the
    role's data policy to the group)."""
    doc = policies.assume_role_policy(PRODUCER, policies.PRODUCER_ROLE)
    (statement,) = statements(doc)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["sts:AssumeRole"]
    assert statement["Resource"] == [f"arn:aws:iam::{PRODUCER}:role/AwsDataMesh/DataMeshProducer"]
    assert policies.assume_policy_name("DataMeshProducer") == "AssumeDataMeshProducer"


def test_a_roles_trust_names_its_user_beside_the_principals_it_had() -> None:
    user = iam_layout.user_arn(MESH, policies.admin_producer_role(PRODUCER))
    assert user == f"arn:aws:iam::{MESH}:user/AwsDataMesh/DataMeshAdminProducer-{PRODUCER}"
    trust = iam_layout.trusting(policies.admin_producer_trust(PRODUCER), user)
    assert assumable_by(trust) == {
        f"arn:aws:iam::{PRODUCER}:role/AwsDataMesh/DataMeshProducer",
        user,
    }
    # Naming the user twice changes nothing: the document stays canonical.
    assert canonical_json(iam_layout.trusting(trust, user)) == canonical_json(trust)
