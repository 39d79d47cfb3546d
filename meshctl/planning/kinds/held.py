"""A held subscription (``plan.Held``): what is live of it stays exactly as it is.

Its product's declared source is missing, it names a table its product lacks, or a column its
table lacks: no grant, filter, resource link or record is added for it (so no record claims access
that does not exist), and what is live is wanted as it is (so nothing is widened or revoked for a
missing source).
"""

from __future__ import annotations

from meshctl.address import Address, link_address
from meshctl.observed import LfResource, ResourceType, SubscriptionRecord
from meshctl.planning.canonical import table_name
from meshctl.planning.data_filters import filter_name
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
    why = f"approved subscription {sub.key} (held: declared, missing in AWS)"
    grantees = {consumer_id, *sub.principals}
    for grant in seen.observed.grants:
        resource = grant.resource
        if grant.principal not in grantees or resource.database != db:
            continue
        on_link = resource.catalog_id == consumer_id and resource.type is ResourceType.DATABASE
        if on_link or (resource.catalog_id == m and _subscribed(resource, tables)):
            desired.add_grant(
                grant.principal, resource, grant.permissions, grant.grantable, why=why
            )
    name = filter_name(consumer_id, sub.product)
    for data_filter in seen.observed.data_filters:
        if (data_filter.catalog_id, data_filter.database, data_filter.name) == (m, db, name):
            desired.data_filters[data_filter.address] = data_filter
            desired.reasons[data_filter.address] = why
    live_link = seen.databases.get(str(Address(Kind.DATABASE, consumer_id, db)))
    if live_link is not None and live_link.target_database == db:
        link = link_address(consumer_id, db)
        desired.links[link] = live_link
        desired.reasons.setdefault(link, why)
    if live is not None:
        desired.records[f"subscription.{sub.key}"] = RecordIntent(
            f"subscription.{sub.key}", consumer_id, db, live, live
        )


def _subscribed(resource: LfResource, tables: tuple[str, ...]) -> bool:
    """The mesh database itself, or one of the subscribed tables (whole, columns or a filter)."""
    return resource.type is ResourceType.DATABASE or table_name(resource) in tables
