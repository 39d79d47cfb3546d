"""meshctl doctor against the sandbox: one sandbox built to fail (or warn on) each check, with
real AWS calls, and one that passes every check (the example mesh applied, the deployer a data
lake admin, a CloudTrail trail logging, a KMS-encrypted bucket whose key lets Lake Formation
decrypt)."""

from __future__ import annotations

import json
from pathlib import Path

from support.sandbox import InProcessSandbox

from meshctl.aws.doctor import read_doctor_facts
from meshctl.engine import Engine
from meshctl.planning.doctor import diagnose, failed
from meshctl.planning.doctor_facts import Check, Finding, Status
from meshctl.planning.kms import service_linked_role

from .test_apply import MARKETING, MESH, SALES, SALES_DB, Mesh, without_marketing_share

DEPLOYER = f"arn:aws:iam::{MESH}:role/MeshctlDeployer"
SALES_BUCKET = f"sales-data-{SALES}"  # seed.bucket_name
SLR = service_linked_role(MESH)  # the role apply registers product locations with
OUTSIDE = "444444444444"  # an account the mesh file does not name
IAM_ALLOWED = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}


def doctor(mesh: Mesh, credentials_file: Path | None = None) -> tuple[Finding, ...]:
    engine = Engine(mesh.file.path, credentials_file=credentials_file)
    return diagnose(engine.spec, read_doctor_facts(engine.spec, engine.sessions))


def of(findings: tuple[Finding, ...], check: Check) -> list[Finding]:
    return [f for f in findings if f.check is check]


def only(findings: tuple[Finding, ...], check: Check, subject: str = "") -> Finding:
    [found] = [f for f in of(findings, check) if f.subject == subject]
    return found


def lake_settings(sandbox: InProcessSandbox, **changes: object) -> None:
    lf = sandbox.session(MESH).client("lakeformation")
    settings = lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    lf.put_data_lake_settings(CatalogId=MESH, DataLakeSettings={**settings, **changes})


def encrypt_bucket(sandbox: InProcessSandbox, key_account: str) -> str:
    """SSE-KMS default encryption of the sales bucket with a new key of ``key_account``."""
    key = sandbox.session(key_account).client("kms").create_key()["KeyMetadata"]["Arn"]
    sandbox.session(SALES).client("s3").put_bucket_encryption(
        Bucket=SALES_BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    }
                }
            ]
        },
    )
    return str(key)


def start_trail(sandbox: InProcessSandbox, *, logging: bool = True) -> None:
    session = sandbox.session(MESH)
    session.client("s3").create_bucket(Bucket="mesh-audit-555555555555")
    trail = session.client("cloudtrail")
    trail.create_trail(Name="mesh-audit", S3BucketName="mesh-audit-555555555555")
    if logging:
        trail.start_logging(Name="mesh-audit")


# --- a mesh that passes, and one before its first apply ----------------------------------------


def test_an_applied_mesh_with_an_admin_deployer_and_a_trail_passes_every_check(
    applied: Mesh,
) -> None:
    sandbox = applied.sandbox
    lf = sandbox.session(MESH).client("lakeformation")
    admins = lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]["DataLakeAdmins"]
    lake_settings(sandbox, DataLakeAdmins=[*admins, {"DataLakePrincipalIdentifier": DEPLOYER}])
    start_trail(sandbox)
    key = encrypt_bucket(sandbox, SALES)
    sandbox.session(SALES).client("kms").create_grant(
        KeyId=key, GranteePrincipal=SLR, Operations=["Decrypt"]
    )

    findings = doctor(applied)

    assert [f for f in findings if f.status is not Status.OK] == []
    assert {f.check for f in findings} == set(Check)  # every check ran, and passed
    assert {f.account_id for f in of(findings, Check.CREDENTIALS)} == {
        MESH,
        SALES,
        "222222222222",
        "333333333333",
        MARKETING,
    }


