"""``meshctl doctor``'s encryption check: may the role Lake Formation reads product data with
decrypt each SSE-KMS bucket key? A Decrypt grant for the role, or a key-policy statement naming it,
says yes; ``"*"`` with a condition (an AWS managed key's) does not (docs/doctor.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from meshctl.planning.canonical import pathless
from meshctl.planning.doctor_facts import Check, DoctorFacts, Finding, KmsKey, Status
from meshctl.planning.kms import service_linked_role


def key_findings(facts: DoctorFacts) -> Iterator[Finding]:
    role = _registration_role(facts)
    by_key = {k.key: k for k in facts.keys}
    for b in facts.buckets:
        if not b.kms_key:
            continue
        key = by_key.get(b.kms_key)
        if key is None:
            continue
        where = key.account_id or b.account_id
        statement = _decrypt_statement(role)
        if not key.reachable:
            yield Finding(
                where,
                Check.ENCRYPTION,
                Status.WARN,
                f"bucket {b.name} is encrypted with {key.key_arn or key.key} in account "
                f"{where}, which meshctl cannot reach: it cannot tell whether {role} may decrypt",
                f"the key's owner adds to its key policy: {statement}",
                subject=b.name,
            )
        elif key.error:
            yield Finding(
                where,
                Check.ENCRYPTION,
                Status.WARN,
                f"bucket {b.name}: cannot read key {key.key_arn or key.key} ({key.error})",
                "allow the deployer kms:DescribeKey, kms:ListGrants and kms:GetKeyPolicy on it",
                subject=b.name,
            )
        elif _may_decrypt(key, role):
            yield Finding(
                where,
                Check.ENCRYPTION,
                Status.OK,
                f"{role} may decrypt with {key.key_arn} (bucket {b.name})",
                subject=b.name,
            )
        else:
            yield Finding(
                where,
                Check.ENCRYPTION,
                Status.FAIL,
                f"bucket {b.name} is encrypted with {key.key_arn}, which does not let {role} "
                "(the role Lake Formation reads the location with) decrypt: queries through "
                "the mesh fail",
                f"aws kms create-grant --key-id {key.key_arn} --grantee-principal {role} "
                f"--operations Decrypt (or add to the key policy: {statement})",
                subject=b.name,
            )


def _registration_role(facts: DoctorFacts) -> str:
    """The role Lake Formation reads product data with: the role that registered the product
    locations, or the one apply registers them with (the mesh account's service-linked role)."""
    for location in facts.locations or ():
        if location.role_arn:
            return location.role_arn
    return service_linked_role(facts.mesh_account_id)


def _decrypt_statement(role: str) -> str:
    return json.dumps(
        {
            "Sid": "LakeFormationDecrypt",
            "Effect": "Allow",
            "Principal": {"AWS": role},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
        separators=(",", ":"),
    )


def _may_decrypt(key: KmsKey, role: str) -> bool:
    if pathless(role) in {pathless(g) for g in key.decrypt_grantees}:
        return True
    try:
        policy = json.loads(key.policy) if key.policy else {}
    except ValueError:
        return False
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    return any(_allows_decrypt(s, role) for s in statements if isinstance(s, dict))


def _allows_decrypt(statement: dict[str, object], role: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = _strings(statement.get("Action"))
    if not {"kms:Decrypt", "kms:*", "*"} & set(actions):
        return False
    principal = statement.get("Principal")
    names = ["*"] if principal == "*" else []
    if isinstance(principal, dict):
        names = _strings(principal.get("AWS"))
    if pathless(role) in {pathless(n) for n in names}:
        return True
    # "*" with a condition (an AWS managed key's kms:ViaService, kms:CallerAccount) is not
    # taken as allowing the role: doctor does not evaluate conditions.
    return "*" in names and not statement.get("Condition")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []
