"""`meshctl approvals` logic on pairs of mesh files: what widens access, and whose review counts.

Each case writes a base and a head mesh (the same mesh with one subscription edited), loads both
as the CLI does, and checks the widening changes found and the verdict for given reviews.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from meshctl.planning.approvals import ApprovalsReport, Verdict, check_approvals
from meshctl.planning.codeowners import parse_codeowners
from meshctl.planning.reviews import Review, ReviewState
from meshctl.planning.widenings import WHOLE_ACCOUNT, Widening, narrower_filter, widenings
from meshctl.render.approvals import describe, render_approvals_json, render_approvals_markdown
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

HEAD = "a" * 40
SCHEMA = json.loads((files("meshctl") / "schemas" / "approvals.schema.json").read_text())
OLD = "b" * 40
ROLE_A = "arn:aws:iam::999999999999:role/Analyst"
ROLE_B = "arn:aws:iam::999999999999:role/Scientist"

SUBSCRIPTION: dict[str, Any] = {
    "consumer": "marketing",
    "product": "sales.orders",
    "tables": ["orders"],
    "permissions": ["SELECT", "DESCRIBE"],
    "status": "approved",
    "approved_by": "@alice",
}


def _mesh(
    subscription: dict[str, Any] | None,
    *,
    owners: list[str] | None = None,
    tables: list[str] | None = None,
) -> dict[str, Any]:
    products = {
        "sales.orders": {
            "producer": "sales",
            "source_database": "sales",
            "tables": tables or ["orders", "customers", "payments"],
            "owners": owners or ["@alice", "@acme/sales-data", "sales@example.com"],
        },
        "logistics.shipments": {
            "producer": "sales",
            "source_database": "logistics",
            "tables": ["shipments"],
            "owners": ["@carol"],
        },
    }
    return {
        "version": 1,
        "mesh": {"account_id": "555555555555", "region": "us-east-1"},
        "accounts": {
            "sales": {"account_id": "111111111111", "roles": ["producer"]},
            "marketing": {"account_id": "999999999999", "roles": ["consumer"]},
        },
        "products": products,
        "subscriptions": [subscription] if subscription else [],
    }


def _load(tmp_path: Path, name: str, document: dict[str, Any]) -> MeshSpec:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    path = folder / "mesh.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def _pair(
    tmp_path: Path,
    base: dict[str, Any] | None,
    head: dict[str, Any] | None,
    **mesh: Any,
) -> tuple[MeshSpec, MeshSpec]:
    """``base_owners=`` / ``head_owners=`` (and ``_tables``) set the product on one side only."""

    def side(name: str, other: str) -> dict[str, Any]:
        return {k.removeprefix(name): v for k, v in mesh.items() if not k.startswith(other)}

    base_mesh = _mesh(base, **side("base_", "head_"))
    head_mesh = _mesh(head, **side("head_", "base_"))
    return _load(tmp_path, "base", base_mesh), _load(tmp_path, "head", head_mesh)


def _edit(**fields: Any) -> dict[str, Any]:
    edited = {**SUBSCRIPTION, **fields}
    return {k: v for k, v in edited.items() if v is not None}


def _found(
    tmp_path: Path, base: dict[str, Any] | None, head: dict[str, Any] | None, **mesh: Any
) -> list[tuple[Widening, tuple[str, ...]]]:
    return [(c.kind, c.added) for c in widenings(*_pair(tmp_path, base, head, **mesh))]


# --- what widens access ----------------------------------------------------------------------


WIDENING = {
    "new approved subscription": (None, _edit(), [(Widening.APPROVED, ())]),
    "pending becomes approved": (
        _edit(status="pending", approved_by=None),
        _edit(),
        [(Widening.APPROVED, ())],
    ),
    "denied becomes approved": (
        _edit(status="denied", approved_by=None),
        _edit(),
        [(Widening.APPROVED, ())],
    ),
    "gains a permission": (
        _edit(),
        _edit(permissions=["SELECT", "DESCRIBE", "INSERT"]),
        [(Widening.PERMISSIONS, ("INSERT",))],
    ),
    "gains ALL": (_edit(), _edit(permissions=["ALL"]), [(Widening.PERMISSIONS, ("ALL",))]),
    "gains a grantable permission": (
        _edit(),
        _edit(grantable=["SELECT"]),
        [(Widening.GRANTABLE, ("SELECT",))],
    ),
    "gains a table": (
        _edit(),
        _edit(tables=["orders", "payments"]),
        [(Widening.TABLES, ("payments",))],
    ),
    "tables omitted: every table of the product": (
        _edit(),
        _edit(tables=None),
        [(Widening.TABLES, ("customers", "payments"))],
    ),
    "gains a column": (
        _edit(tables=[{"name": "orders", "columns": ["id"]}]),
        _edit(tables=[{"name": "orders", "columns": ["id", "total"]}]),
        [(Widening.COLUMNS, ("total",))],
    ),
    "columns become every column but some": (
        _edit(tables=[{"name": "orders", "columns": ["id"]}]),
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        [(Widening.COLUMNS, ())],
    ),
    "excludes fewer columns": (
        _edit(tables=[{"name": "orders", "exclude_columns": ["card", "email"]}]),
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        [(Widening.COLUMNS, ("email",))],
    ),
    "names an excluded column": (
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        _edit(tables=[{"name": "orders", "columns": ["id", "card"]}]),
        [(Widening.COLUMNS, ("card",))],
    ),
    "column restriction removed": (
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        _edit(tables=["orders"]),
        [(Widening.COLUMNS, ("card",))],
    ),
    "row filter removed": (
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE'"}]),
        _edit(tables=["orders"]),
        [(Widening.ROWS, ())],
    ),
    "row filter replaced": (
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE'"}]),
        _edit(tables=[{"name": "orders", "row_filter": "country = 'FR'"}]),
        [(Widening.ROWS, ())],
    ),
    "row filter ORed": (
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE'"}]),
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE' AND x = 1 OR y = 2"}]),
        [(Widening.ROWS, ())],
    ),
    "principals replaced by the whole account": (
        _edit(principals=[ROLE_A]),
        _edit(),
        [(Widening.PRINCIPALS, (WHOLE_ACCOUNT,))],
    ),
    "gains a principal": (
        _edit(principals=[ROLE_A]),
        _edit(principals=[ROLE_A, ROLE_B]),
        [(Widening.PRINCIPALS, (ROLE_B,))],
    ),
    "later expiry": (
        _edit(expires="2027-01-01"),
        _edit(expires="2027-06-01"),
        [(Widening.EXPIRES, ())],
    ),
    "expiry removed": (_edit(expires="2027-01-01"), _edit(), [(Widening.EXPIRES, ())]),
    "several at once, each listed": (
        _edit(expires="2027-01-01"),
        _edit(permissions=["SELECT", "DESCRIBE", "DELETE"], tables=["orders", "customers"]),
        [
            (Widening.PERMISSIONS, ("DELETE",)),
            (Widening.TABLES, ("customers",)),
            (Widening.EXPIRES, ()),
        ],
    ),
}


@pytest.mark.parametrize("case", WIDENING, ids=str)
def test_each_kind_of_widening_needs_an_owner(tmp_path: Path, case: str) -> None:
    base, head, expected = WIDENING[case]
    assert _found(tmp_path, base, head) == expected
    # Each kind as --format json shows it follows schemas/approvals.schema.json.
    report = check_approvals(*_pair(tmp_path, base, head), [], repo_path={})
    document = _approvals_json(report)
    assert [c["kind"] for c in document["changes"]] == [kind.value for kind, _ in expected]


NARROWING = {
    "unchanged": (_edit(), _edit()),
    "subscription removed": (_edit(), None),
    "approved becomes denied": (_edit(), _edit(status="denied", approved_by=None)),
    "approved becomes pending": (_edit(), _edit(status="pending", approved_by=None)),
    "new pending subscription": (None, _edit(status="pending", approved_by=None)),
    "loses a permission": (_edit(), _edit(permissions=["SELECT"])),
    "ALL becomes SELECT": (_edit(permissions=["ALL"]), _edit(permissions=["SELECT"])),
    "loses grantable": (_edit(grantable=["SELECT"]), _edit()),
    "loses a table": (_edit(tables=["orders", "customers"]), _edit()),
    "every table becomes one": (_edit(tables=None), _edit()),
    "whole table becomes columns": (
        _edit(),
        _edit(tables=[{"name": "orders", "columns": ["id"]}]),
    ),
    "fewer columns": (
        _edit(tables=[{"name": "orders", "columns": ["id", "total"]}]),
        _edit(tables=[{"name": "orders", "columns": ["id"]}]),
    ),
    "excludes more columns": (
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        _edit(tables=[{"name": "orders", "exclude_columns": ["card", "email"]}]),
    ),
    "every column but some becomes named columns": (
        _edit(tables=[{"name": "orders", "exclude_columns": ["card"]}]),
        _edit(tables=[{"name": "orders", "columns": ["id"]}]),
    ),
    "row filter added": (_edit(), _edit(tables=[{"name": "orders", "row_filter": "x = 1"}])),
    "row filter ANDed": (
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE'"}]),
        _edit(tables=[{"name": "orders", "row_filter": "country = 'DE' and total > 100"}]),
    ),
    "account becomes principals": (_edit(), _edit(principals=[ROLE_A])),
    "loses a principal": (_edit(principals=[ROLE_A, ROLE_B]), _edit(principals=[ROLE_A])),
    "earlier expiry": (_edit(expires="2027-06-01"), _edit(expires="2027-01-01")),
    "expiry added": (_edit(), _edit(expires="2027-01-01")),
    "approver changed": (_edit(), _edit(approved_by="@acme/sales-data")),
}


@pytest.mark.parametrize("case", NARROWING, ids=str)
def test_narrowing_denying_and_removing_need_no_approval(tmp_path: Path, case: str) -> None:
    base, head = NARROWING[case]
    assert _found(tmp_path, base, head) == []


def test_a_product_gaining_tables_widens_a_subscription_to_every_table(tmp_path: Path) -> None:
    sub = _edit(tables=None)
    found = _found(tmp_path, sub, sub, base_tables=["orders"], head_tables=["orders", "payments"])
    assert found == [(Widening.TABLES, ("payments",))]


def test_a_product_gaining_an_owner_needs_an_existing_owner(tmp_path: Path) -> None:
    owners = ["@alice", "@mallory"]
    base, head = _pair(tmp_path, _edit(), _edit(approved_by="@mallory"), head_owners=owners)
    (change,) = widenings(base, head)
    assert (change.kind, change.subject, change.added) == (
        Widening.OWNERS,
        "sales.orders",
        ("@mallory",),
    )
    # @mallory, added in this pull request, cannot approve it herself.
    report = check_approvals(base, head, [_review("mallory")], repo_path={})
    assert [i.approval.verdict for i in report.items] == [Verdict.MISSING]
    assert _approvals_json(report)["changes"][0]["added"] == ["@mallory"]


def test_changes_are_named_with_file_and_line(tmp_path: Path) -> None:
    base, head = _pair(tmp_path, _edit(), _edit(permissions=["SELECT", "DESCRIBE", "INSERT"]))
    (change,) = widenings(base, head)
    text = (tmp_path / "head" / "mesh.yaml").read_text().splitlines()
    assert change.file == str(tmp_path / "head" / "mesh.yaml")
    assert text[change.line - 1].strip() == "- consumer: marketing"
    assert describe(change) == "subscription marketing/sales.orders gains INSERT"


@pytest.mark.parametrize(
    ("before", "after", "narrower"),
    [
        ("a = 1", "a = 1", True),
        ("a = 1", "a  =  1", True),
        ("a = 1", "a = 1 AND b = 2", True),
        ("a = 1", "b = 2 AND a = 1", True),
        ("a = 1", "(a = 1) AND (b = 2 OR c = 3)", True),
        ("a = 1 OR b = 2", "(a = 1 OR b = 2) AND c = 3", True),
        ("a = 1 OR b = 2", "a = 1 OR b = 2 AND c = 3", False),  # AND binds first: wider
        ("a = 1", "a = 1 AND b = 2 OR c = 3", False),
        ("a = 1", "a = 2", False),
        ("a = 1", "", False),
        ("", "a = 1", True),
    ],
)
def test_row_filters_narrow_only_by_conjunction(before: str, after: str, narrower: bool) -> None:
    assert narrower_filter(before, after) is narrower


# --- whose review counts ---------------------------------------------------------------------


def _review(
    login: str,
    state: ReviewState = ReviewState.APPROVED,
    at: str = "2026-12-01T10:00:00Z",
    commit: str = HEAD,
    order: int = 0,
) -> Review:
    return Review(login, state, at, commit, order)


def _report(tmp_path: Path, reviews: list[Review], **options: Any) -> ApprovalsReport:
    base, head = _pair(tmp_path, _edit(), _edit(permissions=["SELECT", "DESCRIBE", "INSERT"]))
    return check_approvals(base, head, reviews, **{"repo_path": {}, **options})


def _verdict(tmp_path: Path, reviews: list[Review], **options: Any) -> Verdict:
    (item,) = _report(tmp_path, reviews, **options).items
    return item.approval.verdict


def test_a_user_owners_approval_counts(tmp_path: Path) -> None:
    report = _report(tmp_path, [_review("alice")], head_sha=HEAD)
    assert report.ok
    assert report.items[0].approval.approved_by == ("@alice",)


def test_github_logins_compare_without_case(tmp_path: Path) -> None:
    assert _verdict(tmp_path, [_review("ALICE")]) is Verdict.APPROVED


def test_an_approval_by_a_non_owner_does_not_count(tmp_path: Path) -> None:
    report = _report(tmp_path, [_review("bob")])
    assert not report.ok
    assert report.other_approvals == ("@bob",)


def test_an_owner_of_an_unrelated_product_does_not_count(tmp_path: Path) -> None:
    # @carol owns logistics.shipments, not sales.orders.
    report = _report(tmp_path, [_review("carol")])
    assert [i.approval.verdict for i in report.items] == [Verdict.MISSING]
    assert report.other_approvals == ("@carol",)


def test_the_latest_review_decides(tmp_path: Path) -> None:
    approved = _review("alice", at="2026-12-01T10:00:00Z", order=1)
    changes = _review("alice", ReviewState.CHANGES_REQUESTED, at="2026-12-02T10:00:00Z", order=0)
    # By submitted_at, not by position in the answer.
    assert _verdict(tmp_path, [changes, approved]) is Verdict.MISSING
    again = _review("alice", at="2026-12-03T10:00:00Z", order=2)
    assert _verdict(tmp_path, [changes, approved, again]) is Verdict.APPROVED


def test_a_later_comment_does_not_withdraw_an_approval(tmp_path: Path) -> None:
    comment = _review("alice", ReviewState.COMMENTED, at="2026-12-02T10:00:00Z", order=1)
    assert _verdict(tmp_path, [_review("alice"), comment]) is Verdict.APPROVED


def test_a_dismissed_approval_does_not_count(tmp_path: Path) -> None:
    dismissed = _review("alice", ReviewState.DISMISSED, at="2026-12-02T10:00:00Z", order=1)
    report = _report(tmp_path, [_review("alice"), dismissed])
    assert not report.ok
    assert "@alice's review was dismissed" in report.items[0].approval.notes


def test_an_approval_of_an_earlier_commit_is_stale(tmp_path: Path) -> None:
    report = _report(tmp_path, [_review("alice", commit=OLD)], head_sha=HEAD)
    assert not report.ok
    assert "approved an earlier commit (bbbbbbb)" in report.items[0].approval.notes[0]
    # Without the head commit, meshctl cannot tell: the approval counts.
    assert _verdict(tmp_path, [_review("alice", commit=OLD)]) is Verdict.APPROVED


CODEOWNERS_OWNERS = "/head/mesh.yaml @acme/sales-data @alice sales@example.com\n"


def test_a_team_owner_counts_when_codeowners_requires_the_owners(tmp_path: Path) -> None:
    rules = parse_codeowners("* @acme/admins\n" + CODEOWNERS_OWNERS, "CODEOWNERS")
    report = _report(tmp_path, [], codeowners=rules, repo_path=_repo(tmp_path))
    (item,) = report.items
    assert item.approval.verdict is Verdict.CODEOWNERS
    assert item.approval.codeowners_line == 2
    shown = render_approvals_markdown(report)
    assert "GitHub requires a review by `@acme/sales-data` or `@alice`" in shown
    assert "CODEOWNERS:2" in shown and "Require review from Code Owners" in shown


def _repo(tmp_path: Path) -> dict[str, str]:
    return {str(tmp_path / "head" / "mesh.yaml"): "head/mesh.yaml"}


def _report_with(tmp_path: Path, codeowners: str) -> ApprovalsReport:
    base, head = _pair(tmp_path, _edit(), _edit(permissions=["SELECT", "DESCRIBE", "INSERT"]))
    rules = parse_codeowners(codeowners, "CODEOWNERS")
    return check_approvals(base, head, [], repo_path=_repo(tmp_path), codeowners=rules)


def test_a_codeowners_rule_that_lets_a_non_owner_approve_proves_nothing(tmp_path: Path) -> None:
    # One mesh file for every product: @carol's review would satisfy GitHub as well.
    report = _report_with(tmp_path, "/head/mesh.yaml @acme/sales-data @carol\n")
    (item,) = report.items
    assert item.approval.verdict is Verdict.MISSING
    assert "lets @carol approve head/mesh.yaml" in item.approval.notes[0]


def test_the_last_matching_codeowners_rule_wins(tmp_path: Path) -> None:
    report = _report_with(tmp_path, CODEOWNERS_OWNERS + "*.yaml @acme/admins\n")
    assert not report.ok
    report = _report_with(tmp_path, "*.yaml @acme/admins\n" + CODEOWNERS_OWNERS)
    assert report.ok


def test_without_a_codeowners_rule_team_owners_are_unverified(tmp_path: Path) -> None:
    report = _report_with(tmp_path, "/docs/ @acme/writers\n")
    assert not report.ok
    assert "requires no review for head/mesh.yaml" in report.items[0].approval.notes[0]
    (item,) = _report(tmp_path, []).items
    assert "no CODEOWNERS was given" in item.approval.notes[0]


def test_a_user_approval_wins_over_codeowners(tmp_path: Path) -> None:
    rules = parse_codeowners(CODEOWNERS_OWNERS, "CODEOWNERS")
    report = _report(tmp_path, [_review("alice")], codeowners=rules, repo_path=_repo(tmp_path))
    assert report.items[0].approval.verdict is Verdict.APPROVED


def test_no_widening_means_no_approval_needed(tmp_path: Path) -> None:
    base, head = _pair(tmp_path, _edit(), _edit(permissions=["SELECT"]))
    report = check_approvals(base, head, [_review("bob")], repo_path={})
    assert report.ok and report.items == () and report.other_approvals == ()
    assert "No change widens access" in render_approvals_markdown(report)


# --- --format json -----------------------------------------------------------------------------


def _approvals_json(report: ApprovalsReport) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_approvals_json(report))
    Draft202012Validator(SCHEMA).validate(document)
    return document


def test_failing_and_passing_reports_follow_schemas_approvals_schema_json(tmp_path: Path) -> None:
    failing = _approvals_json(_report(tmp_path, [_review("bob")], head_sha=HEAD))
    assert failing["ok"] is False and failing["other_approvals"] == ["@bob"]
    [change] = failing["changes"]
    assert (change["kind"], change["added"], change["verdict"]) == (
        "permissions",
        ["INSERT"],
        "missing",
    )
    assert change["approved_by"] == [] and change["codeowners_line"] is None and change["notes"]

    passing = _approvals_json(_report(tmp_path, [_review("alice")], head_sha=HEAD))
    assert passing["ok"] is True and passing["head_sha"] == HEAD
    assert passing["changes"][0]["approved_by"] == ["@alice"]

    rules = parse_codeowners(CODEOWNERS_OWNERS, "CODEOWNERS")
    required = _approvals_json(_report(tmp_path, [], codeowners=rules, repo_path=_repo(tmp_path)))
    assert required["codeowners"] == "CODEOWNERS" and required["changes"][0]["codeowners_line"] == 1

    change["verdict"] = "approved by @bob"  # a verdict the schema does not know
    assert not Draft202012Validator(SCHEMA).is_valid(failing)


def test_the_approvals_schema_names_every_kind_and_verdict() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    change = SCHEMA["properties"]["changes"]["items"]["properties"]
    assert change["kind"]["enum"] == [k.value for k in Widening]
    assert change["verdict"]["enum"] == [v.value for v in Verdict]
