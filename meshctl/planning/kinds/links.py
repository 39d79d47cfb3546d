"""Consumer resource links of approved subscriptions, and accepting the RAM invitations that a
plan's new grants send (consumers and producers). Unwanted links are deleted by catalog.py."""

from __future__ import annotations

from collections.abc import Iterable

from meshctl.address import link_address
from meshctl.planning.canonical import principal_account
from meshctl.planning.desired import Desired, Seen
from meshctl.planning.kinds.changes import ChangeSet
from meshctl.planning.kinds.changes import changed_fields as diff_fields
from meshctl.planning.plan import Action, Kind


def plan_links(seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    """Consumer resource links of approved subscriptions (unwanted ones: see catalog.py), and the
    acceptance of the RAM invitations that this plan's new grants send (consumers and producers).
    """
    # A grant created by this plan sends a RAM invitation the grantee must accept after it.
    granted = {
        (principal_account(e.after.principal), e.after.resource.database)
        for e in changes.entries.values()
        if e.kind is Kind.GRANT and e.action is Action.CREATE
        if e.after.resource.catalog_id == desired.mesh_account_id
    }
    for address, want in desired.links.items():
        live = seen.databases.get(want.address)
        pending = seen.pending.get(want.account_id, ())
        if live is None:
            changes.create(
                Kind.RESOURCE_LINK,
                address,
                want.account_id,
                want,
                desired.reasons.get(address, "consumer resource link missing"),
            )
        elif live != want:
            changes.update(
                Kind.RESOURCE_LINK,
                address,
                want.account_id,
                live,
                want,
                "resource link differs: " + ", ".join(diff_fields(live, want)),
            )
        elif pending or (want.account_id, want.target_database) in granted:
            changes.update(
                Kind.RESOURCE_LINK, address, want.account_id, live, want, _accept(pending)
            )
    # The producer side: its grants on its mesh database send RAM invitations too. The producer
    # link itself is a DATABASE change (before the grants); accepting comes after them.
    for want in desired.databases.values():
        if not want.target_account_id or want.account_id == desired.mesh_account_id:
            continue
        key = (want.account_id, want.target_database)
        address = link_address(*key)
        if address in changes.entries:
            continue
        if key in granted or seen.pending.get(want.account_id):
            live = seen.databases.get(want.address) or want
            changes.update(
                Kind.RESOURCE_LINK,
                address,
                want.account_id,
                live,
                want,
                _accept(seen.pending.get(want.account_id, ())),
            )


def _accept(pending: Iterable[object]) -> str:
    n = len(tuple(pending))
    if not n:
        return "accept the RAM invitations of the new grants"
    return f"accept {n} pending RAM invitation{'s' if n != 1 else ''} from the mesh account"
