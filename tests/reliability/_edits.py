"""The small universe of the state machine (test_state_machine.py), the edits a platform team
makes to it, and what it observes straight from AWS to judge an apply.

Edits come in two kinds:
- edits of the mesh file: plain functions on the document (a dict, written as YAML), each keeping
  it valid (README's rules: references resolve, one subscription per pair, an approval names an
  owner, ``grantable`` within ``permissions``);
- edits behind meshctl's back, made with the sandbox's own clients: a request written in the
  helper library's item shape (``meshctl/aws/tracker.py``: no ``ManagedBy``, no ``Version``, its
  own ``SubscriptionId``) and the grants the library makes for an ``Active`` one, a grant or a
  revoke by hand, a status changed by hand as the library does (no ``Version`` bump).

Observations are raw Lake Formation permissions (folded by ``canonical_grants``, so ``ALL`` and
the ``TableWithColumns`` shapes compare) and raw subscription items.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from meshctl.codec import from_json
from meshctl.observed import Grant, ResourceType
from meshctl.planning.canonical import canonical_grants, expand, is_service_principal
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.planning.policies import role_arn
from meshctl.spec.model import MeshSpec, SubscriptionStatus

from ._mesh import list_grants

SessionFor = Callable[[str], Any]

MESH = "555555555555"
REGION = "us-east-1"
TABLE = "AwsDataMeshSubscriptions"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DEPLOYER = f"arn:aws:iam::{MESH}:role/MeshctlDeployer"
MESH_ROLES = role_arn(MESH, "")  # prefix of the mesh roles meshctl grants to

# Two producers, three consumers (south is both), three products of two tables.
ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "north": ("111111111111", ("producer",)),
    "south": ("222222222222", ("producer", "consumer")),
    "east": ("333333333333", ("consumer",)),
    "west": ("444444444444", ("consumer",)),
}
PRODUCTS: dict[str, dict[str, Any]] = {
    "north.orders": {
        "producer": "north",
        "source_database": "orders",
        "tables": ["orders", "order_lines"],
        "owners": ["north-data@example.com"],
        "tags": {"Domain": "Sales"},
    },
    "north.stock": {
        "producer": "north",
        "source_database": "stock",
        "tables": ["items", "depots"],
        "owners": ["north-data@example.com"],
    },
    "south.ships": {
        "producer": "south",
        "source_database": "ships",
        "tables": ["shipments", "carriers"],
        "owners": ["south-data@example.com", "privacy@example.com"],
        "tags": {"Domain": "Logistics"},
    },
}
CONSUMERS = tuple(n for n, (_, roles) in ACCOUNTS.items() if "consumer" in roles)
# "consumer/product" for every pair the file may declare.
PAIRS = tuple(
    f"{c}/{p}" for c in CONSUMERS for p, product in PRODUCTS.items() if product["producer"] != c
)
PERMISSIONS = ("ALL", "SELECT", "ALTER", "DROP", "DELETE", "INSERT", "DESCRIBE")
# Relative to NOW: long past, today (expired on its own day), within the 14-day warning, later.
EXPIRES = ("2026-01-15", "2026-05-01", "2026-05-10", "2027-06-30")
OUTSIDER = "777777777777"  # an account outside the mesh
# Principals of grants made by hand: never a subscriber, so never meshctl's to revoke.
HAND_PRINCIPALS = (OUTSIDER, "arn:aws:iam::333333333333:role/Analyst")
STATUS_WORD = {"pending": "Pending", "approved": "Active", "denied": "Denied"}

_serialize = TypeSerializer().serialize


def account_id(name: str) -> str:
    return ACCOUNTS[name][0]


def mesh_database(product: str) -> str:
    """The helper library's name: ``<source_database>-<producer account id>``."""
    spec = PRODUCTS[product]
    return f"{spec['source_database']}-{account_id(spec['producer'])}"


def split(pair: str) -> tuple[str, str]:
    consumer, product = pair.split("/", 1)
    return consumer, product


def pair_key(pair: str) -> tuple[str, str]:
    """(consumer account id, mesh database): how records and grants name a pair."""
    consumer, product = split(pair)
    return account_id(consumer), mesh_database(product)


def item_key(item: Mapping[str, Any]) -> tuple[str, str]:
    """The same for a subscription item."""
    return str(item.get("SubscriberPrincipal")), str(item.get("DatabaseName"))


# --- the mesh file ------------------------------------------------------------------------------


def initial_doc() -> dict[str, Any]:
    """Every account and product of the universe, no subscription yet."""
    return {
        "version": 1,
        "mesh": {"account_id": MESH, "region": REGION},
        "accounts": {
            name: {"account_id": aid, "roles": list(roles)}
            for name, (aid, roles) in ACCOUNTS.items()
        },
        "products": copy.deepcopy(PRODUCTS),
        "subscriptions": [],
    }


