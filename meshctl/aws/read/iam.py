"""IAM reads: the mesh roles and member roles, with trust and inline policy, and the users and
groups beside them (``mesh.iam_users``), in pages.

``GetAccountAuthorizationDetails`` (Filter=Role, User, Group) returns every role with its trust
policy, inline policies and tags, every user with its groups and tags, and every group with its
inline policies, in pages of up to 1,000 entities. Reading costs one call per page instead of
ListRoles, ListUsers, ListGroups and a GetRolePolicy / GetGroupPolicy per entity. Users and groups
are read whatever ``iam_users`` says: turning the flag off must find meshctl's to delete them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from meshctl.aws.api import AccountApi
from meshctl.aws.tracker import MANAGED_BY
from meshctl.codec import canonical_json
from meshctl.observed import IamUser, Role
from meshctl.planning.policies import assume_policy_name

MESH_PATH = "/AwsDataMesh/"
MEMBER_ROLE_NAMES = frozenset({"DataMeshProducer", "DataMeshConsumer"})


def _document(raw: Any) -> str:
    """Canonical JSON of a policy document (IAM sends URL-encoded JSON; botocore may decode)."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, str):
        try:
            raw = json.loads(unquote(raw))
        except json.JSONDecodeError:
            return str(raw)
    return canonical_json(raw)


def role_from_api(account_id: str, raw: Mapping[str, Any]) -> Role:
    name = str(raw["RoleName"])
    # The library gives each role one inline policy; prefer the one named like the role.
    policy_name, policy = _inline(raw, "RolePolicyList", name)
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in raw.get("Tags", [])}
    return Role(
        account_id=account_id,
        name=name,
        path=str(raw.get("Path", "/")),
        trust_policy=_document(raw.get("AssumeRolePolicyDocument")),
        policy_name=policy_name,
        policy=policy,
        managed_by_meshctl=tags.get("ManagedBy") == MANAGED_BY,
    )


def _inline(raw: Mapping[str, Any], key: str, preferred: str) -> tuple[str, str]:
    """(name, canonical document) of the inline policy named ``preferred``, else the first."""
    inline = {str(p["PolicyName"]): p.get("PolicyDocument") for p in raw.get(key, [])}
    if preferred in inline:
        name = preferred
    elif inline:
        name = sorted(inline)[0]
    else:
        return "", ""
    return name, _document(inline[name])


def iam_user_from_api(
    account_id: str, name: str, user: Mapping[str, Any] | None, group: Mapping[str, Any] | None
) -> IamUser:
    """The user ``name`` and group ``<name>Group`` as one value (either may be missing)."""
    policy_name, policy = _inline(group or {}, "GroupPolicyList", assume_policy_name(name))
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in (user or {}).get("Tags", [])}
    return IamUser(
        account_id=account_id,
        name=name,
        path=str((user or group or {}).get("Path", "/")),
        user_exists=user is not None,
        group_exists=group is not None,
        in_group=user is not None and f"{name}Group" in user.get("GroupList", []),
        policy_name=policy_name,
        policy=policy,
        managed_by_meshctl=tags.get("ManagedBy") == MANAGED_BY,
    )


def read_iam(
    api: AccountApi, *, names: Iterable[str] = (), identities: set[str] | None = None
) -> tuple[list[Role], list[IamUser]]:
    """Roles under ``/AwsDataMesh/`` plus any role named in ``names``, whatever its path; and
    the users (and ``<user>Group`` groups) of the same names or under the same path.

    ``identities``, when given, receives the path-less ARN of every role and user of the account
    (``arn:aws:iam::<id>:role/<name>``): the same pages, no extra call."""
    wanted = frozenset(names)
    if identities is None:
        identities = set()
    prefix = f"arn:aws:iam::{api.account_id}:"
    roles: list[Role] = []
    users: dict[str, Mapping[str, Any]] = {}
    named_groups: dict[str, Mapping[str, Any]] = {}  # every "<x>Group" group, by x
    for page in api.pages(
        "iam", "get_account_authorization_details", page_size=1000, Filter=["Role", "User", "Group"]
    ):
        for raw in page.get("RoleDetailList", []):
            identities.add(f"{prefix}role/{raw.get('RoleName')}")
            if _ours(raw, raw.get("RoleName"), wanted):
                roles.append(role_from_api(api.account_id, raw))
        for raw in page.get("UserDetailList", []):
            identities.add(f"{prefix}user/{raw.get('UserName')}")
            if _ours(raw, raw.get("UserName"), wanted):
                users[str(raw["UserName"])] = raw
        for raw in page.get("GroupDetailList", []):
            name = str(raw.get("GroupName", ""))
            if name.endswith("Group"):
                named_groups[name[: -len("Group")]] = raw
    # A user's group counts whatever its path (made elsewhere by hand, it would otherwise look
    # missing to every plan while CreateGroup answers "exists"); other groups count only under
    # the mesh path or with a wanted name.
    groups = {
        name: raw for name, raw in named_groups.items() if name in users or _ours(raw, name, wanted)
    }
    found = [
        iam_user_from_api(api.account_id, name, users.get(name), groups.get(name))
        for name in sorted(users.keys() | groups.keys())
    ]
    return roles, found


def _ours(raw: Mapping[str, Any], name: Any, wanted: frozenset[str]) -> bool:
    return str(raw.get("Path", "")).startswith(MESH_PATH) or name in wanted
