"""Read a mesh file (or a directory of them), validate it, and build the frozen MeshSpec.

One pipeline, one validation system: YAML → plain data with lines (yamlsource) → JSON Schema
draft 2020-12 for shape (schemas/mesh.schema.json, every error at once) → the semantic rules of
DESIGN §2 (rules below) → model.py values. Every problem found on the way becomes a
``Problem(file, line, path, message)``; any problem raises one ``ValidationError`` carrying all of
them, so no invalid file ever reaches AWS.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from meshctl.errors import Problem, ValidationError
from meshctl.spec.document import YamlPath, show_name
from meshctl.spec.model import (
    DEFAULT_CROSS_ACCOUNT_VERSION,
    DEFAULT_SUBSCRIPTIONS_TABLE,
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
    TableRestriction,
)
from meshctl.spec.rules import (
    Found,
    default_mesh_database,
    principal_arn,
    semantic_problems,
    show_value,
)
from meshctl.spec.sources import MeshSource, mesh_files, read_source


def load_spec(path: Path, replaced: Mapping[Path, bytes] | None = None) -> MeshSpec:
    """The validated mesh of a file, or of every ``*.yaml`` in a directory merged into one.

    ``replaced`` validates some files with other content than on disk (an edit before it is
    written; keys are paths as ``mesh_files(path)`` lists them). Raises ValidationError with every
    problem found, or MeshctlError if ``path`` does not exist.
    """
    with collector_paused():
        return _load(path, replaced)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while much is built and kept: a large file becoming
    data (it would rescan the growing tree of dicts and lists, 15% of the time for 5 MB), or a
    read of AWS and its plan (each full collection rescanned every botocore client, page and
    record kept so far, a third of a no-op plan's CPU at 5,000 subscriptions). Reference counting
    still frees the rest at once; the collector resumes afterwards unless the caller paused it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Semantic rules on a field that read another field of the same entry.
_RULE_READS = {"grantable": ("permissions",)}


def _load(path: Path, replaced: Mapping[Path, bytes] | None = None) -> MeshSpec:
    source = read_source(path, replaced)
    problems = list(source.problems)
    if not source.usable:
        raise ValidationError(problems)
    shape = _schema_problems(source)
    problems += shape.values()
    # One problem per mistake: a field the schema refused is not checked again, nor a field whose
    # rule reads it (a misspelt permission would also make its `grantable` "not in permissions").
    refused = {path[:n] for path in shape for n in range(1, len(path) + 1)}  # and within
    for found_path, message in semantic_problems(source.data, source.where):
        reads = _RULE_READS.get(str(found_path[2]) if len(found_path) > 2 else "", ())
        if any(found_path[:n] in shape for n in range(len(found_path) + 1)):
            continue
        if not any((*found_path[:2], field) in refused for field in reads):
            problems.append(source.problem(found_path, message))
    if problems:
        raise ValidationError(problems)
    return _build(source)


def mesh_digest(path: Path) -> str:
    """sha256 of what ``load_spec(path)`` reads: the file, or each *.yaml's name and bytes."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in mesh_files(path):
        content = file.read_bytes()
        digest.update(f"{file.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def summarize(spec: MeshSpec) -> str:
    """One line: "4 accounts (3 producers, 3 consumers), 3 products, 6 subscriptions (...)"."""
    producers = sum(a.is_producer for a in spec.accounts)
    consumers = sum(a.is_consumer for a in spec.accounts)
    by_status = Counter(s.status for s in spec.subscriptions)
    statuses = ", ".join(
        f"{by_status[s]} {s.value}"
        for s in (
            SubscriptionStatus.APPROVED,
            SubscriptionStatus.PENDING,
            SubscriptionStatus.DENIED,
        )
        if by_status[s]
    )
    subscriptions = _count(len(spec.subscriptions), "subscription")
    return (
        f"{_count(len(spec.accounts), 'account')} ({_count(producers, 'producer')}, "
        f"{_count(consumers, 'consumer')}), {_count(len(spec.products), 'product')}, "
        + (f"{subscriptions} ({statuses})" if statuses else subscriptions)
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# --- JSON Schema ----------------------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    """The mesh file's JSON Schema, as shipped in the package (do not mutate)."""
    text = resources.files("meshctl").joinpath("schemas/mesh.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    shipped = schema()
    Draft202012Validator.check_schema(shipped)
    return Draft202012Validator(_python_anchors(_inline_refs(shipped, shipped["$defs"])))


def conforms(definition: str, value: str) -> bool:
    """Whether ``value`` is a valid ``$defs/<definition>`` of the shipped schema (an account id,
    an account or product name, a principal, a date): the one source of these rules, so other
    modules (the importer, the CLI) never copy a pattern."""
    valid: bool = _definition_validator(definition).is_valid(value)
    return valid


@cache
def _definition_validator(definition: str) -> Draft202012Validator:
    defs = schema()["$defs"]
    return Draft202012Validator(_python_anchors(_inline_refs(defs[definition], defs)))


def _python_anchors(node: Any) -> Any:
    """The schema's patterns are ECMA regexes, where ``$`` is the end of the text; Python's ``$``
    (which jsonschema uses) also matches before a final newline, so '111111111111\\n' would pass
    as an account id. ``\\Z`` restores the intended meaning."""
    if isinstance(node, dict):
        return {
            k: v[:-1] + r"\Z"
            if k == "pattern" and isinstance(v, str) and v.endswith("$")
            else _python_anchors(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_anchors(v) for v in node]
    return node


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with each local ``$ref`` replaced by its definition, same meaning.

    Resolving a $ref costs jsonschema more than checking the value; inlined, a 5 MB mesh file
    validates in about half the time. A $ref's sibling keywords must not repeat a keyword of the
    definition (then merging would drop one of the two constraints instead of applying both).
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
    if "$ref" in node:
        target = _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
        clash = set(target) & set(out) - {"description", "default"}
        assert not clash, f"schema: {node['$ref']} and its siblings both set {clash}"
        out = {**target, **{k: v for k, v in out.items() if k not in target}}
    return out


def _schema_problems(source: MeshSource) -> dict[YamlPath, Problem]:
    """Every schema error as a Problem, keyed by its merged path (first problem per path)."""
    found: dict[YamlPath, Problem] = {}
    for error in _validator().iter_errors(source.data):
        for path, message in _explain(error, source):
            found.setdefault(path, source.problem(path, message))
    return found


def _explain(error: Any, source: MeshSource) -> Iterable[Found]:
    """Say what a jsonschema error means for someone editing YAML, at the most precise path."""
    path: YamlPath = tuple(error.absolute_path)
    kind, value, instance, sub = (
        error.validator,
        error.validator_value,
        error.instance,
        error.schema,
    )
    if "propertyNames" in error.relative_schema_path:
        # The name itself is wrong; jsonschema reports it at the enclosing mapping.
        yield (*path, instance), f"{show_value(instance)} is not a valid name: {sub['description']}"
    elif kind == "required":
        for name in value:
            if name not in instance:
                yield (*path, name), "is required but missing"
    elif kind == "additionalProperties":
        allowed = list(sub.get("properties", {}))
        for name in instance:
            if name not in allowed:
                yield (*path, name), _unknown_field(str(name), allowed)
    elif kind == "type":
        yield path, _type_message(path, value, instance, source)
    elif kind == "enum":
        which = "is empty; expected" if instance is None else f"{show_value(instance)} is not"
        yield path, f"{which} one of: {', '.join(map(str, value))}{_suggest(instance, value)}"
    elif kind == "const":
        yield path, f"{show_value(instance)} is not supported; this meshctl reads version {value}"
    elif kind == "pattern":
        yield path, f"{show_value(instance)} is not valid: expected {sub['description']}"
    elif kind == "maxLength":
        yield path, f"is {len(instance)} characters long; at most {value} are allowed"
    elif kind == "minLength":
        yield path, f"{show_value(instance)} is too short: expected {sub['description']}"
    elif kind == "minItems":
        omit = "; omit it for every table" if path[-1:] == ("tables",) else ""
        yield path, f"must not be empty{omit}"
    elif kind in ("maxItems", "maxProperties"):
        yield path, f"has {len(instance)} entries; at most {value} are allowed"
    elif kind == "uniqueItems":
        repeated = [v for v, n in Counter(map(str, instance)).items() if n > 1]
        yield path, f"lists {show_value(repeated[0]) if repeated else 'an entry'} more than once"
    else:  # pragma: no cover - a keyword added to the schema without a message here
        yield path, show_name(error.message, 200)


def _suggest(instance: Any, allowed: list[Any]) -> str:
    """ "; did you mean 'SELECT'?" for 'select', "'approved'" for 'aproved'; else nothing."""
    if not isinstance(instance, str):
        return ""
    words = [str(a) for a in allowed]
    same = [w for w in words if w.lower() == instance.lower()]
    close = same or difflib.get_close_matches(instance, words, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _unknown_field(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of: {', '.join(allowed)}"
    return f"unknown field {show_value(name)}{hint}"


# JSON Schema's type names in the words of someone writing YAML.
_YAML_TYPE = {
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
}


def _type_message(path: YamlPath, expected: Any, instance: Any, source: MeshSource) -> str:
    types = [expected] if isinstance(expected, str) else list(expected)
    want = " or ".join(_YAML_TYPE.get(t, f"a {t}") for t in types)
    if instance is None:
        return f"is empty; expected {want}"
    got = {bool: "true/false", int: "a number", float: "a number", str: "text"}.get(
        type(instance), "a list" if isinstance(instance, list) else "a mapping"
    )
    raw = source.scalar_text(path)
    if expected == "string" and raw is not None:
        why = " (a YAML number loses leading zeros)" if path[-1:] == ("account_id",) else ""
        return f'must be text; {raw} reads as {got}: quote it, "{raw}"{why}'
    return f"must be {want}, not {got}"


_STATUS = {s.value: s for s in SubscriptionStatus}  # a dict lookup: Enum() is slow at 10⁵ calls


def _table_name(entry: str | dict[str, Any]) -> str:
    return entry if isinstance(entry, str) else str(entry["name"])


def _restrictions(entries: Iterable[str | dict[str, Any]]) -> tuple[TableRestriction, ...]:
    """The mapping entries of a subscription's ``tables`` that restrict columns or rows."""
    found = (
        TableRestriction(
            table=str(e["name"]),
            columns=tuple(sorted(set(e.get("columns", ())))),
            excluded=tuple(sorted(set(e.get("exclude_columns", ())))),
            row_filter=str(e.get("row_filter", "")).strip(),
        )
        for e in entries
        if isinstance(e, dict)
    )
    return tuple(sorted(r for r in found if r.restricts))


def _build(source: MeshSource) -> MeshSpec:
    """MeshSpec from a document that passed every check: no validation here, only defaults."""
    data = source.data
    mesh = data["mesh"]
    settings = MeshSettings(
        account_id=mesh["account_id"],
        region=mesh["region"],
        subscriptions_table=mesh.get("subscriptions_table", DEFAULT_SUBSCRIPTIONS_TABLE),
        role_arn=mesh.get("role_arn"),
        iam_users=mesh.get("iam_users", False),
        cross_account_version=mesh.get("cross_account_version", DEFAULT_CROSS_ACCOUNT_VERSION),
    )
    accounts = tuple(
        Account(
            name=name,
            account_id=a["account_id"],
            roles=frozenset(AccountRole(r) for r in a["roles"]),
            role_arn=a.get("role_arn"),
        )
        for name, a in data.get("accounts", {}).items()
    )
    ids = {a.name: a.account_id for a in accounts}
    products = tuple(
        Product(
            name=name,
            producer=p["producer"],
            source_database=p["source_database"],
            tables=tuple(p["tables"]),
            mesh_database=p.get("mesh_database")
            or default_mesh_database(p["source_database"], ids[p["producer"]]),
            description=p.get("description", ""),
            owners=tuple(p.get("owners", ())),
            tags=tuple(sorted(p.get("tags", {}).items())),
            protect=p.get("protect", False),
            kms_key_arn=p.get("kms_key_arn", ""),
        )
        for name, p in data.get("products", {}).items()
    )
    subscriptions = tuple(
        Subscription(
            consumer=s["consumer"],
            product=s["product"],
            tables=tuple(_table_name(t) for t in s.get("tables", ())),
            permissions=frozenset(s["permissions"]),
            grantable=frozenset(s.get("grantable", ())),
            status=_STATUS[s.get("status", "pending")],
            approved_by=s.get("approved_by"),
            purpose=s.get("purpose", ""),
            expires=date.fromisoformat(s["expires"]) if "expires" in s else None,
            principals=tuple(
                sorted({principal_arn(p, ids[s["consumer"]]) for p in s.get("principals", ())})
            ),
            restrictions=_restrictions(s.get("tables", ())),
        )
        for s in data.get("subscriptions", [])
    )
    sources = [("mesh", source.where(("mesh",)))]
    sources += [(f"account.{a.name}", source.where(("accounts", a.name))) for a in accounts]
    sources += [(f"product.{p.name}", source.where(("products", p.name))) for p in products]
    sources += [
        (f"subscription.{s.key}", source.where(("subscriptions", i)))
        for i, s in enumerate(subscriptions)
    ]
    return MeshSpec(settings, accounts, products, subscriptions, sources=tuple(sources))