def declared(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The subscription entries of ``doc`` by pair (the entries themselves, editable)."""
    return {f"{s['consumer']}/{s['product']}": s for s in doc["subscriptions"]}


def insertable(doc: Mapping[str, Any]) -> list[str]:
    """Pairs the file may declare now: both ends in the file, not declared yet."""
    taken = declared(doc)
    out = []
    for pair in PAIRS:
        consumer, product = split(pair)
        if pair not in taken and consumer in doc["accounts"] and product in doc["products"]:
            out.append(pair)
    return out


def approve(entry: dict[str, Any], status: str) -> None:
    """Set the owners' decision; an approval names the product's first owner."""
    entry["status"] = status
    if status == "approved":
        entry["approved_by"] = PRODUCTS[entry["product"]]["owners"][0]
    else:
        entry.pop("approved_by", None)


def new_entry(
    pair: str,
    *,
    permissions: Iterable[str],
    grantable: Iterable[str] = (),
    status: str = "pending",
    tables: Iterable[str] | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    """A subscription entry as a platform team writes it (optional keys only when set)."""
    consumer, product = split(pair)
    entry: dict[str, Any] = {
        "consumer": consumer,
        "product": product,
        "permissions": list(permissions),
    }
    if grantable:
        entry["grantable"] = list(grantable)
    if tables is not None:
        entry["tables"] = list(tables)
    if expires is not None:
        entry["expires"] = expires
    approve(entry, status)
    return entry


# --- behind meshctl's back ----------------------------------------------------------------------


def put_library_request(
    session_for: SessionFor,
    subscription_id: str,
    pair: str,
    *,
    status: str,
    tables: Iterable[str],
    permissions: Iterable[str],
) -> None:
    """The item the helper library writes for a request (``Pending``) or an approved one
    (``Active``): its own id, its attribute layout, none of meshctl's bookkeeping."""
    consumer, product = split(pair)
    producer = PRODUCTS[product]["producer"]
    perms = sorted(permissions)
    item: dict[str, Any] = {
        "SubscriptionId": subscription_id,
        "OwnerPrincipal": account_id(producer),
        "SubscriberPrincipal": account_id(consumer),
        "Status": status,
        "DatabaseName": mesh_database(product),
        "TableName": sorted(tables),
        "RequestedGrants": perms,
        "CreationDate": "2026-04-20 09:30:00",
        "CreatedBy": f"arn:aws:sts::{account_id(consumer)}:assumed-role/DataMeshConsumer/alice",
    }
    if status == "Active":
        item |= {
            "PermittedGrants": perms,
            "GrantableGrants": [],
            "UpdatedDate": "2026-04-21 10:00:00",
            "UpdatedBy": f"arn:aws:sts::{account_id(producer)}:assumed-role/DataMeshProducer/bob",
        }
    session_for(MESH).client("dynamodb").put_item(
        TableName=TABLE, Item={k: _serialize(v) for k, v in item.items()}
    )


def set_status_by_hand(session_for: SessionFor, subscription_id: str, status: str) -> None:
    """What the library's approve/deny/delete write: Status and who, never ``Version``."""
    session_for(MESH).client("dynamodb").update_item(
        TableName=TABLE,
        Key={"SubscriptionId": _serialize(subscription_id)},
        UpdateExpression="SET #s = :s, UpdatedBy = :who, UpdatedDate = :when",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={
            ":s": _serialize(status),
            ":who": _serialize("arn:aws:sts::111111111111:assumed-role/DataMeshProducer/carol"),
            ":when": _serialize("2026-04-30 16:00:00"),
        },
    )


def _resource(database: str, table: str) -> dict[str, Any]:
    if not table:
        return {"Database": {"CatalogId": MESH, "Name": database}}
    return {"Table": {"CatalogId": MESH, "DatabaseName": database, "Name": table}}


def grant_by_hand(
    session_for: SessionFor, principal: str, database: str, table: str, permissions: Iterable[str]
) -> None:
    lf = session_for(MESH).client("lakeformation")
    lf.grant_permissions(
        CatalogId=MESH,
        Principal={"DataLakePrincipalIdentifier": principal},
        Resource=_resource(database, table),
        Permissions=sorted(permissions),
    )


def revoke_by_hand(session_for: SessionFor, grant: Grant) -> None:
    """Revoke everything ``grant`` holds (its grant options go with their permissions)."""
    lf = session_for(MESH).client("lakeformation")
    lf.revoke_permissions(
        CatalogId=MESH,
        Principal={"DataLakePrincipalIdentifier": grant.principal},
        Resource=_resource(grant.resource.database, grant.resource.table),
        Permissions=sorted(grant.permissions),
    )


# --- observations -------------------------------------------------------------------------------

GrantKey = tuple[str, str, str]  # (principal, database or "", table or "")
Token = tuple[str, str, str]  # (principal, resource key, permission or "grant option: P")


def key_of(grant: Grant) -> GrantKey:
    return grant.principal, grant.resource.database, grant.resource.table


def live_grants(session_for: SessionFor, spec: MeshSpec) -> dict[GrantKey, Grant]:
    """The mesh catalog's grants (catalog, databases, tables), folded, without the principals
    Lake Formation lists implicitly (data lake admins, meshctl's own deployer, service roles)."""
    lf = session_for(MESH).client("lakeformation")
    settings = lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    skip = {a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])}
    skip.add(DEPLOYER)
    out = {}
    for grant in canonical_grants(list_grants(session_for, spec), MESH):
        if grant.principal in skip or is_service_principal(grant.principal):
            continue
        if grant.resource.type is not ResourceType.DATA_LOCATION:
            out[key_of(grant)] = grant
    return out


