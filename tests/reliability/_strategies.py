"""hypothesis strategies for hostile and valid mesh documents (plain data, before YAML)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import yaml
from hypothesis import strategies as st

from ._mesh import EXAMPLE

BASE: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
DANGEROUS = (
    "'",
    '"',
    'it\'s "quoted"',
    "line\nbreak",
    "trailing\n",
    "\r\n",
    "../../etc/passwd",
    "..",
    "a/../b",
    "s\u0430les",  # Cyrillic a
    "\uff53ales",  # fullwidth s
    "sales\u200b",  # zero-width space
    "abc\u202edcba",  # right-to-left override
    "\x00",
    "\x1b[2K\x1b[1Ahidden",
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "*",
    "&a [*a, *a]",
    "!!python/object/apply:os.system ['id']",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE subscriptions; --",
    "NaN",
    "~",
    "",
    " ",
    "\t",
    "0123",
    "1e309",
    "111111111111",
    "arn:aws:iam::111111111111:role/../../root",
)
scalars = st.one_of(
    st.sampled_from(DANGEROUS),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from(DANGEROUS)), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def _slots(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in ``doc`` (dict keys and list indexes)."""
    out = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _slots(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _slots(value, (*path, i))
    return out


@st.composite
def mutated_example(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(doc)
        if not slots:
            break
        path = draw(st.sampled_from(slots))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "rename", "append", "suffix"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(DANGEROUS))] = parent.pop(key)
        elif action == "append" and isinstance(parent[key], list):
            parent[key].append(draw(values))
        elif action == "suffix" and isinstance(parent[key], str):
            parent[key] += draw(st.sampled_from(DANGEROUS))
    return doc


names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
table_names = st.from_regex(r"[a-z_][a-z0-9_-]{0,10}", fullmatch=True)
owners = st.lists(
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example\.com", fullmatch=True),
    min_size=1,
    max_size=3,
    unique=True,
)
free_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), max_size=60
)  # any printable unicode: quotes, look-alikes, bidi controls, markdown, HTML
PERMISSIONS = ["ALL", "SELECT", "ALTER", "DROP", "DELETE", "INSERT", "DESCRIBE"]


@st.composite
def valid_mesh(draw: st.DrawFn) -> dict[str, Any]:
    account_names = draw(st.lists(names, min_size=2, max_size=5, unique=True))
    ids = draw(
        st.lists(
            st.from_regex(r"[1-9][0-9]{11}", fullmatch=True),
            min_size=len(account_names) + 1,
            max_size=len(account_names) + 1,
            unique=True,
        )
    )
    accounts: dict[str, Any] = {}
    for i, name in enumerate(account_names):
        roles = draw(st.sampled_from([["producer"], ["consumer"], ["producer", "consumer"]]))
        accounts[name] = {"account_id": ids[i + 1], "roles": roles}
    producers = [n for n, a in accounts.items() if "producer" in a["roles"]]
    products: dict[str, Any] = {}
    for i, producer in enumerate(producers):
        for j in range(draw(st.integers(0, 2))):
            star = draw(st.booleans())
            tables = (
                ["*"] if star else draw(st.lists(table_names, min_size=1, max_size=3, unique=True))
            )
            product: dict[str, Any] = {
                "producer": producer,
                "source_database": f"db{i}_{j}",
                "tables": tables,
                "owners": draw(owners),
                "description": draw(free_text),
            }
            if draw(st.booleans()):
                product["tags"] = {
                    "Domain": draw(st.from_regex(r"[A-Za-z][A-Za-z0-9 _.-]{0,10}", fullmatch=True))
                }
            products[f"{producer}.p{j}"] = product
    subscriptions = []
    consumers = [n for n, a in accounts.items() if "consumer" in a["roles"]]
    for consumer in consumers:
        for name in draw(
            st.lists(st.sampled_from(sorted(products) or ["-"]), unique=True, max_size=3)
        ):
            product = products.get(name)
            if product is None or product["producer"] == consumer:
                continue
            permissions = draw(
                st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=3, unique=True)
            )
            sub: dict[str, Any] = {
                "consumer": consumer,
                "product": name,
                "permissions": permissions,
                "grantable": draw(st.lists(st.sampled_from(permissions), unique=True, max_size=2)),
                "status": draw(st.sampled_from(["pending", "approved", "denied"])),
                "purpose": draw(free_text),
            }
            if product["tables"] != ["*"] and draw(st.booleans()):
                sub["tables"] = draw(
                    st.lists(st.sampled_from(product["tables"]), min_size=1, unique=True)
                )
            if sub["status"] == "approved":
                sub["approved_by"] = draw(st.sampled_from(product["owners"]))
            if draw(st.booleans()):
                sub["expires"] = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31))).isoformat()
            subscriptions.append(sub)
    return {
        "version": 1,
        "mesh": {"account_id": ids[0], "region": "eu-west-1", "iam_users": draw(st.booleans())},
        "accounts": accounts,
        "products": products,
        "subscriptions": subscriptions,
    }
