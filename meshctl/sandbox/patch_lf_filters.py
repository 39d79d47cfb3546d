"""Lake Formation data cells filters and column-level grants, as AWS documents them.

AWS (Lake Formation developer guide, "Data filters in Lake Formation" and "Data filtering
limitations"; API reference, CreateDataCellsFilter and the DataCellsFilter structure):
- a data cells filter belongs to one table (``TableCatalogId``, ``DatabaseName``, ``TableName``)
  and has a ``Name`` unique on it, a row filter (``FilterExpression`` or ``AllRowsWildcard``) and
  columns (``ColumnNames``, or ``ColumnWildcard`` with ``ExcludedColumnNames``, not both);
  Create/Get/Update/Delete/List (paginated, optionally for one table) manage it; a second filter
  of the same name is ``AlreadyExistsException``, a missing one ``EntityNotFoundException``, a
  column the table does not have ``InvalidInputException``;
- access is granted with ``SELECT`` on the ``DataCellsFilter`` resource, which must exist; deleting
  the filter drops the grants on it;
- a ``TableWithColumns`` grant naming ``ColumnNames`` or ``ColumnWildcard.ExcludedColumnNames``
  takes only ``SELECT`` (and its grant option), on columns the table has.
moto 5.2.5 lists no filter it could not create (ListDataCellsFilter returns nothing useful) and
accepts any column grant.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.glue.models import glue_backends
from moto.lakeformation import urls as lf_urls
from moto.lakeformation.exceptions import InvalidInput
from moto.lakeformation.models import LakeFormationBackend
from moto.lakeformation.responses import LakeFormationResponse

from meshctl.sandbox._paging import fingerprint, page

FILTER_PERMISSIONS = frozenset({"SELECT", "DESCRIBE", "DROP"})
COLUMN_PERMISSIONS = frozenset({"SELECT"})

Key = tuple[str, str, str, str]  # (catalog, database, table, name)


def _not_found(message: str) -> JsonRESTError:
    return JsonRESTError("EntityNotFoundException", message)


def _filters(backend: Any) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] | None = backend.__dict__.get("_meshctl_filters")
    if found is None:
        found = {}
        backend._meshctl_filters = found
    return found


def _key(body: dict[str, Any], catalog_default: str) -> Key:
    return (
        str(body.get("TableCatalogId") or catalog_default),
        str(body.get("DatabaseName", "")),
        str(body.get("TableName", "")),
        str(body.get("Name", "")),
    )


def table_columns(region: str, catalog: str, database: str, table: str) -> set[str]:
    """The table's columns and partition keys; EntityNotFoundException when it is missing."""
    db = glue_backends[catalog][region].databases.get(database)
    if db is None or table not in db.tables:
        raise _not_found(f"Table {database}.{table} not found in catalog {catalog}.")
    described = db.tables[table].as_dict()
    columns = (described.get("StorageDescriptor") or {}).get("Columns") or []
    keys = described.get("PartitionKeys") or []
    return {str(c["Name"]) for c in [*columns, *keys]}


def check_columns(region: str, catalog: str, database: str, table: str, names: list[str]) -> None:
    known = table_columns(region, catalog, database, table)
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidInput(
            f"Column(s) {', '.join(unknown)} not found in table {database}.{table} "
            f"(columns: {', '.join(sorted(known))})."
        )


