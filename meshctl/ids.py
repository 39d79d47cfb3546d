"""Deterministic identifiers, so re-running plan/apply never creates a second record."""

from __future__ import annotations

import uuid

MESHCTL_NAMESPACE = uuid.UUID("6f1c1d64-9a0e-4c36-9a7b-0d6f5e6b6d10")


def subscription_id(consumer_account_id: str, product_name: str) -> str:
    """The SubscriptionId of a (consumer account, product) pair; stable across runs."""
    return str(uuid.uuid5(MESHCTL_NAMESPACE, f"{consumer_account_id}:{product_name}"))
