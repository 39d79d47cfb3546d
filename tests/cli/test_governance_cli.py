"""`meshctl codeowners` and `meshctl approvals` end to end: exit codes, output, bad input.

Both run as the workflow runs them, from the repository root (the test's folder), with AWS
pointed at a closed port: neither may call AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from support.sandbox import run_meshctl

ROOT = Path(__file__).resolve().parents[2]
HEAD_SHA = "c" * 40
SCHEMA = json.loads((ROOT / "schemas" / "approvals.schema.json").read_text(encoding="utf-8"))
NO_AWS = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}


def meshctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = run_meshctl(*args, env=NO_AWS, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository with mesh.d/ (sales.orders owned by @alice and @acme/sales), its base
    checkout in base/, and a hand-written CODEOWNERS."""
    shutil.copytree(ROOT / "tests" / "data" / "valid" / "mesh.d", tmp_path / "mesh.d")
    sales = tmp_path / "mesh.d" / "sales.yaml"
    sales.write_text(
        sales.read_text()
        .replace("[sales-data-owners@example.com]", '["@alice", "@acme/sales"]')
        .replace("approved_by: sales-data-owners@example.com", 'approved_by: "@alice"')
    )
    shutil.copytree(tmp_path / "mesh.d", tmp_path / "base" / "mesh.d")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @acme/platform\n")
    # The pull request: marketing's subscription to sales.orders gains order_lines.
    sales.write_text(sales.read_text().replace("tables: [orders]", "tables: [orders, order_lines]"))
    return tmp_path


def _reviews(repo: Path, *reviews: tuple[str, str]) -> str:
    body = [
        {
            "id": i,
            "user": {"login": login},
            "state": state,
            "submitted_at": f"2026-12-01T1{i}:00:00Z",
            "commit_id": HEAD_SHA,
        }
        for i, (login, state) in enumerate(reviews)
    ]
    (repo / "reviews.json").write_text(json.dumps(body))
    return "reviews.json"


# --- codeowners ----------------------------------------------------------------------------------


def test_codeowners_prints_writes_and_checks_the_block(repo: Path) -> None:
    printed = meshctl("codeowners", "-f", "mesh.d", cwd=repo)
    assert printed.returncode == 0, printed.stderr
    assert "/mesh.d/sales.yaml @acme/sales @alice\n" in printed.stdout
    assert "/mesh.d/logistics.yaml logistics-data@example.com\n" in printed.stdout

    stale = meshctl("codeowners", "-f", "mesh.d", "--check", ".github/CODEOWNERS", cwd=repo)
    assert stale.returncode == 1
    assert "+/mesh.d/sales.yaml @acme/sales @alice" in stale.stdout  # the difference
    assert "out of date" in stale.stderr and "--write .github/CODEOWNERS" in stale.stderr

    written = meshctl("codeowners", "-f", "mesh.d", "--write", ".github/CODEOWNERS", cwd=repo)
    assert written.returncode == 0, written.stderr
    text = (repo / ".github" / "CODEOWNERS").read_text()
    assert text.startswith("* @acme/platform\n") and "/mesh.d/sales.yaml @acme/sales" in text
    fresh = meshctl("codeowners", "-f", "mesh.d", "--check", ".github/CODEOWNERS", cwd=repo)
    assert (fresh.returncode, fresh.stdout) == (0, ".github/CODEOWNERS: up to date\n")


def test_codeowners_refuses_write_with_check_and_files_outside_the_repository(
    repo: Path,
) -> None:
    both = meshctl("codeowners", "-f", "mesh.d", "--write", "A", "--check", "B", cwd=repo)
    assert both.returncode == 1 and "exclude each other" in both.stderr
    outside = meshctl("codeowners", "-f", str(ROOT / "examples" / "mesh.yaml"), cwd=repo)
    assert outside.returncode == 1 and "outside the current directory" in outside.stderr


# --- approvals -----------------------------------------------------------------------------------


def _approvals(repo: Path, reviews: str, *more: str) -> subprocess.CompletedProcess[str]:
    args = ["approvals", "--base", "base/mesh.d", "-f", "mesh.d", "--reviews", reviews]
    return meshctl(*args, "--head-sha", HEAD_SHA, *more, cwd=repo)


