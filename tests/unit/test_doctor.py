"""The doctor's judgement on data: facts as AWS would answer, the findings a user reads."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from meshctl.planning.doctor import diagnose
from meshctl.planning.doctor_facts import (
    AccountAccess,
    Bucket,
    Check,
    DoctorFacts,
    Finding,
    KmsKey,
    LakeFacts,
    RegisteredLocation,
    SourceTable,
    Status,
)
from meshctl.planning.kms import service_linked_role
from meshctl.render.doctor import render_doctor_json
from meshctl.spec.load import load_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml"
SPEC = load_spec(EXAMPLE)
MESH, SALES, FINANCE = "555555555555", "111111111111", "333333333333"
SLR = service_linked_role(MESH)
KEY = f"arn:aws:kms:us-east-1:{SALES}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "sales-data-111111111111"
SCHEMA = json.loads((files("meshctl") / "schemas" / "doctor.schema.json").read_text())


def reached(account_id: str) -> AccountAccess:
    arn = f"arn:aws:sts::{account_id}:assumed-role/MeshctlDeployer/meshctl"
    return AccountAccess(account_id, identity=arn, identity_account=account_id)


def sales_facts(**changes: object) -> DoctorFacts:
    """The sales producer with its two tables in its bucket, everything else unread."""
    base = DoctorFacts(
        mesh_account_id=MESH,
        access=(reached(MESH), reached(SALES)),
        source_tables=tuple(
            SourceTable(SALES, "sales", name, f"s3://{BUCKET}/sales/{name}/")
            for name in ("orders", "order_lines")
        ),
        producers_read=frozenset({SALES}),
        buckets=(Bucket(BUCKET, SALES, exists=True, kms_key=KEY),),
        keys=(KmsKey(KEY, key_arn=KEY, account_id=SALES, reachable=True),),
    )
    return replace(base, **changes)


def finding(facts: DoctorFacts, check: Check, subject: str = "") -> Finding:
    [found] = [f for f in diagnose(SPEC, facts) if f.check is check and f.subject == subject]
    return found


def with_policy(*statements: dict[str, object]) -> KmsKey:
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return KmsKey(KEY, key_arn=KEY, account_id=SALES, reachable=True, policy=policy)


ALLOW_ROLE = {"Effect": "Allow", "Principal": {"AWS": SLR}, "Action": "kms:Decrypt"}


@pytest.mark.parametrize(
    ("key", "status"),
    [
        (KmsKey(KEY, key_arn=KEY, account_id=SALES, reachable=True), Status.FAIL),
        (
            KmsKey(KEY, KEY, SALES, reachable=True, decrypt_grantees=frozenset({SLR})),
            Status.OK,
        ),
        (with_policy(ALLOW_ROLE), Status.OK),
        (with_policy({**ALLOW_ROLE, "Action": ["kms:Encrypt"]}), Status.FAIL),
        (with_policy({**ALLOW_ROLE, "Effect": "Deny"}), Status.FAIL),
        (
            with_policy({**ALLOW_ROLE, "Principal": {"AWS": f"arn:aws:iam::{MESH}:root"}}),
            Status.FAIL,
        ),
        # An AWS managed key's policy: everyone, but only through S3 of its own account.
        (
            with_policy(
                {
                    **ALLOW_ROLE,
                    "Principal": {"AWS": "*"},
                    "Condition": {"StringEquals": {"kms:CallerAccount": SALES}},
                }
            ),
            Status.FAIL,
        ),
    ],
)
def test_a_key_lets_lake_formation_decrypt_by_grant_or_key_policy_statement(
    key: KmsKey, status: Status
) -> None:
    assert finding(sales_facts(keys=(key,)), Check.ENCRYPTION, BUCKET).status is status


def test_the_role_that_registered_the_location_is_the_one_that_must_decrypt() -> None:
    own = f"arn:aws:iam::{MESH}:role/LakeFormationRegistration"
    registered = (RegisteredLocation(f"arn:aws:s3:::{BUCKET}", role_arn=own),)
    key = KmsKey(KEY, KEY, SALES, reachable=True, decrypt_grantees=frozenset({SLR}))
    found = finding(sales_facts(keys=(key,), locations=registered), Check.ENCRYPTION, BUCKET)
    assert found.status is Status.FAIL and own in found.fix


def test_a_bucket_level_registration_covers_the_table_locations() -> None:
    registered = (RegisteredLocation(f"arn:aws:s3:::{BUCKET}", role_arn=SLR),)
    facts = sales_facts(locations=registered)
    assert finding(facts, Check.DATA_LOCATION, "sales.orders").status is Status.OK
    # A sibling bucket whose name starts the same is not covered.
    other = (RegisteredLocation("arn:aws:s3:::sales-data-11111111111", role_arn=SLR),)
    assert finding(sales_facts(locations=other), Check.DATA_LOCATION, "sales.orders").status is (
        Status.WARN
    )


def test_a_version_above_the_declared_one_warns_that_apply_lowers_it() -> None:
    facts = sales_facts(lake=LakeFacts(cross_account_version=5))
    found = finding(facts, Check.CROSS_ACCOUNT_VERSION)
    assert found.status is Status.WARN and "apply lowers it" in found.message


def test_an_unreachable_producer_has_only_its_credentials_finding() -> None:
    # As the reader leaves it: nothing of the producer was read.
    denied = AccountAccess(SALES, error="sts:AssumeRole failed: AccessDenied")
    facts = DoctorFacts(MESH, access=(reached(MESH), denied))
    mine = [f for f in diagnose(SPEC, facts) if f.account_id == SALES]
    assert [(f.check, f.status) for f in mine] == [(Check.CREDENTIALS, Status.FAIL)]
    assert "AccessDenied" in mine[0].message


def test_a_product_whose_source_database_has_no_table_is_held() -> None:
    facts = DoctorFacts(MESH, access=(reached(FINANCE),), producers_read=frozenset({FINANCE}))
    found = finding(facts, Check.SOURCE_TABLES, "finance.invoices")
    assert found.status is Status.FAIL and "plan holds the product" in found.message


def test_the_json_follows_schemas_doctor_schema_json() -> None:
    # ok, warn and fail findings, a fix, a subject, and an account the names leave out.
    denied = AccountAccess(FINANCE, error="sts:AssumeRole failed: AccessDenied")
    facts = sales_facts(
        access=(reached(MESH), reached(SALES), denied), lake=LakeFacts(cross_account_version=5)
    )
    shown = render_doctor_json(diagnose(SPEC, facts), {MESH: "mesh", SALES: "sales"})
    document = json.loads(shown)
    assert {f["status"] for f in document["findings"]} == {"ok", "warn", "fail"}
    assert document["ok"] is False and {f["account"] for f in document["findings"]} >= {"", "sales"}
    validator = Draft202012Validator(SCHEMA)
    validator.validate(document)
    document["findings"][0]["status"] = "error"  # a status the schema does not know
    assert not validator.is_valid(document)


def test_the_doctor_schema_names_every_check_and_status() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    finding_ = SCHEMA["properties"]["findings"]["items"]["properties"]
    assert finding_["check"]["enum"] == [c.value for c in Check]
    assert finding_["status"]["enum"] == [s.value for s in Status]
    assert SCHEMA["properties"]["counts"]["required"] == [s.value for s in Status]
