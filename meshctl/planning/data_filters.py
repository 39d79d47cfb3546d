"""Lake Formation data cells filters: meshctl's names, and the API shape both ways.

A subscription that narrows a table's rows (``row_filter``, with or without columns) is served by
one data cells filter in the mesh catalog, named from the consumer account and the product
(``meshctl-<consumer id>-<product>``: unique on its table, the same on every plan, never touched
when someone else's filter sits on the table). Its grantees get ``SELECT`` on it.

Lake Formation answers a filter with ``ColumnWildcard: {ExcludedColumnNames: []}`` for "every
column" and ``RowFilter: {AllRowsWildcard: {}}`` for "every row"; both fold to empty values here,
so a filter read back compares equal to the one apply wrote. Pure: no AWS calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshctl.observed import DataFilter

PREFIX = "meshctl-"


def filter_name(consumer_id: str, product: str) -> str:
    return f"{PREFIX}{consumer_id}-{product}"


def is_meshctls(data_filter: DataFilter) -> bool:
    return data_filter.name.startswith(PREFIX)


def filter_from_api(raw: Mapping[str, Any], default_catalog_id: str) -> DataFilter:
    """One ``DataCellsFilter`` of ListDataCellsFilter/GetDataCellsFilter, canonical."""
    wildcard = raw.get("ColumnWildcard") or {}
    row = raw.get("RowFilter") or {}
    return DataFilter(
        catalog_id=str(raw.get("TableCatalogId") or default_catalog_id),
        database=str(raw["DatabaseName"]),
        table=str(raw["TableName"]),
        name=str(raw["Name"]),
        row_filter=str(row.get("FilterExpression") or ""),
        columns=tuple(sorted({str(c) for c in raw.get("ColumnNames") or ()})),
        excluded=tuple(sorted({str(c) for c in wildcard.get("ExcludedColumnNames") or ()})),
    )


def filter_to_api(data_filter: DataFilter) -> dict[str, Any]:
    """The ``TableData`` of Create/UpdateDataCellsFilter for ``data_filter``."""
    body: dict[str, Any] = {
        "TableCatalogId": data_filter.catalog_id,
        "DatabaseName": data_filter.database,
        "TableName": data_filter.table,
        "Name": data_filter.name,
    }
    if data_filter.row_filter:
        body["RowFilter"] = {"FilterExpression": data_filter.row_filter}
    else:
        body["RowFilter"] = {"AllRowsWildcard": {}}
    if data_filter.columns:
        body["ColumnNames"] = list(data_filter.columns)
    else:
        body["ColumnWildcard"] = {"ExcludedColumnNames": list(data_filter.excluded)}
    return body
