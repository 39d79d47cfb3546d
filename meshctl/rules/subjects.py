"""The plain data a condition sees: one value per subscription, product or plan change.

Only JSON-like values (dicts, lists, strings, ints, bools, None), so CEL sees maps, lists and
scalars; docs/policies.md documents every field, and ``load.FIELDS`` lists them for the check
of conditions and messages at load time. Sets are sorted lists so a message reads the same
every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from meshctl.planning.plan import Change, Plan
from meshctl.rules.load import Subject
from meshctl.spec.model import MeshSpec, Product, Subscription, TableRestriction

Data = dict[str, Any]


def subjects(kind: Subject, spec: MeshSpec, plan: Plan, today: date) -> Iterator[tuple[str, Data]]:
    """``(label, data)`` for every subject of ``kind``: the label names it in a violation."""
    if kind is Subject.SUBSCRIPTION:
        for sub in spec.subscriptions:
            yield f"subscription {sub.key}", subscription_data(sub, spec, today)
    elif kind is Subject.PRODUCT:
        for product in spec.products:
            yield f"product {product.name}", product_data(product)
    else:
        for change in plan.effective_changes:
            yield f"change {change.address}", change_data(change)


def subscription_data(sub: Subscription, spec: MeshSpec, today: date) -> Data:
    product = spec.product(sub.product)
    return {
        "consumer": sub.consumer,
        "product": sub.product,
        "producer": product.producer,
        "status": sub.status.value,
        "permissions": sorted(sub.permissions),
        "grantable": sorted(sub.grantable),
        # The subscribed tables; none named means all of the product's ("*": all of its source).
        "tables": list(sub.tables or product.tables),
        "restrictions": [_restriction(r) for r in sub.restrictions],
        "principals": list(sub.principals),
        "expires": sub.expires.isoformat() if sub.expires else None,
        "days_until_expiry": (sub.expires - today).days if sub.expires else None,
        "approved_by": sub.approved_by,
        "purpose": sub.purpose,
        "tags": dict(product.tags),
        "owners": list(product.owners),
    }


def product_data(product: Product) -> Data:
    return {
        "name": product.name,
        "producer": product.producer,
        "owners": list(product.owners),
        "tags": dict(product.tags),
        "tables": list(product.tables),
        "protect": product.protect,
        "description": product.description,
    }


def change_data(change: Change) -> Data:
    return {
        "kind": change.kind.value,
        "action": change.action.value,
        "address": change.address,
        "account_id": change.account_id,
        "drift": change.drift.value if change.drift else None,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
    }


def _restriction(r: TableRestriction) -> Data:
    return {
        "table": r.table,
        "columns": list(r.columns),
        "exclude_columns": list(r.excluded),
        "row_filter": r.row_filter,
    }
