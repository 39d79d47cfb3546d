"""DynamoDB ``TransactWriteItems`` at the cost AWS has: proportional to the items it writes.

AWS: a transaction of up to 100 actions succeeds or fails as a whole, each action with its own
condition; a failed one cancels it with ``CancellationReasons``, one per action in order
(DynamoDB developer guide, "Amazon DynamoDB Transactions: How it works"). moto 5.2.5 does the same
but keeps a deep copy of every table a transaction touches to roll back with, so each transaction
costs the size of the whole table: 20 transactions of 100 records into a 2,000-item table took
minutes. Here the rollback keeps only the items the transaction touches (and the table's stream
length), which is what undoing it needs. Behaviour is moto's: same checks, same errors, same order.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType

_OPS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


class _Undo:
    """The touched items as they were (None: absent) and each stream's length, to restore."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any], Any]] = []
        self.streams: dict[str, int] = {}

    def keep(self, backend: Any, table_name: str, key: dict[str, Any]) -> None:
        table = backend.tables.get(table_name)
        if table is None:
            return
        if table.stream_shard is not None:
            self.streams.setdefault(table_name, len(table.stream_shard.items))
        self.items.append((table_name, key, copy.deepcopy(backend.get_item(table_name, key))))

    def restore(self, backend: Any) -> None:
        for table_name, key, old in reversed(self.items):
            table = backend.tables[table_name]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(key[range_attr]) if range_attr else None
            slot = table.items[hash_value] if range_value is not None else table.items
            name = range_value if range_value is not None else hash_value
            if old is None:
                slot.pop(name, None)
            else:
                slot[name] = old
        for table_name, length in self.streams.items():
            shard = backend.tables[table_name].stream_shard
            if shard is not None:
                del shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    target_items: set[tuple[str, str]] = set()
    errors: list[Any] = []  # (Code, Message, Item) per action; (None, None, None) when it passed
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in _OPS:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            key = _key_of(self, op_type, op)
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in target_items:
                raise MultipleTransactionsException()
            target_items.add(marker)
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            current = self.get_item(table_name, key)
            test = get_filter_expression(condition, names, values) if condition else None
            if test is not None and not test.expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                undo.keep(self, table_name, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.restore(self)
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any other failure per action too
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.restore(self)
        raise TransactionCanceledException(errors)


def install() -> None:
    backend: Any = DynamoDBBackend
    backend.transact_write_items = transact_write_items
