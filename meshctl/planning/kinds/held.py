"""A held subscription (``plan.Held``): what is live of it stays exactly as it is.

Its product's declared source is missing, or it names a table its product lacks: no grant,
resource link or record is added for it (so no record claims access that does not exist), and
what is live is wanted as it is (so nothing is widened or revoked for a missing source).
"""

from __future__ import annotations

from meshctl.address import Address, link_address
from meshctl.observed import LfResource, ResourceType, SubscriptionRecord
from meshctl.planning.desired import Desired, RecordIntent, Seen
from meshctl.planning.plan import Kind
from meshctl.spec.model import Subscription


def keep_as_is(
    sub: Subscription,
    consumer_id: str,
    db: str,
    tables: tuple[str, ...],
    live: SubscriptionRecord | None,
    seen: Seen,
    desired: Desired,
) -> None:
    """A held subscription: what is live of it stays as it is, nothing is added.

    Its live grants, resource link and record are wanted exactly as they are (so they are neither
    widened nor revoked for a missing source); no new grant, link or record is planned, so no
    record claims access that does not exist.
    """
    m = desired.mesh_account_id
    why = f"approved subscription {sub.key} (held: a declared source is missing)"
    resources = [LfResource(ResourceType.DATABASE, m, db)]
    resources += [LfResource(ResourceType.TABLE, m, db, name) for name in tables]
    for resource in resources:
        grant = seen.grants.get(str(Address(Kind.GRANT, consumer_id, resource.key)))
        if grant is not None:
            desired.add_grant(consumer_id, resource, grant.permissions, grant.grantable, why=why)
    live_link = seen.databases.get(str(Address(Kind.DATABASE, consumer_id, db)))
    if live_link is not None and live_link.target_database == db:
        link = link_address(consumer_id, db)
        desired.links[link] = live_link
        desired.reasons.setdefault(link, why)
    if live is not None:
        desired.records[f"subscription.{sub.key}"] = RecordIntent(
            f"subscription.{sub.key}", consumer_id, db, live, live
        )
