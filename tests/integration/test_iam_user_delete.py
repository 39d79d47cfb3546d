"""Deleting a mesh user (``mesh.iam_users`` turned off) is all or nothing (issue 11, bug 4).

IAM refuses DeleteUser while the user holds credentials or policies. meshctl never deletes those,
so it looks for them before changing anything: the change fails naming each one, and the user's
group, the group's policy and the membership stay, ready for the next apply once they are gone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from support.sandbox import InProcessSandbox

from meshctl.aws.apply.executor import Executor
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.codec import canonical_json, to_json
from meshctl.observed import IamUser
from meshctl.outcome import Outcome, Status
from meshctl.planning import policies
from meshctl.planning.plan import Action, Change, Kind
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec

MESH = "555555555555"
CONSUMER = "999999999999"
SPEC = MeshSpec(
    mesh=MeshSettings(MESH, "us-east-1"),
    accounts=(Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),),
)
NAME = f"DataMeshAdminConsumer-{CONSUMER}"
GROUP = f"{NAME}Group"
USER = IamUser(
    account_id=MESH,
    name=NAME,
    path="/AwsDataMesh/",
    policy_name=f"Assume{NAME}",
    policy=canonical_json(policies.assume_role_policy(MESH, NAME)),
    managed_by_meshctl=True,
)
USER_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"}],
    }
)


@pytest.fixture
def sessions(sandbox: InProcessSandbox) -> AccountSessions:
    return AccountSessions(SPEC.mesh, SPEC.accounts)


@pytest.fixture
def iam(sandbox: InProcessSandbox) -> Any:
    return sandbox.session(MESH).client("iam")


def _run(sessions: AccountSessions, action: Action) -> Outcome:
    executor = Executor(
        sessions,
        who="arn:aws:sts::123456789012:user/ci",
        plan_id="plan-1",
        commit=None,
        clock=lambda: datetime(2026, 5, 1, tzinfo=UTC),
        sleep=lambda _: None,
    )
    value = to_json(USER)
    before, after = (value, None) if action is Action.DELETE else (None, value)
    change = Change(USER.address, Kind.IAM_USER, action, MESH, before=before, after=after)
    (outcome,) = executor.execute([change])
    return outcome


def _pair(iam: Any) -> dict[str, Any]:
    """What is left of the user and its group: members, group policies, whether the user exists."""
    users = [u["UserName"] for u in iam.list_users(PathPrefix="/AwsDataMesh/")["Users"]]
    groups = [g["GroupName"] for g in iam.list_groups()["Groups"]]
    left: dict[str, Any] = {"user": NAME in users, "group": GROUP in groups}
    if left["group"]:
        left["members"] = [u["UserName"] for u in iam.get_group(GroupName=GROUP)["Users"]]
        left["group_policies"] = iam.list_group_policies(GroupName=GROUP)["PolicyNames"]
    return left


MADE = {"user": True, "group": True, "members": [NAME], "group_policies": [f"Assume{NAME}"]}
GONE = {"user": False, "group": False}


def _access_key(iam: Any) -> Callable[[], None]:
    key = iam.create_access_key(UserName=NAME)["AccessKey"]["AccessKeyId"]
    return lambda: iam.delete_access_key(UserName=NAME, AccessKeyId=key)


def _login_profile(iam: Any) -> Callable[[], None]:
    iam.create_login_profile(UserName=NAME, Password="Correct-Horse-Battery-1")
    return lambda: iam.delete_login_profile(UserName=NAME)


def _mfa_device(iam: Any) -> Callable[[], None]:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=NAME)["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName=NAME,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return lambda: iam.deactivate_mfa_device(UserName=NAME, SerialNumber=serial)


def _ssh_key(iam: Any) -> Callable[[], None]:
    body = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDmesh admin@example.com"
    key = iam.upload_ssh_public_key(UserName=NAME, SSHPublicKeyBody=body)["SSHPublicKey"]
    return lambda: iam.delete_ssh_public_key(UserName=NAME, SSHPublicKeyId=key["SSHPublicKeyId"])


def _git_credential(iam: Any) -> Callable[[], None]:
    made = iam.create_service_specific_credential(
        UserName=NAME, ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    return lambda: iam.delete_service_specific_credential(
        UserName=NAME, ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
    )


def _inline_policy(iam: Any) -> Callable[[], None]:
    iam.put_user_policy(UserName=NAME, PolicyName="Extra", PolicyDocument=USER_POLICY)
    return lambda: iam.delete_user_policy(UserName=NAME, PolicyName="Extra")


def _attached_policy(iam: Any) -> Callable[[], None]:
    arn = iam.create_policy(PolicyName="Extra", PolicyDocument=USER_POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=NAME, PolicyArn=arn)
    return lambda: iam.detach_user_policy(UserName=NAME, PolicyArn=arn)


@pytest.mark.parametrize(
    ("give", "named"),
    [
        (_access_key, "1 access key"),
        (_login_profile, "a console password"),
        (_mfa_device, "1 MFA device"),
        (_ssh_key, "1 SSH public key"),
        (_git_credential, "1 service-specific credential"),
        (_inline_policy, "1 inline policy"),
        (_attached_policy, "1 attached managed policy"),
    ],
    ids=["access-key", "login-profile", "mfa", "ssh-key", "git-credential", "inline", "attached"],
)
def test_user_holding_credentials_keeps_its_group_until_they_are_removed(
    sessions: AccountSessions, iam: Any, give: Callable[[Any], Callable[[], None]], named: str
) -> None:
    assert _run(sessions, Action.CREATE).status is Status.DONE
    assert _pair(iam) == MADE
    remove = give(iam)

    refused = _run(sessions, Action.DELETE)
    assert refused.status is Status.FAILED
    assert refused.error == (
        f"IAM user {NAME} has {named}; meshctl never deletes credentials or user policies: "
        "remove them, then apply again"
    )
    assert _pair(iam) == MADE  # nothing was half deleted
    # The next plan still finds the whole pair, so it proposes the same delete again.
    assert read_mesh(SPEC, sessions).iam_users == (USER,)

    remove()
    assert _run(sessions, Action.DELETE).status is Status.DONE
    assert _pair(iam) == GONE
    assert read_mesh(SPEC, sessions).iam_users == ()


def test_every_blocker_is_named_in_one_message(sessions: AccountSessions, iam: Any) -> None:
    _run(sessions, Action.CREATE)
    _access_key(iam)
    _access_key(iam)
    _login_profile(iam)
    _git_credential(iam)

    refused = _run(sessions, Action.DELETE)
    blockers = "2 access keys, a console password and 1 service-specific credential"
    assert refused.error.startswith(f"IAM user {NAME} has {blockers}; ")
    assert _pair(iam) == MADE
    assert len(iam.list_access_keys(UserName=NAME)["AccessKeyMetadata"]) == 2
    assert iam.get_login_profile(UserName=NAME)["LoginProfile"]["UserName"] == NAME


def test_deleting_a_user_already_gone_is_done(sessions: AccountSessions, iam: Any) -> None:
    """The checks find nothing on a user deleted since the plan; the delete is still done."""
    _run(sessions, Action.CREATE)
    assert _run(sessions, Action.DELETE).status is Status.DONE
    assert _run(sessions, Action.DELETE).status is Status.DONE
    assert _pair(iam) == GONE
