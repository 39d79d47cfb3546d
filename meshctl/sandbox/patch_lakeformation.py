"""Lake Formation grants as AWS keeps them: indexed, validated, paginated, shared across accounts.

Each replaced method says which AWS behaviour it restores. Grants live in ``lf_grants.GrantIndex``
(one per catalog, stored where moto keeps its own: ``backend.grants[catalog_id]``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.glue.models import glue_backends
from moto.lakeformation.exceptions import InvalidInput
from moto.lakeformation.models import LakeFormationBackend
from moto.lakeformation.responses import LakeFormationResponse

from meshctl.sandbox import patch_lf_filters, patch_ram
from meshctl.sandbox._paging import fingerprint, page
from meshctl.sandbox.lf_grants import (
    GrantEntry,
    GrantIndex,
    canonical_resource,
    glue_arn,
    principal_account,
    resource_matches,
    resource_type_matches,
    table_ref,
)

BATCH_LIMIT = 20  # AWS: BatchGrantPermissions / BatchRevokePermissions take at most 20 entries.

# The server answers requests in threads and meshctl applies accounts in parallel: a grant is a
# read-modify-write of the index (and maybe of a RAM share), so writes take this lock.
_WRITES = threading.RLock()


def _not_found(message: str) -> JsonRESTError:
    return JsonRESTError("EntityNotFoundException", message)


def _index(backend: Any, catalog_id: str) -> GrantIndex:
    index = backend.grants.get(catalog_id)
    if not isinstance(index, GrantIndex):
        index = GrantIndex()
        backend.grants[catalog_id] = index
    return index


def _check_exists(region: str, resource: dict[str, Any]) -> None:
    """AWS validates the Glue resource of a grant or revoke; moto accepted anything."""
    ref = table_ref(resource)
    if ref is None:
        return
    catalog, database, table = ref
    db = glue_backends[catalog][region].databases.get(database)
    if db is None:
        raise _not_found(f"Database {database} not found in catalog {catalog}.")
    if table is not None and table not in db.tables:
        raise _not_found(f"Table {table} not found in database {database}.")


def _shared_with(backend: Any, entry: GrantEntry) -> tuple[str, str] | None:
    """(grantee account, Glue ARN) when ``entry`` grants a catalog resource to another account."""
    account = principal_account(entry.principal)
    arn = glue_arn(backend.region_name, entry.resource)
    if account is None or arn is None or account == backend.account_id:
        return None
    return account, arn


CROSS_ACCOUNT_VERSION = "CROSS_ACCOUNT_VERSION"
PRINCIPALS_FROM_VERSION = 3  # AWS: grants to other accounts' IAM principals need version 3+


def cross_account_version(backend: Any, catalog_id: str) -> int:
    """The catalog's ``Parameters["CROSS_ACCOUNT_VERSION"]``; version 1 when never set."""
    settings = backend.settings.get(catalog_id) or {}
    return int((settings.get("Parameters") or {}).get(CROSS_ACCOUNT_VERSION, "1"))


def put_data_lake_settings(self: Any, catalog_id: str, settings: dict[str, Any]) -> None:
    """AWS accepts CROSS_ACCOUNT_VERSION "1" to "4" only; moto stored any value. A change of
    version is ordered with grants (the lock): each grant follows one version or the other."""
    version = (settings.get("Parameters") or {}).get(CROSS_ACCOUNT_VERSION)
    if version is not None and str(version) not in ("1", "2", "3", "4"):
        raise InvalidInput(f"Invalid CROSS_ACCOUNT_VERSION {version!r}: use 1, 2, 3 or 4.")
    with _WRITES:
        self.settings[catalog_id] = settings


