"""With moto's IAM authorization on, the sandbox authorizes a request as AWS does.

Each test names the AWS behaviour (patch_authorization's docstring cites the guides). On plain
moto 5.2.5 every one fails: it evaluated Glue, DynamoDB, Lake Formation and RAM requests against
resource ``*`` (so a statement scoped to a table allowed nothing), as the action
``dynamodb:TransactWriteItems``, without what Lake Formation does as the caller, and answered JSON
services with an XML body botocore reported as a bare "403".
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.authorization import enable_iam_authentication
from support.sandbox import InProcessSandbox

from meshctl.sandbox.patch_authorization import Checked, recording

from ._support import CONSUMER, MESH

REGION = "us-east-1"
ROLE = "Tester"


def _as_role(sandbox: InProcessSandbox, statements: list[dict[str, Any]]) -> boto3.Session:
    """A session of role ``Tester`` in the mesh account, holding only ``statements``."""
    iam = sandbox.session(MESH).client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MESH}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=ROLE, PolicyName="p", PolicyDocument=json.dumps(document))
    return sandbox.session(MESH, role=ROLE)


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _denied(exc: pytest.ExceptionInfo[ClientError]) -> str:
    assert exc.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
    return str(exc.value.response["Error"]["Message"])


def test_a_glue_table_is_authorized_against_the_catalog_its_database_and_itself(
    sandbox: InProcessSandbox,
) -> None:
    glue_admin = sandbox.session(MESH).client("glue", region_name=REGION)
    glue_admin.create_database(DatabaseInput={"Name": "db"})
    for name in ("t1", "t2"):
        glue_admin.create_table(DatabaseName="db", TableInput={"Name": name})
    arn = f"arn:aws:glue:{REGION}:{MESH}:"
    scoped = [f"{arn}catalog", f"{arn}database/db", f"{arn}table/db/t1"]
    glue = _as_role(sandbox, [_allow(["glue:GetTable"], scoped)]).client("glue", region_name=REGION)
    with enable_iam_authentication():
        assert glue.get_table(DatabaseName="db", Name="t1")["Table"]["Name"] == "t1"
        with pytest.raises(ClientError) as exc:
            glue.get_table(DatabaseName="db", Name="t2")
    # In the service's own protocol, naming the action and the resource, as AWS words it.
    assert "is not authorized to perform: glue:GetTable on resource: " in _denied(exc)
    assert f"{arn}table/db/t2" in _denied(exc)


def test_transact_write_items_is_authorized_per_item_as_put_item(
    sandbox: InProcessSandbox,
) -> None:
    ddb_admin = sandbox.session(MESH).client("dynamodb", region_name=REGION)
    for name in ("Allowed", "Other"):
        ddb_admin.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    table = f"arn:aws:dynamodb:{REGION}:{MESH}:table/Allowed"
    ddb = _as_role(sandbox, [_allow(["dynamodb:PutItem"], [table])]).client(
        "dynamodb", region_name=REGION
    )

    def put(table_name: str) -> dict[str, Any]:
        return {"Put": {"TableName": table_name, "Item": {"k": {"S": "1"}}}}

    with enable_iam_authentication():
        ddb.transact_write_items(TransactItems=[put("Allowed")])
        with pytest.raises(ClientError) as exc:
            ddb.transact_write_items(TransactItems=[put("Allowed"), put("Other")])
    assert "dynamodb:PutItem on resource: " + table.replace("Allowed", "Other") in _denied(exc)


def test_registering_a_location_with_the_service_linked_role_needs_iam_permissions(
    sandbox: InProcessSandbox,
) -> None:
    lf = _as_role(sandbox, [_allow(["lakeformation:RegisterResource"], ["*"])]).client(
        "lakeformation", region_name=REGION
    )
    with enable_iam_authentication(), pytest.raises(ClientError) as exc:
        lf.register_resource(ResourceArn="arn:aws:s3:::bucket/prefix", UseServiceLinkedRole=True)
    assert "iam:CreateServiceLinkedRole on resource: " in _denied(exc)
    assert "AWSServiceRoleForLakeFormationDataAccess" in _denied(exc)


def test_a_cross_account_grant_needs_ram_permissions_a_same_account_one_does_not(
    sandbox: InProcessSandbox,
) -> None:
    glue_admin = sandbox.session(MESH).client("glue", region_name=REGION)
    glue_admin.create_database(DatabaseInput={"Name": "shared"})
    lf = _as_role(sandbox, [_allow(["lakeformation:BatchGrantPermissions"], ["*"])]).client(
        "lakeformation", region_name=REGION
    )

    def grant(principal: str) -> dict[str, Any]:
        return {
            "Id": "1",
            "Principal": {"DataLakePrincipalIdentifier": principal},
            "Resource": {"Database": {"CatalogId": MESH, "Name": "shared"}},
            "Permissions": ["DESCRIBE"],
        }

    with enable_iam_authentication():
        lf.batch_grant_permissions(
            Entries=[grant(f"arn:aws:iam::{MESH}:role/{ROLE}")], CatalogId=MESH
        )
        with pytest.raises(ClientError) as exc:
            lf.batch_grant_permissions(Entries=[grant(CONSUMER)], CatalogId=MESH)
    assert "ram:CreateResourceShare on resource: *" in _denied(exc)


def test_recording_lists_the_pairs_checked_even_with_authorization_off(
    sandbox: InProcessSandbox,
) -> None:
    glue = sandbox.session(MESH).client("glue", region_name=REGION)
    with recording() as checked:
        glue.create_database(DatabaseInput={"Name": "recorded"})
    arn = f"arn:aws:glue:{REGION}:{MESH}:"
    assert set(checked) >= {
        Checked(MESH, "glue:CreateDatabase", f"{arn}catalog"),
        Checked(MESH, "glue:CreateDatabase", f"{arn}database/recorded"),
    }


def test_kms_authorizes_against_the_key_named_by_id_arn_or_alias(
    sandbox: InProcessSandbox,
) -> None:
    kms_admin = sandbox.session(MESH).client("kms", region_name=REGION)
    allowed = kms_admin.create_key()["KeyMetadata"]
    other = kms_admin.create_key()["KeyMetadata"]
    kms_admin.create_alias(AliasName="alias/allowed", TargetKeyId=allowed["KeyId"])
    kms = _as_role(sandbox, [_allow(["kms:DescribeKey", "kms:ListGrants"], [allowed["Arn"]])])
    client = kms.client("kms", region_name=REGION)
    with enable_iam_authentication():
        # The key ARN is the resource whichever way KeyId names the key.
        for key_id in (allowed["KeyId"], allowed["Arn"], "alias/allowed"):
            assert client.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == allowed["Arn"]
        assert client.list_grants(KeyId=allowed["KeyId"])["Grants"] == []
        with pytest.raises(ClientError) as exc:
            client.describe_key(KeyId=other["KeyId"])
    assert f"kms:DescribeKey on resource: {other['Arn']}" in _denied(exc)


def test_cloudtrail_authorizes_trail_status_against_the_trail_and_lists_against_star(
    sandbox: InProcessSandbox,
) -> None:
    admin = sandbox.session(MESH)
    for name in ("audit", "other"):
        admin.client("s3", region_name=REGION).create_bucket(Bucket=f"{name}-{MESH}")
        admin.client("cloudtrail", region_name=REGION).create_trail(
            Name=name, S3BucketName=f"{name}-{MESH}"
        )
    trail = f"arn:aws:cloudtrail:{REGION}:{MESH}:trail/audit"
    statements = [
        _allow(["cloudtrail:DescribeTrails"], ["*"]),
        _allow(["cloudtrail:GetTrailStatus"], [trail]),
    ]
    client = _as_role(sandbox, statements).client("cloudtrail", region_name=REGION)
    with enable_iam_authentication():
        assert len(client.describe_trails()["trailList"]) == 2
        assert "IsLogging" in client.get_trail_status(Name="audit")
        assert "IsLogging" in client.get_trail_status(Name=trail)
        with pytest.raises(ClientError) as exc:
            client.get_trail_status(Name="other")
    assert "cloudtrail:GetTrailStatus on resource: " + trail.replace("audit", "other") in (
        _denied(exc)
    )


def test_get_bucket_encryption_is_authorized_as_get_encryption_configuration_on_the_bucket(
    sandbox: InProcessSandbox,
) -> None:
    s3_admin = sandbox.session(MESH).client("s3", region_name=REGION)
    for name in ("allowed", "other"):
        s3_admin.create_bucket(Bucket=f"{name}-{MESH}")
        s3_admin.put_bucket_encryption(
            Bucket=f"{name}-{MESH}",
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
    bucket = f"arn:aws:s3:::allowed-{MESH}"
    s3 = _as_role(sandbox, [_allow(["s3:GetEncryptionConfiguration"], [bucket])])
    client = s3.client("s3", region_name=REGION)
    with recording() as checked, enable_iam_authentication():
        rules = client.get_bucket_encryption(Bucket=f"allowed-{MESH}")
        with pytest.raises(ClientError) as exc:
            client.get_bucket_encryption(Bucket=f"other-{MESH}")
    assert rules["ServerSideEncryptionConfiguration"]["Rules"]
    # As S3 words it for the bucket owner's account: the action and the bucket.
    assert "s3:GetEncryptionConfiguration on resource: arn:aws:s3:::other-" in _denied(exc)
    assert Checked(MESH, "s3:GetEncryptionConfiguration", bucket) in checked