def test_a_seeded_mesh_before_its_first_apply_only_warns(mesh: Mesh) -> None:
    """What `make demo` shows first: what apply repairs is a warning, nothing fails."""
    findings = doctor(mesh)

    assert not failed(findings)
    warned = {f.check for f in findings if f.status is Status.WARN}
    assert warned == {
        Check.CROSS_ACCOUNT_VERSION,  # 1, the mesh declares 4
        Check.DATA_LAKE_ADMINS,
        Check.DEFAULT_PERMISSIONS,  # IAM_ALLOWED_PRINCIPALS, as in a new account
        Check.DATA_LOCATION,  # nothing registered yet
        Check.CLOUDTRAIL,
    }
    assert "apply" in only(findings, Check.DATA_LOCATION, "sales.orders").fix


# --- one sandbox per check --------------------------------------------------------------------


def test_credentials_of_another_account_fail_that_account_only(mesh: Mesh, tmp_path: Path) -> None:
    # A helper-library credentials file whose Consumer keys are not marketing's: STS answers
    # with the account the keys belong to, and plan would read that account instead.
    creds = tmp_path / "credentials.json"
    creds.write_text(
        json.dumps(
            {
                "Consumer": {
                    "AccountId": MARKETING,
                    "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "SecretAccessKey": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
                }
            }
        )
    )
    findings = doctor(mesh, credentials_file=creds)

    by_account = {f.account_id: f for f in of(findings, Check.CREDENTIALS)}
    assert by_account[MARKETING].status is Status.FAIL
    assert "wrong account" in by_account[MARKETING].message
    assert {a for a, f in by_account.items() if f.status is Status.OK} == {
        MESH,
        SALES,
        "222222222222",
        "333333333333",
    }


def test_a_version_below_what_principals_need_is_a_warning(mesh: Mesh) -> None:
    lake_settings(mesh.sandbox, Parameters={"CROSS_ACCOUNT_VERSION": "2"})
    mesh.file.data["mesh"]["cross_account_version"] = 3
    mesh.file.save()

    finding = only(doctor(mesh), Check.CROSS_ACCOUNT_VERSION)

    assert finding.status is Status.WARN
    assert "version 2" in finding.message and "principals need 3" not in finding.message
    assert "sets it to 3" in finding.fix


def test_a_deployer_that_is_no_data_lake_admin_is_a_warning(applied: Mesh) -> None:
    finding = only(doctor(applied), Check.DATA_LAKE_ADMINS)

    assert finding.status is Status.WARN
    assert DEPLOYER in finding.message and "DataMeshManager" in finding.message


def test_default_permissions_for_iam_allowed_principals_are_a_warning(applied: Mesh) -> None:
    assert only(doctor(applied), Check.DEFAULT_PERMISSIONS).status is Status.OK
    lake_settings(
        applied.sandbox,
        CreateTableDefaultPermissions=[{"Principal": IAM_ALLOWED, "Permissions": ["ALL"]}],
    )

    finding = only(doctor(applied), Check.DEFAULT_PERMISSIONS)

    assert finding.status is Status.WARN
    assert "CreateTableDefaultPermissions" in finding.message
    assert "CreateDatabaseDefaultPermissions" not in finding.message


def test_an_iam_allowed_principals_grant_on_a_mesh_table_fails(applied: Mesh) -> None:
    applied.sandbox.session(MESH).client("lakeformation").grant_permissions(
        Principal=IAM_ALLOWED,
        Resource={"Table": {"CatalogId": MESH, "DatabaseName": SALES_DB, "Name": "orders"}},
        Permissions=["SELECT"],
    )

    findings = doctor(applied)

    finding = only(findings, Check.IAM_ALLOWED_PRINCIPALS, f"table {SALES_DB}.orders")
    assert finding.status is Status.FAIL and failed(findings)
    assert "revoke-permissions" in finding.fix and "SELECT" in finding.fix


def test_a_product_location_in_hybrid_access_mode_is_a_warning(mesh: Mesh) -> None:
    mesh.sandbox.session(MESH).client("lakeformation").register_resource(
        ResourceArn=f"arn:aws:s3:::{SALES_BUCKET}/sales",
        UseServiceLinkedRole=True,
        HybridAccessEnabled=True,
    )
    findings = doctor(mesh)

    assert only(findings, Check.DATA_LOCATION, "sales.orders").status is Status.OK
    hybrid = only(findings, Check.HYBRID_ACCESS, "sales.orders")
    assert hybrid.status is Status.WARN
    assert "--no-hybrid-access-enabled" in hybrid.fix
    assert of(findings, Check.HYBRID_ACCESS) == [hybrid]  # the others are not registered yet


