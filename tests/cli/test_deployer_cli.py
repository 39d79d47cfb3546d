"""`meshctl deployer-policy` end to end: what a platform team pastes into IAM or Terraform.

Printing reads only the mesh file: those runs point AWS at a closed port, so a call to AWS would
fail the command. The last test puts the printed policies to work through moto's server.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from support.sandbox import ServerSandbox, run_meshctl, subprocess_env

from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]
FULL = ROOT / "tests" / "data" / "deployer" / "mesh.yaml"
NO_AWS = subprocess_env(os.environ, "http://127.0.0.1:9")  # nothing listens there


def test_one_side_prints_the_policy_document_itself() -> None:
    proc = run_meshctl("deployer-policy", "-f", str(FULL), "--account", "member", env=NO_AWS)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert "AcceptInvitations" in sids and "AssumeMemberDeployers" not in sids


def test_terraform_prints_a_data_block_per_side() -> None:
    proc = run_meshctl("deployer-policy", "-f", str(FULL), "--format", "terraform", env=NO_AWS)
    assert proc.returncode == 0, proc.stderr
    assert 'data "aws_iam_policy_document" "meshctl_deployer_mesh" {' in proc.stdout
    assert 'data "aws_iam_policy_document" "meshctl_deployer_member" {' in proc.stdout
    assert '    sid       = "AssumeMemberDeployers"' in proc.stdout


def test_a_bad_option_or_file_is_one_clear_error(tmp_path: Path) -> None:
    proc = run_meshctl("deployer-policy", "-f", str(FULL), "--account", "producer", env=NO_AWS)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert "Error: --account: 'producer' is not one of 'mesh', 'member'" in proc.stderr
    bad = tmp_path / "mesh.yaml"
    bad.write_text(FULL.read_text().replace('account_id: "111111111111"', "account_id: 1"))
    proc = run_meshctl("deployer-policy", "-f", str(bad), env=NO_AWS)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}:" in proc.stderr and "accounts.sales.account_id" in proc.stderr


def _auth(server: ServerSandbox, count: str) -> None:
    """moto's switch for IAM authorization in server mode: on after ``count`` requests."""
    request = urllib.request.Request(
        f"{server.endpoint}/moto-api/reset-auth",
        data=count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would not reach request.data
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _put(server: ServerSandbox, account_id: str, document: dict[str, Any]) -> None:
    server.session(account_id).client("iam").put_role_policy(
        RoleName="MeshctlDeployer", PolicyName="meshctl", PolicyDocument=json.dumps(document)
    )


def test_the_printed_policies_are_all_the_console_script_needs(
    sandbox_server: ServerSandbox,
) -> None:
    """Through moto's server, as `make demo` runs: the printed policies on the deployer roles,
    IAM enforced; apply and an empty plan succeed, and `meshctl access` without the Lake
    Formation reads exits 1 naming the action it was refused."""
    spec = load_spec(FULL)
    seed_producers(spec, sandbox_server.session)
    policies = json.loads(run_meshctl("deployer-policy", "-f", str(FULL), env=NO_AWS).stdout)
    m = spec.mesh.account_id
    deployer = f"arn:aws:iam::{m}:role/MeshctlDeployer"
    for account_id in [m, *(a.account_id for a in spec.accounts)]:
        trusted = f"arn:aws:iam::{m}:root" if account_id == m else deployer
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}
            ],
        }
        sandbox_server.session(account_id).client("iam").create_role(
            RoleName="MeshctlDeployer", AssumeRolePolicyDocument=json.dumps(trust)
        )
        _put(sandbox_server, account_id, policies["mesh" if account_id == m else "member"])
    # meshctl runs as the mesh account's deployer, as GitHub OIDC would make it.
    frozen = sandbox_server.session(m).get_credentials().get_frozen_credentials()
    env = {
        **sandbox_server.env,
        "AWS_ACCESS_KEY_ID": frozen.access_key,
        "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
        "AWS_SESSION_TOKEN": frozen.token,
    }
    _auth(sandbox_server, "0")
    try:
        applied = run_meshctl("apply", "--auto-approve", "-f", str(FULL), env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        again = run_meshctl("plan", "--detailed-exitcode", "-f", str(FULL), env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        _auth(sandbox_server, "inf")
        without = policies["mesh"]["Statement"]
        _put(
            sandbox_server,
            m,
            {
                **policies["mesh"],
                "Statement": [s for s in without if s["Sid"] != "ReadLakeFormation"],
            },
        )
        _auth(sandbox_server, "0")
        refused = run_meshctl("access", "-f", str(FULL), env=env)
    finally:
        _auth(sandbox_server, "inf")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "may not perform lakeformation:" in refused.stderr
