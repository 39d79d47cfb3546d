"""Data cells filters of row-restricted subscriptions: create, update in place, delete.

Idempotent: a create that finds the filter already there (a crash after the call, a concurrent
apply) is converged only if the live filter is the planned one, else it is updated; an update of a
filter that is gone creates it; a delete of a filter that is gone is done. Lake Formation drops
the grants on a filter with it, but the planner revokes them first (each one shown and counted).
"""

from __future__ import annotations

from typing import Any

from meshctl.aws.apply.context import ApplyContext
from meshctl.codec import from_json
from meshctl.observed import DataFilter
from meshctl.planning.data_filters import filter_from_api, filter_to_api
from meshctl.planning.plan import Action, Change

_EXISTS = frozenset({"AlreadyExistsException"})


def data_filter(ctx: ApplyContext, change: Change) -> None:
    api = ctx.api
    if change.action is Action.DELETE:
        gone = from_json(DataFilter, change.before)
        api.call("lakeformation", "delete_data_cells_filter", absent=True, **_key(gone))
        return
    want = from_json(DataFilter, change.after)
    body = filter_to_api(want)
    if change.action is Action.CREATE:
        if api.call("lakeformation", "create_data_cells_filter", ok_codes=_EXISTS, TableData=body):
            return
        live = api.call("lakeformation", "get_data_cells_filter", absent=True, **_key(want))
        found = (live or {}).get("DataCellsFilter")
        if found and filter_from_api(found, want.catalog_id) == want:
            return
    if api.call("lakeformation", "update_data_cells_filter", absent=True, TableData=body) is None:
        api.require("lakeformation", "create_data_cells_filter", TableData=body)


def _key(f: DataFilter) -> dict[str, Any]:
    return {
        "TableCatalogId": f.catalog_id,
        "DatabaseName": f.database,
        "TableName": f.table,
        "Name": f.name,
    }
