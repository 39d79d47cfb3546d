"""Mesh-account actions: subscription table, data lake settings, catalog policy, LF-tags.

Each action is idempotent: it reads what it must merge with and writes only what is missing.
None of these is ever deleted: the planner plans only creates and updates of them (planning/
kinds/catalog.py), and a delete in a plan fails loudly here rather than remove what is shared
beyond meshctl.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import WaiterError

from meshctl.aws.apply.context import ApplyContext, ChangeFailed
from meshctl.aws.read.glue import read_catalog_policy
from meshctl.aws.read.lakeformation import CROSS_ACCOUNT_VERSION, read_lf_tags
from meshctl.aws.tracker import MANAGED_TAGS
from meshctl.codec import canonical_json, from_json
from meshctl.observed import LakeSettings
from meshctl.planning.plan import Action, Change, Kind

# Waiting for a new table: DescribeTable every 2 s, for up to 3 minutes.
TABLE_WAIT = {"Delay": 2, "MaxAttempts": 90}
# Glue's answer to a PutResourcePolicy whose PolicyHashCondition/PolicyExistsCondition fails.
CONDITION_FAILED = frozenset({"ConditionCheckFailureException"})
# Why a delete of each kind is refused (the planner never plans one).
_NEVER_DELETED = {
    Kind.SUBSCRIPTIONS_TABLE: "the subscription table holds the history",
    Kind.LAKE_SETTINGS: "data lake admins and defaults are only ever merged",
    Kind.CATALOG_POLICY: "the catalog resource policy holds other teams' statements",
    Kind.LF_TAG: "an LF-tag may be attached to resources meshctl does not manage",
    Kind.DATA_LOCATION: "another product or team may rely on a registered location",
}


def _refuse_delete(change: Change) -> None:
    if change.action is Action.DELETE:
        raise ChangeFailed(
            f"meshctl never deletes {change.address}: {_NEVER_DELETED[change.kind]}; no plan "
            "meshctl makes holds this delete"
        )


def subscriptions_table_definition(name: str) -> dict[str, Any]:
    """The helper library's table: same key, indexes, billing and stream (architecture.md)."""
    return {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": "SubscriptionId", "AttributeType": "S"},
            {"AttributeName": "SubscriberPrincipal", "AttributeType": "S"},
            {"AttributeName": "OwnerPrincipal", "AttributeType": "S"},
            {"AttributeName": "Status", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "SubscriptionId", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": f"{name}-Owner",
                "KeySchema": [
                    {"AttributeName": "OwnerPrincipal", "KeyType": "HASH"},
                    {"AttributeName": "Status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": f"{name}-Subscriber",
                "KeySchema": [{"AttributeName": "SubscriberPrincipal", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "Tags": MANAGED_TAGS,
    }


def subscriptions_table(ctx: ApplyContext, change: Change) -> None:
    _refuse_delete(change)
    name = str((change.after or {})["name"])
    ctx.api.call(
        "dynamodb",
        "create_table",
        ok_codes=frozenset({"ResourceInUseException"}),  # exists (maybe still creating)
        **subscriptions_table_definition(name),
    )
    try:
        waiter = ctx.api.client("dynamodb").get_waiter("table_exists")
        waiter.wait(TableName=name, WaiterConfig=TABLE_WAIT)
    except WaiterError as exc:
        raise ChangeFailed(f"table {name} did not become ACTIVE: {exc}") from exc


def lake_settings(ctx: ApplyContext, change: Change) -> None:
    """Merge admins (never drop one: PutDataLakeSettings is authoritative) and empty defaults."""
    _refuse_delete(change)
    desired = from_json(LakeSettings, change.after)
    catalog = ctx.account_id
    current: dict[str, Any] = ctx.api.require(
        "lakeformation", "get_data_lake_settings", CatalogId=catalog
    ).get("DataLakeSettings", {})
    updated = dict(current)
    admins = [a["DataLakePrincipalIdentifier"] for a in current.get("DataLakeAdmins", [])]
    admins += sorted(desired.admins - set(admins))
    updated["DataLakeAdmins"] = [{"DataLakePrincipalIdentifier": a} for a in admins]
    if desired.create_table_default_permissions_empty:
        updated["CreateTableDefaultPermissions"] = []
    if desired.create_database_default_permissions_empty:
        updated["CreateDatabaseDefaultPermissions"] = []
    # Parameters is replaced whole too: keep every other key (SET_CONTEXT, ...).
    parameters = dict(current.get("Parameters") or {})
    parameters[CROSS_ACCOUNT_VERSION] = str(desired.cross_account_version)
    updated["Parameters"] = parameters
    if updated != current:
        ctx.api.require(
            "lakeformation", "put_data_lake_settings", CatalogId=catalog, DataLakeSettings=updated
        )


def catalog_policy(ctx: ApplyContext, change: Change) -> None:
    _refuse_delete(change)
    policy = str((change.after or {})["policy"])
    # PutResourcePolicy replaces the whole policy, which merges the plan's reading of it: it is
    # written only over that reading (the hash read with it, or no policy at all), so an edit
    # someone made since the plan is never lost.
    before = change.before or {}
    condition: dict[str, Any] = {"PolicyExistsCondition": "NOT_EXIST"}
    if before.get("policy"):
        condition = {"PolicyExistsCondition": "MUST_EXIST"}
        if before.get("policy_hash"):
            condition["PolicyHashCondition"] = str(before["policy_hash"])
    # EnableHybrid: the policy coexists with Lake Formation cross-account grants (RAM shares).
    written = ctx.api.call(
        "glue",
        "put_resource_policy",
        ok_codes=CONDITION_FAILED,
        PolicyInJson=policy,
        EnableHybrid="TRUE",
        **condition,
    )
    if written is None and read_catalog_policy(ctx.api)[0] != _canonical(policy):
        # Refused and not already the wanted policy (as after an interrupted apply).
        raise ChangeFailed(
            "the Glue catalog resource policy changed since plan; not overwritten — run plan again"
        )


def _canonical(text: str) -> str:
    try:
        return canonical_json(json.loads(text))
    except ValueError:
        return text


def data_location(ctx: ApplyContext, change: Change) -> None:
    """Register a product's S3 location, with Lake Formation's service-linked role (as the
    helper library does); registered already counts as done. Never deregistered by meshctl."""
    _refuse_delete(change)
    ctx.api.call(
        "lakeformation",
        "register_resource",
        ok_codes=frozenset({"AlreadyExistsException"}),
        ResourceArn=change.after["resource_arn"],
        UseServiceLinkedRole=True,
    )


def lf_tag(ctx: ApplyContext, change: Change) -> None:
    _refuse_delete(change)
    # Existing values come from ListLFTags (one page holds 1,000 keys) rather than GetLFTag, so a
    # missing tag is an ordinary answer, not an error to interpret.
    existing = dict(read_lf_tags(ctx.api))
    catalog = ctx.account_id
    after = change.after or {}
    key, values = str(after["key"]), sorted(str(v) for v in after["values"])
    if key not in existing:
        ctx.api.require(
            "lakeformation", "create_lf_tag", CatalogId=catalog, TagKey=key, TagValues=values
        )
        return
    # Values are only added: a value still assigned to some resource cannot be dropped safely.
    missing = sorted(set(values) - set(existing[key]))
    if missing:
        ctx.api.require(
            "lakeformation", "update_lf_tag", CatalogId=catalog, TagKey=key, TagValuesToAdd=missing
        )
