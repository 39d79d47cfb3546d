"""Concurrency: two applies at once, and an apply racing a person editing the subscription table.

- Two `meshctl apply` processes started together: the lock admits exactly one; the other exits 1
  naming the holder (its pid) and the unlock id, having changed nothing; the mesh ends correct.
- A record edited by hand between plan and apply is never overwritten: the conditional write on
  ``Version`` (or ``attribute_not_exists`` for a create) refuses, the change fails with "changed
  since plan", every other change goes on, and the hand edit stays.
- A saved plan whose live state moved is refused as stale before any write.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from support.sandbox import MESHCTL, InProcessSandbox, ServerSandbox

from meshctl.applier import Status
from meshctl.engine import Engine
from meshctl.ids import subscription_id
from meshctl.spec.model import MeshSpec

from ._mesh import CRASHHOOK, EXAMPLE, mesh_problems, meshctl, scan_items
from .conftest import NOW

MESH = "555555555555"
MARKETING = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
ADDRESS = "subscription.marketing/sales.orders"
SID = subscription_id(MARKETING, "sales.orders")
_serialize = TypeSerializer().serialize


def test_two_applies_started_together_one_is_refused(
    seeded_server: ServerSandbox, example_spec: MeshSpec
) -> None:
    # Whoever takes the lock holds it 2 s longer (right after its PutItem), so the other one
    # surely meets it, however the two processes are scheduled.
    env = dict(seeded_server.env, PYTHONPATH=str(CRASHHOOK), MESHCTL_TEST_PAUSE_AFTER="PutItem:2")
    args = [str(MESHCTL), "apply", "-f", str(EXAMPLE), "--auto-approve"]
    procs = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    codes = sorted(p.returncode for p in procs)

    assert codes == [0, 1], outputs
    winner, loser = (0, 1) if procs[0].returncode == 0 else (1, 0)
    refusal = outputs[loser][1]
    assert "another apply holds the lock" in refusal
    assert f"pid {procs[winner].pid} (apply)" in refusal  # the holder, named
    assert re.search(r"meshctl unlock \w+", refusal)
    assert "Traceback" not in refusal
    assert "Apply complete" in outputs[winner][0]

    plan = meshctl("plan", "-f", str(EXAMPLE), "--detailed-exitcode", env=seeded_server.env)
    assert plan.returncode == 0, plan.stdout
    assert mesh_problems(seeded_server.session, example_spec, date.today()) == []


# --- an apply racing a hand edit of the subscription table --------------------------------------


def _engine(path: Path = EXAMPLE) -> Engine:
    return Engine(path, clock=lambda: NOW)


def _item(sandbox: InProcessSandbox) -> dict[str, Any]:
    return next(
        i for i in scan_items(sandbox.session, _engine().spec) if i["SubscriptionId"] == SID
    )


def _edit_by_hand(sandbox: InProcessSandbox, purpose: str) -> None:
    """What a person (or the helper library) does in the console: a change and a new Version."""
    sandbox.session(MESH).client("dynamodb").update_item(
        TableName=TABLE,
        Key={"SubscriptionId": _serialize(SID)},
        UpdateExpression="SET Purpose = :p, Version = Version + :one",
        ExpressionAttributeValues={":p": _serialize(purpose), ":one": _serialize(1)},
    )


def test_hand_edit_between_plan_and_apply_is_not_overwritten(
    seeded: InProcessSandbox, tmp_path: Path
) -> None:
    engine = _engine()
    assert engine.execute(engine.plan(), max_revokes=25, allow_mass_revoke=False).ok
    edited = tmp_path / "mesh.yaml"
    edited.write_text(
        EXAMPLE.read_text().replace("purpose: campaign attribution", "purpose: attribution v2")
    )
    engine = _engine(edited)
    plan = engine.plan()
    assert [c.address for c in plan.effective_changes] == [ADDRESS]

    _edit_by_hand(seeded, "edited by hand")
    version = _item(seeded)["Version"]
    result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)

    failed = [r for r in result.results if r.status is Status.FAILED]
    assert [r.change.address for r in failed] == [ADDRESS]
    assert "changed since plan" in failed[0].error and "not overwritten" in failed[0].error
    item = _item(seeded)
    assert item["Purpose"] == "edited by hand" and item["Version"] == version


def test_record_created_by_hand_between_plan_and_apply_is_kept(seeded: InProcessSandbox) -> None:
    engine = _engine()
    plan = engine.plan()
    assert ADDRESS in {c.address for c in plan.effective_changes}
    engine.execute(
        plan.__class__(**{**plan.__dict__, "changes": plan.changes[:1]}),  # the table only
        max_revokes=25,
        allow_mass_revoke=False,
    )
    hand = {"SubscriptionId": SID, "Status": "Pending", "Purpose": "made in the console"}
    seeded.session(MESH).client("dynamodb").put_item(
        TableName=TABLE, Item={k: _serialize(v) for k, v in hand.items()}
    )

    result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)

    outcome = next(r for r in result.results if r.change.address == ADDRESS)
    assert outcome.status is Status.FAILED and "changed since plan" in outcome.error
    assert _item(seeded) == hand
    others = [r for r in result.results if r.change.address != ADDRESS]
    assert all(r.status is Status.DONE for r in others if r.change.kind.value != "subscription")


def test_saved_plan_is_refused_when_the_table_moved(
    seeded_server: ServerSandbox, tmp_path: Path
) -> None:
    env = seeded_server.env
    assert meshctl("apply", "-f", str(EXAMPLE), "--auto-approve", env=env).returncode == 0
    edited = tmp_path / "mesh.yaml"
    edited.write_text(
        EXAMPLE.read_text().replace("purpose: campaign attribution", "purpose: attribution v2")
    )
    planfile = tmp_path / "plan.json"
    made = meshctl("plan", "-f", str(edited), "--out", str(planfile), env=env)
    assert made.returncode == 0, made.stderr

    ddb = seeded_server.session(MESH).client("dynamodb")
    ddb.update_item(
        TableName=TABLE,
        Key={"SubscriptionId": _serialize(SID)},
        UpdateExpression="SET Purpose = :p, Version = Version + :one",
        ExpressionAttributeValues={":p": _serialize("edited by hand"), ":one": _serialize(1)},
    )
    applied = meshctl("apply", str(planfile), "-f", str(edited), env=env)

    assert applied.returncode == 1
    assert "plan is stale" in applied.stderr and "nothing was changed" in applied.stderr
    item = ddb.get_item(TableName=TABLE, Key={"SubscriptionId": _serialize(SID)})["Item"]
    assert item["Purpose"]["S"] == "edited by hand"


@pytest.mark.parametrize("edit", ["Version", "Status"])
def test_archive_refuses_a_record_moved_since_plan(
    seeded: InProcessSandbox, tmp_path: Path, edit: str
) -> None:
    """Archiving (a subscription removed from the file) is conditional too — also against the
    helper library, which changes ``Status`` without knowing about ``Version``."""
    engine = _engine()
    assert engine.execute(engine.plan(), max_revokes=25, allow_mass_revoke=False).ok
    text = EXAMPLE.read_text()
    start = text.index("  - consumer: marketing\n    product: sales.orders")
    end = text.index("  - consumer: logistics\n    product: sales.orders")
    removed = tmp_path / "mesh.yaml"
    removed.write_text(text[:start] + text[end:])
    engine = _engine(removed)
    plan = engine.plan()
    archive = next(c for c in plan.effective_changes if c.address == ADDRESS)
    assert archive.action.value == "delete"

    if edit == "Version":
        expression, values = "SET Version = Version + :one", {":one": _serialize(1)}
    else:  # what the library's deny_subscription writes
        expression, values = (
            "SET #s = :s, UpdatedBy = :who",
            {
                ":s": _serialize("Denied"),
                ":who": _serialize("arn:aws:iam::999999999999:role/DataMeshConsumer"),
            },
        )
    seeded.session(MESH).client("dynamodb").update_item(
        TableName=TABLE,
        Key={"SubscriptionId": _serialize(SID)},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        **({"ExpressionAttributeNames": {"#s": "Status"}} if edit == "Status" else {}),
    )
    before = _item(seeded)
    result = engine.execute(plan, max_revokes=25, allow_mass_revoke=False)

    outcome = next(r for r in result.results if r.change.address == ADDRESS)
    assert outcome.status is Status.FAILED and "changed since plan" in outcome.error
    assert _item(seeded) == before