def _check_version_allows(self: Any, catalog_id: str, principal: dict[str, Any]) -> int:
    """The catalog's version, after refusing what it does not allow: AWS accepts a grant to an
    IAM principal (role or user ARN) of another account from version 3 only. Grants to account
    ids work in every version; principals of the grantor's own account are never refused."""
    version = cross_account_version(self, catalog_id)
    account = principal_account(principal)
    is_arn = str(principal.get("DataLakePrincipalIdentifier", "")).startswith("arn:")
    if is_arn and account not in (None, self.account_id) and version < PRINCIPALS_FROM_VERSION:
        raise InvalidInput(
            "Cross-account grants to IAM principals need cross-account version "
            f"{PRINCIPALS_FROM_VERSION} or later; catalog {catalog_id} is on version {version} "
            f"(DataLakeSettings Parameters {CROSS_ACCOUNT_VERSION})."
        )
    return version


def grant_permissions(
    self: Any,
    catalog_id: str,
    principal: dict[str, Any],
    resource: dict[str, Any],
    permissions: list[str] | None,
    permissions_with_grant_options: list[str] | None,
) -> None:
    """Grant, merging with the principal's existing grant on the resource (O(1)).

    AWS: a grant to another account makes the grantor share the resource through RAM and the
    grantee receive an invitation; ListPermissions reports that share in AdditionalDetails.
    """
    if not principal or not resource:
        raise InvalidInput("Principal and Resource are required.")
    resource = canonical_resource(resource, catalog_id)
    _check_exists(self.region_name, resource)
    patch_lf_filters.check_grant(
        self, catalog_id, resource, [*(permissions or []), *(permissions_with_grant_options or [])]
    )
    with _WRITES:
        version = _check_version_allows(self, catalog_id, principal)
        index = _index(self, catalog_id)
        entry = index.grant(
            principal, resource, permissions or [], permissions_with_grant_options or []
        )
        shared = _shared_with(self, entry)
        if shared is not None and entry.share_arn is None:
            entry.share_arn = patch_ram.share_grant(
                self.region_name, self.account_id, *shared, version
            )
            index.share_refs[shared] += 1


def revoke_permissions(
    self: Any,
    catalog_id: str,
    principal: dict[str, Any],
    resource: dict[str, Any],
    permissions_to_revoke: list[str] | None,
    permissions_with_grant_options_to_revoke: list[str] | None,
) -> None:
    """Revoke; works after repeated grants (moto raised KeyError), and drops the RAM share
    association once the grantee account holds nothing more on the resource."""
    if not principal or not resource:
        raise InvalidInput("Principal and Resource are required.")
    resource = canonical_resource(resource, catalog_id)
    _check_exists(self.region_name, resource)
    with _WRITES:
        index = _index(self, catalog_id)
        entry = index.revoke(
            principal,
            resource,
            permissions_to_revoke or [],
            permissions_with_grant_options_to_revoke or [],
        )
        if entry is not None and entry.is_empty():
            _release_share(self, index, entry)


def _release_share(backend: Any, index: GrantIndex, entry: GrantEntry) -> None:
    shared = _shared_with(backend, entry)
    if shared is None or entry.share_arn is None:
        return
    refs = index.share_refs
    refs[shared] -= 1
    if refs[shared] <= 0:
        del refs[shared]
        patch_ram.unshare_grant(backend.region_name, backend.account_id, *shared)


