"""The semantic rules of DESIGN §2, run after the JSON Schema on the same plain data.

Each rule reads defensively (_map/_seq/_text) and skips what is malformed: the schema has already
reported it, and every problem in the file is reported in one run.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

from meshctl.spec.document import YamlPath, show_name
from meshctl.spec.model import (
    DEFAULT_CROSS_ACCOUNT_VERSION,
    PRINCIPALS_MIN_VERSION,
    RESTRICTED_PERMISSIONS,
)

Found = tuple[YamlPath, str]  # (path in the merged mesh, message)


def show_value(value: Any) -> str:
    """A value from the file, quoted and made safe to print (no control characters, bounded)."""
    return f"'{show_name(value)}'" if isinstance(value, str) else show_name(repr(value))


def default_mesh_database(source_database: str, producer_account_id: str) -> str:
    """The helper library's name for a product's database in the mesh catalog."""
    return f"{source_database}-{producer_account_id}"


def principal_arn(principal: str, account_id: str) -> str:
    """A subscription principal as the IAM ARN Lake Formation grants to: the shorthand
    ``role/NAME`` (or ``user/NAME``) is that identity of the consumer account."""
    if principal.startswith("arn:"):
        return principal
    return f"arn:aws:iam::{account_id}:{principal}"


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def semantic_problems(data: dict[str, Any], where: Callable[[YamlPath], str]) -> Iterator[Found]:
    mesh, accounts = _map(data.get("mesh")), _map(data.get("accounts"))
    yield from _role_arn_rule(("mesh",), mesh)
    mesh_id = _text(mesh.get("account_id"))
    by_id: dict[str, str] = {}
    for name, account in accounts.items():
        path: YamlPath = ("accounts", name, "account_id")
        account_id = _text(_map(account).get("account_id"))
        if account_id is None:
            continue
        if account_id == mesh_id:
            yield path, f"{account_id} is the mesh account; members need accounts of their own"
        elif account_id in by_id:
            other = ("accounts", by_id[account_id], "account_id")
            yield path, f"{account_id} is also account '{by_id[account_id]}' ({where(other)})"
        else:
            by_id[account_id] = name
        yield from _role_arn_rule(("accounts", name), _map(account))
    yield from _product_rules(data, where)
    yield from _subscription_rules(data, where)


def _role_arn_rule(path: YamlPath, entry: dict[str, Any]) -> Iterator[Found]:
    arn, account_id = _text(entry.get("role_arn")), _text(entry.get("account_id"))
    if arn and account_id and arn.split(":")[4:5] != [account_id]:
        yield (*path, "role_arn"), f"is a role in another account; expected one in {account_id}"


def _lacks_role(account: Any, role: str) -> bool:
    """True when the account's roles are valid and ``role`` is not among them (when the schema
    refused the roles, no rule second-guesses them)."""
    roles = _seq(_map(account).get("roles"))
    valid = bool(roles) and all(r in ("producer", "consumer") for r in roles)
    return valid and role not in roles


def _product_rules(data: dict[str, Any], where: Callable[[YamlPath], str]) -> Iterator[Found]:
    accounts = _map(data.get("accounts"))
    ids = {n: _map(a).get("account_id") for n, a in accounts.items()}
    mesh_databases: dict[str, str] = {}
    region = _text(_map(data.get("mesh")).get("region"))
    for name, product in _map(data.get("products")).items():
        path: YamlPath = ("products", name)
        product = _map(product)
        key = _text(product.get("kms_key_arn"))
        if key and key.startswith("arn:") and region and key.split(":")[3] != region:
            # S3 encrypts a bucket's objects with a key of the bucket's own Region only.
            yield (
                (*path, "kms_key_arn"),
                (
                    f"is a key in {key.split(':')[3]}; the mesh's data is in {region} "
                    "(S3 uses a KMS key of the bucket's Region)"
                ),
            )
        producer = _text(product.get("producer"))
        if producer is not None and producer not in accounts:
            yield (*path, "producer"), _unknown("account", producer, accounts)
        elif producer is not None and _lacks_role(accounts[producer], "producer"):
            yield (*path, "producer"), f"account '{producer}' is not a producer (roles: consumer)"
        tables = _seq(product.get("tables"))
        if "*" in tables and len(tables) > 1:
            yield (*path, "tables"), '"*" means every table and must be the only entry'
        database, source = _text(product.get("mesh_database")), product.get("source_database")
        producer_id = ids.get(producer or "")
        if database is None and isinstance(source, str) and isinstance(producer_id, str):
            database = default_mesh_database(source, producer_id)
        if database is None:
            continue
        if database in mesh_databases:
            other = mesh_databases[database]
            yield (
                (*path, "mesh_database"),
                (
                    f"mesh database '{database}' is also used by product '{other}' "
                    f"({where(('products', other))}); set a distinct mesh_database"
                ),
            )
        mesh_databases.setdefault(database, name)


def _unknown(kind: str, name: str, known: Iterable[str]) -> str:
    return f"unknown {kind} {show_value(name)}; {did_you_mean(name, known)}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """The closest known name as a question, or the first ten known names."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    return f"did you mean '{close[0]}'?" if close else f"known: {', '.join(names[:10]) or 'none'}"