def _validated(backend: Any, data: dict[str, Any]) -> tuple[Key, dict[str, Any]]:
    key = _key(data, backend.account_id)
    catalog, database, table, name = key
    if not (database and table and name):
        raise InvalidInput("TableData needs DatabaseName, TableName and Name.")
    if "ColumnNames" in data and "ColumnWildcard" in data:
        raise InvalidInput("ColumnNames and ColumnWildcard cannot both be set.")
    row = data.get("RowFilter") or {}
    if not row.get("FilterExpression") and "AllRowsWildcard" not in row:
        raise InvalidInput("RowFilter needs a FilterExpression or AllRowsWildcard.")
    named = list(data.get("ColumnNames") or [])
    named += list((data.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or [])
    check_columns(backend.region_name, catalog, database, table, named)
    stored = copy.deepcopy(data)
    stored["TableCatalogId"] = catalog
    if "ColumnNames" not in stored and "ColumnWildcard" not in stored:
        stored["ColumnWildcard"] = {"ExcludedColumnNames": []}
    return key, stored


def create_data_cells_filter(self: Any, data: dict[str, Any]) -> None:
    key, stored = _validated(self, data)
    filters = _filters(self)
    if key in filters:
        raise JsonRESTError(
            "AlreadyExistsException", f"A data cells filter named {key[3]} already exists."
        )
    stored["VersionId"] = "1"
    filters[key] = stored


def update_data_cells_filter(self: Any, data: dict[str, Any]) -> None:
    key, stored = _validated(self, data)
    filters = _filters(self)
    if key not in filters:
        raise _not_found(f"Data cells filter {key[3]} not found.")
    stored["VersionId"] = str(int(filters[key].get("VersionId", "1")) + 1)
    filters[key] = stored


def get_data_cells_filter(self: Any, body: dict[str, Any]) -> dict[str, Any]:
    found = _filters(self).get(_key(body, self.account_id))
    if found is None:
        raise _not_found(f"Data cells filter {body.get('Name')} not found.")
    return copy.deepcopy(found)


def delete_data_cells_filter(self: Any, body: dict[str, Any]) -> None:
    key = _key(body, self.account_id)
    if _filters(self).pop(key, None) is None:
        raise _not_found(f"Data cells filter {key[3]} not found.")
    self.meshctl_drop_filter_grants(key)


def list_data_cells_filters(
    self: Any, table: dict[str, Any] | None, max_results: int | None, next_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    found = sorted(_filters(self).items())
    if table:
        want = (
            str(table.get("CatalogId") or self.account_id),
            str(table.get("DatabaseName", "")),
            str(table.get("Name", "")),
        )
        found = [(k, v) for k, v in found if k[:3] == want]
    chunk, token = page(
        [v for _, v in found],
        max_results=max_results,
        next_token=next_token,
        filters=fingerprint(table),
        default_size=100,
        max_size=1000,
        invalid=InvalidInput,
    )
    return [copy.deepcopy(v) for v in chunk], token


def filter_exists(backend: Any, catalog_id: str, resource: dict[str, Any]) -> None:
    """A grant on a DataCellsFilter names a filter that exists (EntityNotFoundException)."""
    body = resource["DataCellsFilter"]
    if _key(body, catalog_id) not in _filters(backend):
        raise _not_found(f"Data cells filter {body.get('Name')} not found.")


def check_grant(backend: Any, catalog_id: str, resource: dict[str, Any], perms: list[str]) -> None:
    """What AWS refuses before granting on a filter or on columns."""
    if "DataCellsFilter" in resource:
        filter_exists(backend, catalog_id, resource)
        if set(perms) - FILTER_PERMISSIONS:
            raise InvalidInput("Only SELECT, DESCRIBE and DROP apply to a data cells filter.")
        return
    body = resource.get("TableWithColumns")
    if not body:
        return
    named = list(body.get("ColumnNames") or [])
    excluded = list((body.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or [])
    if not named and not excluded:
        return  # every column: the table grant
    if set(perms) - COLUMN_PERMISSIONS:
        raise InvalidInput("Column-level grants take only the SELECT permission.")
    catalog = str(body.get("CatalogId") or catalog_id)
    check_columns(
        backend.region_name, catalog, body["DatabaseName"], body["Name"], [*named, *excluded]
    )


# --- responses ---------------------------------------------------------------------------------


def _r_create(self: Any) -> str:
    self.lakeformation_backend.meshctl_create_filter(self._get_param("TableData") or {})
    return "{}"


def _r_update(self: Any) -> str:
    self.lakeformation_backend.meshctl_update_filter(self._get_param("TableData") or {})
    return "{}"


def _r_get(self: Any) -> str:
    body = {k: self._get_param(k) for k in ("TableCatalogId", "DatabaseName", "TableName", "Name")}
    return json.dumps({"DataCellsFilter": self.lakeformation_backend.meshctl_get_filter(body)})


def _r_delete(self: Any) -> str:
    body = {k: self._get_param(k) for k in ("TableCatalogId", "DatabaseName", "TableName", "Name")}
    self.lakeformation_backend.meshctl_delete_filter(body)
    return "{}"


def _r_list(self: Any) -> str:
    found, token = self.lakeformation_backend.meshctl_list_filters(
        self._get_param("Table"), self._get_param("MaxResults"), self._get_param("NextToken")
    )
    out: dict[str, Any] = {"DataCellsFilters": found}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


_NEW_PATHS = (
    "CreateDataCellsFilter",
    "GetDataCellsFilter",
    "UpdateDataCellsFilter",
    "DeleteDataCellsFilter",
)


def install() -> None:
    backend: Any = LakeFormationBackend
    backend.meshctl_create_filter = create_data_cells_filter
    backend.meshctl_update_filter = update_data_cells_filter
    backend.meshctl_get_filter = get_data_cells_filter
    backend.meshctl_delete_filter = delete_data_cells_filter
    backend.meshctl_list_filters = list_data_cells_filters

    response: Any = LakeFormationResponse
    response.create_data_cells_filter = _r_create
    response.update_data_cells_filter = _r_update
    response.get_data_cells_filter = _r_get
    response.delete_data_cells_filter = _r_delete
    response.list_data_cells_filter = _r_list
    for path in _NEW_PATHS:
        lf_urls.url_paths["{0}/" + path + "$"] = LakeFormationResponse.dispatch
