"""IAM refuses to delete users and groups still in use, and to trust principals that do not exist.

Every test here but the one for unresolved principals fails on plain moto 5.2.5, which deleted such
users and groups without complaint, accepted any principal in a trust policy and had no
service-specific credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.sandbox import InProcessSandbox, ServerSandbox

from ._support import CONSUMER, MESH, PRODUCER

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"}],
    }
)


PRODUCER_ROLE = f"arn:aws:iam::{PRODUCER}:role/AwsDataMesh/DataMeshProducer"


def trust(*principals: str) -> dict[str, Any]:
    """A trust policy letting the IAM ``principals`` assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": list(principals)},
                "Action": "sts:AssumeRole",
            }
        ],
    }


@pytest.fixture
def iam(sandbox: InProcessSandbox) -> Any:
    return sandbox.session(MESH).client("iam")


def _refused(delete: Callable[..., Any], message: str, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        delete(**kwargs)
    assert caught.value.response["Error"]["Code"] == "DeleteConflict"
    assert caught.value.response["Error"]["Message"] == f"Cannot delete entity, {message}"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def _user_names(iam: Any) -> list[str]:
    return [user["UserName"] for user in iam.list_users()["Users"]]


def _group_names(iam: Any) -> list[str]:
    return [group["GroupName"] for group in iam.list_groups()["Groups"]]


def test_delete_user_in_a_group_is_refused_until_removed(iam: Any) -> None:
    """Plain moto deleted the user and left it listed as a member of the group."""
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="analysts")
    iam.add_user_to_group(GroupName="analysts", UserName="alice")

    _refused(iam.delete_user, "must remove users from group first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.remove_user_from_group(GroupName="analysts", UserName="alice")
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_user_with_access_keys_is_refused_until_keys_deleted(iam: Any) -> None:
    """Plain moto deleted a user that still had an access key."""
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]

    _refused(iam.delete_user, "must delete access keys first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.delete_access_key(UserName="alice", AccessKeyId=key)
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_user_with_login_profile_is_refused_until_profile_deleted(iam: Any) -> None:
    """Plain moto deleted a user that still had a console password."""
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-1")

    _refused(iam.delete_user, "must delete login profile first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.delete_login_profile(UserName="alice")
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_group_with_members_is_refused_until_removed(iam: Any) -> None:
    """Plain moto deleted a group that still had members."""
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="analysts")
    iam.add_user_to_group(GroupName="analysts", UserName="alice")

    _refused(iam.delete_group, "must remove users from group first.", GroupName="analysts")
    assert _group_names(iam) == ["analysts"]

    iam.remove_user_from_group(GroupName="analysts", UserName="alice")
    iam.delete_group(GroupName="analysts")
    assert _group_names(iam) == []


def test_delete_group_with_inline_policy_is_refused_until_policy_deleted(iam: Any) -> None:
    """Plain moto deleted a group that still had an inline policy."""
    iam.create_group(GroupName="analysts")
    iam.put_group_policy(GroupName="analysts", PolicyName="read", PolicyDocument=POLICY)

    _refused(iam.delete_group, "must delete policies first.", GroupName="analysts")
    assert _group_names(iam) == ["analysts"]

    iam.delete_group_policy(GroupName="analysts", PolicyName="read")
    iam.delete_group(GroupName="analysts")
    assert _group_names(iam) == []


def test_delete_group_with_attached_policy_is_refused_until_detached(iam: Any) -> None:
    """Plain moto deleted a group that still had a managed policy attached."""
    iam.create_group(GroupName="analysts")
    arn = iam.create_policy(PolicyName="read", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="analysts", PolicyArn=arn)

    _refused(iam.delete_group, "must detach all policies first.", GroupName="analysts")
    assert _group_names(iam) == ["analysts"]

    iam.detach_group_policy(GroupName="analysts", PolicyArn=arn)
    iam.delete_group(GroupName="analysts")
    assert _group_names(iam) == []


def _certificate() -> str:
    """A self-signed X.509 certificate in PEM, as UploadSigningCertificate takes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_delete_user_with_signing_certificate_is_refused_until_deleted(iam: Any) -> None:
    """DeleteUser (AWS IAM API reference): remove the signing certificate first
    (DeleteSigningCertificate). Plain moto deleted the user."""
    iam.create_user(UserName="alice")
    body = _certificate()
    cert = iam.upload_signing_certificate(UserName="alice", CertificateBody=body)
    cert_id = cert["Certificate"]["CertificateId"]

    _refused(iam.delete_user, "must delete certificates first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.delete_signing_certificate(UserName="alice", CertificateId=cert_id)
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_user_with_ssh_public_key_is_refused_until_deleted(iam: Any) -> None:
    """DeleteUser (AWS IAM API reference): remove the SSH public key first (DeleteSSHPublicKey).
    Plain moto deleted the user."""
    iam.create_user(UserName="alice")
    body = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDalice alice@example.com"
    key_id = iam.upload_ssh_public_key(UserName="alice", SSHPublicKeyBody=body)["SSHPublicKey"][
        "SSHPublicKeyId"
    ]

    _refused(iam.delete_user, "must remove referenced objects first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.delete_ssh_public_key(UserName="alice", SSHPublicKeyId=key_id)
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_user_with_mfa_device_is_refused_until_deactivated(iam: Any) -> None:
    """DeleteUser (AWS IAM API reference): remove the MFA device first (DeactivateMFADevice).
    Plain moto deleted the user."""
    iam.create_user(UserName="alice")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )

    _refused(iam.delete_user, "must delete MFA device first.", UserName="alice")
    assert _user_names(iam) == ["alice"]

    iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def _credential_ids(iam: Any, **kwargs: Any) -> list[str]:
    answer = iam.list_service_specific_credentials(UserName="alice", **kwargs)
    return [c["ServiceSpecificCredentialId"] for c in answer["ServiceSpecificCredentials"]]


def test_service_specific_credentials_are_kept_per_user_and_block_delete(iam: Any) -> None:
    """CreateServiceSpecificCredential / ListServiceSpecificCredentials /
    DeleteServiceSpecificCredential (AWS IAM API reference): at most two per service and user,
    listed without their password, filtered by ServiceName; DeleteUser refuses a user holding one
    (Git credentials). Plain moto implemented none of the three calls."""
    iam.create_user(UserName="alice")
    assert _credential_ids(iam) == []

    made = iam.create_service_specific_credential(
        UserName="alice", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    assert made["ServiceUserName"] == f"alice-at-{MESH}" and made["ServicePassword"]
    assert made["Status"] == "Active"
    second = iam.create_service_specific_credential(
        UserName="alice", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    with pytest.raises(ClientError) as limit:
        iam.create_service_specific_credential(
            UserName="alice", ServiceName="codecommit.amazonaws.com"
        )
    assert limit.value.response["Error"]["Code"] == "LimitExceeded"
    keyspaces = iam.create_service_specific_credential(
        UserName="alice", ServiceName="cassandra.amazonaws.com"
    )["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]

    listed = iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]
    assert all("ServicePassword" not in c for c in listed)
    assert sorted(c["ServiceSpecificCredentialId"] for c in listed) == sorted(
        [made["ServiceSpecificCredentialId"], second, keyspaces]
    )
    assert _credential_ids(iam, ServiceName="cassandra.amazonaws.com") == [keyspaces]

    _refused(iam.delete_user, "must remove referenced objects first.", UserName="alice")
    for credential_id in _credential_ids(iam):
        iam.delete_service_specific_credential(
            UserName="alice", ServiceSpecificCredentialId=credential_id
        )
    assert _credential_ids(iam) == []
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_service_specific_credential_errors(iam: Any) -> None:
    """An unsupported service answers NotSupportedService; an unknown user or credential
    NoSuchEntity (404), as the AWS IAM API reference lists for these calls."""
    iam.create_user(UserName="alice")
    with pytest.raises(ClientError) as unsupported:
        iam.create_service_specific_credential(UserName="alice", ServiceName="s3.amazonaws.com")
    assert unsupported.value.response["Error"]["Code"] == "NotSupportedService"
    with pytest.raises(ClientError) as unknown_user:
        iam.list_service_specific_credentials(UserName="bob")
    assert unknown_user.value.response["Error"]["Code"] == "NoSuchEntity"
    assert unknown_user.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as unknown_credential:
        iam.delete_service_specific_credential(
            UserName="alice", ServiceSpecificCredentialId="ACCAEXAMPLE123456789"
        )
    assert unknown_credential.value.response["Error"]["Code"] == "NoSuchEntity"


def test_service_specific_credentials_over_http(sandbox_server: ServerSandbox) -> None:
    """Through moto's server too: the calls answer and the credential blocks DeleteUser."""
    iam = sandbox_server.session(MESH).client("iam")
    iam.create_user(UserName="alice")
    iam.create_service_specific_credential(UserName="alice", ServiceName="codecommit.amazonaws.com")
    (credential_id,) = _credential_ids(iam)
    _refused(iam.delete_user, "must remove referenced objects first.", UserName="alice")
    iam.delete_service_specific_credential(
        UserName="alice", ServiceSpecificCredentialId=credential_id
    )
    iam.delete_user(UserName="alice")
    assert _user_names(iam) == []


def test_delete_user_and_group_refused_over_http(sandbox_server: ServerSandbox) -> None:
    """Through moto's server too: plain moto deleted both the member and its group."""
    iam = sandbox_server.session(MESH).client("iam")
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="analysts")
    iam.add_user_to_group(GroupName="analysts", UserName="alice")

    _refused(iam.delete_user, "must remove users from group first.", UserName="alice")
    _refused(iam.delete_group, "must remove users from group first.", GroupName="analysts")

    iam.remove_user_from_group(GroupName="analysts", UserName="alice")
    iam.delete_user(UserName="alice")
    iam.delete_group(GroupName="analysts")
    assert _user_names(iam) == [] and _group_names(iam) == []


