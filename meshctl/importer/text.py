"""The text ``meshctl import`` writes: what the import found, as a mesh file with comments.

Pure. Values go out quoted unless they read back as the same plain YAML scalar; every comment has
its control characters replaced, so a hostile name or purpose in AWS cannot break the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import yaml

from meshctl import __version__
from meshctl.observed import SubscriptionRecord, TableRestriction
from meshctl.spec.load import conforms
from meshctl.spec.model import DEFAULT_CROSS_ACCOUNT_VERSION, MeshSettings
from meshctl.spec.rules import default_mesh_database

CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_@./+=:, -]*$")
_PLAIN_IN_LIST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_@./+=:-]*$")


@dataclass(frozen=True)
class Noted:
    """A value and, when it was inferred, a comment saying from what."""

    value: str
    note: str = ""


@dataclass
class FoundAccount:
    account_id: str
    roles: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    name: Noted = Noted("")


@dataclass
class FoundProduct:
    name: Noted
    producer_id: str
    mesh_database: str
    source_database: Noted
    tables: tuple[str, ...]
    description: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    protect: bool = False
    owners: dict[str, str] = field(default_factory=dict)  # owner -> note
    kms_key_arn: str = ""  # the key its mesh database records meshctl's KMS grants on


@dataclass
class FoundSubscription:
    record: SubscriptionRecord
    consumer_id: str
    product: FoundProduct
    tables: tuple[str, ...]  # () = every table of the product
    permissions: tuple[str, ...]
    grantable: tuple[str, ...]
    approved_by: Noted | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Found:
    settings: MeshSettings
    accounts: dict[str, FoundAccount] = field(default_factory=dict)
    products: list[FoundProduct] = field(default_factory=list)
    subscriptions: list[FoundSubscription] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    archived: int = 0
    iam_users: int = 0  # users found beside the mesh roles (the library's layout)

    def account(self, account_id: str) -> FoundAccount:
        return self.accounts.setdefault(account_id, FoundAccount(account_id))


def _scalar(value: str, *, in_list: bool = False) -> str:
    """``value`` as a YAML scalar: plain when that reads back as the same text, else quoted."""
    pattern = _PLAIN_IN_LIST if in_list else _PLAIN
    if pattern.match(value) and value == value.rstrip():
        probe = f"k: [{value}]" if in_list else f"k: {value}"
        loaded = yaml.safe_load(probe)["k"]
        if loaded == ([value] if in_list else value):
            return value
    dumped = yaml.safe_dump(value, default_style='"', width=1 << 30, allow_unicode=True)
    return dumped.strip()


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_scalar(v, in_list=True) for v in values) + "]"


def _comment(note: str) -> str:
    return f"  # {CONTROL.sub(' ', note)}" if note else ""


def render(found: Found) -> str:
    """The mesh file: validates as is; inferred values carry a comment saying from what."""
    s = found.settings
    names = {a.account_id: a.name.value for a in found.accounts.values()}
    out = [
        f"# Imported by meshctl {__version__} from the live mesh of account {s.account_id}"
        f" ({s.region}).",
        "# Lines marked 'inferred' are meshctl's best guess from what AWS records: check them.",
        "# `meshctl validate` checks this file; `meshctl plan` shows what apply would change.",
    ]
    if found.archived:
        out.append(f"# {found.archived} archived subscription record(s) are history: not imported.")
    out += ["", "version: 1", "", "mesh:", f'  account_id: "{s.account_id}"']
    out += [
        f"  region: {_scalar(s.region)}",
        f"  subscriptions_table: {_scalar(s.subscriptions_table)}",
    ]
    if s.cross_account_version != DEFAULT_CROSS_ACCOUNT_VERSION:
        version = f"  cross_account_version: {s.cross_account_version}"
        out.append(version + _comment("inferred: the mesh account's Lake Formation setting"))
    if found.iam_users:
        users = f"{found.iam_users} user(s) and their groups found beside the mesh roles"
        out.append(f"  iam_users: true{_comment('inferred: ' + users)}")
    if found.accounts:
        out += ["", "accounts:"]
        for account in sorted(found.accounts.values(), key=lambda a: a.name.value):
            out += [f"  # {CONTROL.sub(' ', n)}" for n in account.notes]
            out.append(f"  {account.name.value}:{_comment(account.name.note)}")
            out.append(f'    account_id: "{account.account_id}"')
            roles = [r for r in ("producer", "consumer") if r in account.roles]
            out.append(f"    roles: [{', '.join(roles)}]")
    if found.products:
        out += ["", "products:"]
        for p in sorted(found.products, key=lambda p: p.name.value):
            out += _render_product(p, names[p.producer_id])
    if found.subscriptions:
        out += ["", "subscriptions:"]
        subs = sorted(
            found.subscriptions, key=lambda x: (names[x.consumer_id], x.product.name.value)
        )
        for sub in subs:
            out += _render_subscription(sub, names[sub.consumer_id])
    if found.skipped:
        out += ["", "# Not imported:"]
        out += [f"# - {CONTROL.sub(' ', line)}" for line in sorted(found.skipped)]
    return "\n".join(out) + "\n"


def _render_product(p: FoundProduct, producer: str) -> list[str]:
    out = [f"  {_scalar(p.name.value)}:{_comment(p.name.note)}", f"    producer: {producer}"]
    source = p.source_database
    out.append(f"    source_database: {_scalar(source.value)}{_comment(source.note)}")
    if p.tables:
        out.append(f"    tables: {_flow(p.tables)}")
    else:
        out.append('    tables: ["*"]  # inferred: the mesh database holds no tables yet')
    if p.mesh_database != default_mesh_database(source.value, p.producer_id):
        out.append(f"    mesh_database: {_scalar(p.mesh_database)}")
    if p.description:
        out.append(f"    description: {_scalar(p.description)}")
    if p.owners:
        out.append("    owners:  # only approvers are recorded in AWS: add the other owners")
        out += [f"      - {_scalar(o)}{_comment(n)}" for o, n in sorted(p.owners.items())]
    if p.tags:
        out.append("    tags:")
        out += [f"      {_scalar(k)}: {_scalar(v)}" for k, v in p.tags]
    if p.protect:
        out.append("    protect: true")
    if p.kms_key_arn:
        out.append(f"    kms_key_arn: {_scalar(p.kms_key_arn)}")
    return out


def _render_subscription(sub: FoundSubscription, consumer: str) -> list[str]:
    record = sub.record
    out = [f"  # {CONTROL.sub(' ', n)}" for n in sub.notes]
    out += [f"  - consumer: {consumer}", f"    product: {_scalar(sub.product.name.value)}"]
    restricted = {r.table: r for r in record.restrictions if r.table in sub.tables}
    if restricted:
        out.append("    tables:")
        out += [line for t in sub.tables for line in table_entry(t, restricted.get(t))]
    elif sub.tables:
        out.append(f"    tables: {_flow(sub.tables)}")
    out.append(f"    permissions: {_flow(sub.permissions)}")
    if sub.grantable:
        out.append(f"    grantable: {_flow(sub.grantable)}")
    out.append(f"    status: {record.status.word}")
    if sub.approved_by is not None:
        value = sub.approved_by
        out.append(f"    approved_by: {_scalar(value.value)}{_comment(value.note)}")
    purpose = CONTROL.sub(" ", record.purpose)[:1024]
    if purpose:
        out.append(f"    purpose: {_scalar(purpose)}")
    if conforms("date", record.expires) and is_date(record.expires):
        out.append(f"    expires: {record.expires}")
    if record.principals:
        out.append("    principals:")
        out += [f"      - {_scalar(_short(p, sub.consumer_id))}" for p in record.principals]
    return out


def table_entry(table: str, restriction: TableRestriction | None) -> list[str]:
    """One ``tables`` entry: the name, or the mapping of a table restricted to columns or rows."""
    if restriction is None:
        return [f"      - {_scalar(table)}"]
    out = [f"      - name: {_scalar(table)}"]
    if restriction.columns:
        out.append(f"        columns: {_flow(restriction.columns)}")
    if restriction.excluded:
        out.append(f"        exclude_columns: {_flow(restriction.excluded)}")
    if restriction.row_filter:
        out.append(f"        row_filter: {_scalar(CONTROL.sub(' ', restriction.row_filter))}")
    return out


def _short(principal: str, account_id: str) -> str:
    """``role/NAME`` for a role (or user) of the consumer's own account, else the ARN."""
    prefix = f"arn:aws:iam::{account_id}:"
    return principal[len(prefix) :] if principal.startswith(prefix) else principal


def is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