def _batch(op: Callable[..., None]) -> Callable[..., list[dict[str, Any]]]:
    """AWS batch semantics: each entry succeeds or fails alone, failures come back in
    ``Failures``; grant options are read from ``PermissionsWithGrantOption`` (moto read a
    misspelt key and dropped them)."""

    def batch(self: Any, catalog_id: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(entries) > BATCH_LIMIT:
            raise InvalidInput(f"Entries: at most {BATCH_LIMIT} entries are allowed per call.")
        failures = []
        for entry in entries:
            try:
                op(
                    self,
                    catalog_id,
                    entry.get("Principal"),
                    entry.get("Resource"),
                    entry.get("Permissions"),
                    entry.get("PermissionsWithGrantOption"),
                )
            except JsonRESTError as exc:
                failures.append(
                    {
                        "RequestEntry": entry,
                        "Error": {"ErrorCode": exc.error_type, "ErrorMessage": exc.message},
                    }
                )
        return failures

    return batch


def list_permissions_page(
    self: Any,
    catalog_id: str,
    principal: dict[str, Any] | None,
    resource: dict[str, Any] | None,
    resource_type: str | None,
    max_results: int | None,
    next_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of raw grants. MaxResults 1-1000 and NextToken are honoured (moto ignored them).

    A ``Resource`` filter takes precedence over ``ResourceType`` (the helper library lists a
    database's grants with ResourceType=TABLE and relies on this).
    """
    wanted = canonical_resource(resource, catalog_id) if resource else None
    ident = principal.get("DataLakePrincipalIdentifier") if principal else None

    def selected(entry: GrantEntry) -> bool:
        if ident is not None and entry.principal.get("DataLakePrincipalIdentifier") != ident:
            return False
        if wanted is not None:
            return resource_matches(wanted, entry.resource)
        return not resource_type or resource_type_matches(resource_type, entry.resource)

    with _WRITES:  # a consistent page even while other threads grant
        found = [entry for entry in _index(self, catalog_id) if selected(entry)]
        chunk, token = page(
            found,
            max_results=max_results,
            next_token=next_token,
            filters=fingerprint(catalog_id, principal, wanted, resource_type),
            default_size=100,
            max_size=1000,
            invalid=InvalidInput,
        )
        return [entry.to_external_form() for entry in chunk], token


def forget_resource(self: Any, catalog: str, database: str, table: str | None) -> None:
    """AWS drops the permissions on a Glue database or table when it is deleted."""
    with _WRITES:
        _forget(self, catalog, database, table)


def _forget(self: Any, catalog: str, database: str, table: str | None) -> None:
    for index in list(self.grants.values()):
        if not isinstance(index, GrantIndex):
            continue
        for entry in index:
            ref = table_ref(entry.resource)
            if ref is None or ref[:2] != (catalog, database):
                continue
            if table is None or ref[2] == table:
                index.remove(entry)
                _release_share(self, index, entry)


def drop_filter_grants(self: Any, key: tuple[str, str, str, str]) -> None:
    """AWS drops the permissions on a data cells filter when the filter is deleted (and the
    filter's table leaves the grantee's share once nothing else carries it)."""
    with _WRITES:
        index = _index(self, key[0])
        for entry in index:
            body = entry.resource.get("DataCellsFilter")
            if (
                body
                and (
                    body.get("TableCatalogId"),
                    body.get("DatabaseName"),
                    body.get("TableName"),
                    body.get("Name"),
                )
                == key
            ):
                index.remove(entry)
                _release_share(self, index, entry)


def _r_batch(method: str) -> Callable[[Any], str]:
    def handler(self: Any) -> str:
        catalog_id = self._get_param("CatalogId") or self.current_account
        entries = self._get_param("Entries") or []
        failures = getattr(self.lakeformation_backend, method)(catalog_id, entries)
        return json.dumps({"Failures": failures})

    return handler


def _r_list_permissions(self: Any) -> str:
    principal = self._get_param("Principal")
    resource = self._get_param("Resource")
    if principal is not None and resource is None:
        raise InvalidInput("Resource is mandatory if Principal is set in the input.")
    entries, token = self.lakeformation_backend.meshctl_list_permissions(
        self._get_param("CatalogId") or self.current_account,
        principal,
        resource,
        self._get_param("ResourceType"),
        self._get_param("MaxResults"),
        self._get_param("NextToken"),
    )
    out: dict[str, Any] = {"PrincipalResourcePermissions": entries}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def install() -> None:
    backend: Any = LakeFormationBackend
    backend.grant_permissions = grant_permissions
    backend.put_data_lake_settings = put_data_lake_settings
    backend.revoke_permissions = revoke_permissions
    backend.batch_grant_permissions = _batch(grant_permissions)
    backend.batch_revoke_permissions = _batch(revoke_permissions)
    backend.meshctl_list_permissions = list_permissions_page
    backend.meshctl_forget_resource = forget_resource
    backend.meshctl_drop_filter_grants = drop_filter_grants

    response: Any = LakeFormationResponse
    response.batch_grant_permissions = _r_batch("batch_grant_permissions")
    response.batch_revoke_permissions = _r_batch("batch_revoke_permissions")
    response.list_permissions = _r_list_permissions
