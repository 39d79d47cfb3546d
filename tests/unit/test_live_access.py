"""`meshctl access` on data: each source a row can have and each problem it flags (the pure
``live_access``; the command itself runs end to end in tests/cli/test_access_cli.py)."""

from __future__ import annotations

from datetime import date

from meshctl.observed import (
    Database,
    Grant,
    LfResource,
    ObservedMesh,
    RecordStatus,
    ResourceType,
    SubscriptionRecord,
    Table,
)
from meshctl.planning.live_access import live_access
from meshctl.spec.model import (
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
)

MESH, SALES, FINANCE, OTHER = "555555555555", "111111111111", "333333333333", "444444444444"
DB = f"sales-{SALES}"
ROLE = f"arn:aws:iam::{FINANCE}:role/revenue"
TODAY = date(2026, 6, 1)


def spec(*subs: Subscription) -> MeshSpec:
    return MeshSpec(
        MeshSettings(MESH, "us-east-1"),
        accounts=(
            Account("sales", SALES, frozenset({AccountRole.PRODUCER})),
            Account("finance", FINANCE, frozenset({AccountRole.CONSUMER})),
        ),
        products=(Product("sales.orders", "sales", "sales", ("orders",), DB, owners=("o",)),),
        subscriptions=subs,
    )


def approved(**fields: object) -> Subscription:
    values: dict[str, object] = {
        "consumer": "finance",
        "product": "sales.orders",
        "tables": (),
        "permissions": frozenset({"SELECT"}),
        "status": SubscriptionStatus.APPROVED,
        "approved_by": "o",
    }
    values.update(fields)
    return Subscription(**values)  # type: ignore[arg-type]


def table_grant(principal: str, *perms: str, catalog: str = MESH) -> Grant:
    return Grant(principal, LfResource(ResourceType.TABLE, catalog, DB, "orders"), frozenset(perms))


def link_describe(principal: str) -> Grant:
    return Grant(principal, LfResource(ResourceType.DATABASE, FINANCE, DB), frozenset({"DESCRIBE"}))


def observed(*grants: Grant, records: tuple[SubscriptionRecord, ...] = ()) -> ObservedMesh:
    return ObservedMesh(
        MESH,
        grants=grants,
        databases=(Database(MESH, DB),),
        tables=(Table(MESH, DB, "orders"),),
        subscriptions=records,
    )


def rows_of(the_spec: MeshSpec, live: ObservedMesh) -> dict[str, tuple[str, str]]:
    return {r.who: (r.source, r.problem) for r in live_access(the_spec, live, TODAY)}


def test_sources_producer_subscription_and_unmanaged() -> None:
    rows = rows_of(
        spec(approved()),
        observed(
            table_grant(SALES, "SELECT", "ALTER"),
            table_grant(FINANCE, "SELECT"),
            table_grant(OTHER, "SELECT"),
        ),
    )
    assert rows["sales"] == ("producer", "")
    assert rows["finance"] == ("subscription", "")
    assert rows[OTHER] == ("unmanaged", "live access with no subscription behind it")


def test_more_than_subscribed_and_not_live_are_flagged() -> None:
    more = rows_of(spec(approved()), observed(table_grant(FINANCE, "SELECT", "ALTER")))
    assert more["finance"] == ("subscription", "more than subscribed: ALTER")
    missing = rows_of(spec(approved()), observed())
    assert missing["finance"] == ("subscription", "approved but not live: missing SELECT")


def test_pending_denied_and_expired_access_is_flagged() -> None:
    for sub in (
        approved(status=SubscriptionStatus.PENDING, approved_by=None),
        approved(status=SubscriptionStatus.DENIED, approved_by=None),
        approved(expires=TODAY),
    ):
        rows = rows_of(spec(sub), observed(table_grant(FINANCE, "SELECT")))
        assert rows["finance"] == (
            "subscription",
            "live access with no approved, unexpired subscription",
        ), sub


def test_a_principal_needs_describe_on_its_resource_link() -> None:
    sub = approved(principals=(ROLE,))
    without = rows_of(spec(sub), observed(table_grant(ROLE, "SELECT")))
    assert without["finance (role/revenue)"][1].startswith("no DESCRIBE on the consumer's resource")
    with_link = rows_of(spec(sub), observed(table_grant(ROLE, "SELECT"), link_describe(ROLE)))
    assert with_link["finance (role/revenue)"] == ("subscription", "")
    # The account itself is not the grantee any more: its grant has no subscription behind it.
    both = rows_of(spec(sub), observed(table_grant(ROLE, "SELECT"), table_grant(FINANCE, "SELECT")))
    assert both["finance"] == ("unmanaged", "live access with no subscription behind it")


def test_an_active_helper_library_record_is_a_source() -> None:
    record = SubscriptionRecord("abc123", SALES, FINANCE, RecordStatus.ACTIVE, DB, ("orders",))
    rows = rows_of(spec(), observed(table_grant(FINANCE, "SELECT"), records=(record,)))
    assert rows["finance"] == ("record", "")
