"""Self-service edits of a commented mesh file, byte for byte (issue 18): comments, blank lines,
quoting (single, double, plain), flow lists and mappings and key order survive; only the lines
of the one subscription change. Each result is also a valid mesh (``load_spec``)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from meshctl.spec import self_service
from meshctl.spec.document import read_document
from meshctl.spec.edit import (
    EditError,
    NewSubscription,
    append_subscription,
    decide,
    remove_subscription,
)
from meshctl.spec.load import load_spec
from meshctl.spec.model import SubscriptionStatus

HEAD = """\
# yaml-language-server: $schema=../schemas/mesh.schema.json
version: 1

mesh:
  account_id: "555555555555"   # quoted: a number would lose leading zeros
  region: 'us-east-1'

accounts:
  sales: {account_id: '111111111111', roles: [producer]}
  marketing:
    account_id: "999999999999"
    roles:
      - consumer
  finance:
    account_id: "333333333333"
    roles: [ consumer ]

products:
  sales.orders:
    producer: sales
    source_database: sales
    tables: [orders, order_lines]
    owners: ["owner@example.com", 'deputy@example.com']
    tags: { Domain: Sales }   # flow mapping, spaced
"""
MARKETING = """\
  # marketing asked in ticket 12
  - consumer: marketing
    product: "sales.orders"
    permissions: [ SELECT ]
    status: 'pending'   # waiting for the owner
    purpose: "campaign attribution"
"""
FINANCE = """\
  - consumer: finance
    product: sales.orders
    tables:
      - orders
      - name: order_lines
        columns: [id, amount]
    permissions:
      - SELECT
      - DESCRIBE
    status: approved
    approved_by: "owner@example.com" # approved in review 7
    expires: 2027-12-31
"""
MESH = f"""{HEAD}
# Who reads what.
subscriptions:
{MARKETING}
{FINANCE}
# end of file
"""
MARKETING_FINANCE_TABLES = """\
  - consumer: marketing
    product: sales.orders
    tables: [orders]
    permissions: [SELECT, DESCRIBE]
    status: pending
    purpose: 'yes'
    expires: 2027-06-30