def test_a_missing_source_table_fails_its_product(mesh: Mesh) -> None:
    mesh.sandbox.session(SALES).client("glue").delete_table(DatabaseName="sales", Name="orders")

    findings = doctor(mesh)

    finding = only(findings, Check.SOURCE_TABLES, "sales.orders")
    assert finding.status is Status.FAIL and "lacks orders" in finding.message
    assert only(findings, Check.SOURCE_TABLES, "finance.invoices").status is Status.OK


def test_a_missing_bucket_fails(mesh: Mesh) -> None:
    mesh.sandbox.session(SALES).client("s3").delete_bucket(Bucket=SALES_BUCKET)

    finding = only(doctor(mesh), Check.BUCKET, SALES_BUCKET)

    assert finding.status is Status.FAIL and finding.account_id == SALES


def test_a_key_that_does_not_let_lake_formation_decrypt_fails(mesh: Mesh) -> None:
    key = encrypt_bucket(mesh.sandbox, SALES)

    finding = only(doctor(mesh), Check.ENCRYPTION, SALES_BUCKET)

    assert finding.status is Status.FAIL
    assert key in finding.message and SLR in finding.message
    assert f"aws kms create-grant --key-id {key} --grantee-principal {SLR}" in finding.fix


def test_a_key_policy_statement_for_the_role_lets_it_decrypt(mesh: Mesh) -> None:
    key = encrypt_bucket(mesh.sandbox, SALES)
    kms = mesh.sandbox.session(SALES).client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": SLR}, "Action": "kms:Decrypt", "Resource": "*"}
    )
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))

    assert only(doctor(mesh), Check.ENCRYPTION, SALES_BUCKET).status is Status.OK


def test_a_key_in_an_account_meshctl_cannot_reach_warns_with_the_statement(mesh: Mesh) -> None:
    key = encrypt_bucket(mesh.sandbox, OUTSIDE)

    finding = only(doctor(mesh), Check.ENCRYPTION, SALES_BUCKET)

    assert finding.status is Status.WARN and finding.account_id == OUTSIDE
    statement = json.loads(finding.fix.split("key policy: ", 1)[1])
    assert statement["Principal"] == {"AWS": SLR} and statement["Action"] == "kms:Decrypt"
    assert key in finding.message


def test_a_trail_that_is_not_logging_is_a_warning(mesh: Mesh) -> None:
    start_trail(mesh.sandbox, logging=False)

    finding = only(doctor(mesh), Check.CLOUDTRAIL)

    assert finding.status is Status.WARN and "mesh-audit stopped" in finding.message


def test_an_invitation_sent_outside_meshctl_is_a_warning_with_its_accept_command(
    applied: Mesh,
) -> None:
    sandbox = applied.sandbox
    # Someone grants marketing a table by hand, which sends it a new invitation.
    without_marketing_share(applied)
    sandbox.session(MESH).client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": MARKETING},
        Resource={"Table": {"CatalogId": MESH, "DatabaseName": SALES_DB, "Name": "orders"}},
        Permissions=["SELECT"],
    )
    ram = sandbox.session(MARKETING).client("ram")
    [invitation] = [
        i["resourceShareInvitationArn"]
        for i in ram.get_resource_share_invitations()["resourceShareInvitations"]
        if i["status"] == "PENDING"
    ]

    [finding] = [f for f in of(doctor(applied), Check.INVITATIONS) if f.status is Status.WARN]
    assert finding.account_id == MARKETING
    assert finding.message.startswith("1 RAM invitation from the mesh account pending")
    assert f"--resource-share-invitation-arn {invitation}" in finding.fix

    ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation)
    assert {f.status for f in of(doctor(applied), Check.INVITATIONS)} == {Status.OK}
