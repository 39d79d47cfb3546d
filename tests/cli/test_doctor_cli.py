"""`meshctl doctor` as a user runs it: the installed command against the seeded sandbox server.
Exit 0 while only warnings, exit 1 on a failure, the fix on the line under each problem."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from support.cli import meshctl
from support.sandbox import ServerSandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SALES = "111111111111"
SCHEMA = json.loads((ROOT / "schemas" / "doctor.schema.json").read_text(encoding="utf-8"))


def test_doctor_warns_on_a_new_mesh_and_fails_on_a_missing_source_table(
    server: ServerSandbox, tmp_path: Path
) -> None:
    proc = meshctl(server, "doctor", "-f", str(EXAMPLE), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mesh (555555555555)" in proc.stdout and "sales (111111111111)" in proc.stdout
    assert "  warn  cloudtrail: no CloudTrail trail is logging" in proc.stdout
    assert "        fix: aws cloudtrail create-trail" in proc.stdout
    assert " 0 failure(s)." in proc.stdout

    server.session(SALES).client("glue").delete_table(DatabaseName="sales", Name="order_lines")

    proc = meshctl(server, "doctor", "-f", str(EXAMPLE), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    Draft202012Validator(SCHEMA).validate(document)  # schemas/doctor.schema.json
    assert document["ok"] is False and document["counts"]["fail"] == 1
    [failure] = [f for f in document["findings"] if f["status"] == "fail"]
    assert failure["account"] == "sales" and failure["check"] == "source_tables"
    assert failure["subject"] == "sales.orders" and "order_lines" in failure["message"]


def test_doctor_refuses_an_unknown_format_before_any_aws_call(tmp_path: Path) -> None:
    from support.sandbox import run_meshctl

    proc = run_meshctl("doctor", "-f", str(EXAMPLE), "--format", "xml", cwd=tmp_path)
    assert proc.returncode == 1
    assert "--format: 'xml' is not one of 'text', 'json'" in proc.stderr
