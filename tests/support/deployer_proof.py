"""Judging a run against the generated policies: which statement allows a pair, which denial a
removed statement caused, and resources just outside the mesh that the policy must not allow.

Evaluation is moto's own (``moto.iam.access_control.IAMPolicy``), the evaluator the sandbox
enforces with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from moto.iam.access_control import IAMPolicy, PermissionResult

from meshctl.planning.deployer_policy import Side, deployer_policy
from meshctl.planning.policies import Document
from meshctl.sandbox.patch_authorization import Checked
from meshctl.spec.model import MeshSpec

FREE_ACTIONS = frozenset({"sts:GetCallerIdentity"})  # AWS allows it whatever the policies say
_DENIED = re.compile(r"not authorized to perform: (\S+) on resource: ([^\s)]+)")


def allows(policy: Document, action: str, resource: str) -> bool:
    answer = IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)
    return answer is PermissionResult.PERMITTED


def one_statement(statement: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": [statement]}


def side_of(spec: MeshSpec, account_id: str) -> Side:
    return Side.MESH if account_id == spec.mesh.account_id else Side.MEMBER


def needed(spec: MeshSpec, checked: Iterable[Checked]) -> dict[str, set[Checked]]:
    """Sid → the pairs of the run that its statement alone allows (on its side)."""
    pairs = list(checked)
    found: dict[str, set[Checked]] = {}
    for side in Side:
        for statement in deployer_policy(spec, side)["Statement"]:
            sid = statement["Sid"]
            rest = deployer_policy(spec, side, without=[sid])
            for c in pairs:
                if side_of(spec, c.account) is not side:
                    continue
                if allows(one_statement(statement), c.action, c.resource) and not allows(
                    rest, c.action, c.resource
                ):
                    found.setdefault(sid, set()).add(c)
    return found


def denials(errors: Iterable[str]) -> set[tuple[str, str]]:
    """(action, resource) of every AccessDenied an error message quotes."""
    return {(m.group(1), m.group(2)) for e in errors for m in _DENIED.finditer(e)}


def caused_by(spec: MeshSpec, sid: str, denied: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The denials only the statement ``sid`` would have allowed: what its removal caused."""
    out = set()
    for side in Side:
        full = deployer_policy(spec, side)
        ours = [s for s in full["Statement"] if s["Sid"] == sid]
        if not ours:
            continue
        rest = deployer_policy(spec, side, without=[sid])
        for action, resource in denied:
            if allows(one_statement(ours[0]), action, resource) and not allows(
                rest, action, resource
            ):
                out.add((action, resource))
    return out


_FOREIGN = (
    (re.compile(r"^(arn:aws:iam::\d{12}:)(role|user|group)/.*$"), r"\1\2/Admin"),
    (re.compile(r"^(arn:aws:glue:[^:]+:\d{12}:)database/.*$"), r"\1database/hr"),
    (re.compile(r"^(arn:aws:glue:[^:]+:\d{12}:)table/.*$"), r"\1table/hr/salaries"),
    (re.compile(r"^(arn:aws:dynamodb:[^:]+:\d{12}:)table/.*$"), r"\1table/Payroll"),
)
_ACCOUNT = re.compile(r"^(arn:aws:[a-z0-9-]+:[^:]*:)\d{12}(:.*)$")


def outside(resource: str) -> list[str]:
    """Resources of the same type just outside the mesh: another account's, and (for named
    resources) one the mesh does not own in the same account."""
    if resource == "*":
        return []
    found = []
    if _ACCOUNT.match(resource):
        found.append(_ACCOUNT.sub(r"\g<1>000000000000\2", resource))
    for pattern, replacement in _FOREIGN:
        if pattern.match(resource):
            found.append(pattern.sub(replacement, resource))
    return found
