"""Which changes of a pull request widen access (pure).

``widenings(base, head)`` compares the mesh at the pull request's base with its head and lists
every change that gives more access than the base did: a subscription that becomes approved, or
an approved one that gains permissions, grantable permissions, tables, columns, rows, principals
or time (a later or removed ``expires``), and a product that gains owners (who may then approve).
Narrowing, denying and removing never appear: they take access away. ``approvals.py`` decides
whether an owner approved each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from meshctl.planning.codeowners import same_owner
from meshctl.spec.model import (
    ALL_TABLES,
    TABLE_PERMISSIONS,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
    TableRestriction,
)


class Widening(StrEnum):
    APPROVED = "approved"  # a subscription becomes approved (new, or was pending or denied)
    PERMISSIONS = "permissions"
    GRANTABLE = "grantable"
    TABLES = "tables"
    COLUMNS = "columns"
    ROWS = "rows"
    PRINCIPALS = "principals"
    EXPIRES = "expires"
    OWNERS = "owners"  # a product gains owners: more people may approve access to it


WHOLE_ACCOUNT = "*"  # in ``added`` of a principals change: the grant goes to the account


@dataclass(frozen=True)
class AccessChange:
    """One change that widens access. ``added`` holds what is gained (permissions, tables,
    columns, principals, owners); ``before``/``after`` the values when a set does not say it
    (a row filter, an expiry, a column shape). Plain data: the renderers build the sentences."""

    kind: Widening
    subject: str  # the subscription's key ("consumer/product"), or the product's name
    product: str
    file: str
    line: int
    table: str = ""  # for columns and rows
    added: tuple[str, ...] = ()
    before: str = ""
    after: str = ""


def widenings(base: MeshSpec, head: MeshSpec) -> tuple[AccessChange, ...]:
    """Every change from ``base`` to ``head`` that gives more access, in the head's file order."""
    base_subs = {s.key: s for s in base.subscriptions}
    base_products = {p.name: p for p in base.products}
    head_products = {p.name: p for p in head.products}
    where = dict(head.sources)
    changes: list[AccessChange] = []
    for product in head.products:
        before = base_products.get(product.name)
        if before is None:
            continue
        gained = tuple(o for o in product.owners if not owns(before.owners, o))
        if gained:
            file, line = _location(where[f"product.{product.name}"])
            changes.append(
                AccessChange(Widening.OWNERS, product.name, product.name, file, line, added=gained)
            )
    for sub in head.subscriptions:
        if sub.status is not SubscriptionStatus.APPROVED:
            continue
        file, line = _location(where[f"subscription.{sub.key}"])
        found = partial(AccessChange, subject=sub.key, product=sub.product, file=file, line=line)
        old = base_subs.get(sub.key)
        if (
            old is None
            or old.status is not SubscriptionStatus.APPROVED
            or old.product not in base_products
        ):
            changes.append(found(Widening.APPROVED))
            continue
        changes += _subscription_widenings(
            old, base_products[sub.product], sub, head_products[sub.product], found
        )
    return tuple(sorted(changes, key=lambda c: (c.file, c.line, list(Widening).index(c.kind))))


def _location(text: str) -> tuple[str, int]:
    file, _, line = text.rpartition(":")
    return file, int(line)


def owns(owners: Sequence[str], who: str) -> bool:
    return any(same_owner(o, who) for o in owners)


def _subscription_widenings(
    old: Subscription,
    old_product: Product,
    new: Subscription,
    new_product: Product,
    found: partial[AccessChange],
) -> list[AccessChange]:
    changes: list[AccessChange] = []
    for kind, had, has in (
        (Widening.PERMISSIONS, old.permissions, new.permissions),
        (Widening.GRANTABLE, old.grantable, new.grantable),
    ):
        gained = _permissions(has) - _permissions(had)
        if gained:
            shown = ("ALL",) if "ALL" in has and "ALL" not in had else tuple(sorted(gained))
            changes.append(found(kind, added=shown))
    old_tables, new_tables = _tables(old, old_product), _tables(new, new_product)
    if new_tables is None and old_tables is not None:
        changes.append(found(Widening.TABLES, added=(ALL_TABLES,)))
    elif new_tables is not None and old_tables is not None and new_tables - old_tables:
        changes.append(found(Widening.TABLES, added=tuple(sorted(new_tables - old_tables))))
    restricted = {r.table for r in (*old.restrictions, *new.restrictions)}
    for table in sorted(restricted):
        if _has(old_tables, table) and _has(new_tables, table):
            changes += _restriction_widenings(
                table, old.restriction(table), new.restriction(table), found
            )
    # No principals is the whole consumer account: wider than any list of its roles and users.
    if old.principals and not new.principals:
        changes.append(found(Widening.PRINCIPALS, added=(WHOLE_ACCOUNT,)))
    elif old.principals and set(new.principals) - set(old.principals):
        more = tuple(sorted(set(new.principals) - set(old.principals)))
        changes.append(found(Widening.PRINCIPALS, added=more))
    if old.expires is not None and (new.expires is None or new.expires > old.expires):
        after = new.expires.isoformat() if new.expires else ""
        changes.append(found(Widening.EXPIRES, before=old.expires.isoformat(), after=after))
    return changes