def _subscription_rules(data: dict[str, Any], where: Callable[[YamlPath], str]) -> Iterator[Found]:
    accounts, products = _map(data.get("accounts")), _map(data.get("products"))
    first_of_pair: dict[tuple[str, str], int] = {}
    for i, sub in enumerate(_seq(data.get("subscriptions"))):
        path: YamlPath = ("subscriptions", i)
        sub = _map(sub)
        consumer, name = _text(sub.get("consumer")), _text(sub.get("product"))
        if consumer is not None and consumer not in accounts:
            yield (*path, "consumer"), _unknown("account", consumer, accounts)
        elif consumer is not None and _lacks_role(accounts[consumer], "consumer"):
            yield (*path, "consumer"), f"account '{consumer}' is not a consumer (roles: producer)"
        if name is not None and name not in products:
            yield (*path, "product"), _unknown("product", name, products)
        product = _map(products.get(name or ""))
        if consumer is not None and consumer == product.get("producer"):
            yield (*path, "consumer"), f"'{consumer}' produces '{name}'; it cannot subscribe to it"
        if consumer is not None and name is not None:
            if (consumer, name) in first_of_pair:
                first = where(("subscriptions", first_of_pair[(consumer, name)]))
                yield path, f"'{consumer}' already subscribes to '{name}' at {first}; merge them"
            first_of_pair.setdefault((consumer, name), i)
        yield from _table_rules(path, sub, _seq(product.get("tables")), name)
        permissions = _seq(sub.get("permissions"))
        for j, permission in enumerate(_seq(sub.get("grantable"))):
            if permission not in permissions and "ALL" not in permissions:
                yield (*path, "grantable", j), f"'{permission}' is grantable but not in permissions"
        yield from _approval_rule(path, sub, product, name)
        yield from _principal_rules(path, sub, _map(accounts.get(consumer or "")), data, where)
        expires = _text(sub.get("expires"))
        if expires is not None:
            try:
                date.fromisoformat(expires)
            except ValueError:
                yield (*path, "expires"), f"{show_value(expires)} is not a date (YYYY-MM-DD)"


