"""``meshctl import``: a mesh file from the live mesh, so an existing mesh can be adopted.

Pure: an ``ObservedMesh`` (read by ``aws/read/for_import.py``) in, mesh-file text out.

- accounts come from the mesh roles ``DataMeshAdminProducer-<id>`` / ``DataMeshAdminConsumer-<id>``;
- products from the mesh databases (table copies say which producer owns them; the producer's own
  catalog says which source database they copy);
- subscriptions from the table, helper-library items included (``Pending``/``Active``/``Denied``
  → pending/approved/denied); archived (``Deleted``) items are history and are left out.

Where the live mesh does not say something the file needs, the value is inferred and the line
carries a YAML comment saying so (an approver the library recorded only as ``UpdatedBy``, an
account name, a source database). Invariant: the output validates, and for a mesh meshctl built
its plan is empty; a helper-library item plans only its adoption (it becomes meshctl's).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from meshctl.ids import subscription_id
from meshctl.importer.text import (
    Found,
    FoundProduct,
    FoundSubscription,
    Noted,
    is_date,
    render,
)
from meshctl.observed import ObservedMesh, RecordStatus, SubscriptionRecord, Table
from meshctl.planning.desired import DATA_PRODUCT_TAG, VOLATILE_TABLE_PARAMETERS
from meshctl.planning.policies import MESH_ROLE_PATH
from meshctl.spec.load import conforms
from meshctl.spec.model import TABLE_PERMISSIONS, MeshSettings

_ADMIN_ROLE = re.compile(r"^DataMeshAdmin(Producer|Consumer)-(\d{12})$")
_ACCOUNT_SUFFIX = re.compile(r"^(.+)-(\d{12})$")
_CONTROL_BUT_TAB_NEWLINE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f]+"
)  # what a description may not hold


def mesh_member_roles(observed: ObservedMesh) -> dict[str, set[str]]:
    """Account id -> {"producer", "consumer"}, from the mesh account's admin roles."""
    members: dict[str, set[str]] = {}
    for role in observed.roles:
        found = _ADMIN_ROLE.match(role.name)
        if role.account_id == observed.mesh_account_id and found and role.path == MESH_ROLE_PATH:
            members.setdefault(found.group(2), set()).add(found.group(1).lower())
    return members


def import_mesh(
    settings: MeshSettings, observed: ObservedMesh, *, names: Mapping[str, str] | None = None
) -> str:
    """The mesh file text for ``observed``; ``names`` maps account ids to chosen names."""
    version = observed.lake_settings.cross_account_version
    found = Found(dataclasses.replace(settings, cross_account_version=version))
    for account_id, roles in sorted(mesh_member_roles(observed).items()):
        if account_id != settings.account_id:
            found.account(account_id).roles |= roles
    found.iam_users = sum(1 for u in observed.iam_users if u.user_exists)
    _products(found, observed)
    _subscriptions(found, observed)
    _name_accounts(found, names or {})
    return render(found)


# --- products ----------------------------------------------------------------------------------


def _products(found: Found, observed: ObservedMesh) -> None:
    m = observed.mesh_account_id
    tables: dict[tuple[str, str], list[Table]] = {}
    for table in observed.tables:
        tables.setdefault((table.account_id, table.database), []).append(table)
    mesh_dbs = [d for d in observed.databases if d.account_id == m and not d.target_account_id]
    used: set[str] = set()
    for db in sorted(mesh_dbs, key=lambda d: d.name):
        copies = sorted(tables.get((m, db.name), []), key=lambda t: t.name)
        producer_id = _producer_of(db.name, copies, observed)
        if producer_id is None or producer_id == m:
            found.skipped.append(f"mesh database {db.name}: no producer account can be told")
            continue
        tags = dict(db.tags)
        name = _product_name(db.name, producer_id, tags.pop(DATA_PRODUCT_TAG, ""), used)
        used.add(name.value)
        producer = found.account(producer_id)
        if "producer" not in producer.roles:
            producer.roles.add("producer")
            producer.notes.append(f"no DataMeshAdminProducer-{producer_id} role: apply creates it")
        sources = {
            database: {t.name: t for t in group}
            for (account_id, database), group in tables.items()
            if account_id == producer_id
        }
        found.products.append(
            FoundProduct(
                name=name,
                producer_id=producer_id,
                mesh_database=db.name,
                source_database=_source_database(db.name, producer_id, copies, sources),
                tables=tuple(t.name for t in copies),
                description=_CONTROL_BUT_TAB_NEWLINE.sub(" ", db.description)[:2048],
                tags=tuple(sorted(tags.items())),
                protect=db.protected,
                # One key recorded: the product's (docs/kms.md); several belong to no one product.
                kms_key_arn=db.kms_keys[0] if len(db.kms_keys) == 1 else "",
            )
        )


