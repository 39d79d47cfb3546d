"""`meshctl deployer-policy` end to end: what a platform team pastes into IAM or Terraform.

It reads only the mesh file: every run here points AWS at a closed port, so a call to AWS would
fail the command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from support.sandbox import run_meshctl, subprocess_env

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
