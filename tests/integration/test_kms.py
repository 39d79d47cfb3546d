"""Products whose data is encrypted with a customer-managed KMS key (docs/kms.md).

examples/mesh.yaml with logistics.shipments on a KMS key: the role that registered its locations
with Lake Formation (the service-linked role of the mesh account) gets a KMS grant, a second plan
is empty, removing the product revokes the grant, and a key meshctl cannot reach only warns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.faults import FaultInjector, FaultKind
from support.sandbox import InProcessSandbox

from meshctl.applier import Status
from meshctl.aws.read.for_import import read_for_import
from meshctl.aws.sessions import AccountSessions
from meshctl.engine import Engine
from meshctl.importer.build import import_mesh
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.sandbox.seed import bucket_name
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSettings

from .test_apply import LOGISTICS, LOGISTICS_DB, MESH, Applied, Mesh

PRODUCT = "logistics.shipments"
GRANT_NAME = f"meshctl-{PRODUCT}"
SLR = (
    f"arn:aws:iam::{MESH}:role/aws-service-role/lakeformation.amazonaws.com/"
    "AWSServiceRoleForLakeFormationDataAccess"
)
ELSEWHERE = "444444444444"  # an account the mesh file does not declare
FOREIGN_KEY = f"arn:aws:kms:us-east-1:{ELSEWHERE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _new_key(sandbox: InProcessSandbox, account_id: str = LOGISTICS) -> str:
    return str(sandbox.session(account_id).client("kms").create_key()["KeyMetadata"]["Arn"])


def _encrypt_bucket(sandbox: InProcessSandbox, key: str) -> None:
    """SSE-KMS default encryption on the logistics data bucket, as the producer's IaC sets it."""
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    }
    sandbox.session(LOGISTICS).client("s3").put_bucket_encryption(
        Bucket=bucket_name("logistics", LOGISTICS),
        ServerSideEncryptionConfiguration={"Rules": [rule]},
    )


def _grants(sandbox: InProcessSandbox, key: str) -> list[dict[str, Any]]:
    """The key's grants as `aws kms list-grants` shows them (the key's own account)."""
    account = key.split(":")[4]
    found = sandbox.session(account).client("kms").list_grants(KeyId=key)["Grants"]
    return sorted(found, key=lambda g: str(g["GrantId"]))


def _meshctl_grant(sandbox: InProcessSandbox, key: str) -> tuple[str, str, list[str]]:
    grants = _grants(sandbox, key)
    assert len(grants) == 1, grants
    g = grants[0]
    return g["Name"], g["GranteePrincipal"], sorted(g["Operations"])


def _declare(mesh: Mesh, kms_key_arn: str) -> None:
    mesh.file.data["products"][PRODUCT]["kms_key_arn"] = kms_key_arn
    mesh.file.save()


def _kms_changes(plan: Plan) -> list[tuple[Action, str]]:
    return [(c.action, c.address) for c in plan.changes if c.kind is Kind.KMS_GRANT]


def _apply_refusing(mesh: Mesh, operation: str) -> Applied:
    """An apply during which every KMS ``operation`` is refused (AccessDenied)."""
    refused = FaultInjector(
        1.0,
        operations=frozenset({operation}),
        error=(400, "AccessDeniedException", f"injected: no kms:{operation}"),
    )
    return mesh.apply(before_execute=lambda engine: refused.install(engine.sessions))


@pytest.fixture
def on_kms(mesh: Mesh) -> tuple[Mesh, str]:
    """examples/mesh.yaml with logistics.shipments on an SSE-KMS bucket (`kms_key_arn: bucket`)."""
    key = _new_key(mesh.sandbox)
    _encrypt_bucket(mesh.sandbox, key)
    _declare(mesh, "bucket")
    return mesh, key


def test_product_on_an_sse_kms_bucket_gets_its_grant_and_a_second_plan_is_empty(
    on_kms: tuple[Mesh, str],
) -> None:
    mesh, key = on_kms
    plan = mesh.plan()
    assert [a for a, _ in _kms_changes(plan)] == [Action.CREATE]
    mesh.apply_ok()  # asserts the plan after apply is empty
    assert _meshctl_grant(mesh.sandbox, key) == (GRANT_NAME, SLR, ["Decrypt", "DescribeKey"])
    # The reads it costs: one GetBucketEncryption for the product's bucket, one ListGrants.
    engine = mesh.engine()
    engine.plan()
    stats = engine.sessions.stats
    assert stats.calls(account_id=LOGISTICS, operation="GetBucketEncryption") == 1
    assert stats.calls(account_id=LOGISTICS, operation="ListGrants") == 1
    assert stats.calls(service="kms") + stats.calls(service="s3") == 2


def test_a_mesh_without_kms_makes_no_kms_or_s3_call(mesh: Mesh) -> None:
    mesh.apply_ok()
    engine = mesh.engine()
    assert not engine.plan().has_changes
    assert engine.sessions.stats.calls(service="kms") == 0
    assert engine.sessions.stats.calls(service="s3") == 0


def test_removing_the_product_revokes_the_grant_counted_toward_max_revokes(
    on_kms: tuple[Mesh, str],
) -> None:
    mesh, key = on_kms
    mesh.apply_ok()
    mesh.file.remove_product(PRODUCT)
    plan = mesh.plan()
    deletes = [c for c in plan.changes if c.kind is Kind.KMS_GRANT]
    assert [c.action for c in deletes] == [Action.DELETE]
    # Revoked before the mesh database that records the key goes.
    database = next(c for c in plan.changes if c.address == f"database.{MESH}/{LOGISTICS_DB}")
    assert deletes[0].address in database.depends_on
    mesh.apply_ok()
    assert _grants(mesh.sandbox, key) == []


def test_a_product_that_stops_using_its_key_has_the_grant_revoked(
    on_kms: tuple[Mesh, str],
) -> None:
    mesh, key = on_kms
    mesh.apply_ok()
    del mesh.file.data["products"][PRODUCT]["kms_key_arn"]
    mesh.file.save()
    plan = mesh.plan()
    assert [a for a, _ in _kms_changes(plan)] == [Action.DELETE]
    mesh.apply_ok()
    assert _grants(mesh.sandbox, key) == []


def test_a_declared_key_works_the_same(mesh: Mesh) -> None:
    key = _new_key(mesh.sandbox, MESH)  # a key of the mesh account, no bucket read at all
    _declare(mesh, key)
    mesh.apply_ok()
    assert _meshctl_grant(mesh.sandbox, key) == (GRANT_NAME, SLR, ["Decrypt", "DescribeKey"])
    engine = mesh.engine()
    assert not engine.plan().has_changes
    assert engine.sessions.stats.calls(operation="GetBucketEncryption") == 0
    mesh.file.remove_product(PRODUCT)
    mesh.apply_ok()
    assert _grants(mesh.sandbox, key) == []


def test_a_key_in_an_account_meshctl_cannot_reach_gives_the_key_policy_statement(
    mesh: Mesh,
) -> None:
    _declare(mesh, FOREIGN_KEY)
    engine = mesh.engine()
    plan = engine.plan()
    assert _kms_changes(plan) == []
    assert engine.sessions.stats.calls(account_id=ELSEWHERE) == 0
    warning = next(w for w in plan.warnings if FOREIGN_KEY in w)
    assert f"account {ELSEWHERE}, which meshctl does not reach" in warning
    statement = json.loads(warning.split("to the key policy: ", 1)[1])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": [SLR]}
    assert statement["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    mesh.apply_ok()  # everything else applies; nothing is written for the key


def test_a_bucket_without_sse_kms_needs_no_grant_and_says_so(mesh: Mesh) -> None:
    _declare(mesh, "bucket")
    plan = mesh.plan()
    assert _kms_changes(plan) == []
    assert any("has no SSE-KMS default encryption" in w for w in plan.warnings)


def test_a_grant_that_failed_mid_apply_is_made_by_the_next_apply(
    on_kms: tuple[Mesh, str],
) -> None:
    mesh, key = on_kms
    run = _apply_refusing(mesh, "CreateGrant")
    statuses = run.statuses()
    failed = [a for a, s in statuses.items() if s is Status.FAILED]
    assert len(failed) == 1 and failed[0].startswith("kms_grant.")
    assert sum(s is Status.DONE for s in statuses.values()) > 40  # the rest of the mesh applied
    assert _grants(mesh.sandbox, key) == []

    mesh.apply_ok()
    assert _meshctl_grant(mesh.sandbox, key) == (GRANT_NAME, SLR, ["Decrypt", "DescribeKey"])


def test_a_create_grant_whose_answer_was_lost_makes_one_grant(on_kms: tuple[Mesh, str]) -> None:
    mesh, key = on_kms
    lost = FaultInjector(
        1.0, operations=frozenset({"CreateGrant"}), weights={FaultKind.LOST: 1}, limit=1
    )
    run = mesh.apply(before_execute=lambda engine: lost.install(engine.sessions))
    assert lost.injected[FaultKind.LOST] == 1
    assert run.result.ok
    assert _meshctl_grant(mesh.sandbox, key) == (GRANT_NAME, SLR, ["Decrypt", "DescribeKey"])
    assert not Engine(mesh.file.path).plan().has_changes


def test_import_writes_the_key_back_and_the_imported_file_plans_no_kms_change(
    on_kms: tuple[Mesh, str], tmp_path: Path
) -> None:
    mesh, key = on_kms
    mesh.apply_ok()
    settings = MeshSettings(MESH, "us-east-1")
    text = import_mesh(settings, read_for_import(settings, AccountSessions(settings)))
    path = tmp_path / "imported.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_spec(path).product(PRODUCT).kms_key_arn == key
    assert _kms_changes(Engine(path).plan()) == []


def test_the_grantee_is_the_role_that_registered_the_location(on_kms: tuple[Mesh, str]) -> None:
    """Locations registered by someone else with a role of their own: that role reads the data
    for Lake Formation (ListResources' RoleArn), so that role gets the grant."""
    mesh, key = on_kms
    session = mesh.sandbox.session(MESH)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lakeformation.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = session.client("iam").create_role(
        RoleName="DataLakeRegistration", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    glue = mesh.sandbox.session(LOGISTICS).client("glue")
    for table in glue.get_tables(DatabaseName="logistics")["TableList"]:
        location = table["StorageDescriptor"]["Location"]
        session.client("lakeformation").register_resource(
            ResourceArn="arn:aws:s3:::" + location.removeprefix("s3://").rstrip("/"), RoleArn=role
        )
    mesh.apply_ok()
    assert _meshctl_grant(mesh.sandbox, key) == (GRANT_NAME, role, ["Decrypt", "DescribeKey"])


def test_a_revoke_that_failed_keeps_the_mesh_database_and_the_next_apply_finishes(
    on_kms: tuple[Mesh, str],
) -> None:
    """The mesh database records the key: it is deleted only once the grant is revoked, so a
    failed revoke leaves the next plan the key to read."""
    mesh, key = on_kms
    mesh.apply_ok()
    mesh.file.remove_product(PRODUCT)
    run = _apply_refusing(mesh, "RevokeGrant")
    statuses = run.statuses()
    assert statuses[f"database.{MESH}/{LOGISTICS_DB}"] is Status.SKIPPED
    assert len(_grants(mesh.sandbox, key)) == 1

    mesh.apply_ok()
    assert _grants(mesh.sandbox, key) == []