def _producer_of(db: str, copies: list[Table], observed: ObservedMesh) -> str | None:
    """The producer account: the owner of the table copies, else the library's name suffix,
    else the account holding CREATE_TABLE on the mesh database."""
    owners = sorted({t.owner for t in copies if re.fullmatch(r"\d{12}", t.owner)})
    if len(owners) == 1:
        return owners[0]
    suffix = _ACCOUNT_SUFFIX.match(db)
    if suffix:
        return suffix.group(2)
    creators = sorted(
        g.principal
        for g in observed.grants
        if g.resource.database == db and not g.resource.table and "CREATE_TABLE" in g.permissions
        if re.fullmatch(r"\d{12}", g.principal)
    )
    return creators[0] if len(creators) == 1 else None


def _product_name(db: str, producer_id: str, tagged: str, used: set[str]) -> Noted:
    if conforms("productName", tagged) and tagged not in used:
        return Noted(tagged)
    base = db.removesuffix(f"-{producer_id}")
    for candidate in (base, db):
        name = re.sub(r"[^a-z0-9_.-]+", "-", candidate.lower()).replace("..", ".")
        name = name if name[:1].isalpha() else f"p-{name}"
        if conforms("productName", name) and name not in used:
            return Noted(name, f"name inferred from mesh database {db}")
    return Noted(f"p-{len(used)}", f"name made up for mesh database {db}")


def _same_definition(source: Table, copy: Table) -> bool:
    """Whether ``copy`` is meshctl's copy of ``source`` (desired._table_copy, undone)."""

    def strip(t: Table) -> Table:
        params = tuple(kv for kv in t.parameters if kv[0] not in VOLATILE_TABLE_PARAMETERS)
        return dataclasses.replace(t, account_id="", database="", owner="", parameters=params)

    return strip(source) == strip(copy)


def _source_database(
    db: str, producer_id: str, copies: list[Table], sources: Mapping[str, Mapping[str, Table]]
) -> Noted:
    def holds_copies(candidate: str) -> bool:
        tables = sources.get(candidate, {})
        return all(c.name in tables and _same_definition(tables[c.name], c) for c in copies)

    suffix = _ACCOUNT_SUFFIX.match(db)
    default = suffix.group(1) if suffix and suffix.group(2) == producer_id else ""
    if default and copies and holds_copies(default):
        return Noted(default)
    matching = sorted(s for s in sources if copies and holds_copies(s))
    if len(matching) == 1:
        return Noted(matching[0])
    if matching:
        return Noted(matching[0], f"inferred: {', '.join(matching)} all hold these tables")
    if default:
        why = "its tables differ" if default in sources else "not found in the producer account"
        return Noted(default, f"inferred from the mesh database name; {why}")
    return Noted(db, "inferred: no source database in the producer account holds these tables")


# --- subscriptions -----------------------------------------------------------------------------


