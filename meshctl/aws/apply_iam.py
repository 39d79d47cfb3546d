"""IAM role actions: a role at its path with a trust policy and one inline policy (library layout).

Roles meshctl creates carry the tag ``ManagedBy=meshctl``; that tag is how the reader tells them
from roles someone else made.
"""

from __future__ import annotations

from meshctl.aws.context import ApplyContext
from meshctl.aws.tracker import MANAGED_BY
from meshctl.codec import from_json
from meshctl.observed import Role
from meshctl.plan import Action, Change

MANAGED_TAG = [{"Key": "ManagedBy", "Value": MANAGED_BY}]
_EXISTS = frozenset({"EntityAlreadyExists", "EntityAlreadyExistsException"})


def role(ctx: ApplyContext, change: Change) -> None:
    if change.action is Action.DELETE:
        _delete(ctx, from_json(Role, change.before))
        return
    wanted = from_json(Role, change.after)
    before = from_json(Role, change.before) if change.before else None
    created = ctx.api.call(
        "iam",
        "create_role",
        ok_codes=_EXISTS,
        RoleName=wanted.name,
        Path=wanted.path or "/",
        AssumeRolePolicyDocument=wanted.trust_policy,
        Tags=MANAGED_TAG,
    )
    if created is None:  # it exists: bring trust and marker to the wanted state
        ctx.api.require(
            "iam",
            "update_assume_role_policy",
            RoleName=wanted.name,
            PolicyDocument=wanted.trust_policy,
        )
        if wanted.managed_by_meshctl:
            ctx.api.require("iam", "tag_role", RoleName=wanted.name, Tags=MANAGED_TAG)
    if wanted.policy_name and wanted.policy:
        ctx.api.require(
            "iam",
            "put_role_policy",
            RoleName=wanted.name,
            PolicyName=wanted.policy_name,
            PolicyDocument=wanted.policy,
        )
    if before and before.policy_name and before.policy_name != wanted.policy_name:
        ctx.api.call(
            "iam",
            "delete_role_policy",
            absent=True,
            RoleName=wanted.name,
            PolicyName=before.policy_name,
        )


def _delete(ctx: ApplyContext, old: Role) -> None:
    """Inline policies deleted and managed ones detached first: IAM refuses otherwise."""
    if ctx.api.call("iam", "get_role", absent=True, RoleName=old.name) is None:
        return  # already gone
    names: list[str] = []
    for page in ctx.api.pages(
        "iam", "list_role_policies", token_in="Marker", token_out="Marker", RoleName=old.name
    ):
        names += page.get("PolicyNames", [])
        if not page.get("IsTruncated"):
            break
    for name in names:
        ctx.api.call("iam", "delete_role_policy", absent=True, RoleName=old.name, PolicyName=name)
    attached = ctx.api.call("iam", "list_attached_role_policies", absent=True, RoleName=old.name)
    for policy in (attached or {}).get("AttachedPolicies", []):
        ctx.api.call(
            "iam",
            "detach_role_policy",
            absent=True,
            RoleName=old.name,
            PolicyArn=policy["PolicyArn"],
        )
    ctx.api.call("iam", "delete_role", absent=True, RoleName=old.name)
