"""Apply near its floor: subscription records are written many at a time (TransactWriteItems, up
to 100 a call), each with its own condition, and one conflicting record never blocks the others;
what the plan read as missing is created without a read first."""

from __future__ import annotations

from meshctl.applier import Status
from meshctl.engine import Engine
from meshctl.ids import subscription_id
from meshctl.planning.plan import Kind

from .test_apply import FINANCE, MARKETING, MESH, TABLE, Mesh, record


def test_the_records_of_a_step_go_in_one_transaction(mesh: Mesh) -> None:
    run = mesh.apply_ok()
    records = [c for c in run.plan.effective_changes if c.kind is Kind.SUBSCRIPTION]
    assert len(records) == 6
    stats = run.engine.sessions.stats
    assert stats.calls(operation="TransactWriteItems") == 1
    assert stats.calls(operation="PutItem") == 1  # the lock's own item, no record
    assert record(mesh.sandbox, MARKETING, "sales.orders")["Version"] == 1
    # What the plan read as missing is created without reading it first.
    assert stats.calls(operation="CreateDatabase") == 9  # 3 mesh, 3 producer + 3 consumer links
    assert stats.calls(operation="GetDatabase") == 0


def test_a_record_changed_since_plan_fails_alone(mesh: Mesh) -> None:
    mesh.apply_ok()
    for consumer, product in (
        ("marketing", "logistics.shipments"),
        ("finance", "logistics.shipments"),
    ):
        mesh.file.approve(consumer, product, "logistics-data@example.com")
    mesh.file.edit("marketing", "sales.orders", purpose="attribution and churn")
    conflicted = subscription_id(FINANCE, "logistics.shipments")

    def someone_writes(_: Engine) -> None:
        ddb = mesh.sandbox.session(MESH).client("dynamodb")
        ddb.update_item(
            TableName=TABLE,
            Key={"SubscriptionId": {"S": conflicted}},
            UpdateExpression="SET #v = #v + :one",
            ExpressionAttributeNames={"#v": "Version"},
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    run = mesh.apply(before_execute=someone_writes)
    outcome = {
        r.change.address: (r.status, r.error)
        for r in run.result.results
        if r.change.kind is Kind.SUBSCRIPTION
    }
    status, error = outcome["subscription.finance/logistics.shipments"]
    assert status is Status.FAILED and "changed since plan" in error
    assert outcome["subscription.marketing/logistics.shipments"][0] is Status.DONE
    assert outcome["subscription.marketing/sales.orders"][0] is Status.DONE
    assert record(mesh.sandbox, MARKETING, "logistics.shipments")["Status"] == "Active"
    assert record(mesh.sandbox, MARKETING, "sales.orders")["Purpose"] == "attribution and churn"
    assert record(mesh.sandbox, FINANCE, "logistics.shipments")["Status"] == "Pending"
    # The next apply converges from there (its plan reads the record as it now is).
    mesh.apply_ok()
    assert record(mesh.sandbox, FINANCE, "logistics.shipments")["Status"] == "Active"
