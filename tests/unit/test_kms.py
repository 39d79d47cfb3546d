"""planning/kms.py: which key a bucket's default encryption names, and the warning's statement."""

from __future__ import annotations

import json

from meshctl.planning.kinds.kms import registering_role
from meshctl.planning.kms import key_arn, key_policy_statement, service_linked_role

MESH = "555555555555"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_bucket_key_id_becomes_a_key_arn_of_the_bucket_owner_and_an_alias_none() -> None:
    arn = f"arn:aws:kms:us-east-1:111111111111:key/{KEY_ID}"
    assert key_arn(arn, "us-east-1", "222222222222") == arn  # an ARN names its own account
    assert key_arn(KEY_ID, "us-east-1", "111111111111") == arn
    assert key_arn("alias/data", "us-east-1", "111111111111") == ""
    assert key_arn("arn:aws:kms:us-east-1:111111111111:alias/data", "us-east-1", "1" * 12) == ""


def test_the_grantee_is_the_role_of_the_longest_registration_holding_the_location() -> None:
    roles = {
        "arn:aws:s3:::data": "arn:aws:iam::555555555555:role/Bucket",
        "arn:aws:s3:::data/sales": "arn:aws:iam::555555555555:role/Sales",
        "arn:aws:s3:::data/sales/orders": "",  # no RoleArn: the service-linked role
    }
    assert registering_role("arn:aws:s3:::data/sales/lines", roles, MESH).endswith("role/Sales")
    assert registering_role("arn:aws:s3:::data/salesx", roles, MESH).endswith("role/Bucket")
    assert registering_role("arn:aws:s3:::data/sales/orders", roles, MESH) == service_linked_role(
        MESH
    )
    assert registering_role("arn:aws:s3:::other/x", roles, MESH) == service_linked_role(MESH)


def test_the_key_policy_statement_is_one_line_of_json_naming_the_grantees() -> None:
    text = key_policy_statement("sales.orders", [service_linked_role(MESH)])
    assert "\n" not in text
    assert json.loads(text) == {
        "Sid": "LakeFormationReadsalesorders",
        "Effect": "Allow",
        "Principal": {"AWS": [service_linked_role(MESH)]},
        "Action": ["kms:Decrypt", "kms:DescribeKey"],
        "Resource": "*",
    }
