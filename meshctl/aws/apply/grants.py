"""Lake Formation grant actions, batched: at most 20 entries per Batch{Grant,Revoke}Permissions.

Per-entry failures come back in ``Failures`` (not as an exception) and become that change's
failed Outcome. ``ConcurrentModificationException`` is retried with ``retry.CONFLICT_BACKOFF``
and the executor's sleep: for a whole call by ``AccountApi.call``, for one entry here. Revoking
what is not there ("No permissions revoked", or the grantee has none) counts as done: the goal
state is reached. When a whole call of several entries answers so, the answer cannot say which
entry it means: each is revoked again alone, and reported alone.

An update grants what was added first and revokes what was dropped second, so access never
drops in between (architecture.md); a change whose grant step failed is not revoked from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshctl.aws.apply.context import ApplyContext
from meshctl.aws.errors import error_code, error_message, is_fatal
from meshctl.aws.retry import CONFLICT_BACKOFF, CONFLICT_CODES
from meshctl.codec import from_json
from meshctl.errors import AwsError
from meshctl.observed import Grant
from meshctl.outcome import Outcome
from meshctl.planning.canonical import grant_entries
from meshctl.planning.plan import Action, Change

BATCH_SIZE = 20

Entry = tuple[str, dict[str, Any]]  # (change address, batch entry without Id)


def grants(ctx: ApplyContext, changes: Sequence[Change]) -> list[Outcome]:
    errors: dict[str, str] = {}
    action = changes[0].action
    if action is Action.CREATE:
        entries = [(c.address, grant_entries(from_json(Grant, c.after))) for c in changes]
        _batch(ctx, "batch_grant_permissions", entries, errors)
    elif action is Action.DELETE:
        entries = [(c.address, grant_entries(from_json(Grant, c.before))) for c in changes]
        _batch(ctx, "batch_revoke_permissions", entries, errors)
    elif action is Action.UPDATE:
        adds, drops = [], []
        for c in changes:
            add, drop = _delta(from_json(Grant, c.before), from_json(Grant, c.after))
            adds += [(c.address, add)] if add else []
            drops += [(c.address, drop)] if drop else []
        _batch(ctx, "batch_grant_permissions", adds, errors)
        _batch(ctx, "batch_revoke_permissions", [d for d in drops if d[0] not in errors], errors)
    return [
        Outcome.failed(c.address, errors[c.address])
        if c.address in errors
        else Outcome.done(c.address)
        for c in changes
    ]


def _delta(before: Grant, after: Grant) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(entry granting what was added, entry revoking what was dropped); None when empty."""
    added = after.permissions - before.permissions
    added_grantable = after.grantable - before.grantable
    dropped = before.permissions - after.permissions
    # A grant option goes with its permission, and is dropped alone when the permission stays.
    dropped_grantable = before.grantable - after.grantable
    add = (
        grant_entries(after, permissions=added | added_grantable, grantable=added_grantable)
        if added or added_grantable
        else None
    )
    drop = (
        grant_entries(before, permissions=dropped, grantable=dropped_grantable)
        if dropped or dropped_grantable
        else None
    )
    return add, drop


def _nothing_to_revoke(code: str, message: str) -> bool:
    text = message.lower()
    return code == "InvalidInputException" and (
        "no permissions revoked" in text or "has no permissions" in text
    )


def _batch(ctx: ApplyContext, method: str, entries: list[Entry], errors: dict[str, str]) -> None:
    revoke = method == "batch_revoke_permissions"
    for start in range(0, len(entries), BATCH_SIZE):
        # Ids are positions in the chunk: unique per call even if two changes share a grant.
        pending = {str(i): entry for i, entry in enumerate(entries[start : start + BATCH_SIZE])}
        failed = 0  # tries of this chunk that left entries to retry
        while pending:
            retry: dict[str, Entry] = {}
            try:
                answer = ctx.api.require(
                    "lakeformation",
                    method,
                    CatalogId=ctx.account_id,
                    Entries=[{**entry, "Id": i} for i, (_, entry) in pending.items()],
                )
            except AwsError as exc:  # a conflict here has been retried by AccountApi.call
                cause = exc.__cause__
                if cause is not None and is_fatal(cause):
                    raise
                elif (
                    revoke
                    and cause is not None
                    and _nothing_to_revoke(error_code(cause), error_message(cause))
                ):
                    if len(pending) > 1:
                        # The call as a whole says nothing was revoked, without saying for
                        # which entry: only an entry alone can be told done.
                        for entry in pending.values():
                            _batch(ctx, method, [entry], errors)
                else:
                    for address, _ in pending.values():
                        errors[address] = str(exc)
                answer = {}
            for failure in answer.get("Failures") or []:
                entry_id = str((failure.get("RequestEntry") or {}).get("Id", ""))
                if entry_id not in pending:
                    continue
                err = failure.get("Error") or {}
                code, message = str(err.get("ErrorCode", "")), str(err.get("ErrorMessage", ""))
                if revoke and _nothing_to_revoke(code, message):
                    continue
                if code in CONFLICT_CODES and failed + 1 < CONFLICT_BACKOFF.attempts:
                    retry[entry_id] = pending[entry_id]
                    continue
                verb = "revoke" if revoke else "grant"
                errors[pending[entry_id][0]] = f"{verb} failed: {code}: {message}"
            pending = retry
            if pending:
                ctx.sleep(CONFLICT_BACKOFF.delay(failed))
                failed += 1
