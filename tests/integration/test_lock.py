"""The lock table finishes its own setup when a run died half-way through creating it."""

from __future__ import annotations

from meshctl.aws.lock import LockTable
from meshctl.sandbox.testing import InProcessSandbox

MESH = "555555555555"


def test_ensure_enables_ttl_on_a_table_left_without_it(sandbox: InProcessSandbox) -> None:
    ddb = sandbox.session(MESH).client("dynamodb")
    # What an apply killed right after CreateTable leaves behind: the table, TTL off.
    ddb.create_table(
        TableName="AwsDataMeshSubscriptions-Locks",
        AttributeDefinitions=[{"AttributeName": "LockId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockId", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    LockTable(ddb, "AwsDataMeshSubscriptions-Locks").ensure()
    ttl = ddb.describe_time_to_live(TableName="AwsDataMeshSubscriptions-Locks")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ExpiresAt"