def _invalid_principal(call: Callable[..., Any], arn: str, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert (
        caught.value.response["Error"]["Message"] == f'Invalid principal in policy: "AWS":"{arn}"'
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _role_names(iam: Any) -> list[str]:
    return [role["RoleName"] for role in iam.list_roles()["Roles"]]


def _create_producer_role(sandbox: InProcessSandbox | ServerSandbox, path: str) -> None:
    sandbox.session(PRODUCER).client("iam").create_role(
        RoleName="DataMeshProducer",
        Path=path,
        AssumeRolePolicyDocument=json.dumps(trust(f"arn:aws:iam::{PRODUCER}:root")),
    )


def test_create_role_trusting_missing_role_in_another_account_is_refused_until_it_exists(
    sandbox: InProcessSandbox, iam: Any
) -> None:
    """Plain moto created a role trusting a role that no account has."""
    document = json.dumps(trust(PRODUCER_ROLE))
    _invalid_principal(
        iam.create_role, PRODUCER_ROLE, RoleName="Reader", AssumeRolePolicyDocument=document
    )
    assert _role_names(iam) == []

    _create_producer_role(sandbox, "/AwsDataMesh/")
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=document)
    assert iam.get_role(RoleName="Reader")["Role"]["AssumeRolePolicyDocument"] == trust(
        PRODUCER_ROLE
    )


def test_create_role_trusting_role_at_another_path_is_refused(
    sandbox: InProcessSandbox, iam: Any
) -> None:
    """The ARN carries the path: the same name at "/" is another principal."""
    _create_producer_role(sandbox, "/")
    _invalid_principal(
        iam.create_role,
        PRODUCER_ROLE,
        RoleName="Reader",
        AssumeRolePolicyDocument=json.dumps(trust(PRODUCER_ROLE)),
    )
    assert _role_names(iam) == []

    at_root = f"arn:aws:iam::{PRODUCER}:role/DataMeshProducer"
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=json.dumps(trust(at_root)))
    assert _role_names(iam) == ["Reader"]