def tokens(grant: Grant) -> set[Token]:
    key = grant.resource.key
    return {(grant.principal, key, p) for p in grant.permissions} | {
        (grant.principal, key, f"grant option: {p}") for p in grant.grantable
    }


def all_tokens(grants: Iterable[Grant]) -> set[Token]:
    return {t for g in grants for t in tokens(g)}


def announced_revokes(plan: Plan) -> set[Token]:
    """What the plan says apply takes away: whole grants it deletes, and what grant updates
    drop (permissions and grant options)."""
    out: set[Token] = set()
    for change in plan.effective_changes:
        if change.kind is not Kind.GRANT or change.action is Action.CREATE:
            continue
        before = from_json(Grant, change.before)
        if before.resource.type is ResourceType.DATA_LOCATION:
            continue  # not observed (live_grants): meshctl makes no location grants
        if change.action is Action.DELETE:
            out |= tokens(before)
        elif change.action is Action.UPDATE:
            after = from_json(Grant, change.after)
            out |= tokens(before) - tokens(after)
    return out


def deleted_resources(plan: Plan) -> set[tuple[str, str]]:
    """(database, table or "") of the mesh databases and table copies the plan deletes."""
    out = set()
    for change in plan.effective_changes:
        if change.action is not Action.DELETE or change.account_id != MESH:
            continue
        before = change.before or {}
        if change.kind is Kind.DATABASE and not before.get("target_account_id"):
            out.add((before["name"], ""))
        elif change.kind is Kind.TABLE:
            out.add((before["database"], before["name"]))
    return out


def unbacked_grants(
    grants: Iterable[Grant], spec: MeshSpec, today: date, exempt: set[GrantKey]
) -> list[str]:
    """Grants on mesh databases/tables that nothing in the file backs: to an account, beyond its
    approved, unexpired subscription (tables, permissions, grant options), unless it is its
    product's producer; to an IAM principal other than the mesh roles. ``exempt``: grants made
    by hand (or by the library for a request the file does not declare)."""
    producer_of = {p.mesh_database: spec.account(p.producer).account_id for p in spec.products}
    access: dict[tuple[str, str], dict[str, tuple[frozenset[str], frozenset[str]]]] = {}
    for sub in spec.subscriptions:
        if sub.status is not SubscriptionStatus.APPROVED:
            continue
        if sub.expires is not None and today >= sub.expires:
            continue
        product = spec.product(sub.product)
        slot = access.setdefault((spec.account(sub.consumer).account_id, product.mesh_database), {})
        perms = expand(sub.permissions, ResourceType.TABLE)
        with_grant = expand(sub.grantable, ResourceType.TABLE)
        for table in sub.tables or product.tables:
            slot[table] = (perms | with_grant, with_grant)
    bad = []
    for grant in grants:
        if grant.resource.type not in (ResourceType.DATABASE, ResourceType.TABLE):
            continue  # catalog grants go to mesh roles; nothing else makes wildcard grants
        key = key_of(grant)
        principal, database, table = key
        if key in exempt or producer_of.get(database) == principal:
            continue
        if not principal.isdigit():
            if not principal.startswith(MESH_ROLES):
                bad.append(f"{grant.address}: an IAM principal nothing in mesh.yaml names")
            continue
        tables = access.get((principal, database))
        if tables is None:
            bad.append(f"{grant.address}: no approved, unexpired subscription")
        elif not table:
            if grant.permissions - {"DESCRIBE"} or grant.grantable:
                bad.append(f"{grant.address}: {sorted(grant.permissions)} beyond DESCRIBE")
        elif table not in tables:
            bad.append(f"{grant.address}: table {table} is not subscribed")
        else:
            perms, with_grant = tables[table]
            if not grant.permissions <= perms or not grant.grantable <= with_grant:
                bad.append(
                    f"{grant.address}: {sorted(grant.permissions)} "
                    f"(grantable {sorted(grant.grantable)}) beyond the subscription's "
                    f"{sorted(perms)} (grantable {sorted(with_grant)})"
                )
    return bad
