"""The invitation journal: which member accounts may hold a RAM invitation from the mesh account
that nobody has accepted yet.

A Lake Formation grant to another account sends that account a RAM invitation (outside one AWS
Organization), which it must accept before it sees the data. A plan has to see an invitation left
pending (an apply stopped between a grant and its acceptance) so that it plans the acceptance;
listing invitations costs one call in every member account on every plan, though almost always
none is pending. So apply keeps a journal in meshctl's lock table (item ``LockId =
"ram-invitations"``, string set ``Accounts``):

- before its first write, apply adds every account its grants may invite (write-ahead: a crash
  after a grant finds the account already recorded);
- after the apply, it takes off every recorded account none of whose changes failed or was
  skipped: that account's invitations were accepted, or it had none;
- a plan lists invitations only in the accounts recorded. While the item does not exist (no apply
  of this version has run on the mesh yet, or the helper library made it), a plan lists them in
  every member account, as before. So an unknown state always falls back to reading.

The lock table (``lock.py``) is meshctl's own: the helper library never sees this item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from meshctl.aws.api import AccountApi

JOURNAL_ITEM = "ram-invitations"


@dataclass(frozen=True)
class InvitationJournal:
    kept: bool = False  # the item exists: this mesh's applies record their invitations
    accounts: frozenset[str] = frozenset()  # recorded, not yet known to be accepted

    def accounts_to_read(self, members: Iterable[str]) -> list[str]:
        """The member accounts whose invitations a plan must list."""
        ids = set(members)
        return sorted(ids if not self.kept else ids & self.accounts)


def pending_from(api: AccountApi, sender: str) -> list[str]:
    """The account's pending RAM invitations from ``sender``: their ARNs (plan, apply, doctor)."""
    return [
        str(inv["resourceShareInvitationArn"])
        for page in api.pages("ram", "get_resource_share_invitations", page_size=500)
        for inv in page.get("resourceShareInvitations", [])
        if str(inv.get("senderAccountId", "")) == sender and inv.get("status") == "PENDING"
    ]


def read_journal(api: AccountApi, table: str) -> InvitationJournal:
    """One consistent GetItem; a missing table or item is a journal not kept (read everywhere)."""
    answer = api.call(
        "dynamodb",
        "get_item",
        absent=True,
        TableName=table,
        Key={"LockId": {"S": JOURNAL_ITEM}},
        ConsistentRead=True,
    )
    item = (answer or {}).get("Item")
    if not item:
        return InvitationJournal()
    return InvitationJournal(True, frozenset(item.get("Accounts", {}).get("SS", ())))


def record(api: AccountApi, table: str, accounts: Iterable[str]) -> None:
    """Add ``accounts`` (creating the item, which from then on means "kept")."""
    ids = sorted(set(accounts))
    if ids:
        _update(api, table, "ADD Accounts :a", {":a": {"SS": ids}})
    else:
        _update(api, table, "SET Kept = :k", {":k": {"BOOL": True}})


def settle(api: AccountApi, table: str, accounts: Iterable[str]) -> None:
    """Take ``accounts`` off: their invitations are accepted (or they had none)."""
    ids = sorted(set(accounts))
    if ids:
        _update(api, table, "DELETE Accounts :a", {":a": {"SS": ids}})


def _update(api: AccountApi, table: str, expression: str, values: dict[str, Any]) -> None:
    api.call(
        "dynamodb",
        "update_item",
        absent=True,  # no lock table: no apply took the lock; the journal stays not kept
        TableName=table,
        Key={"LockId": {"S": JOURNAL_ITEM}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
    )
