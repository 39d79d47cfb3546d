"""Which accounts an apply records in the invitation journal, and which it may take off after
(``aws/invitations.py`` keeps the journal). Pure: it reads the plan's changes and their results.

RAM invitations come from grants to another account (the grantee is invited) and are accepted by
the grantee's resource-link step (``kinds/links.py``): those are the accounts an apply records
before its first write. Afterwards an account comes off when every grant to it and every resource
link change in it is done, its invitations accepted; one that failed or was skipped, or that a
grant invited without its resource-link step running, may have left an invitation pending.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshctl.codec import from_json
from meshctl.observed import Grant
from meshctl.outcome import Status
from meshctl.planning.canonical import principal_account
from meshctl.planning.plan import Action, Change, Kind


def _invited(change: Change) -> str:
    """The account ``change`` may invite or accept invitations in, or ""."""
    if change.action is Action.DELETE:
        return ""
    if change.kind is Kind.RESOURCE_LINK:
        return change.account_id
    if change.kind is Kind.GRANT and change.after is not None:
        grantee = principal_account(from_json(Grant, change.after).principal)
        return grantee if grantee != change.account_id else ""
    return ""


def invited_accounts(changes: Iterable[Change]) -> frozenset[str]:
    """The accounts to record before an apply of ``changes`` writes anything."""
    return frozenset(a for c in changes if (a := _invited(c)))


def settled_accounts(
    recorded: Iterable[str], results: Iterable[tuple[Change, Status]]
) -> frozenset[str]:
    """The ``recorded`` accounts to take off after an apply with these ``results``: none of their
    grants or resource-link changes failed or was skipped, and where a grant of this apply may
    have invited one, its resource-link step (which accepts) is done too."""
    unsettled: set[str] = set()
    granted: set[str] = set()
    accepted: set[str] = set()
    for change, status in results:
        account = _invited(change)
        if not account:
            continue
        if status is not Status.DONE:
            unsettled.add(account)
        elif change.kind is Kind.RESOURCE_LINK:
            accepted.add(account)
        else:
            granted.add(account)
    return frozenset(
        a for a in recorded if a not in unsettled and (a not in granted or a in accepted)
    )