def test_create_role_reports_the_first_missing_principal_of_a_list(
    sandbox: InProcessSandbox, iam: Any
) -> None:
    """Existing principals pass; the missing one after them is the one named."""
    _create_producer_role(sandbox, "/AwsDataMesh/")
    missing = f"arn:aws:iam::{CONSUMER}:role/AwsDataMesh/DataMeshConsumer"
    _invalid_principal(
        iam.create_role,
        missing,
        RoleName="Reader",
        AssumeRolePolicyDocument=json.dumps(
            trust(f"arn:aws:iam::{MESH}:root", PRODUCER_ROLE, missing)
        ),
    )
    assert _role_names(iam) == []


def test_create_role_cannot_trust_itself(iam: Any) -> None:
    """AWS resolves principals before the role exists, so a role cannot name itself."""
    itself = f"arn:aws:iam::{MESH}:role/Reader"
    _invalid_principal(
        iam.create_role,
        itself,
        RoleName="Reader",
        AssumeRolePolicyDocument=json.dumps(trust(itself)),
    )
    assert _role_names(iam) == []


def test_update_assume_role_policy_naming_missing_user_is_refused_until_user_exists(
    iam: Any,
) -> None:
    """Plain moto saved a trust in a user that did not exist; the old trust must stay."""
    root = trust(f"arn:aws:iam::{MESH}:root")
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=json.dumps(root))
    alice = f"arn:aws:iam::{MESH}:user/analysts/alice"
    document = {**trust(), "Statement": [{**trust()["Statement"][0], "Principal": {"AWS": alice}}]}

    _invalid_principal(
        iam.update_assume_role_policy,
        alice,
        RoleName="Reader",
        PolicyDocument=json.dumps(document),
    )
    assert iam.get_role(RoleName="Reader")["Role"]["AssumeRolePolicyDocument"] == root

    iam.create_user(UserName="alice", Path="/analysts/")
    iam.update_assume_role_policy(RoleName="Reader", PolicyDocument=json.dumps(document))
    assert iam.get_role(RoleName="Reader")["Role"]["AssumeRolePolicyDocument"] == document


