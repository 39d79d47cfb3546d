"""A mesh run by a deployer holding only the generated policies, with moto's IAM authorization on.

Every account gets the role ``MeshctlDeployer`` (finance reaches it by its ``role_arn``) with the
policy ``meshctl deployer-policy`` prints for its side; meshctl runs as the mesh account's deployer
(as in CI, where GitHub OIDC assumes it), so it uses those credentials in the mesh account and
assumes each member's deployer from them. Setup (seeding the producers, the roles) happens before
authorization is switched on, as the bootstrap identity; ``put_policies`` switches it off for a
moment to change a policy. The mesh's ``kms_key_arn: bucket`` products get SSE-KMS buckets (sales
under a key of its own account, logistics under a central key of the mesh account, so both
policies' KMS statements are exercised), and the mesh account a logging CloudTrail trail, so
``doctor`` reads everything it can.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.authorization import disable_iam_authentication, enable_iam_authentication

from meshctl.aws.doctor import read_doctor_facts
from meshctl.aws.read.for_import import read_for_import
from meshctl.aws.sessions import AccountSessions
from meshctl.engine import Engine
from meshctl.errors import MeshctlError
from meshctl.importer.build import import_mesh
from meshctl.planning.deployer_policy import DEPLOYER_ROLE, Side, deployer_policy
from meshctl.planning.live_access import live_access
from meshctl.sandbox.patch_authorization import Checked, recording
from meshctl.sandbox.seed import bucket_name, seed_producers
from meshctl.spec.load import load_spec
from meshctl.spec.model import BUCKET_KEY, MeshSpec
from support.sandbox import InProcessSandbox

MESH_FILE = Path(__file__).resolve().parents[1] / "data" / "deployer" / "mesh.yaml"
# The same mesh after removals (a product, subscriptions with a row filter and with principals,
# iam_users), applied with MESH_FILE's policies, as docs/deployer-policy.md says to.
REMOVED_FILE = MESH_FILE.with_name("mesh-after-removal.yaml")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY_NAME = "meshctl-deployer"
PHASES = ("plan", "apply", "plan again", "import", "access", "doctor")
# Producers whose `kms_key_arn: bucket` product's bucket is under a key of the mesh account.
CENTRAL_KEY_PRODUCERS = frozenset({"logistics"})
TRAIL = "mesh-audit"


def _trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
            ],
        }
    )


@dataclass
class DeployerMesh:
    sandbox: InProcessSandbox
    spec: MeshSpec
    path: Path
    env: pytest.MonkeyPatch
    checked: list[Checked] = field(default_factory=list)
    _iam: dict[str, Any] = field(default_factory=dict)  # account id -> the bootstrap IAM client

    @property
    def mesh_id(self) -> str:
        return self.spec.mesh.account_id

    def accounts(self) -> list[tuple[str, Side]]:
        return [(self.mesh_id, Side.MESH)] + [
            (a.account_id, Side.MEMBER) for a in self.spec.accounts
        ]

    def put_policies(self, without: Iterable[str] = (), spec: MeshSpec | None = None) -> None:
        """The deployer role of every account holds the generated policy of its side (for
        ``spec``, default the mesh's own)."""
        dropped = tuple(without)
        spec = spec or self.spec
        with disable_iam_authentication():
            for account_id, side in self.accounts():
                if account_id not in self._iam:  # a session costs ~0.1 s: one per account
                    self._iam[account_id] = self.sandbox.session(account_id).client("iam")
                self._iam[account_id].put_role_policy(
                    RoleName=DEPLOYER_ROLE,
                    PolicyName=POLICY_NAME,
                    PolicyDocument=json.dumps(deployer_policy(spec, side, without=dropped)),
                )

    @contextmanager
    def enforced(self) -> Iterator[list[Checked]]:
        """Authorization on, and the pairs it checked."""
        with recording() as checked, enable_iam_authentication():
            yield checked

    def engine(self, path: Path | None = None) -> Engine:
        return Engine(path or self.path, clock=lambda: NOW)

    def run(self, phase: str) -> list[str]:
        """One step as the deployer: the errors it met ([] when it all worked)."""
        try:
            if phase in ("plan", "plan again", "plan after removal"):
                removed = phase == "plan after removal"
                plan = self.engine(REMOVED_FILE if removed else None).plan()
                if phase != "plan" and plan.has_changes:
                    return [f"second plan not empty: {len(plan.changes)} changes"]
                return [f"held: {h}" for h in plan.held]
            if phase in ("apply", "remove"):
                engine = self.engine(REMOVED_FILE if phase == "remove" else None)
                with engine.locked("apply"):
                    result = engine.execute(engine.plan(), max_revokes=100, allow_mass_revoke=False)
                failed = [f"{r.change.address}: {r.error}" for r in result.results if r.error]
                if phase == "remove" and not failed and engine.plan().has_changes:
                    failed.append("plan after the removals is not empty")
                return failed
            if phase == "import":
                sessions = AccountSessions(self.spec.mesh)
                text = import_mesh(self.spec.mesh, read_for_import(self.spec.mesh, sessions))
                return [] if "products:" in text else ["import found no products"]
            if phase == "access":
                engine = self.engine()
                rows = live_access(self.spec, engine.observe(), engine.today)
                return [] if rows else ["access shows no rows"]
            if phase == "doctor":
                return self.doctor()
        except MeshctlError as exc:
            return [str(exc)]
        raise ValueError(phase)

    def doctor(self) -> list[str]:
        """What doctor could not read (its checks judge the mesh, not the deployer's IAM)."""
        facts = read_doctor_facts(self.spec, AccountSessions(self.spec.mesh))
        errors = [a.error for a in facts.access if a.error]
        errors += [message for _, message in facts.read_errors]
        errors += [b.error for b in facts.buckets if b.error]
        errors += [k.error for k in facts.keys if k.error]
        if not errors and not (facts.trails and any(k.key_arn for k in facts.keys)):
            errors.append("doctor read no trail or no key")
        return errors

    def run_all(self, phases: Iterable[str] = PHASES) -> dict[str, list[str]]:
        return {phase: errors for phase in phases if (errors := self.run(phase))}


def build(
    sandbox: InProcessSandbox, env: pytest.MonkeyPatch, path: Path = MESH_FILE
) -> DeployerMesh:
    """Seeded producers, a deployer role with its policy in every account, and meshctl's
    credentials those of the mesh deployer. Authorization is still off."""
    spec = load_spec(path)
    seed_producers(spec, sandbox.session)
    _encrypt_buckets(sandbox, spec)
    _start_trail(sandbox, spec.mesh.account_id)
    mesh = DeployerMesh(sandbox, spec, path, env)
    deployer = f"arn:aws:iam::{mesh.mesh_id}:role/{DEPLOYER_ROLE}"
    bootstrap = boto3.Session(region_name=spec.mesh.region)
    for account_id, side in mesh.accounts():
        iam = sandbox.session(account_id).client("iam")
        principal = f"arn:aws:iam::{account_id}:root" if side is Side.MESH else deployer
        iam.create_role(RoleName=DEPLOYER_ROLE, AssumeRolePolicyDocument=_trust(principal))
    mesh.put_policies()
    creds = bootstrap.client("sts").assume_role(RoleArn=deployer, RoleSessionName="ci-deployer")[
        "Credentials"
    ]
    env.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    env.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    env.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    return mesh


def _encrypt_buckets(sandbox: InProcessSandbox, spec: MeshSpec) -> None:
    """SSE-KMS default encryption on the bucket of each `kms_key_arn: bucket` product, as the
    producer's IaC sets it (tests/integration/test_kms.py)."""
    for product in spec.products:
        if product.kms_key_arn != BUCKET_KEY:
            continue
        producer = spec.account(product.producer)
        central = producer.name in CENTRAL_KEY_PRODUCERS
        owner = spec.mesh.account_id if central else producer.account_id
        key = sandbox.session(owner).client("kms").create_key()["KeyMetadata"]["Arn"]
        rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
        sandbox.session(producer.account_id).client("s3").put_bucket_encryption(
            Bucket=bucket_name(producer.name, producer.account_id),
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]
            },
        )


def _start_trail(sandbox: InProcessSandbox, account_id: str) -> None:
    session = sandbox.session(account_id)
    session.client("s3").create_bucket(Bucket=f"{TRAIL}-{account_id}")
    trail = session.client("cloudtrail")
    trail.create_trail(Name=TRAIL, S3BucketName=f"{TRAIL}-{account_id}")
    trail.start_logging(Name=TRAIL)
