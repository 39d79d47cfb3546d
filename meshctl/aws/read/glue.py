"""Glue Data Catalog reads: databases (GetDatabases pages) and tables (SearchTables pages).

Tables are listed with ``SearchTables`` across every database of a catalog, never one
``GetTables`` per database, so the cost grows with pages, not with databases (architecture.md).

LF-tags of a mesh database are read from the database's ``MeshctlLfTags`` parameter, which the
executor writes together with ``AddLFTagsToResource``: Lake Formation has no paginated "tags of
every database" call (``GetResourceLFTags`` is one call per database), so this keeps the read
cost proportional to pages. Tags changed by hand outside meshctl are therefore not seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from meshctl.aws.api import AccountApi
from meshctl.aws.tracker import MANAGED_BY
from meshctl.codec import canonical_json
from meshctl.observed import Column, Database, Table

MANAGED_BY_PARAMETER = "ManagedBy"
LF_TAGS_PARAMETER = "MeshctlLfTags"
# A product's `protect: true` travels with its mesh database, so a product removed from the file
# is still known to be protected when the planner sees only the live database.
PROTECT_PARAMETER = "MeshctlProtect"
# The KMS keys a mesh database's products hold grants on, comma-separated (docs/kms.md).
KMS_KEYS_PARAMETER = "MeshctlKmsKeys"
DATABASE_PAGE = 100  # GetDatabases allows at most 100
TABLE_PAGE = 1000  # SearchTables allows at most 1000


def list_databases(api: AccountApi) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in api.pages("glue", "get_databases", page_size=DATABASE_PAGE):
        out.extend(page.get("DatabaseList", []))
    return out


def search_tables(api: AccountApi) -> list[dict[str, Any]]:
    """Every table of the account's catalog; table resource links (``<table>_link`` the helper
    library makes) are left out: they are pointers, not tables to copy or compare."""
    out: list[dict[str, Any]] = []
    for page in api.pages("glue", "search_tables", page_size=TABLE_PAGE):
        out.extend(t for t in page.get("TableList", []) if not t.get("TargetTable"))
    return out


def lf_tags_parameter(tags: Iterable[tuple[str, str]]) -> str:
    return json.dumps(dict(sorted(tags)), sort_keys=True, separators=(",", ":"))


def _tags_from_parameters(parameters: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    raw = parameters.get(LF_TAGS_PARAMETER)
    if not raw:
        return ()
    try:
        tags = json.loads(raw)
    except json.JSONDecodeError:
        return ()
    if not isinstance(tags, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in tags.items()))


def database_from_api(account_id: str, raw: Mapping[str, Any]) -> Database:
    parameters: Mapping[str, str] = raw.get("Parameters") or {}
    target = raw.get("TargetDatabase") or {}
    return Database(
        account_id=account_id,
        name=str(raw["Name"]),
        description=str(raw.get("Description", "")),
        target_account_id=str(target.get("CatalogId", "")),
        target_database=str(target.get("DatabaseName", "")),
        tags=_tags_from_parameters(parameters),
        managed_by_meshctl=parameters.get(MANAGED_BY_PARAMETER) == MANAGED_BY,
        protected=parameters.get(PROTECT_PARAMETER) == "true",
        kms_keys=tuple(sorted(k for k in parameters.get(KMS_KEYS_PARAMETER, "").split(",") if k)),
    )


def _columns(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Column, ...]:
    return tuple(
        Column(name=str(c["Name"]), type=str(c.get("Type", "")), comment=str(c.get("Comment", "")))
        for c in raw or ()
    )


def table_from_api(account_id: str, raw: Mapping[str, Any]) -> Table:
    sd: Mapping[str, Any] = raw.get("StorageDescriptor") or {}
    serde: Mapping[str, Any] = sd.get("SerdeInfo") or {}
    parameters: Mapping[str, Any] = raw.get("Parameters") or {}
    return Table(
        account_id=account_id,
        database=str(raw["DatabaseName"]),
        name=str(raw["Name"]),
        columns=_columns(sd.get("Columns")),
        partition_keys=_columns(raw.get("PartitionKeys")),
        location=str(sd.get("Location", "")),
        owner=str(raw.get("Owner", "")),
        table_type=str(raw.get("TableType", "")),
        input_format=str(sd.get("InputFormat", "")),
        output_format=str(sd.get("OutputFormat", "")),
        serde=str(serde.get("SerializationLibrary", "")),
        parameters=tuple(sorted((str(k), str(v)) for k, v in parameters.items())),
    )


def read_catalog_policy(api: AccountApi) -> tuple[str, str]:
    """The canonical JSON of the catalog's resource policy and Glue's PolicyHash of it (the
    condition of a later PutResourcePolicy); ("", "") when it has none."""
    answer = api.call("glue", "get_resource_policy", absent=True) or {}
    text, policy_hash = answer.get("PolicyInJson") or "", str(answer.get("PolicyHash") or "")
    if not text:
        return "", ""
    try:
        return canonical_json(json.loads(text)), policy_hash
    except json.JSONDecodeError:
        return str(text), policy_hash
