"""IAM refuses to delete users and groups still in use, as AWS does.

Every test here fails on plain moto 5.2.5, which deleted such users and groups without complaint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from meshctl.sandbox.testing import InProcessSandbox, ServerSandbox

from ._support import MESH

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"}],
    }
)


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
