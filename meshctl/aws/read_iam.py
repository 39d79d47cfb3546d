"""IAM reads: the mesh roles and member roles, with trust and inline policy, in pages.

``GetAccountAuthorizationDetails`` (Filter=Role) returns every role with its trust policy,
inline policies and tags in pages of up to 1,000, so reading roles costs one call per page
instead of ListRoles + one GetRolePolicy per role.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from meshctl.aws.api import AccountApi
from meshctl.aws.tracker import MANAGED_BY
from meshctl.codec import canonical_json
from meshctl.observed import Role

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
    inline = {str(p["PolicyName"]): p.get("PolicyDocument") for p in raw.get("RolePolicyList", [])}
    # The library gives each role one inline policy; prefer the one named like the role.
    if name in inline:
        policy_name = name
    elif inline:
        policy_name = sorted(inline)[0]
    else:
        policy_name = ""
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in raw.get("Tags", [])}
    return Role(
        account_id=account_id,
        name=name,
        path=str(raw.get("Path", "/")),
        trust_policy=_document(raw.get("AssumeRolePolicyDocument")),
        policy_name=policy_name,
        policy=_document(inline.get(policy_name)) if policy_name else "",
        managed_by_meshctl=tags.get("ManagedBy") == MANAGED_BY,
    )


def read_roles(api: AccountApi, *, names: Iterable[str] = ()) -> list[Role]:
    """Roles under ``/AwsDataMesh/`` plus any role named in ``names``, whatever its path."""
    wanted = frozenset(names)
    roles: list[Role] = []
    for page in api.pages(
        "iam",
        "get_account_authorization_details",
        token_in="Marker",
        token_out="Marker",
        Filter=["Role"],
        MaxItems=1000,
    ):
        for raw in page.get("RoleDetailList", []):
            if str(raw.get("Path", "")).startswith(MESH_PATH) or raw.get("RoleName") in wanted:
                roles.append(role_from_api(api.account_id, raw))
        if not page.get("IsTruncated"):
            break
    return roles
