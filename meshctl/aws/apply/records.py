"""Subscription record writes: conditional, versioned, never a delete.

- create: PutItem only if no item has this SubscriptionId (``attribute_not_exists``).
- update (and archive): UpdateItem only if the item is still what the plan saw: ``Version =
  before.version`` for meshctl's items, or — adopting an item the helper library wrote —
  ``attribute_not_exists(Version) AND Status = before.status``.
- Every write sets ``Version = before.version + 1``, ``ManagedBy``, ``UpdatedBy``/``UpdatedDate``,
  ``LastPlanId`` and ``GitCommit``; ``CreationDate``/``CreatedBy`` only when absent.
- archive = update to ``Status = Deleted`` plus the note the plan's archived value carries; the
  item stays (architecture.md). Like every action, this never reads the change's ``reason``.

A step's records go in ``TransactWriteItems`` of up to 100 (``transact_records``), each action
keeping its own condition; a record the transaction cannot take is written alone as above.

A failed condition is never retried and never overwritten: the outcome says the record changed
since plan, unless the item already holds exactly this plan's write (a re-run), which is done.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from meshctl.aws.apply.context import ApplyContext, ChangeFailed
from meshctl.aws.errors import error_code
from meshctl.aws.tracker import CREATE_ONLY_ATTRIBUTES, OPTIONAL_ATTRIBUTES, item_from_record
from meshctl.codec import from_json
from meshctl.errors import AwsError
from meshctl.observed import RecordStatus, SubscriptionRecord
from meshctl.planning.plan import Action, Change

_CONDITION_FAILED = "ConditionalCheckFailedException"
_serialize = TypeSerializer().serialize


TRANSACTION_LIMIT = 100  # AWS: at most 100 actions in one TransactWriteItems


def transact_records(
    ctx: ApplyContext, changes: Sequence[Change], *, table: str
) -> tuple[set[str], list[Change]]:
    """Write records in ``TransactWriteItems`` of up to 100, each with its own condition (the
    same ``Version``/``Status`` condition as a single write). Returns the addresses written and
    the changes left to the one-by-one path (``subscription``): a record whose condition failed
    (a re-run of this plan, or someone else's write) or that the transaction could not take is
    written or reported there, alone. A cancelled transaction wrote nothing; the records it
    cancelled for no reason of their own are sent again, so one conflict never blocks the rest.
    """
    ops: dict[str, dict[str, Any]] = {}
    left: list[Change] = []
    for change in changes:
        op = _transaction_op(ctx, table, change)
        if op is None or change.address in ops:
            left.append(change)
        else:
            ops[change.address] = op
    written: set[str] = set()
    pending = [c for c in changes if c.address in ops]
    for start in range(0, len(pending), TRANSACTION_LIMIT):
        chunk = pending[start : start + TRANSACTION_LIMIT]
        while chunk:
            try:
                ctx.api.require(
                    "dynamodb",
                    "transact_write_items",
                    TransactItems=[ops[c.address] for c in chunk],
                )
            except AwsError as exc:
                reasons = _cancellation_reasons(exc)
                blocked = [c for c, r in zip(chunk, reasons, strict=False) if r not in ("", "None")]
                if len(reasons) != len(chunk) or not blocked:
                    left += chunk  # not a condition of one record: each on its own
                    break
                left += blocked
                chunk = [c for c in chunk if c not in blocked]
                continue
            written.update(c.address for c in chunk)
            break
    return written, left


def _cancellation_reasons(exc: AwsError) -> list[str]:
    cause = exc.__cause__
    response = getattr(cause, "response", None) or {}
    return [str(r.get("Code") or "") for r in response.get("CancellationReasons") or []]


def _transaction_op(ctx: ApplyContext, table: str, change: Change) -> dict[str, Any] | None:
    """The change's write as a TransactWriteItems action; None when only the one-by-one path
    can write it (a record adopted from the helper library, whose Notes may be a plain string)."""
    if change.action is Action.CREATE:
        record = _granted(ctx, from_json(SubscriptionRecord, change.after))
        return {"Put": _put_args(ctx, table, record)}
    before = from_json(SubscriptionRecord, change.before)
    if not before.managed:
        return None
    after = (
        _archived(before, change)
        if change.action is Action.DELETE
        else from_json(SubscriptionRecord, change.after)
    )
    args, expression, _ = _update_args(ctx, table, before, _granted(ctx, after))
    return {"Update": _used({**args, "UpdateExpression": expression})}


def subscription(ctx: ApplyContext, change: Change, *, table: str) -> None:
    if change.action is Action.CREATE:
        _create(ctx, table, _granted(ctx, from_json(SubscriptionRecord, change.after)))
        return
    before = from_json(SubscriptionRecord, change.before)
    if change.action is Action.DELETE:
        after = _archived(before, change)
    else:
        after = from_json(SubscriptionRecord, change.after)
    _update(ctx, table, before, _granted(ctx, after))


def _granted(ctx: ApplyContext, record: SubscriptionRecord) -> SubscriptionRecord:
    """``GrantedTableARNs`` as the library writes them: the mesh tables an Active record grants."""
    region = ctx.api.sessions.region
    arn = f"arn:aws:glue:{region}:{ctx.mesh_account_id}:table/{record.database}/"
    active = record.status is RecordStatus.ACTIVE
    # The grantee is the account, or (with principals) each principal; one share is enough.
    grantees = (*record.principals, record.subscriber)
    shares: dict[str, str] = {}
    for name, table in [(record.database, ""), *((t, t) for t in record.tables)]:
        found = [ctx.ram_shares.get((g, record.database, table)) for g in grantees]
        share = next((a for a in found if a), "")
        if active and share:
            shares[name] = share
    return replace(
        record,
        granted_table_arns=tuple(arn + t for t in record.tables if active),
        ram_shares=tuple(sorted(shares.items())),
    )


def _archived(before: SubscriptionRecord, change: Change) -> SubscriptionRecord:
    """The record to write when archiving: the plan's archived value, which carries its note."""
    if change.after is None:
        raise ChangeFailed(
            f"the plan holds no archived record for {change.address}; run plan again"
        )
    after = from_json(SubscriptionRecord, change.after)
    if after.subscription_id != before.subscription_id:
        raise ChangeFailed(f"the plan archives {after.subscription_id} as {before.subscription_id}")
    return replace(after, status=RecordStatus.DELETED)


def _put_args(ctx: ApplyContext, table: str, record: SubscriptionRecord) -> dict[str, Any]:
    record = replace(record, version=1, managed=True, created_at="", created_by="")
    item = item_from_record(record, ctx.who, ctx.plan_id, ctx.commit, now=ctx.now())
    return {
        "TableName": table,
        "Item": {k: _serialize(v) for k, v in item.items()},
        "ConditionExpression": "attribute_not_exists(SubscriptionId)",
    }


def _create(ctx: ApplyContext, table: str, record: SubscriptionRecord) -> None:
    try:
        ctx.api.require("dynamodb", "put_item", **_put_args(ctx, table, record))
    except AwsError as exc:
        record = replace(record, version=1)
        _on_condition_failed(ctx, table, record, exc)


def _update_args(
    ctx: ApplyContext, table: str, before: SubscriptionRecord, after: SubscriptionRecord
) -> tuple[dict[str, Any], str, tuple[list[str], list[str], set[str]]]:
    """(UpdateItem arguments without the expression, the expression, (sets, removes, new notes))."""
    record = replace(after, version=before.version + 1, managed=True)
    item = item_from_record(record, ctx.who, ctx.plan_id, ctx.commit, now=ctx.now())
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def name(attr: str) -> str:
        names[f"#{attr}"] = attr
        return f"#{attr}"

    def value(key: str, v: Any) -> str:
        values[f":{key}"] = _serialize(v)
        return f":{key}"

    sets = []
    for attr, v in item.items():
        if attr in ("SubscriptionId", "Notes"):
            continue
        if attr in CREATE_ONLY_ATTRIBUTES:
            sets.append(f"{name(attr)} = if_not_exists({name(attr)}, {value(attr, v)})")
        else:
            sets.append(f"{name(attr)} = {value(attr, v)}")
    removes = [name(a) for a in OPTIONAL_ATTRIBUTES if a not in item]
    if before.managed:
        # Status too: the helper library still writes these items and never bumps Version.
        condition = (
            f"{name('Version')} = {value('expected', before.version)} AND "
            f"{name('Status')} = {value('before_status', before.status.value)}"
        )
    else:
        condition = (
            f"attribute_not_exists({name('Version')}) AND "
            f"{name('Status')} = {value('before_status', before.status.value)}"
        )
    new_notes = set(record.notes) - set(before.notes)
    # ADD to the string set, as the library does, so no note anyone else wrote is lost.
    add = f"{name('Notes')} {value('notes', new_notes)}" if new_notes else ""
    # Every name and value the fallback below may need (unused ones are dropped when sent).
    name("Notes")
    if new_notes:
        value("all_notes", set(before.notes) | new_notes)
    args: dict[str, Any] = {
        "TableName": table,
        "Key": {"SubscriptionId": _serialize(record.subscription_id)},
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    return args, _expression(sets, removes, add), (sets, removes, new_notes)


def _update(
    ctx: ApplyContext, table: str, before: SubscriptionRecord, after: SubscriptionRecord
) -> None:
    record = replace(after, version=before.version + 1, managed=True)
    args, expression, (sets, removes, new_notes) = _update_args(ctx, table, before, after)
    try:
        _write(ctx, args, expression)
    except AwsError as exc:
        if not (new_notes and _cause_code(exc) == "ValidationException"):
            _on_condition_failed(ctx, table, record, exc)
            return
        # Some library items hold Notes as a plain string, which ADD cannot extend: replace it
        # with the set of every note (the condition guarantees ``before.notes`` is current).
        sets = [*sets, "#Notes = :all_notes"]
        try:
            _write(ctx, args, _expression(sets, removes, ""))
        except AwsError as again:
            _on_condition_failed(ctx, table, record, again)


def _expression(sets: list[str], removes: list[str], add: str) -> str:
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    if add:
        expression += " ADD " + add
    return expression


def _cause_code(exc: AwsError) -> str:
    return error_code(exc.__cause__) if exc.__cause__ is not None else ""


def _used(args: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB rejects names and values the expressions do not use: keep only those used."""
    text = f"{args['UpdateExpression']} {args['ConditionExpression']}"
    used = set(re.findall(r"[:#]\w+", text))
    return {
        **args,
        "ExpressionAttributeNames": {
            k: v for k, v in args["ExpressionAttributeNames"].items() if k in used
        },
        "ExpressionAttributeValues": {
            k: v for k, v in args["ExpressionAttributeValues"].items() if k in used
        },
    }


def _write(ctx: ApplyContext, args: dict[str, Any], expression: str) -> None:
    ctx.api.require("dynamodb", "update_item", **_used({**args, "UpdateExpression": expression}))


def _on_condition_failed(
    ctx: ApplyContext, table: str, record: SubscriptionRecord, exc: AwsError
) -> None:
    """Done if the item already holds this plan's write (a re-run); else refuse loudly."""
    if _cause_code(exc) != _CONDITION_FAILED:
        raise exc
    answer = ctx.api.require(
        "dynamodb",
        "get_item",
        TableName=table,
        Key={"SubscriptionId": _serialize(record.subscription_id)},
        ConsistentRead=True,
    )
    item = answer.get("Item") or {}
    last_plan = item.get("LastPlanId", {}).get("S", "")
    version = item.get("Version", {}).get("N", "")
    if last_plan == ctx.plan_id and version == str(record.version):
        return
    raise ChangeFailed(
        f"subscription record {record.subscription_id} changed since plan "
        f"(now version {version or 'none'}, status {item.get('Status', {}).get('S', 'absent')}); "
        "not overwritten — re-run plan"
    )
