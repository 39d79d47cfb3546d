"""`meshctl deployer-policy` is sufficient and minimal, proven in the sandbox with IAM enforced.

A deployer holding only the generated policies runs plan, apply, a second plan, import,
`meshctl access` and `meshctl doctor` of tests/data/deployer/mesh.yaml (every feature: a ["*"]
product and listed tables, column and row restrictions, principals, iam_users, a denied and a
pending subscription, `kms_key_arn: bucket` products on SSE-KMS buckets under a producer's key and
under a mesh-account key)
with moto's IAM authorization on (and the sandbox's resource-level evaluation,
patch_authorization), then applies mesh-after-removal.yaml (deletes of every kind) with the same
policies. Then each statement is shown to be needed: without it, the step that needs it
fails with AccessDenied for an action only that statement allows. Reads (plan's and doctor's)
are shown on the applied mesh; apply's statements are removed a few at a time from a fresh mesh
(each failure is checked to be one only the removed statement explains);
tests/reliability/test_deployer_policy_each.py removes every statement alone.
"""

from __future__ import annotations

import pytest
from support.deployer import PHASES, REMOVED_FILE, DeployerMesh, build
from support.deployer_proof import (
    FREE_ACTIONS,
    allows,
    caused_by,
    denials,
    needed,
    outside,
    side_of,
)
from support.sandbox import InProcessSandbox

from meshctl.planning.deployer_policy import Side, deployer_policy
from meshctl.sandbox.patch_authorization import Checked
from meshctl.spec.load import load_spec

# Apply's statements, in the order apply first needs them. A change that fails skips what depends
# on it (users → roles → lake settings → mesh databases → filters → grants → links → records), so
# one mesh is applied step by step: each apply runs without one step's statements (with the
# independent ones beside the first: the subscription table, catalog policy, LF-tags, locations)
# and with the earlier ones restored, and gets one step further. The lock goes first: without it
# nothing runs.
APPLY_STEPS = (
    ("ApplyLock",),
    (
        "MeshUsers",
        "MemberUsers",
        "WriteSubscriptions",
        "CatalogPolicy",
        "LfTags",
        "RegisterLocations",
    ),
    ("MeshGroups", "MemberGroups", "LakeFormationServiceRole"),
    ("MeshRoles", "MemberRoles"),
    ("LakeSettings",),
    ("MeshDatabases",),
    ("DataCellsFilters", "LakeFormationGrants", "MeshKeyGrants", "MemberKeyGrants"),
    ("LakeFormationSharing",),
    ("AcceptInvitations",),
    ("ResourceLinks",),
    ("LinkGrants",),
)
# Statements every read needs; each is removed from the applied mesh, before a plan.
READ_STATEMENTS = (
    "AssumeMemberDeployers",
    "ReadSubscriptions",
    "ReadIam",
    "ReadMemberIam",
    "ReadMeshCatalog",
    "ReadLakeFormation",
    "ReadMemberCatalog",
    "ReadLinkGrants",
    "ReadBucketEncryption",
)
# Doctor's own reads; each is removed from the applied mesh, before a doctor run. Once applies
# keep the invitation journal, a plan lists invitations only where an apply left one, and doctor
# in every member account.
DOCTOR_STATEMENTS = (
    "DoctorMeshKeys",
    "DoctorMemberKeys",
    "DoctorTrails",
    "DoctorTrailStatus",
    "ReadInvitations",
)


def _run(
    mesh: DeployerMesh, phases: tuple[str, ...]
) -> tuple[dict[str, list[str]], dict[str, list[Checked]]]:
    errors: dict[str, list[str]] = {}
    checked: dict[str, list[Checked]] = {}
    for phase in phases:
        with mesh.enforced() as seen:
            found = mesh.run(phase)
        checked[phase] = list(seen)
        if found:
            errors[phase] = found
    return errors, checked


def test_a_deployer_with_only_the_generated_policies_runs_every_command(
    sandbox: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = build(sandbox, monkeypatch)
    errors, checked = _run(mesh, (*PHASES, "remove"))
    assert errors == {}
    pairs = {c for seen in checked.values() for c in seen if c.action not in FREE_ACTIONS}
    services = {c.action.split(":")[0] for c in pairs}
    # Every service meshctl uses was authorized, Lake Formation and RAM included.
    assert services == {
        "cloudtrail",
        "dynamodb",
        "glue",
        "iam",
        "kms",
        "lakeformation",
        "ram",
        "s3",
        "sts",
    }
    policies = {side: deployer_policy(mesh.spec, side) for side in Side}
    # Resource scoping: each pair the run needed is allowed; the same action on a resource just
    # outside the mesh (another account, a role outside /AwsDataMesh/, a database or table the
    # mesh does not own, another DynamoDB table) is not.
    too_broad = []
    for c in sorted(pairs):
        policy = policies[side_of(mesh.spec, c.account)]
        assert allows(policy, c.action, c.resource), c
        too_broad += [(c.action, r) for r in outside(c.resource) if allows(policy, c.action, r)]
    assert too_broad == []
    # ... and every statement of both policies alone allowed some request of the run.
    assert set(needed(mesh.spec, pairs)) == {
        s["Sid"] for side in Side for s in policies[side]["Statement"]
    }


def test_without_any_one_statement_the_step_needing_it_is_denied_that_action(
    sandbox: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = build(sandbox, monkeypatch)
    sids = {s["Sid"] for side in Side for s in deployer_policy(mesh.spec, side)["Statement"]}
    assert sorted(sids) == sorted(
        [*READ_STATEMENTS, *DOCTOR_STATEMENTS, *(sid for step in APPLY_STEPS for sid in step)]
    )
    unproven: list[tuple[str, str, list[str]]] = []
    for step in APPLY_STEPS:
        mesh.put_policies(without=step)
        errors, _ = _run(mesh, ("apply",))
        denied = denials(errors.get("apply", []))
        unproven += [
            (sid, "apply", errors.get("apply", []))
            for sid in step
            if not caused_by(mesh.spec, sid, denied)
        ]
    mesh.put_policies()
    assert _run(mesh, ("apply", "plan again"))[0] == {}  # with every statement back, it converges
    for sid in READ_STATEMENTS:
        mesh.put_policies(without=[sid])
        errors, _ = _run(mesh, ("plan",))
        if not caused_by(mesh.spec, sid, denials(errors.get("plan", []))):
            unproven.append((sid, "plan", errors.get("plan", [])))
    for sid in DOCTOR_STATEMENTS:
        mesh.put_policies(without=[sid])
        errors, _ = _run(mesh, ("doctor",))
        if not caused_by(mesh.spec, sid, denials(errors.get("doctor", []))):
            unproven.append((sid, "doctor", errors.get("doctor", [])))
    assert [(sid, phase) for sid, phase, _ in unproven] == [], unproven
    # A removal needs the policy of the file before it (docs/deployer-policy.md): the new file's
    # names nothing of what goes. Once applied, the new file's policy is enough.
    removed = load_spec(REMOVED_FILE)
    mesh.put_policies(spec=removed)
    errors, _ = _run(mesh, ("remove",))
    finance = mesh.spec.account("finance").account_id  # the removed product's producer
    gone = f"arn:aws:glue:us-east-1:{finance}:database/finance-invoices"  # its resource link
    assert ("glue:DeleteDatabase", gone) in denials(errors["remove"])
    mesh.put_policies()
    assert _run(mesh, ("remove",))[0] == {}
    mesh.put_policies(spec=removed)
    assert _run(mesh, ("plan after removal",))[0] == {}
