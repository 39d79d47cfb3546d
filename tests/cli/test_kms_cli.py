"""KMS-encrypted products end to end (docs/kms.md): the console script against the moto server.

logistics.shipments is on an SSE-KMS bucket (`kms_key_arn: bucket`), finance.invoices on a key in
an account meshctl does not reach. The plan (JSON, validated by the plan schema) creates one KMS
grant and warns with the key-policy statement; apply makes the grant; the next plan is empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from support.cli import meshctl
from support.sandbox import ServerSandbox

from meshctl.sandbox.seed import bucket_name

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
PLAN_SCHEMA = ROOT / "schemas" / "plan.schema.json"

LOGISTICS, MESH = "222222222222", "555555555555"
FOREIGN_KEY = "arn:aws:kms:us-east-1:444444444444:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_kms_products_plan_apply_and_converge(server: ServerSandbox, tmp_path: Path) -> None:
    session = server.session(LOGISTICS)
    key = session.client("kms").create_key()["KeyMetadata"]["Arn"]
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    }
    session.client("s3").put_bucket_encryption(
        Bucket=bucket_name("logistics", LOGISTICS),
        ServerSideEncryptionConfiguration={"Rules": [rule]},
    )
    data = yaml.safe_load(EXAMPLE.read_text())
    data["products"]["logistics.shipments"]["kms_key_arn"] = "bucket"
    data["products"]["finance.invoices"]["kms_key_arn"] = FOREIGN_KEY
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(yaml.safe_dump(data, sort_keys=False))

    proc = meshctl(server, "plan", "-f", str(mesh), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    errors = list(
        jsonschema.Draft202012Validator(json.loads(PLAN_SCHEMA.read_text())).iter_errors(plan)
    )
    assert not errors, [e.message for e in errors[:3]]
    kms = [c for c in plan["changes"] if c["kind"] == "kms_grant"]
    assert [(c["action"], c["after"]["key_arn"], c["after"]["operations"]) for c in kms] == [
        ("create", key, ["Decrypt", "DescribeKey"])
    ]
    [warning] = [w for w in plan["warnings"] if FOREIGN_KEY in w]
    assert '"Action":["kms:Decrypt","kms:DescribeKey"]' in warning

    applied = meshctl(server, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    grants = session.client("kms").list_grants(KeyId=key)["Grants"]
    assert [(g["Name"], g["GranteePrincipal"].split("/")[-1]) for g in grants] == [
        ("meshctl-logistics.shipments", "AWSServiceRoleForLakeFormationDataAccess")
    ]
    again = meshctl(server, "plan", "-f", str(mesh), "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    assert "which meshctl does not reach" in again.stdout  # the warning stays until it is fixed
