"""Glue catalog reads in the sandbox page as in AWS (each test fails on plain moto 5.2.5)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.sandbox import InProcessSandbox

from ._support import MESH


@pytest.fixture
def glue(sandbox: InProcessSandbox) -> Any:
    return sandbox.session(MESH).client("glue")


def _pages(call: Any, key: str, **kwargs: Any) -> list[list[str]]:
    """Names per page, following NextToken."""
    pages: list[list[str]] = []
    while True:
        answer = call(**kwargs)
        pages.append([item["Name"] for item in answer[key]])
        if not answer.get("NextToken"):
            return pages
        kwargs["NextToken"] = answer["NextToken"]


def _make(glue: Any, databases: dict[str, int]) -> None:
    for db, count in databases.items():
        glue.create_database(DatabaseInput={"Name": db})
        for i in range(count):
            glue.create_table(DatabaseName=db, TableInput={"Name": f"t{i:03d}"})


def test_get_tables_pages_by_max_results(glue: Any) -> None:
    _make(glue, {"sales": 7})
    pages = _pages(glue.get_tables, "TableList", DatabaseName="sales", MaxResults=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(name for p in pages for name in p) == [f"t{i:03d}" for i in range(7)]


def test_get_tables_defaults_to_pages_of_100(glue: Any) -> None:
    _make(glue, {"sales": 120})
    first = glue.get_tables(DatabaseName="sales")
    assert len(first["TableList"]) == 100
    assert first["NextToken"]


def test_get_databases_pages_by_max_results(glue: Any) -> None:
    _make(glue, {f"db{i}": 0 for i in range(5)})
    pages = _pages(glue.get_databases, "DatabaseList", MaxResults=2)
    assert [len(p) for p in pages] == [2, 2, 1]


def test_search_tables_lists_every_database_in_pages(glue: Any) -> None:
    _make(glue, {"sales": 3, "logistics": 3})
    pages = _pages(glue.search_tables, "TableList", MaxResults=4)
    assert [len(p) for p in pages] == [4, 2]

    answer = glue.search_tables(MaxResults=100)["TableList"]
    assert sorted((t["DatabaseName"], t["Name"]) for t in answer) == sorted(
        (db, f"t{i:03d}") for db in ("sales", "logistics") for i in range(3)
    )


def test_search_tables_filters_by_database_and_text(glue: Any) -> None:
    _make(glue, {"sales": 3, "logistics": 2})
    only_sales = glue.search_tables(Filters=[{"Key": "DatabaseName", "Value": "sales"}])
    assert {t["DatabaseName"] for t in only_sales["TableList"]} == {"sales"}
    assert len(only_sales["TableList"]) == 3
    assert [t["Name"] for t in glue.search_tables(SearchText="t001")["TableList"]] == [
        "t001",
        "t001",
    ]


def test_get_resource_policy_without_a_policy_is_not_found(glue: Any) -> None:
    with pytest.raises(ClientError) as err:
        glue.get_resource_policy()
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"

    glue.put_resource_policy(PolicyInJson='{"Version": "2012-10-17", "Statement": []}')
    assert "Statement" in glue.get_resource_policy()["PolicyInJson"]


POLICY_A = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "glue:GetTable"}]}'
)
POLICY_B = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "glue:GetTables"}]}'
)


def _condition_failed(call: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == "ConditionCheckFailureException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_put_resource_policy_with_a_stale_hash_fails_the_condition_check(glue: Any) -> None:
    """PutResourcePolicy (Glue API reference): PolicyHashCondition, the hash returned when the
    previous policy was set, "prevent[s] concurrent modifications"; a write whose hash no longer
    matches fails with ConditionCheckFailureException. Plain moto answered
    ConcurrentModificationException, which botocore and meshctl retry."""
    first = glue.put_resource_policy(PolicyInJson=POLICY_A)["PolicyHash"]
    assert glue.get_resource_policy()["PolicyHash"] == first
    second = glue.put_resource_policy(PolicyInJson=POLICY_B, PolicyHashCondition=first)
    assert glue.get_resource_policy()["PolicyHash"] == second["PolicyHash"] != first

    _condition_failed(glue.put_resource_policy, PolicyInJson=POLICY_A, PolicyHashCondition=first)
    assert glue.get_resource_policy()["PolicyInJson"] == POLICY_B  # nothing written


def test_put_resource_policy_exists_conditions(glue: Any) -> None:
    """PutResourcePolicy (Glue API reference): PolicyExistsCondition NOT_EXIST creates a policy,
    MUST_EXIST updates one, NONE does not depend on one; a condition that does not hold fails
    with ConditionCheckFailureException. Plain moto answered
    ResourceNumberLimitExceededException."""
    _condition_failed(
        glue.put_resource_policy, PolicyInJson=POLICY_A, PolicyExistsCondition="MUST_EXIST"
    )
    glue.put_resource_policy(PolicyInJson=POLICY_A, PolicyExistsCondition="NOT_EXIST")
    _condition_failed(
        glue.put_resource_policy, PolicyInJson=POLICY_B, PolicyExistsCondition="NOT_EXIST"
    )
    assert glue.get_resource_policy()["PolicyInJson"] == POLICY_A
    glue.put_resource_policy(PolicyInJson=POLICY_B, PolicyExistsCondition="MUST_EXIST")
    glue.put_resource_policy(PolicyInJson=POLICY_A, PolicyExistsCondition="NONE")
    assert glue.get_resource_policy()["PolicyInJson"] == POLICY_A


def test_delete_resource_policy_with_a_stale_hash_fails_the_condition_check(glue: Any) -> None:
    """DeleteResourcePolicy (Glue API reference): PolicyHashCondition is the hash returned when
    the policy was set; a stale one fails with ConditionCheckFailureException. Plain moto
    answered ConcurrentModificationException."""
    first = glue.put_resource_policy(PolicyInJson=POLICY_A)["PolicyHash"]
    current = glue.put_resource_policy(PolicyInJson=POLICY_B)["PolicyHash"]
    _condition_failed(glue.delete_resource_policy, PolicyHashCondition=first)
    assert glue.get_resource_policy()["PolicyInJson"] == POLICY_B
    glue.delete_resource_policy(PolicyHashCondition=current)
    with pytest.raises(ClientError) as err:
        glue.get_resource_policy()
    assert err.value.response["Error"]["Code"] == "EntityNotFoundException"