def _subscriptions(found: Found, observed: ObservedMesh) -> None:
    by_name = {p.name.value: p for p in found.products}
    by_db = {p.mesh_database: p for p in found.products}
    groups: dict[tuple[str, str], list[SubscriptionRecord]] = {}
    for record in observed.subscriptions:
        if record.status is RecordStatus.DELETED:
            found.archived += 1
            continue
        product = by_name.get(record.product) if record.product else None
        product = product if product and product.mesh_database == record.database else None
        product = product or by_db.get(record.database)
        if product is None:
            found.skipped.append(
                f"subscription {record.subscription_id}: mesh database {record.database} "
                "is not a product found in the mesh catalog"
            )
        elif record.subscriber in (product.producer_id, found.settings.account_id):
            found.skipped.append(
                f"subscription {record.subscription_id}: account {record.subscriber} "
                f"cannot subscribe to product {product.name.value}"
            )
        else:
            groups.setdefault((record.subscriber, product.name.value), []).append(record)
    for (consumer_id, name), records in sorted(groups.items()):
        # The record the planner adopts for this pair (kinds/subscriptions.py, _match).
        own = subscription_id(consumer_id, name)
        records.sort(key=lambda r: (r.subscription_id != own, not r.managed, r.created_at))
        chosen, *others = records
        for other in others:
            found.skipped.append(
                f"subscription {other.subscription_id} ({other.status.value}): a second record "
                f"of account {consumer_id} for product {name}; {chosen.subscription_id} is kept"
            )
        sub = _subscription(found, chosen, consumer_id, by_name[name])
        if sub is not None:
            found.subscriptions.append(sub)


def _subscription(
    found: Found, record: SubscriptionRecord, consumer_id: str, product: FoundProduct
) -> FoundSubscription | None:
    active = record.status is RecordStatus.ACTIVE
    raw = record.permitted if active and record.permitted else record.requested
    permissions = tuple(sorted({p.upper() for p in raw} & set(TABLE_PERMISSIONS)))
    if not permissions:
        found.skipped.append(
            f"subscription {record.subscription_id}: no permissions recorded ({', '.join(raw)})"
        )
        return None
    notes: list[str] = []
    if not record.managed:
        notes.append(f"helper-library record {record.subscription_id}: apply adopts it")
    if set(raw) - set(permissions):
        notes.append(f"dropped permissions {', '.join(sorted(set(raw) - set(permissions)))}")
    tables = tuple(sorted(set(record.tables)))
    if set(tables) == set(product.tables) and not record.restrictions:
        tables = ()  # restricted tables are listed: each entry carries its restriction
    elif product.tables and set(tables) - set(product.tables):
        dropped = ", ".join(sorted(set(tables) - set(product.tables)))
        notes.append(f"dropped tables not in the product: {dropped}")
        tables = tuple(t for t in tables if t in product.tables)
    if record.expires and not (conforms("date", record.expires) and is_date(record.expires)):
        notes.append(f"dropped expires {record.expires!r}: not a YYYY-MM-DD date")
    consumer = found.account(consumer_id)
    if "consumer" not in consumer.roles:
        consumer.roles.add("consumer")
        consumer.notes.append(f"no DataMeshAdminConsumer-{consumer_id} role: apply creates it")
    approved_by = _approver(record) if active or record.approved_by else None
    if approved_by is not None:
        product.owners.setdefault(approved_by.value, approved_by.note)
    grantable = tuple(sorted(set(record.grantable) & set(permissions))) if active else ()
    return FoundSubscription(
        record, consumer_id, product, tables, permissions, grantable, approved_by, notes
    )


def _approver(record: SubscriptionRecord) -> Noted:
    candidates = [
        (record.approved_by, ""),
        (record.updated_by, "inferred from UpdatedBy"),
        (record.created_by, "inferred from CreatedBy"),
    ]
    for value, note in candidates:
        if value and conforms("owner", value):
            return Noted(value, note)
    return Noted("unknown-approver", "the table records no approver: put the real one here")


# --- account names -----------------------------------------------------------------------------


def _name_accounts(found: Found, names: Mapping[str, str]) -> None:
    taken: set[str] = set()
    for account_id, account in sorted(found.accounts.items()):
        chosen = names.get(account_id, "")
        if conforms("accountName", chosen) and chosen not in taken:
            account.name = Noted(chosen)
            taken.add(chosen)
    prefixes: dict[str, set[str]] = {}
    for product in found.products:
        head, dot, _ = product.name.value.partition(".")
        prefixes.setdefault(product.producer_id, set()).add(head if dot else "")
    for account_id, account in sorted(found.accounts.items()):
        if account.name.value:
            continue
        heads = prefixes.get(account_id, set())
        head = next(iter(heads)) if len(heads) == 1 else ""
        if conforms("accountName", head) and head not in taken:
            account.name = Noted(head, "name inferred from its products' names")
        else:
            account.name = Noted(f"acct-{account_id}")
        taken.add(account.name.value)