def test_trust_in_roots_account_ids_and_services_is_not_resolved(iam: Any) -> None:
    """AWS resolves only role and user ARNs; this guards against refusing more than it does."""
    unknown = "123456789012"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "AWS": [
                        f"arn:aws:iam::{unknown}:root",
                        unknown,
                        "*",
                        f"arn:aws:sts::{unknown}:assumed-role/Gone/session",
                    ]
                },
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {
                    "Service": "glue.amazonaws.com",
                    "AWS": f"arn:aws:iam::{PRODUCER}:root",
                },
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{unknown}:saml-provider/Gone"},
                "Action": "sts:AssumeRoleWithSAML",
            },
        ],
    }
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=json.dumps(document))
    iam.update_assume_role_policy(RoleName="Reader", PolicyDocument=json.dumps(document))
    assert iam.get_role(RoleName="Reader")["Role"]["AssumeRolePolicyDocument"] == document


def test_trust_in_missing_role_refused_over_http(sandbox_server: ServerSandbox) -> None:
    """Through moto's server too: plain moto created the role trusting nobody that exists."""
    iam = sandbox_server.session(MESH).client("iam")
    document = json.dumps(trust(PRODUCER_ROLE))
    _invalid_principal(
        iam.create_role, PRODUCER_ROLE, RoleName="Reader", AssumeRolePolicyDocument=document
    )
    assert _role_names(iam) == []

    _create_producer_role(sandbox_server, "/AwsDataMesh/")
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=document)
    assert _role_names(iam) == ["Reader"]


def test_roles_are_listed_from_a_snapshot_while_another_request_creates_one(
    sandbox: InProcessSandbox,
) -> None:
    """AWS serves CreateRole calls of one account at once (meshctl creates the mesh roles on
    parallel workers); the sandbox's role list must not break while another thread adds one."""
    from moto.iam.models import iam_backends

    iam = sandbox.session(MESH).client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust)
    backend = iam_backends[MESH]["aws"]
    seen = []
    for role in backend.get_roles():  # what CreateRole and GetRole iterate
        seen.append(role.name)
        iam.create_role(RoleName=f"made-while-listing-{len(seen)}", AssumeRolePolicyDocument=trust)
    assert seen == ["first"]
    assert len(iam.list_roles()["Roles"]) == 2
