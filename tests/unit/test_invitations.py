"""Which accounts an apply records in the invitation journal and which it takes off after
(planning/invitations.py): an account whose invitation may still be pending is never taken off."""

from __future__ import annotations

from meshctl.codec import to_json
from meshctl.observed import Database, Grant, LfResource, ResourceType
from meshctl.outcome import Status
from meshctl.planning.invitations import invited_accounts, settled_accounts
from meshctl.planning.plan import Action, Change, Kind

MESH = "555555555555"
CONSUMER = "999999999999"
PRODUCER = "111111111111"
DB = f"sales-{PRODUCER}"


def _grant(principal: str, action: Action = Action.CREATE) -> Change:
    grant = Grant(principal, LfResource(ResourceType.DATABASE, MESH, DB), frozenset({"DESCRIBE"}))
    after = None if action is Action.DELETE else to_json(grant)
    before = to_json(grant) if action is Action.DELETE else None
    return Change(grant.address, Kind.GRANT, action, MESH, before=before, after=after)


def _link(account: str, action: Action = Action.CREATE) -> Change:
    link = Database(account, DB, target_account_id=MESH, target_database=DB)
    after = None if action is Action.DELETE else to_json(link)
    return Change(f"resource_link.{account}/{DB}", Kind.RESOURCE_LINK, action, account, after=after)


def test_grants_to_other_accounts_and_resource_links_record_their_accounts() -> None:
    role = f"arn:aws:iam::{CONSUMER}:role/analyst"
    changes = [_grant(CONSUMER), _grant(role), _link(PRODUCER), _grant(CONSUMER, Action.DELETE)]
    assert invited_accounts(changes) == {CONSUMER, PRODUCER}
    # A grant inside the mesh account invites nobody; neither does a revoke or a link deleted.
    assert invited_accounts([_grant(MESH), _link(CONSUMER, Action.DELETE)]) == frozenset()


def test_an_account_comes_off_when_its_grants_and_its_acceptance_are_done() -> None:
    done = [(_grant(CONSUMER), Status.DONE), (_link(CONSUMER), Status.DONE)]
    assert settled_accounts({CONSUMER}, done) == {CONSUMER}


def test_a_failed_or_skipped_acceptance_keeps_the_account() -> None:
    for status in (Status.FAILED, Status.SKIPPED):
        results = [(_grant(CONSUMER), Status.DONE), (_link(CONSUMER), status)]
        assert settled_accounts({CONSUMER}, results) == frozenset()


def test_a_grant_whose_acceptance_did_not_run_keeps_the_account() -> None:
    assert settled_accounts({CONSUMER}, [(_grant(CONSUMER), Status.DONE)]) == frozenset()
    # A failed grant may still have sent its invitation (its answer lost): kept too.
    assert settled_accounts({CONSUMER}, [(_grant(CONSUMER), Status.FAILED)]) == frozenset()


def test_an_account_recorded_earlier_and_untouched_now_comes_off() -> None:
    """The plan listed its invitations (it was recorded) and planned nothing to accept there."""
    results = [(_grant(PRODUCER), Status.DONE), (_link(PRODUCER), Status.DONE)]
    assert settled_accounts({CONSUMER, PRODUCER}, results) == {CONSUMER, PRODUCER}