"""
ASK = NewSubscription(
    "marketing",
    "sales.orders",
    ("SELECT", "DESCRIBE"),
    tables=("orders",),
    purpose="yes",  # plain `yes` would read as true: quoted
    expires=date(2027, 6, 30),
)


def _valid(text: str, tmp_path: Path) -> None:
    file = tmp_path / "mesh.yaml"
    file.write_text(text, encoding="utf-8")
    load_spec(file)


def test_the_fixture_is_a_valid_mesh(tmp_path: Path) -> None:
    _valid(MESH, tmp_path)


def test_approve_keeps_the_quote_style_and_the_comment_of_the_status_line(
    tmp_path: Path,
) -> None:
    after = decide(MESH, 0, SubscriptionStatus.APPROVED, "deputy@example.com")
    assert after == MESH.replace(
        "    status: 'pending'   # waiting for the owner\n",
        "    status: 'approved'  # waiting for the owner\n    approved_by: deputy@example.com\n",
    )
    _valid(after, tmp_path)


def test_approve_by_another_owner_rewrites_only_approved_by(tmp_path: Path) -> None:
    after = decide(MESH, 1, SubscriptionStatus.APPROVED, "deputy@example.com")
    assert after == MESH.replace('"owner@example.com" # ap', '"deputy@example.com" # ap')
    _valid(after, tmp_path)


def test_deny_sets_the_status_and_removes_approved_by(tmp_path: Path) -> None:
    after = decide(MESH, 1, SubscriptionStatus.DENIED, None)
    assert after == MESH.replace(
        '    status: approved\n    approved_by: "owner@example.com" # approved in review 7\n',
        "    status: denied\n",
    )
    _valid(after, tmp_path)


def test_a_decision_without_a_status_line_goes_after_permissions_and_before_comments(
    tmp_path: Path,
) -> None:
    text = MESH.replace(
        "    status: 'pending'   # waiting for the owner\n", "    # no status: pending\n"
    )
    after = decide(text, 0, SubscriptionStatus.APPROVED, "owner@example.com")
    assert after == text.replace(
        "    permissions: [ SELECT ]\n",
        "    permissions: [ SELECT ]\n    status: approved\n    approved_by: owner@example.com\n",
    )
    _valid(after, tmp_path)


def test_request_appends_at_the_end_of_the_list_before_the_closing_comment(
    tmp_path: Path,
) -> None:
    text = MESH.replace(MARKETING, "")
    after = append_subscription(text, ASK)
    assert after == text.replace(FINANCE, FINANCE + MARKETING_FINANCE_TABLES)
    _valid(after, tmp_path)


@pytest.mark.parametrize(
    ("dash", "keys"),
    [("", "  "), ("  ", "    "), ("    ", "        "), ("  ", "      ")],
    ids=["dash-at-0", "dash-at-2", "dash-at-4", "wide-dash"],
)
def test_request_follows_the_files_list_indentation(dash: str, keys: str, tmp_path: Path) -> None:
    entry = (
        f"{dash}-{keys[len(dash) + 1 :]}consumer: finance\n"
        f"{keys}product: sales.orders\n{keys}permissions: [SELECT]\n"
    )
    text = f"{HEAD}subscriptions:\n{entry}"
    after = append_subscription(text, NewSubscription("marketing", "sales.orders", ("SELECT",)))
    added = (
        f"{dash}-{keys[len(dash) + 1 :]}consumer: marketing\n{keys}product: sales.orders\n"
        f"{keys}permissions: [SELECT]\n{keys}status: pending\n"
    )
    assert after == text + added
    _valid(after, tmp_path)


def test_request_into_a_file_without_subscriptions_adds_the_key(tmp_path: Path) -> None:
    after = append_subscription(HEAD, NewSubscription("finance", "sales.orders", ("SELECT",)))
    assert after == HEAD + (
        "\nsubscriptions:\n  - consumer: finance\n    product: sales.orders\n"
        "    permissions: [SELECT]\n    status: pending\n"
    )
    _valid(after, tmp_path)


def test_request_into_an_empty_flow_list_turns_it_into_a_block_list(tmp_path: Path) -> None:
    text = HEAD + "subscriptions: [] # none yet\n"
    after = append_subscription(text, NewSubscription("finance", "sales.orders", ("SELECT",)))
    assert after == HEAD + (
        "subscriptions: # none yet\n  - consumer: finance\n    product: sales.orders\n"
        "    permissions: [SELECT]\n    status: pending\n"
    )
    _valid(after, tmp_path)


def test_revoke_removes_only_the_entry_and_keeps_the_comment_above_it(tmp_path: Path) -> None:
    after = remove_subscription(MESH, 0)
    assert after == MESH.replace(MARKETING, "  # marketing asked in ticket 12\n")
    _valid(after, tmp_path)


def test_revoke_of_the_last_entry_leaves_one_blank_line(tmp_path: Path) -> None:
    after = remove_subscription(MESH, 1)
    assert after == MESH.replace(f"\n{FINANCE}", "")
    _valid(after, tmp_path)


def test_revoke_of_the_only_entry_leaves_an_empty_list(tmp_path: Path) -> None:
    text = f"{HEAD}subscriptions: # decisions\n{FINANCE}"
    after = remove_subscription(text, 0)
    assert after == f"{HEAD}subscriptions: [] # decisions\n"
    _valid(after, tmp_path)


def test_windows_line_endings_stay(tmp_path: Path) -> None:
    text = MESH.replace("\n", "\r\n")
    after = decide(text, 0, SubscriptionStatus.DENIED, None)
    assert after == text.replace("status: 'pending'  ", "status: 'denied'   ")
    _valid(after, tmp_path)


def test_a_flow_list_of_subscriptions_is_refused_not_rewritten() -> None:
    text = HEAD + "subscriptions: [{consumer: finance, product: sales.orders, permissions: [X]}]\n"
    with pytest.raises(EditError, match="flow list"):
        append_subscription(text, NewSubscription("marketing", "sales.orders", ("SELECT",)))


def test_an_entry_written_as_a_flow_mapping_is_refused_by_the_check_not_broken() -> None:
    text = (
        HEAD
        + "subscriptions:\n  - {consumer: finance, product: sales.orders, permissions: [ALL]}\n"
    )
    with pytest.raises(EditError, match="make the change by hand; nothing was written"):
        decide(text, 0, SubscriptionStatus.DENIED, None)


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "source", [ROOT / "examples" / "mesh.yaml", ROOT / "tests" / "data" / "valid" / "mesh.d"]
)
def test_every_decision_and_revoke_of_the_examples_changes_only_that_entry(
    source: Path, tmp_path: Path
) -> None:
    """Each subscription of the shipped examples, approved, denied and revoked in turn: the mesh
    stays valid and every changed line lies between that entry's first line and the next's."""
    mesh = tmp_path / source.name
    if source.is_dir():
        shutil.copytree(source, mesh)
    else:
        shutil.copy(source, mesh)
    spec = load_spec(mesh)
    edits = 0
    for sub in spec.subscriptions:
        owner = spec.product(sub.product).owners[0]
        for edit in (
            self_service.approve(mesh, sub.key, owner),
            self_service.deny(mesh, sub.key),
            self_service.revoke(mesh, sub.key),
        ):
            if not edit.changed:
                continue
            edits += 1
            load_spec(mesh, {edit.file: edit.after.encode("utf-8")})
            first, bound = _entry_lines(edit.before, sub.consumer, sub.product)
            before, after = edit.before.splitlines(), edit.after.splitlines()
            # everything before the entry, and from the next entry on, is unchanged
            kept = len(before) - bound
            assert after[:first] == before[:first], (sub.key, edit.diff())
            assert after[len(after) - kept :] == before[bound:], (sub.key, edit.diff())
    assert edits >= 2 * len(spec.subscriptions)


def _entry_lines(text: str, consumer: str, product: str) -> tuple[int, int]:
    """(index of the entry's first line, index of the next entry's first line or the end); an
    only entry starts at the ``subscriptions:`` line, which its revoke makes ``[]``."""
    document = read_document(Path("f.yaml"), "f.yaml", text.encode("utf-8"))
    subs = document.data["subscriptions"]
    i = next(i for i, s in enumerate(subs) if (s["consumer"], s["product"]) == (consumer, product))
    first = document.lines[("subscriptions", i)] - 1
    if len(subs) == 1:
        first = document.lines[("subscriptions",)] - 1
    if i + 1 < len(subs):
        return first, document.lines[("subscriptions", i + 1)] - 1
    return first, len(text.splitlines())
