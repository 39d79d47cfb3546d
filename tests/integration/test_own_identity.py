"""meshctl run with the caller's own credentials in the mesh account (no deployer role, no
``role_arn``, not a data lake admin): what Lake Formation lists for that identity as the creator
of the mesh databases is meshctl's own footprint, neither unmanaged access nor a --prune target."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from support.sandbox import InProcessSandbox

from meshctl.engine import Engine
from meshctl.planning.plan import Action, Kind
from meshctl.sandbox.seed import seed_producers

from ._meshfile import MeshFile

MESH = "555555555555"
NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
CI_ROLE = "PlatformCi"


def _become(monkeypatch: pytest.MonkeyPatch, role_arn: str) -> None:
    """Ambient credentials of a role session, as a CI job's OIDC role gives them."""
    creds = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="ci-run")
    for name, key in (
        ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
        ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
        ("AWS_SESSION_TOKEN", "SessionToken"),
    ):
        monkeypatch.setenv(name, creds["Credentials"][key])


def test_the_callers_own_creator_grants_are_neither_unmanaged_nor_pruned(
    sandbox: InProcessSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = sandbox.session(MESH).client("iam")
    iam.create_role(RoleName=CI_ROLE, Path="/ci/", AssumeRolePolicyDocument="{}")
    _become(monkeypatch, f"arn:aws:iam::{MESH}:role/ci/{CI_ROLE}")
    file = MeshFile(tmp_path / "mesh.yaml")
    engine = Engine(file.path, clock=lambda: NOW)
    assert engine.sessions.caller_arn().startswith(f"arn:aws:sts::{MESH}:assumed-role/{CI_ROLE}/")
    seed_producers(engine.spec, sandbox.session)
    with engine.locked("apply"):
        result = engine.execute(engine.plan(), max_revokes=100, allow_mass_revoke=False)
    assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]
    # What Lake Formation records for the creator of a mesh database it made.
    database = engine.spec.products[0].mesh_database
    sandbox.session(MESH).client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": f"arn:aws:iam::{MESH}:role/ci/{CI_ROLE}"},
        Resource={"Database": {"CatalogId": MESH, "Name": database}},
        Permissions=["ALL"],
        PermissionsWithGrantOption=["ALL"],
    )

    for prune in (False, True):
        plan = Engine(file.path, clock=lambda: NOW).plan(prune=prune)
        mentions = [c for c in plan.changes if c.kind is Kind.GRANT and CI_ROLE in c.address]
        assert mentions == [], f"prune={prune}: {[(c.address, c.action) for c in mentions]}"
        assert not [c for c in plan.changes if c.action is Action.DELETE], f"prune={prune}"
