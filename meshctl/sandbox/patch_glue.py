"""Glue catalog reads, deletes and resource policy conditions as AWS behaves.

- GetTables / GetDatabases return pages of at most MaxResults (1-100, default 100) with a
  NextToken (moto returned everything in one answer and ignored MaxResults).
- SearchTables (not implemented by moto) lists the tables of every database of the caller's
  catalog in pages (MaxResults 1-1000), filtered by SearchText and Filters.
- GetResourcePolicy with no policy raises EntityNotFoundException (moto answered empty, which
  the helper library then failed to parse).
- PutResourcePolicy refuses a write whose PolicyExistsCondition (MUST_EXIST, NOT_EXIST) or
  PolicyHashCondition (the hash of the policy it means to replace) does not hold, and
  DeleteResourcePolicy one whose PolicyHashCondition does not, with ConditionCheckFailureException
  (HTTP 400), the error the Glue API reference lists for both ("A specified condition was not
  satisfied": https://docs.aws.amazon.com/glue/latest/webapi/API_PutResourcePolicy.html,
  API_DeleteResourcePolicy.html). moto checked the conditions but answered
  ResourceNumberLimitExceededException and ConcurrentModificationException, codes AWS does not
  list, the second one a retryable "try again" that clients repeat. As in moto, a hash condition
  is not checked when no policy exists (AWS says not to send one then; it does not say what
  happens).
- Deleting a table or database drops the Lake Formation permissions on it, as AWS does.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.glue.exceptions import EntityNotFoundException, GlueClientError, InvalidInputException
from moto.glue.models import GlueBackend
from moto.glue.responses import GlueResponse
from moto.lakeformation.models import lakeformation_backends

from meshctl.sandbox._paging import fingerprint, page


def _invalid(message: str) -> Exception:
    error: Exception = InvalidInputException("", message)
    return error


def _paged(
    items: list[Any], params: dict[str, Any], filters: str, max_size: int
) -> tuple[list[Any], str | None]:
    chunk, token = page(
        items,
        max_results=params.get("MaxResults"),
        next_token=params.get("NextToken"),
        filters=filters,
        default_size=100,
        max_size=max_size,
        invalid=_invalid,
    )
    return list(chunk), token


def _result(key: str, items: list[Any], token: str | None) -> ActionResult:
    out: dict[str, Any] = {key: [item.as_dict() for item in items]}
    if token:
        out["NextToken"] = token
    return ActionResult(out)


def _r_get_tables(self: Any) -> ActionResult:
    p = self.parameters
    tables = self.glue_backend.get_tables(p.get("DatabaseName"), p.get("Expression"))
    filters = fingerprint("GetTables", p.get("DatabaseName"), p.get("Expression"))
    return _result("TableList", *_paged(tables, p, filters, 100))


def _r_get_databases(self: Any) -> ActionResult:
    p = self.parameters
    databases = self.glue_backend.get_databases()
    return _result("DatabaseList", *_paged(databases, p, fingerprint("GetDatabases"), 100))


def search_tables(
    self: Any, search_text: str | None, filters: list[dict[str, Any]] | None
) -> list[Any]:
    """Every table of every database of this catalog that matches, ordered (database, table)."""
    text = (search_text or "").lower()
    found = []
    for db_name in sorted(self.databases):
        for table_name in sorted(self.databases[db_name].tables):
            table = self.databases[db_name].tables[table_name]
            described = table.as_dict()
            haystack = f"{db_name} {table_name} {described.get('Description') or ''}".lower()
            if text and text not in haystack:
                continue
            if all(_predicate_holds(f, described) for f in filters or []):
                found.append(table)
    return found


def _predicate_holds(predicate: dict[str, Any], table: dict[str, Any]) -> bool:
    key, value = predicate.get("Key"), str(predicate.get("Value", ""))
    if key == "DatabaseName":
        return bool(table.get("DatabaseName") == value)
    actual = table.get(key) if key in table else (table.get("Parameters") or {}).get(key)
    # AWS matches string properties fuzzily; a case-insensitive substring is close enough.
    return actual is not None and value.lower() in str(actual).lower()


def _r_search_tables(self: Any) -> ActionResult:
    p = self.parameters
    tables = self.glue_backend.meshctl_search_tables(p.get("SearchText"), p.get("Filters"))
    filters = fingerprint("SearchTables", p.get("SearchText"), p.get("Filters"))
    return _result("TableList", *_paged(tables, p, filters, 1000))


def _wrap_get_resource_policy(original: Any) -> Any:
    def get_resource_policy(self: Any, resource_arn: str | None = None) -> Any:
        if (resource_arn or self.default_catalog_arn) not in self.resource_policies:
            raise EntityNotFoundException("Policy not found.")
        return original(self, resource_arn)

    return get_resource_policy


def _condition_failed(message: str) -> Exception:
    error: Exception = GlueClientError("ConditionCheckFailureException", message)
    return error


def _check_conditions(
    policy: dict[str, Any] | None, hash_condition: str | None, exists_condition: str | None
) -> None:
    """Raise ConditionCheckFailureException unless the conditions hold for ``policy``, the one
    in place (None when there is none)."""
    if exists_condition == "MUST_EXIST" and not policy:
        raise _condition_failed("Policy does not exist")
    if exists_condition == "NOT_EXIST" and policy:
        raise _condition_failed("Policy already exists")
    if hash_condition and policy and hash_condition != policy.get("PolicyHash"):
        raise _condition_failed("Policy hash condition not met")


def _wrap_put_resource_policy(original: Any) -> Any:
    def put_resource_policy(
        self: Any,
        policy_in_json: str,
        resource_arn: str | None = None,
        policy_hash_condition: str | None = None,
        policy_exists_condition: str | None = None,
        enable_hybrid: str | None = None,
    ) -> Any:
        current = self.resource_policies.get(resource_arn or self.default_catalog_arn)
        _check_conditions(current, policy_hash_condition, policy_exists_condition)
        return original(self, policy_in_json, resource_arn, None, None, enable_hybrid)

    return put_resource_policy


def _wrap_delete_resource_policy(original: Any) -> Any:
    def delete_resource_policy(
        self: Any, resource_arn: str | None = None, policy_hash_condition: str | None = None
    ) -> Any:
        current = self.resource_policies.get(resource_arn or self.default_catalog_arn)
        if current is not None:  # a missing policy: moto answers EntityNotFoundException
            _check_conditions(current, policy_hash_condition, None)
        return original(self, resource_arn, None)

    return delete_resource_policy


def _forget(backend: Any, database: str, table: str | None) -> None:
    lf = lakeformation_backends[backend.account_id][backend.region_name]
    lf.meshctl_forget_resource(backend.account_id, database, table)


def _wrap_delete_table(original: Any) -> Any:
    def delete_table(self: Any, database_name: str, table_name: str) -> None:
        original(self, database_name, table_name)
        _forget(self, database_name, table_name)

    return delete_table


def _wrap_delete_database(original: Any) -> Any:
    def delete_database(self: Any, database_name: str) -> None:
        original(self, database_name)
        _forget(self, database_name, None)

    return delete_database


def _wrap_batch_delete_table(original: Any) -> Any:
    def batch_delete_table(self: Any, database_name: str, tables: list[str]) -> Any:
        errors = original(self, database_name, tables)
        remaining = self.databases[database_name].tables
        for name in tables:
            if name not in remaining:
                _forget(self, database_name, name)
        return errors

    return batch_delete_table


def install() -> None:
    backend: Any = GlueBackend
    backend.meshctl_search_tables = search_tables
    backend.get_resource_policy = _wrap_get_resource_policy(backend.get_resource_policy)
    backend.put_resource_policy = _wrap_put_resource_policy(backend.put_resource_policy)
    backend.delete_resource_policy = _wrap_delete_resource_policy(backend.delete_resource_policy)
    backend.delete_table = _wrap_delete_table(backend.delete_table)
    backend.delete_database = _wrap_delete_database(backend.delete_database)
    backend.batch_delete_table = _wrap_batch_delete_table(backend.batch_delete_table)

    response: Any = GlueResponse
    response.get_tables = _r_get_tables
    response.get_databases = _r_get_databases
    response.search_tables = _r_search_tables
