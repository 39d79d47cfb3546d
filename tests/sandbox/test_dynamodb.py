"""DynamoDB transactions in the sandbox: AWS's all-or-nothing semantics, at the cost of the items
written (patch_dynamodb). AWS: DynamoDB developer guide, "Amazon DynamoDB Transactions: How it
works" — a TransactWriteItems of up to 100 actions either succeeds whole or is cancelled with one
CancellationReasons entry per action, in order, and writes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb import models as dynamodb_models
from support.sandbox import InProcessSandbox

from ._support import MESH


def _table(sandbox: InProcessSandbox) -> Any:
    ddb = sandbox.session(MESH).client("dynamodb")
    ddb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName="t", Item={"k": {"S": "a"}, "v": {"N": "1"}})
    return ddb


def _put(key: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": "t",
            "Item": {"k": {"S": key}, "v": {"N": "1"}},
            "ConditionExpression": "attribute_not_exists(k)",
        }
    }


def _bump(key: str, expected: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"k": {"S": key}},
            "UpdateExpression": "SET v = v + :one",
            "ConditionExpression": "v = :expected",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":expected": {"N": str(expected)}},
        }
    }


def _items(ddb: Any) -> dict[str, str]:
    return {i["k"]["S"]: i["v"]["N"] for i in ddb.scan(TableName="t")["Items"]}


def test_a_failed_condition_cancels_the_whole_transaction(sandbox: InProcessSandbox) -> None:
    ddb = _table(sandbox)
    ddb.transact_write_items(TransactItems=[_bump("a", 1), _put("b"), _put("c"), _put("a2")])
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[_put("d"), _put("a")])  # "a" exists
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert _items(ddb) == {"a": "2", "b": "1", "c": "1", "a2": "1"}


def test_a_cancelled_transaction_restores_what_it_had_written(sandbox: InProcessSandbox) -> None:
    ddb = _table(sandbox)
    with pytest.raises(ClientError) as err:
        ddb.transact_write_items(TransactItems=[_bump("a", 1), _put("b"), _bump("a2", 7)])
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert _items(ddb) == {"a": "1"}  # the update of "a" and the put of "b" were undone


def test_a_transaction_never_copies_a_whole_table(
    sandbox: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto kept a deep copy of every table a transaction touched (its cost grew with the table);
    the rollback needs only the items written."""
    ddb = _table(sandbox)
    real = copy.deepcopy

    def no_tables(value: Any, *args: Any) -> Any:
        assert not isinstance(value, dynamodb_models.Table), "copied the whole table"
        return real(value, *args)

    monkeypatch.setattr(dynamodb_models.copy, "deepcopy", no_tables)
    ddb.transact_write_items(TransactItems=[_put(f"k{i}") for i in range(100)])
    assert len(_items(ddb)) == 101
