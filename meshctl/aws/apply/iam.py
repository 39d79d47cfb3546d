"""IAM actions: a role at its path with a trust policy and one inline policy (library layout), and
the user and group beside it (``mesh.iam_users``).

Roles and users meshctl creates carry the tag ``ManagedBy=meshctl``; that tag is how the reader
tells them from those someone else made. IAM groups cannot be tagged: the user's tag stands for
the pair, so it is created first and deleted last (an interrupted apply leaves a tagged user that
the next plan finds, never an untagged group it would leave alone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from meshctl.aws.apply.context import ApplyContext, ChangeFailed
from meshctl.aws.errors import error_message, is_code
from meshctl.aws.tracker import MANAGED_TAGS
from meshctl.codec import from_json
from meshctl.errors import AwsError
from meshctl.observed import IamUser, Role
from meshctl.planning.plan import Action, Change

_EXISTS = frozenset({"EntityAlreadyExists", "EntityAlreadyExistsException"})
# IAM is eventually consistent: a role or user created moments ago (the member role, the user
# beside a role) can be refused in a trust policy as an "Invalid principal" for a few seconds.
# The plan creates principals first; these waits (15 s in all) let IAM catch up.
PRINCIPAL_WAITS = (1.0, 2.0, 4.0, 8.0)
T = TypeVar("T")


def role(ctx: ApplyContext, change: Change) -> None:
    if change.action is Action.DELETE:
        _delete(ctx, from_json(Role, change.before))
        return
    wanted = from_json(Role, change.after)
    before = from_json(Role, change.before) if change.before else None
    if before is not None and before.path != wanted.path:
        # A member role of the right name at another path (made by hand): IAM cannot move a
        # role, and names are unique per account whatever the path, so only a person can fix it.
        raise ChangeFailed(
            f"role {wanted.name} exists at path {before.path}, but the mesh roles trust it at "
            f"{wanted.path}; IAM cannot move a role: delete or rename it, then apply again"
        )
    if before is None or not _update_in_place(ctx, before, wanted):
        _put_role(ctx, wanted)
    if before and before.policy_name and before.policy_name != wanted.policy_name:
        ctx.api.call(
            "iam",
            "delete_role_policy",
            absent=True,
            RoleName=wanted.name,
            PolicyName=before.policy_name,
        )


def _saving_trust(ctx: ApplyContext, write: Callable[[], T]) -> T:
    """``write()`` (a call that saves a trust policy), retried while IAM does not yet know a
    principal the policy names."""
    for wait in PRINCIPAL_WAITS:
        try:
            return write()
        except AwsError as exc:
            if not _unknown_principal(exc):
                raise
            ctx.sleep(wait)
    return write()


def _unknown_principal(exc: AwsError) -> bool:
    cause = exc.__cause__
    return (
        cause is not None
        and is_code(cause, "MalformedPolicyDocument")
        and "invalid principal" in error_message(cause).lower()
    )


def _update_in_place(ctx: ApplyContext, before: Role, wanted: Role) -> bool:
    """Only what differs from ``before`` (the plan's view of the role): a changed trust is one
    call, not four. False when the role has gone since the plan (it is then created)."""
    name = wanted.name
    writes: list[Callable[[], object]] = []
    if before.trust_policy != wanted.trust_policy:
        writes.append(
            lambda: _saving_trust(
                ctx,
                lambda: ctx.api.call(
                    "iam",
                    "update_assume_role_policy",
                    absent=True,
                    RoleName=name,
                    PolicyDocument=wanted.trust_policy,
                ),
            )
        )
    if wanted.managed_by_meshctl and not before.managed_by_meshctl:
        writes.append(
            lambda: ctx.api.call("iam", "tag_role", absent=True, RoleName=name, Tags=MANAGED_TAGS)
        )
    policy = (wanted.policy_name, wanted.policy)
    if wanted.policy_name and wanted.policy and (before.policy_name, before.policy) != policy:
        writes.append(
            lambda: ctx.api.call(
                "iam",
                "put_role_policy",
                absent=True,
                RoleName=name,
                PolicyName=wanted.policy_name,
                PolicyDocument=wanted.policy,
            )
        )
    return all(write() is not None for write in writes)  # stops at the first "no such role"


def _put_role(ctx: ApplyContext, wanted: Role) -> None:
    """Create the role, or bring an existing one to ``wanted`` whatever it holds."""
    created = _saving_trust(
        ctx,
        lambda: ctx.api.call(
            "iam",
            "create_role",
            ok_codes=_EXISTS,
            RoleName=wanted.name,
            Path=wanted.path or "/",
            AssumeRolePolicyDocument=wanted.trust_policy,
            Tags=MANAGED_TAGS,
        ),
    )
    if created is None:  # it exists: bring trust and marker to the wanted state
        _saving_trust(
            ctx,
            lambda: ctx.api.require(
                "iam",
                "update_assume_role_policy",
                RoleName=wanted.name,
                PolicyDocument=wanted.trust_policy,
            ),
        )
        if wanted.managed_by_meshctl:
            ctx.api.require("iam", "tag_role", RoleName=wanted.name, Tags=MANAGED_TAGS)
    if wanted.policy_name and wanted.policy:
        ctx.api.require(
            "iam",
            "put_role_policy",
            RoleName=wanted.name,
            PolicyName=wanted.policy_name,
            PolicyDocument=wanted.policy,
        )


def _delete(ctx: ApplyContext, old: Role) -> None:
    """Inline policies deleted and managed ones detached first: IAM refuses otherwise."""
    if ctx.api.call("iam", "get_role", absent=True, RoleName=old.name) is None:
        return  # already gone
    _strip_policies(ctx, "role", {"RoleName": old.name})
    ctx.api.call("iam", "delete_role", absent=True, RoleName=old.name)


def _strip_policies(ctx: ApplyContext, entity: str, name: dict[str, Any]) -> None:
    """Delete the inline policies of a role or group and detach its managed policies (every
    page listed before the first change, so no deletion shifts the pages)."""
    inline = [
        policy_name
        for page in ctx.api.pages("iam", f"list_{entity}_policies", absent=True, **name)
        for policy_name in page.get("PolicyNames", [])
    ]
    attached = [
        policy["PolicyArn"]
        for page in ctx.api.pages("iam", f"list_attached_{entity}_policies", absent=True, **name)
        for policy in page.get("AttachedPolicies", [])
    ]
    for policy_name in inline:
        ctx.api.call("iam", f"delete_{entity}_policy", absent=True, PolicyName=policy_name, **name)
    for arn in attached:
        ctx.api.call("iam", f"detach_{entity}_policy", absent=True, PolicyArn=arn, **name)


def iam_user(ctx: ApplyContext, change: Change) -> None:
    """User, group, membership and the group's assume-role policy; each step is idempotent."""
    if change.action is Action.DELETE:
        _delete_user(ctx, from_json(IamUser, change.before))
        return
    wanted = from_json(IamUser, change.after)
    before = from_json(IamUser, change.before) if change.before else None
    user, group = wanted.name, wanted.group_name
    created = ctx.api.call(
        "iam", "create_user", ok_codes=_EXISTS, UserName=user, Path=wanted.path, Tags=MANAGED_TAGS
    )
    if created is None and wanted.managed_by_meshctl:  # it exists: adopt it
        ctx.api.require("iam", "tag_user", UserName=user, Tags=MANAGED_TAGS)
    ctx.api.call("iam", "create_group", ok_codes=_EXISTS, GroupName=group, Path=wanted.path)
    if before and before.path != wanted.path:
        ctx.api.call("iam", "update_user", absent=True, UserName=user, NewPath=wanted.path)
        ctx.api.call("iam", "update_group", absent=True, GroupName=group, NewPath=wanted.path)
    ctx.api.require("iam", "add_user_to_group", GroupName=group, UserName=user)
    ctx.api.require(
        "iam",
        "put_group_policy",
        GroupName=group,
        PolicyName=wanted.policy_name,
        PolicyDocument=wanted.policy,
    )
    if before and before.policy_name and before.policy_name != wanted.policy_name:
        old_policy = before.policy_name
        ctx.api.call(
            "iam", "delete_group_policy", absent=True, GroupName=group, PolicyName=old_policy
        )


def _delete_user(ctx: ApplyContext, old: IamUser) -> None:
    """Membership, then the group (policies first), then the user that marks the pair.

    Credentials someone gave the user and policies put on it are never deleted, and IAM refuses
    DeleteUser while any remain; so they are looked for before anything changes, and the change
    fails naming them with the group, its policy and the membership untouched (deleting those
    first left a user without its group that no plan would repair).
    """
    user, group = old.name, old.group_name
    blockers = _delete_blockers(ctx, user)
    if blockers:
        raise ChangeFailed(
            f"IAM user {user} has {_and(blockers)}; meshctl never deletes credentials or user "
            "policies: remove them, then apply again"
        )
    ctx.api.call("iam", "remove_user_from_group", absent=True, GroupName=group, UserName=user)
    if ctx.api.call("iam", "get_group", absent=True, GroupName=group, MaxItems=1) is not None:
        _strip_policies(ctx, "group", {"GroupName": group})
        ctx.api.call("iam", "delete_group", absent=True, GroupName=group)
    ctx.api.call("iam", "delete_user", absent=True, UserName=user)


# What IAM refuses DeleteUser for, besides groups (API_DeleteUser.html): (call, answer key, one,
# many); no key: the answer itself is the one thing (NoSuchEntity when there is none). IAM quotas
# keep each list far below one page of 100 (2 access keys, 8 MFA devices, 2 signing certificates,
# 5 SSH keys, 2 service-specific credentials per service, 20 managed policies, inline policies
# within 2,048 characters), so the first page tells them all.
_USER_BLOCKERS = (
    ("list_access_keys", "AccessKeyMetadata", "access key", "access keys"),
    ("get_login_profile", "", "a console password", ""),
    ("list_mfa_devices", "MFADevices", "MFA device", "MFA devices"),
    ("list_signing_certificates", "Certificates", "signing certificate", "signing certificates"),
    ("list_ssh_public_keys", "SSHPublicKeys", "SSH public key", "SSH public keys"),
    (
        "list_service_specific_credentials",
        "ServiceSpecificCredentials",
        "service-specific credential",
        "service-specific credentials",
    ),
    ("list_user_policies", "PolicyNames", "inline policy", "inline policies"),
    (
        "list_attached_user_policies",
        "AttachedPolicies",
        "attached managed policy",
        "attached managed policies",
    ),
)


def _delete_blockers(ctx: ApplyContext, user: str) -> list[str]:
    """What keeps IAM from deleting ``user``, as phrases ("1 access key", "a console password");
    empty when nothing does or the user is gone."""
    found: list[str] = []
    for method, key, one, many in _USER_BLOCKERS:
        answer = ctx.api.call("iam", method, absent=True, UserName=user)
        if not key:
            found += [one] if answer is not None else []
        elif count := len((answer or {}).get(key, [])):
            found.append(f"{count} {one if count == 1 else many}")
    return found


def _and(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
