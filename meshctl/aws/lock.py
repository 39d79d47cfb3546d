"""The apply lock and the applied-plan ledger, in a small table of meshctl's own.

The table ``<subscriptions_table>-Locks`` lives in the mesh account beside the subscription table,
under a different name so the helper library never sees it. One item ``LockId = "apply"`` is the
lock; items ``LockId = "plan#<plan_id>"`` record that a saved plan was applied, so it is applied
at most once.

The lock is a lease. Invariants:
- One holder at a time: taking it is a conditional put, and every later write to the item
  (renew, release) is conditional on the holder's ``Token``, so a holder that lost the lock can
  neither extend nor delete someone else's.
- A live holder renews (``Lease`` in ``lease.py``, every ``DEFAULT_RENEW_EVERY_SECONDS``), so its
  ``ExpiresAt`` stays ahead; only an expired item (a dead holder) may be taken over, and TTL
  removes it eventually. A failed renewal condition means the lease is lost, never "try again".
- ``meshctl unlock LOCK_ID`` releases the lock whoever runs it, but only while LOCK_ID holds it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from meshctl.aws.errors import error_code
from meshctl.errors import LockError, PlanError

LOCK_ITEM = "apply"
# A lease lasts 5 minutes and is renewed every 100 s: two renewals in a row may fail (a network
# blip) before it expires, and a crashed holder blocks others for at most 5 minutes.
DEFAULT_TTL_SECONDS = 300
DEFAULT_RENEW_EVERY_SECONDS = DEFAULT_TTL_SECONDS / 3


@dataclass(frozen=True)
class LockInfo:
    lock_id: str  # the token `meshctl unlock` takes
    holder: str
    operation: str
    acquired_at: int
    expires_at: int


def iso_time(epoch_seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


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
            if error_code(exc) != "ResourceNotFoundException":
                raise
        try:
            self._ddb.create_table(
                TableName=self.name,
                AttributeDefinitions=[{"AttributeName": "LockId", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "LockId", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
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
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            held = self.current()
            if held is None:  # released between our put and our read: try once more
                return self.acquire(holder, operation, ttl_seconds)
            if held.lock_id == info.lock_id:  # our put went through; its answer was lost
                return info
            raise LockError(
                f"another apply holds the lock: {held.holder} ({held.operation}) since "
                f"{iso_time(held.acquired_at)}, expires {iso_time(held.expires_at)}. "
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

    def renew(self, lock_id: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> int:
        """Push the lease of ``lock_id`` to now + ``ttl_seconds``; return the new ExpiresAt.

        Raises LockError when ``lock_id`` no longer holds the lock (unlocked, or taken over after
        it expired): the lease is lost for good. A retry of a renewal whose answer was lost meets
        the same Token and succeeds again, so a lost answer is not a lost lease.
        """
        expires_at = int(self._clock()) + ttl_seconds
        try:
            self._ddb.update_item(
                TableName=self.name,
                Key={"LockId": {"S": LOCK_ITEM}},
                UpdateExpression="SET ExpiresAt = :e",
                ConditionExpression="#t = :t",
                ExpressionAttributeNames={"#t": "Token"},
                ExpressionAttributeValues={":t": {"S": lock_id}, ":e": {"N": str(expires_at)}},
            )
        except ClientError as exc:
            if error_code(exc) not in (
                "ConditionalCheckFailedException",
                "ResourceNotFoundException",
            ):
                raise
            raise LockError(f"lock {lock_id} is no longer held: {self._now_held_by()}") from None
        return expires_at

    def _now_held_by(self) -> str:
        try:
            held = self.current()
        except ClientError:
            held = None
        if held is None:
            return "it was released (meshctl unlock?)"
        return f"it is now held by {held.holder} ({held.operation}) as {held.lock_id}"

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
            if error_code(exc) == "ResourceNotFoundException":
                return False  # no lock table yet: no apply ever held a lock
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            # A retried delete meets its own first attempt when that one was carried out but its
            # answer lost: the lock gone after a retry is released, not "no longer ours".
            retried = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0
            return retried and self.current() is None
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
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            raise PlanError(
                f"plan {plan_id} was already applied; a plan file is applied at most once. "
                "Run `meshctl plan` again."
            ) from None