def test_an_unapproved_widening_exits_1_naming_file_and_line(repo: Path) -> None:
    proc = _approvals(repo, _reviews(repo, ("bob", "APPROVED")))
    assert proc.returncode == 1
    assert "mesh.d/sales.yaml:10: subscription marketing/sales.orders gains table order_lines" in (
        proc.stdout
    )
    assert "not counted): @bob" in proc.stdout
    assert "1 change(s) widen access without an owner's approval" in proc.stderr
    unverified = _approvals(repo, "reviews.json", "--format", "json")
    assert unverified.returncode == 1
    document = json.loads(unverified.stdout)
    Draft202012Validator(SCHEMA).validate(document)  # schemas/approvals.schema.json
    assert document["ok"] is False and document["other_approvals"] == ["@bob"]
    [change] = document["changes"]
    assert (change["file"], change["line"], change["verdict"]) == (
        "mesh.d/sales.yaml",
        10,
        "missing",
    )


def test_an_owners_approval_passes_and_the_formats_say_so(repo: Path) -> None:
    reviews = _reviews(repo, ("alice", "APPROVED"))
    text = _approvals(repo, reviews)
    assert text.returncode == 0, text.stderr
    assert "approved by @alice" in text.stdout
    markdown = _approvals(repo, reviews, "--format", "markdown")
    assert markdown.returncode == 0 and "<!-- meshctl-approvals -->" in markdown.stdout
    document = json.loads(_approvals(repo, reviews, "--format", "json").stdout)
    Draft202012Validator(SCHEMA).validate(document)  # schemas/approvals.schema.json
    assert document["ok"] is True and document["head_sha"] == HEAD_SHA
    assert [(c["kind"], c["verdict"]) for c in document["changes"]] == [("tables", "approved")]


def test_a_dismissed_approval_fails(repo: Path) -> None:
    proc = _approvals(repo, _reviews(repo, ("alice", "APPROVED"), ("alice", "DISMISSED")))
    assert proc.returncode == 1 and "@alice's review was dismissed" in proc.stdout


def test_a_team_owner_counts_through_the_bases_codeowners(repo: Path) -> None:
    reviews = _reviews(repo, ("dave", "APPROVED"))
    assert _approvals(repo, reviews, "--codeowners", "base").returncode == 1  # none in base/
    (repo / "base" / "CODEOWNERS").write_text("/mesh.d/sales.yaml @acme/sales\n")
    proc = _approvals(repo, reviews, "--codeowners", "base")
    assert proc.returncode == 0, proc.stdout
    assert "GitHub requires a review by @acme/sales to merge (base/CODEOWNERS:1" in proc.stdout


def test_no_widening_passes_without_any_review(repo: Path) -> None:
    shutil.rmtree(repo / "mesh.d")
    shutil.copytree(repo / "base" / "mesh.d", repo / "mesh.d")
    proc = _approvals(repo, _reviews(repo))
    assert proc.returncode == 0 and "No change widens access" in proc.stdout


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("broken", ["--reviews", "reviews.json"], "reviews.json:1: not valid JSON"),
        ("object", ["--reviews", "reviews.json"], "expected the JSON array GitHub"),
        ("", ["--reviews", "missing.json"], "--reviews missing.json: cannot read it"),
        ("", ["--base", "gone/mesh.d"], "--base gone/mesh.d: no such file or directory"),
        ("", ["--head-sha", "abc"], "--head-sha: 'abc' is not a full commit id"),
        ("", ["--format", "xml"], "--format: 'xml' is not one of"),
        ("", ["--codeowners", "nope"], "--codeowners nope: no such file or directory"),
        ("invalid-base", [], "base/mesh.d/sales.yaml:"),
    ],
)
def test_bad_input_is_a_clear_error(repo: Path, setup: str, args: list[str], message: str) -> None:
    reviews = repo / "reviews.json"
    reviews.write_text("[]")
    if setup == "broken":
        reviews.write_text('[{"user": {"login": "alice"}, "state": ')
    elif setup == "object":
        reviews.write_text('{"message": "Bad credentials"}')
    elif setup == "invalid-base":
        base = repo / "base" / "mesh.d" / "sales.yaml"
        base.write_text(base.read_text().replace("[SELECT, DESCRIBE]", "[SELEKT]"))
    options = {"--base": "base/mesh.d", "--reviews": "reviews.json", "--head-sha": HEAD_SHA}
    flat = list(args)
    for name, value in options.items():
        if name not in flat:
            flat += [name, value]
    proc = meshctl("approvals", "-f", "mesh.d", *flat, cwd=repo)
    assert proc.returncode == 1
    assert message in proc.stderr, proc.stderr
