"""An indexed store of Lake Formation grants for the patched moto backend.

moto keeps grants in a set of mutable objects whose hash covers their permission lists: each grant
scans every grant (quadratic at scale), and revoking after a repeated grant raises KeyError because
the merged object no longer hashes to its slot. Here a grant lives in a dict keyed by its canonical
(principal, resource), so grant, revoke and lookup are O(1) and merging never moves an entry.

Invariants:
- resources are stored canonically: ``CatalogId`` is filled in on Database, Table,
  TableWithColumns and DataLocation resources (AWS always reports it), so a grant made with an
  explicit CatalogId and a revoke without one meet, as they do in AWS;
- an entry with no permission and no grant option left is removed;
- a grant option never outlives its permission (revoking SELECT also revokes SELECT's grant option).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CATALOG_SCOPED = ("Database", "Table", "TableWithColumns", "DataLocation")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


def canonical_resource(resource: dict[str, Any], catalog_id: str) -> dict[str, Any]:
    """A deep copy of ``resource`` with CatalogId filled in where AWS always reports one."""
    out = copy.deepcopy(resource)
    for kind in CATALOG_SCOPED:
        body = out.get(kind)
        if isinstance(body, dict) and not body.get("CatalogId"):
            body["CatalogId"] = catalog_id
    cells = out.get("DataCellsFilter")
    if isinstance(cells, dict) and not cells.get("TableCatalogId"):
        cells["TableCatalogId"] = catalog_id
    return out


def _key(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)


def principal_account(principal: dict[str, Any]) -> str | None:
    """The AWS account a Lake Formation principal belongs to, when it names one."""
    ident = str(principal.get("DataLakePrincipalIdentifier", ""))
    if _ACCOUNT_ID.match(ident):
        return ident
    match = _IAM_ARN.match(ident)
    return match.group(1) if match else None


def table_ref(resource: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(catalog, database, table or None for a database/wildcard) of a Glue resource, else None."""
    if "Database" in resource:
        db = resource["Database"]
        return db["CatalogId"], db["Name"], None
    for kind in ("Table", "TableWithColumns"):
        if kind in resource:
            body = resource[kind]
            name = body.get("Name")
            return body["CatalogId"], body["DatabaseName"], name if name else None
    return None


def glue_arn(region: str, resource: dict[str, Any]) -> str | None:
    """The Glue ARN a cross-account share of ``resource`` carries (database or table).

    AWS (Lake Formation guide, "Cross-account data sharing in Lake Formation": tables are shared
    "with data filters" through RAM): a grant on a data cells filter shares the filter's table."""
    cells = resource.get("DataCellsFilter")
    if cells:
        catalog, database = cells["TableCatalogId"], cells["DatabaseName"]
        return f"arn:aws:glue:{region}:{catalog}:table/{database}/{cells['TableName']}"
    ref = table_ref(resource)
    if ref is None:
        return None
    catalog, database, table = ref
    if "Database" in resource:
        return f"arn:aws:glue:{region}:{catalog}:database/{database}"
    return f"arn:aws:glue:{region}:{catalog}:table/{database}/{table or '*'}"


@dataclass
class GrantEntry:
    principal: dict[str, Any]
    resource: dict[str, Any]
    permissions: set[str] = field(default_factory=set)
    grantable: set[str] = field(default_factory=set)
    # RAM share that carries this grant to another account (AdditionalDetails.ResourceShare).
    share_arn: str | None = None

    def is_empty(self) -> bool:
        return not self.permissions and not self.grantable

    def to_external_form(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Principal": self.principal,
            "Resource": self.resource,
            "Permissions": sorted(self.permissions),
            "PermissionsWithGrantOption": sorted(self.grantable),
        }
        if self.share_arn:
            out["AdditionalDetails"] = {"ResourceShare": [self.share_arn]}
        return out