def _permissions(names: frozenset[str]) -> frozenset[str]:
    """What a permission set allows: ``ALL`` is every table permission."""
    return frozenset(TABLE_PERMISSIONS) if "ALL" in names else names


def _tables(sub: Subscription, product: Product) -> frozenset[str] | None:
    """The tables a subscription reaches; None for every table of the source database."""
    names = sub.tables or product.tables
    return None if ALL_TABLES in names else frozenset(names)


def _has(tables: frozenset[str] | None, table: str) -> bool:
    return tables is None or table in tables


def _restriction_widenings(
    table: str,
    old: TableRestriction | None,
    new: TableRestriction | None,
    found: partial[AccessChange],
) -> list[AccessChange]:
    old = old or TableRestriction(table)
    new = new or TableRestriction(table)
    changes = []
    gained = _columns_gained(old, new)
    if gained is not None:
        changes.append(
            found(
                Widening.COLUMNS,
                table=table,
                added=gained,
                before=_columns_shown(old),
                after=_columns_shown(new),
            )
        )
    if old.row_filter and not narrower_filter(old.row_filter, new.row_filter):
        changes.append(
            found(Widening.ROWS, table=table, before=old.row_filter, after=new.row_filter)
        )
    return changes


def _columns_gained(old: TableRestriction, new: TableRestriction) -> tuple[str, ...] | None:
    """The columns ``new`` shows that ``old`` hid (() when they cannot be named: the table's
    columns are not in the file); None when ``new`` shows no column ``old`` hid."""
    if not old.columns and not old.excluded:
        return None  # every column already
    if old.columns:
        if new.columns:
            extra = tuple(sorted(set(new.columns) - set(old.columns)))
            return extra or None
        return ()  # "every column" or "every column but some": more than a named list
    if new.columns:
        extra = tuple(sorted(set(new.columns) & set(old.excluded)))
    else:
        extra = tuple(sorted(set(old.excluded) - set(new.excluded)))
    return extra or None


def _columns_shown(restriction: TableRestriction) -> str:
    if restriction.columns:
        return f"columns ({', '.join(restriction.columns)})"
    if restriction.excluded:
        return f"every column except ({', '.join(restriction.excluded)})"
    return "every column"


_OR = re.compile(r"\bor\b", re.IGNORECASE)


def narrower_filter(before: str, after: str) -> bool:
    """Whether row filter ``after`` can only keep rows ``before`` keeps: the same text, or
    ``before`` AND more conditions. Anything else (another expression, no filter at all) may
    show more rows, so it needs an owner: meshctl does not reason about SQL beyond this."""
    before, after = " ".join(before.split()), " ".join(after.split())
    if not after:
        return not before
    if not before or after == before:
        return True
    kept = (f"({before})", *(() if _OR.search(before) else (before,)))
    for form in kept:
        for rest in _rest_of_conjunction(after, form):
            if not _OR.search(rest) or (rest.startswith("(") and rest.endswith(")")):
                return True
    return False


def _rest_of_conjunction(expression: str, part: str) -> list[str]:
    """The other side of ``part AND x`` / ``x AND part`` (AND in any case)."""
    rests = []
    head = re.match(re.escape(part) + r"\s+and\s+(.+)$", expression, re.IGNORECASE | re.DOTALL)
    if head:
        rests.append(head.group(1).strip())
    tail = re.match(r"(.+?)\s+and\s+" + re.escape(part) + "$", expression, re.I | re.DOTALL)
    if tail:
        rests.append(tail.group(1).strip())
    return rests
