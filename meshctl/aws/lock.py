"""The apply lock and the applied-plan ledger, in a small table of meshctl's own.

The table ``<subscriptions_table>-Locks`` lives in the mesh account beside the subscription table,
under a different name so the helper library never sees it. One item ``LockId = "apply"`` is the
lock (a conditional put: only one holder; an expired holder may be taken over, TTL also removes
it); items ``LockId = "plan#<plan_id>"`` record that a saved plan was applied, so it is applied
at most once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from meshctl.errors import LockError, PlanError

LOCK_ITEM = "apply"
DEFAULT_TTL_SECONDS = 3600


@dataclass(frozen=True)
class LockInfo:
    lock_id: str  # the token `meshctl unlock` takes
    holder: str
    operation: str
    acquired_at: int
    expires_at: int


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class LockTable:
    def __init__(self, dynamodb: Any, table_name: str, *, clock: Any = time.time) -> None:
        self._ddb = dynamodb
        self.name = table_name
        self._clock = clock

    def ensure(self) -> None:
        """Create the table when missing (on-demand, TTL on ExpiresAt); idempotent."""
        try:
            self._ddb.describe_table(TableName=self.name)
            if self._ttl_enabled():
                return
            # A run killed between CreateTable and UpdateTimeToLive: finish the setup.
            self._enable_ttl()
            return
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
        try:
            self._ddb.create_table(
                TableName=self.name,
                AttributeDefinitions=[{"AttributeName": "LockId", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "LockId", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise
        self._ddb.get_waiter("table_exists").wait(TableName=self.name)
        self._enable_ttl()

    def _ttl_enabled(self) -> bool:
        answer = self._ddb.describe_time_to_live(TableName=self.name)
        status = answer.get("TimeToLiveDescription", {}).get("TimeToLiveStatus", "")
        return status in ("ENABLED", "ENABLING")

    def _enable_ttl(self) -> None:
        self._ddb.update_time_to_live(
            TableName=self.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ExpiresAt"},
        )

    def acquire(
        self, holder: str, operation: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> LockInfo:
        now = int(self._clock())
        info = LockInfo(uuid.uuid4().hex[:12], holder, operation, now, now + ttl_seconds)
        try:
            self._ddb.put_item(
                TableName=self.name,
                Item={
                    "LockId": {"S": LOCK_ITEM},
                    "Token": {"S": info.lock_id},
                    "Holder": {"S": holder},
                    "Operation": {"S": operation},
                    "AcquiredAt": {"N": str(now)},
                    "ExpiresAt": {"N": str(info.expires_at)},
                },
                # An expired lock (its holder crashed) may be taken over; TTL deletion lags.
                ConditionExpression="attribute_not_exists(LockId) OR ExpiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            held = self.current()
            if held is None:  # released between our put and our read: try once more
                return self.acquire(holder, operation, ttl_seconds)
            if held.lock_id == info.lock_id:  # our put went through; its answer was lost
                return info
            raise LockError(
                f"another apply holds the lock: {held.holder} ({held.operation}) since "
                f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(held.acquired_at))}, "
                f"expires {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(held.expires_at))}. "
                f"If that run is dead, release it with: meshctl unlock {held.lock_id}"
            ) from None
        return info

    def current(self) -> LockInfo | None:
        item = self._ddb.get_item(
            TableName=self.name, Key={"LockId": {"S": LOCK_ITEM}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return LockInfo(
            lock_id=item["Token"]["S"],
            holder=item["Holder"]["S"],
            operation=item["Operation"]["S"],
            acquired_at=int(item["AcquiredAt"]["N"]),
            expires_at=int(item["ExpiresAt"]["N"]),
        )

    def release(self, lock_id: str) -> bool:
        """Delete the lock if ``lock_id`` still holds it; False when it did not."""
        try:
            self._ddb.delete_item(
                TableName=self.name,
                Key={"LockId": {"S": LOCK_ITEM}},
                ConditionExpression="#t = :t",
                ExpressionAttributeNames={"#t": "Token"},
                ExpressionAttributeValues={":t": {"S": lock_id}},
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False  # no lock table yet: no apply ever held a lock
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def mark_plan_applied(self, plan_id: str, holder: str) -> None:
        """Record that a saved plan is being applied; refuse a plan applied before."""
        try:
            self._ddb.put_item(
                TableName=self.name,
                Item={
                    "LockId": {"S": f"plan#{plan_id}"},
                    "Holder": {"S": holder},
                    "AcquiredAt": {"N": str(int(self._clock()))},
                },
                ConditionExpression="attribute_not_exists(LockId)",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            raise PlanError(
                f"plan {plan_id} was already applied; a plan file is applied at most once. "
                "Run `meshctl plan` again."
            ) from None