class GrantIndex:
    """The grants of one catalog, keyed by canonical (principal, resource)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], GrantEntry] = {}
        # How many grants ride on each (grantee account, Glue ARN) RAM share; the account
        # leaves the share when its count drops to zero.
        self.share_refs: Counter[tuple[str, str]] = Counter()

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[GrantEntry]:
        return iter(list(self._by_key.values()))

    @property
    def permissions(self) -> list[GrantEntry]:
        """moto's PermissionCatalog attribute name, for code that still reads it."""
        return list(self._by_key.values())

    def get(self, principal: dict[str, Any], resource: dict[str, Any]) -> GrantEntry | None:
        return self._by_key.get((_key(principal), _key(resource)))

    def grant(
        self,
        principal: dict[str, Any],
        resource: dict[str, Any],
        permissions: list[str],
        grantable: list[str],
    ) -> GrantEntry:
        key = (_key(principal), _key(resource))
        entry = self._by_key.get(key)
        if entry is None:
            entry = GrantEntry(copy.deepcopy(principal), resource)
            self._by_key[key] = entry
        entry.permissions.update(permissions)
        entry.grantable.update(grantable)
        return entry

    def revoke(
        self,
        principal: dict[str, Any],
        resource: dict[str, Any],
        permissions: list[str],
        grantable: list[str],
    ) -> GrantEntry | None:
        """Revoke and return the entry (possibly now empty and removed), or None if absent."""
        key = (_key(principal), _key(resource))
        entry = self._by_key.get(key)
        if entry is None:
            return None
        entry.permissions.difference_update(permissions)
        entry.grantable.difference_update(grantable)
        entry.grantable.difference_update(permissions)
        if entry.is_empty():
            del self._by_key[key]
        return entry

    def remove(self, entry: GrantEntry) -> None:
        self._by_key.pop((_key(entry.principal), _key(entry.resource)), None)


def resource_matches(filter_: dict[str, Any], resource: dict[str, Any]) -> bool:
    """Whether a stored grant's resource answers a ListPermissions ``Resource`` filter.

    Both sides are canonical. A named-table filter (Table with Name, or TableWithColumns) matches
    grants on that table in either shape, because AWS reports a table SELECT as TableWithColumns;
    a TableWildcard filter matches wildcard grants of that database only.
    """
    if "Catalog" in filter_:
        return "Catalog" in resource
    if "Database" in filter_:
        return "Database" in resource and _same(filter_["Database"], resource["Database"], "Name")
    for kind in ("Table", "TableWithColumns"):
        if kind in filter_:
            return _table_matches(filter_[kind], resource)
    if "DataLocation" in filter_:
        return "DataLocation" in resource and _same(
            filter_["DataLocation"], resource["DataLocation"], "ResourceArn"
        )
    return filter_ == resource


def _same(a: dict[str, Any], b: dict[str, Any], name_key: str) -> bool:
    return bool(a.get(name_key) == b.get(name_key) and a.get("CatalogId") == b.get("CatalogId"))


def _table_matches(want: dict[str, Any], resource: dict[str, Any]) -> bool:
    body = resource.get("Table") or resource.get("TableWithColumns")
    if body is None:
        return False
    if (want.get("CatalogId"), want.get("DatabaseName")) != (
        body.get("CatalogId"),
        body.get("DatabaseName"),
    ):
        return False
    if want.get("Name"):
        return bool(body.get("Name") == want["Name"])
    return "TableWildcard" in body


def resource_type_matches(resource_type: str, resource: dict[str, Any]) -> bool:
    kinds = {
        "CATALOG": ("Catalog",),
        "DATABASE": ("Database",),
        "TABLE": ("Table", "TableWithColumns"),
        "DATA_LOCATION": ("DataLocation",),
        "LF_TAG": ("LFTag",),
        "LF_TAG_POLICY": ("LFTagPolicy",),
        "LF_TAG_POLICY_DATABASE": ("LFTagPolicy",),
        "LF_TAG_POLICY_TABLE": ("LFTagPolicy",),
        "DATA_CELLS_FILTER": ("DataCellsFilter",),
    }.get(resource_type, ())
    return any(kind in resource for kind in kinds)
