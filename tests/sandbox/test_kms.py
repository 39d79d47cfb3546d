"""KMS grants behave as in AWS (the first test fails on plain moto 5.2.5)."""

from __future__ import annotations

import pytest
from support.sandbox import InProcessSandbox

from ._support import MESH, PRODUCER

GRANTEE = f"arn:aws:iam::{MESH}:role/Reader"


def test_create_grant_with_a_name_and_identical_parameters_returns_the_existing_grant(
    sandbox: InProcessSandbox,
) -> None:
    """AWS KMS API reference, CreateGrant, ``Name``: a retry with identical parameters returns the
    original GrantId without creating a new grant; different operations make a new one."""
    kms = sandbox.session(PRODUCER).client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]

    def create(*operations: str) -> str:
        answer = kms.create_grant(
            KeyId=key, GranteePrincipal=GRANTEE, Operations=list(operations), Name="meshctl-x"
        )
        return str(answer["GrantId"])

    first = create("Decrypt", "DescribeKey")
    assert create("Decrypt", "DescribeKey") == first
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 1
    assert create("Decrypt") != first
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 2


def test_revoked_grant_is_gone_and_a_second_revoke_is_not_found(
    sandbox: InProcessSandbox,
) -> None:
    kms = sandbox.session(PRODUCER).client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal=GRANTEE, Operations=["Decrypt"])
    kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
    assert kms.list_grants(KeyId=key)["Grants"] == []
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
