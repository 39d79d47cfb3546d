"""CODEOWNERS from the mesh (the marked block) and as GitHub reads it (patterns, last match);
GitHub's review list as ``meshctl approvals`` reads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from meshctl.errors import MeshctlError
from meshctl.planning.codeowners import (
    BEGIN_MARKER,
    END_MARKER,
    block,
    owned_files,
    parse_codeowners,
    with_block,
)
from meshctl.planning.reviews import ReviewState, latest_reviews, parse_reviews
from meshctl.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]
MESH_D = ROOT / "tests" / "data" / "valid" / "mesh.d"


def _mesh_d(tmp_path: Path) -> Path:
    folder = tmp_path / "mesh.d"
    shutil.copytree(MESH_D, folder)
    sales = folder / "sales.yaml"
    sales.write_text(
        sales.read_text().replace(
            "owners: [sales-data-owners@example.com]",
            'owners: [sales-data-owners@example.com, "@acme/sales", "@Alice", '
            "arn:aws:iam::111111111111:role/Owner, sales-team]",
        )
    )
    return folder


def _repo_paths(folder: Path) -> dict[str, str]:
    return {str(p): f"mesh.d/{p.name}" for p in folder.iterdir()}


def test_each_mesh_file_gets_the_owners_of_the_products_it_defines(tmp_path: Path) -> None:
    folder = _mesh_d(tmp_path)
    files = owned_files(load_spec(folder), _repo_paths(folder))
    # 00-mesh.yaml defines no product: no line. ARNs and bare names cannot be code owners.
    assert [f.line() for f in files] == [
        "/mesh.d/logistics.yaml logistics-data@example.com",
        "/mesh.d/sales.yaml @acme/sales @Alice sales-data-owners@example.com",
    ]


def test_one_mesh_file_gets_every_products_owners(tmp_path: Path) -> None:
    mesh = ROOT / "examples" / "mesh.yaml"
    (line,) = [f.line() for f in owned_files(load_spec(mesh), {str(mesh): "mesh.yaml"})]
    assert line == (
        "/mesh.yaml finance-data@example.com logistics-data@example.com "
        "privacy-office@example.com sales-data-owners@example.com"
    )


LINES = block([])


def test_the_block_is_appended_after_hand_written_rules() -> None:
    written = with_block("* @acme/admins\n", LINES, "CODEOWNERS")
    assert written.splitlines() == ["* @acme/admins", "", *LINES]
    assert with_block("", LINES, "CODEOWNERS").splitlines() == LINES


def test_the_block_is_replaced_in_place_and_the_rest_kept() -> None:
    text = f"# mine\n{BEGIN_MARKER}\n/old.yaml @old\n{END_MARKER}\ndocs/ @acme/writers\n"
    new = [BEGIN_MARKER, "/mesh.yaml @alice", END_MARKER]
    assert with_block(text, new, "CODEOWNERS") == (
        f"# mine\n{BEGIN_MARKER}\n/mesh.yaml @alice\n{END_MARKER}\ndocs/ @acme/writers\n"
    )
    assert with_block(with_block(text, new, "C"), new, "C") == with_block(text, new, "C")


@pytest.mark.parametrize(
    "text",
    [f"{BEGIN_MARKER}\n/x @a\n", f"{END_MARKER}\n{BEGIN_MARKER}\n", f"{BEGIN_MARKER}\n" * 2],
)
def test_broken_markers_are_an_error_naming_the_line(text: str) -> None:
    with pytest.raises(MeshctlError, match=r"^CODEOWNERS:\d+: expected one"):
        with_block(text, LINES, "CODEOWNERS")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "mesh.d/sales.yaml", True),
        ("*.yaml", "mesh.d/sales.yaml", True),
        ("/mesh.d/sales.yaml", "mesh.d/sales.yaml", True),
        ("/mesh.d/sales.yaml", "other/mesh.d/sales.yaml", False),
        ("mesh.d/", "mesh.d/sales.yaml", True),
        ("mesh.d/", "infra/mesh.d/sales.yaml", True),
        ("/mesh.d/*", "mesh.d/sales.yaml", True),
        ("/mesh.d/*", "mesh.d/old/sales.yaml", False),
        ("/mesh.d/**", "mesh.d/old/sales.yaml", True),
        ("**/sales.yaml", "a/b/sales.yaml", True),
        ("sales.yaml", "a/b/sales.yaml", True),
        ("/mesh.yaml", "mesh.yaml.bak", False),
        ("docs/*", "mesh.d/sales.yaml", False),
    ],
)
def test_patterns_match_as_github_reads_them(pattern: str, path: str, matches: bool) -> None:
    rules = parse_codeowners(f"{pattern} @someone\n", "CODEOWNERS")
    assert (rules.rule_for(path) is not None) is matches


def test_comments_blank_lines_and_escaped_spaces() -> None:
    text = "# owners\n\n/my\\ mesh.yaml @alice # the mesh\n/x @bob\n"
    rules = parse_codeowners(text, "CODEOWNERS")
    rule = rules.rule_for("my mesh.yaml")
    assert rule is not None and (rule.owners, rule.line) == (("@alice",), 3)


# --- GitHub's review list ----------------------------------------------------------------------


def _page(*reviews: tuple[str | None, str, str]) -> list[dict[str, object]]:
    return [
        {
            "id": i,
            "user": {"login": login} if login else None,
            "state": state,
            "submitted_at": at,
            "commit_id": "a" * 40,
        }
        for i, (login, state, at) in enumerate(reviews)
    ]


def test_reviews_read_one_array_pages_and_slurped_pages() -> None:
    first = _page(("alice", "APPROVED", "2026-12-01T10:00:00Z"))
    second = _page(("bob", "COMMENTED", "2026-12-01T11:00:00Z"))
    expected = ["alice", "bob"]
    for text in (
        json.dumps(first + second),
        json.dumps(first) + json.dumps(second),  # gh api --paginate
        json.dumps([first, second]),  # gh api --paginate --slurp
    ):
        assert [r.login for r in parse_reviews(text, "reviews.json")] == expected


def test_a_deleted_reviewer_counts_for_nobody() -> None:
    (review,) = parse_reviews(json.dumps(_page((None, "APPROVED", "x"))), "reviews.json")
    assert latest_reviews([review]) == {}


def test_latest_reviews_skip_comments_and_keep_dismissals() -> None:
    reviews = parse_reviews(
        json.dumps(
            _page(
                ("alice", "APPROVED", "2026-12-01T10:00:00Z"),
                ("alice", "DISMISSED", "2026-12-01T11:00:00Z"),
                ("alice", "COMMENTED", "2026-12-01T12:00:00Z"),
            )
        ),
        "reviews.json",
    )
    assert latest_reviews(reviews)["alice"].state is ReviewState.DISMISSED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "reviews.json: empty"),
        ('[{"state": ', "reviews.json:1: not valid JSON"),
        ('{"message": "Not Found"}', "expected the JSON array"),
        ("[1]", "review 1: expected an object, not a number"),
        ('[{"user": {"login": "a"}}]', "review 1: state: None is not one of"),
        ('[{"user": {"login": "a"}, "state": "LGTM"}]', "state: 'LGTM' is not one of"),
        ('[{"user": {"login": 5}, "state": "APPROVED"}]', "user.login: expected text"),
    ],
)
def test_a_broken_review_list_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(MeshctlError, match=message.replace("(", r"\(")):
        parse_reviews(text, "reviews.json")
