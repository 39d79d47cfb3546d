"""Glue actions: mesh databases (with their LF-tags), table copies, resource links.

Create is "create, or bring the existing one to the wanted value": ``AlreadyExists`` leads to a
read and an update only when the live value differs, so a repeated change writes nothing.
Foreign database parameters are kept; only meshctl's own (``ManagedBy``, ``MeshctlLfTags``)
are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from meshctl.aws.apply.context import ApplyContext, ChangeFailed
from meshctl.aws.invitations import pending_from
from meshctl.aws.read.glue import (
    KMS_KEYS_PARAMETER,
    LF_TAGS_PARAMETER,
    MANAGED_BY_PARAMETER,
    PROTECT_PARAMETER,
    database_from_api,
    lf_tags_parameter,
    table_from_api,
)
from meshctl.aws.tracker import MANAGED_BY
from meshctl.codec import from_json
from meshctl.observed import Column, Database, Table
from meshctl.planning.plan import Action, Change

_EXISTS = frozenset({"AlreadyExistsException"})

# --- databases -------------------------------------------------------------------------------


def database(ctx: ApplyContext, change: Change) -> None:
    if change.action is Action.DELETE:
        old = from_json(Database, change.before)
        ctx.api.call("glue", "delete_database", absent=True, Name=old.name)
        return
    wanted = from_json(Database, change.after)
    # meshctl marks what it creates; on update the planner's value says whether it manages it.
    managed = change.action is Action.CREATE or wanted.managed_by_meshctl
    ensure_database(ctx, wanted, managed=managed, planned_missing=change.action is Action.CREATE)


def ensure_database(
    ctx: ApplyContext, wanted: Database, *, managed: bool, planned_missing: bool = False
) -> None:
    """``planned_missing``: the plan read that the database does not exist, so the create is
    tried without a read first; ``AlreadyExists`` (a re-run after a crash, or someone else) then
    reads it and converges to the wanted value as any other create does."""
    existing = (
        None
        if planned_missing
        else ctx.api.call("glue", "get_database", absent=True, Name=wanted.name)
    )
    current: Mapping[str, Any] = (existing or {}).get("Database", {})
    database_input = _database_input(wanted, current.get("Parameters") or {}, managed=managed)
    if existing is None:
        # Created without the LF-tags marker, which is written (below) only once the tags are
        # attached: a crash or failed tagging in between leaves a database seen as untagged.
        untagged = _database_input(replace(wanted, tags=()), {}, managed=managed)
        created = ctx.api.call("glue", "create_database", ok_codes=_EXISTS, DatabaseInput=untagged)
        if created is None:
            current = ctx.api.require("glue", "get_database", Name=wanted.name)["Database"]
        else:
            current = untagged
        database_input = _database_input(wanted, current.get("Parameters") or {}, managed=managed)
    live = database_from_api(ctx.account_id, current)
    if live.tags != wanted.tags:
        _set_lf_tags(ctx, wanted, previous=live.tags)
    if _database_differs(current, database_input):
        update = dict(database_input)
        if "TargetDatabase" not in update:
            update.pop("CreateTableDefaultPermissions", None)  # only meaningful on create
        ctx.api.require("glue", "update_database", Name=wanted.name, DatabaseInput=update)


def _database_input(
    db: Database, current_parameters: Mapping[str, str], *, managed: bool
) -> dict[str, Any]:
    parameters = dict(current_parameters)
    if managed:
        parameters[MANAGED_BY_PARAMETER] = MANAGED_BY
    database_input: dict[str, Any] = {"Name": db.name}
    if db.description:
        database_input["Description"] = db.description
    if db.target_account_id:
        database_input["TargetDatabase"] = {
            "CatalogId": db.target_account_id,
            "DatabaseName": db.target_database or db.name,
        }
    else:
        if db.tags:
            parameters[LF_TAGS_PARAMETER] = lf_tags_parameter(db.tags)
        else:
            parameters.pop(LF_TAGS_PARAMETER, None)
        if db.protected:
            parameters[PROTECT_PARAMETER] = "true"
        else:
            parameters.pop(PROTECT_PARAMETER, None)
        if db.kms_keys:
            parameters[KMS_KEYS_PARAMETER] = ",".join(db.kms_keys)
        else:
            parameters.pop(KMS_KEYS_PARAMETER, None)
        # As the helper library does: no implicit IAM_ALLOWED_PRINCIPALS grant on new tables.
        database_input["CreateTableDefaultPermissions"] = []
    if parameters:
        database_input["Parameters"] = parameters
    return database_input


def _database_differs(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return (
        current.get("Description", "") != wanted.get("Description", "")
        or (current.get("Parameters") or {}) != (wanted.get("Parameters") or {})
        or (current.get("TargetDatabase") or {}) != (wanted.get("TargetDatabase") or {})
    )


def _set_lf_tags(ctx: ApplyContext, db: Database, *, previous: tuple[tuple[str, str], ...]) -> None:
    """LF-tags on a mesh database: add the wanted ones, remove keys no longer wanted."""
    if db.target_account_id:
        return
    resource = {"Database": {"CatalogId": ctx.account_id, "Name": db.name}}
    wanted_keys = {k for k, _ in db.tags}
    dropped = [
        {"CatalogId": ctx.account_id, "TagKey": k, "TagValues": [v]}
        for k, v in previous
        if k not in wanted_keys
    ]
    if dropped:
        answer = ctx.api.require(
            "lakeformation", "remove_lf_tags_from_resource", Resource=resource, LFTags=dropped
        )
        _raise_tag_failures(db, answer)
    if db.tags:
        tags = [{"CatalogId": ctx.account_id, "TagKey": k, "TagValues": [v]} for k, v in db.tags]
        answer = ctx.api.require(
            "lakeformation", "add_lf_tags_to_resource", Resource=resource, LFTags=tags
        )
        _raise_tag_failures(db, answer)


def _raise_tag_failures(db: Database, answer: Mapping[str, Any]) -> None:
    failures = answer.get("Failures") or []
    if failures:
        errors = "; ".join(
            "{}: {} {}".format(
                (f.get("LFTag") or {}).get("TagKey", "?"),
                (f.get("Error") or {}).get("ErrorCode", ""),
                (f.get("Error") or {}).get("ErrorMessage", ""),
            )
            for f in failures
        )
        raise ChangeFailed(f"LF-tags on database {db.name} failed: {errors}")


# --- tables ----------------------------------------------------------------------------------


def table(ctx: ApplyContext, change: Change) -> None:
    if change.action is Action.DELETE:
        old = from_json(Table, change.before)
        ctx.api.call("glue", "delete_table", absent=True, DatabaseName=old.database, Name=old.name)
        return
    wanted = from_json(Table, change.after)
    table_input = _table_input(wanted)
    if change.action is Action.CREATE:
        created = ctx.api.call(
            "glue",
            "create_table",
            ok_codes=_EXISTS,
            DatabaseName=wanted.database,
            TableInput=table_input,
        )
        if created is not None:
            return
    existing = ctx.api.call(
        "glue", "get_table", absent=True, DatabaseName=wanted.database, Name=wanted.name
    )
    if existing is None:
        ctx.api.require(
            "glue", "create_table", DatabaseName=wanted.database, TableInput=table_input
        )
    elif table_from_api(ctx.account_id, existing["Table"]) != wanted:
        ctx.api.require(
            "glue", "update_table", DatabaseName=wanted.database, TableInput=table_input
        )


def _columns(columns: tuple[Column, ...]) -> list[dict[str, str]]:
    out = []
    for c in columns:
        column = {"Name": c.name, "Type": c.type}
        if c.comment:
            column["Comment"] = c.comment
        out.append(column)
    return out


def _table_input(t: Table) -> dict[str, Any]:
    sd: dict[str, Any] = {"Columns": _columns(t.columns)}
    for key, value in (
        ("Location", t.location),
        ("InputFormat", t.input_format),
        ("OutputFormat", t.output_format),
    ):
        if value:
            sd[key] = value
    if t.serde:
        sd["SerdeInfo"] = {"SerializationLibrary": t.serde}
    table_input: dict[str, Any] = {
        "Name": t.name,
        "StorageDescriptor": sd,
        "PartitionKeys": _columns(t.partition_keys),
        "Parameters": dict(t.parameters),
    }
    if t.table_type:
        table_input["TableType"] = t.table_type
    if t.owner:
        table_input["Owner"] = t.owner
    return table_input


# --- consumer side ---------------------------------------------------------------------------

_ACCEPTED = frozenset({"ResourceShareInvitationAlreadyAcceptedException"})


def resource_link(ctx: ApplyContext, change: Change) -> None:
    """Create the link database (the executor first accepts the account's RAM invitations)."""
    if change.action is Action.DELETE:
        old = from_json(Database, change.before)
        ctx.api.call("glue", "delete_database", absent=True, Name=old.name)
        return
    if change.action is Action.UPDATE and change.before == change.after:
        return  # only the invitations to accept, which the executor did for the whole step
    wanted = from_json(Database, change.after)
    ensure_database(ctx, wanted, managed=True, planned_missing=change.action is Action.CREATE)


def accept_invitations(ctx: ApplyContext, sender: str) -> int:
    """Accept every pending invitation from ``sender``; returns how many were accepted."""
    pending = pending_from(ctx.api, sender)
    for arn in pending:
        ctx.api.call(
            "ram",
            "accept_resource_share_invitation",
            ok_codes=_ACCEPTED,
            resourceShareInvitationArn=arn,
        )
    return len(pending)
