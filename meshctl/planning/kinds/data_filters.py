"""Diff of the data cells filters that serve row-restricted subscriptions.

A declared filter that is missing is created; one whose row filter or columns differ is updated in
place (``UpdateDataCellsFilter`` keeps its name, so the grants on it and the consumer's access
stay while it changes). A live filter named as meshctl names them (``meshctl-<consumer>-<product>``)
on a mesh database that no approved subscription wants any more is deleted, after the grants on
it are revoked. Filters with other names are someone else's and are never read into a change.
"""

from __future__ import annotations

from meshctl.observed import DataFilter
from meshctl.planning.data_filters import filter_name, is_meshctls
from meshctl.planning.desired import Desired, Seen
from meshctl.planning.kinds.changes import ChangeSet
from meshctl.planning.kinds.grants import Ownership
from meshctl.planning.plan import Kind


def plan_data_filters(
    seen: Seen, desired: Desired, ownership: Ownership, changes: ChangeSet
) -> None:
    m = desired.mesh_account_id
    edited = _edited_tables(desired)
    for address, want in desired.data_filters.items():
        live = seen.data_filters.get(address)
        why = desired.reasons.get(address, "")
        if live is None:
            changes.create(Kind.DATA_FILTER, address, m, want, why)
        elif live != want:
            if (want.database, want.table, want.name) in edited:
                reason = f"{_what_changed(live, want)} changed in {changes.file}"
            else:
                reason = (
                    f"live filter differs from {changes.file} (changed outside meshctl: "
                    f"{_what_changed(live, want)}): {why}"
                )
            changes.update(Kind.DATA_FILTER, address, m, live, want, reason)
    for address, live in seen.data_filters.items():
        if address in desired.data_filters or not is_meshctls(live):
            continue
        if live.catalog_id == m and live.database in ownership.managed_databases:
            reason = f"no approved subscription in {changes.file} restricts these rows any more"
            changes.orphan(Kind.DATA_FILTER, address, m, live, reason)


def _what_changed(live: DataFilter, want: DataFilter) -> str:
    parts = []
    if live.row_filter != want.row_filter:
        parts.append("row filter")
    if (live.columns, live.excluded) != (want.columns, want.excluded):
        parts.append("columns")
    return " and ".join(parts) or "filter"


def _edited_tables(desired: Desired) -> set[tuple[str, str, str]]:
    """(database, table, filter name) whose restriction the file changed against the record."""
    out: set[tuple[str, str, str]] = set()
    for intent in desired.records.values():
        if intent.live is None or intent.after is None:
            continue
        before = {r.table: r for r in intent.live.restrictions}
        name = filter_name(intent.consumer_id, intent.after.product)
        out.update(
            (intent.database, r.table, name)
            for r in intent.after.restrictions
            if before.get(r.table) != r
        )
    return out