def _table_rules(
    path: YamlPath, sub: dict[str, Any], offered: list[Any], name: str | None
) -> Iterator[Found]:
    """Each table once and offered by the product; a restricted entry (columns, rows) names
    columns or excluded columns, not both, and allows only SELECT and DESCRIBE."""
    listed = ", ".join(map(str, offered))
    first: dict[str, int] = {}
    restricted: list[tuple[int, str]] = []
    for j, entry in enumerate(_seq(sub.get("tables"))):
        at: YamlPath = (*path, "tables", j)
        entry_map = _map(entry)
        table = entry if isinstance(entry, str) else _text(entry_map.get("name"))
        if entry_map:
            at = (*at, "name")
        if table is None:
            continue
        if offered and offered != ["*"] and table not in offered:
            yield at, f"'{table}' is not a table of '{name}' ({listed})"
        if table in first and first[table] != j:
            yield at, f"'{table}' is listed already (tables entry {first[table] + 1}); merge them"
        first.setdefault(table, j)
        if "columns" in entry_map and "exclude_columns" in entry_map:
            yield (
                (*path, "tables", j, "exclude_columns"),
                "'columns' and 'exclude_columns' exclude each other: keep one",
            )
        if any(k in entry_map for k in ("columns", "exclude_columns", "row_filter")):
            restricted.append((j, table))
    if not restricted:
        return
    j, table = restricted[0]
    what = f"tables entry {j + 1} ('{table}') restricts columns or rows"
    for field in ("permissions", "grantable"):
        for k, permission in enumerate(_seq(sub.get(field))):
            # A misspelt permission is the schema's one problem ('select'): not a second here.
            if isinstance(permission, str) and permission.upper() not in RESTRICTED_PERMISSIONS:
                yield (
                    (*path, field, k),
                    f"{show_value(permission)} cannot be given on restricted tables ({what}): "
                    "only SELECT and DESCRIBE",
                )
    if "SELECT" not in [str(p).upper() for p in _seq(sub.get("permissions"))]:
        yield (*path, "permissions"), f"{what}: add SELECT, the permission the restriction narrows"


def _principal_rules(
    path: YamlPath,
    sub: dict[str, Any],
    consumer: dict[str, Any],
    data: dict[str, Any],
    where: Callable[[YamlPath], str],
) -> Iterator[Found]:
    """Principals belong to the consumer's account, once each, and need cross-account version 3."""
    principals = [p for p in _seq(sub.get("principals")) if isinstance(p, str)]
    if not principals:
        return
    mesh = _map(data.get("mesh"))
    version = mesh.get("cross_account_version", DEFAULT_CROSS_ACCOUNT_VERSION)
    if isinstance(version, int) and version < PRINCIPALS_MIN_VERSION:
        at = where(("mesh", "cross_account_version"))
        yield (
            (*path, "principals"),
            f"grants to principals need mesh.cross_account_version {PRINCIPALS_MIN_VERSION} or "
            f"later; it is {version} ({at})",
        )
    account_id = _text(consumer.get("account_id"))
    if account_id is None:
        return
    seen: dict[str, int] = {}
    for j, principal in enumerate(_seq(sub.get("principals"))):
        if not isinstance(principal, str):
            continue
        arn = principal_arn(principal, account_id)
        owner = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if owner != account_id:
            yield (
                (*path, "principals", j),
                f"{show_value(principal)} is in account {owner}; principals must belong to the "
                f"consumer '{sub.get('consumer')}' ({account_id})",
            )
        elif arn in seen:
            yield (
                (*path, "principals", j),
                f"{show_value(principal)} is the same principal as entry {seen[arn] + 1}",
            )
        seen.setdefault(arn, j)


def _approval_rule(
    path: YamlPath, sub: dict[str, Any], product: dict[str, Any], name: str | None
) -> Iterator[Found]:
    who, owners = sub.get("approved_by"), _seq(product.get("owners"))
    listed = ", ".join(map(str, owners)) or "none; add owners to the product"
    if sub.get("status") == "approved" and who is None and product:
        yield (
            (*path, "approved_by"),
            f"required when approved: one of the owners of '{name}' ({listed})",
        )
    elif isinstance(who, str) and product and who not in owners:
        yield (
            (*path, "approved_by"),
            f"{show_value(who)} is not an owner of '{name}' (owners: {listed})",
        )


# --- the model ------------------------------------------------------------------------------
