"""What must hold after any apply that converged, however the applies before it ended.

Checked straight against AWS (the sandbox), not through meshctl's reader, so a reader bug cannot
hide a broken mesh:

- the subscription table holds exactly one non-archived item per declared (consumer, product),
  under the deterministic id, with the declared status — nothing lost, nothing duplicated;
- no Lake Formation grant to an account gives it access mesh.yaml does not declare (producers on
  their own mesh database, approved and unexpired consumers on the tables they subscribed to);
- every mesh database carries the LF-tags meshctl recorded on it (its ``MeshctlLfTags``
  parameter says what meshctl believes is attached);
- no member account holds a RAM invitation from the mesh account that was never accepted.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from support.sandbox import run_meshctl

from meshctl.ids import subscription_id
from meshctl.spec.model import MeshSpec, SubscriptionStatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
CRASHHOOK = Path(__file__).resolve().parent / "crashhook"

SessionFor = Callable[[str], Any]
_STATUS = {
    SubscriptionStatus.PENDING: "Pending",
    SubscriptionStatus.APPROVED: "Active",
    SubscriptionStatus.DENIED: "Denied",
}
_deserialize = TypeDeserializer().deserialize


def meshctl(
    *args: str, env: Mapping[str, str], cwd: Path = ROOT, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would."""
    return run_meshctl(*args, env=env, cwd=cwd, timeout=timeout)


def scan_items(session_for: SessionFor, spec: MeshSpec) -> list[dict[str, Any]]:
    ddb = session_for(spec.mesh.account_id).client("dynamodb", region_name=spec.mesh.region)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": spec.mesh.subscriptions_table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items += [{k: _deserialize(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def list_grants(session_for: SessionFor, spec: MeshSpec) -> list[dict[str, Any]]:
    """Every Lake Formation permission of the mesh catalog, all pages."""
    lf = session_for(spec.mesh.account_id).client("lakeformation", region_name=spec.mesh.region)
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"CatalogId": spec.mesh.account_id, "MaxResults": 1000}
    while True:
        page = lf.list_permissions(**kwargs)
        out += page.get("PrincipalResourcePermissions", [])
        token = page.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def _active(spec: MeshSpec, today: date) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(consumer account id, mesh database, tables) of approved, unexpired subscriptions."""
    for sub in spec.subscriptions:
        if sub.status is not SubscriptionStatus.APPROVED:
            continue
        if sub.expires is not None and today >= sub.expires:
            continue
        product = spec.product(sub.product)
        tables = sub.tables or product.tables
        yield spec.account(sub.consumer).account_id, product.mesh_database, tables


@dataclass(frozen=True)
class GrantRef:
    principal: str
    database: str
    table: str  # "" for a database grant, "*" for a table wildcard


def _ref(entry: Mapping[str, Any]) -> GrantRef | None:
    principal = str(entry["Principal"]["DataLakePrincipalIdentifier"])
    resource = entry["Resource"]
    if "Database" in resource:
        return GrantRef(principal, resource["Database"]["Name"], "")
    table = resource.get("Table") or resource.get("TableWithColumns")
    if table is not None:
        name = "*" if "TableWildcard" in table else str(table.get("Name", ""))
        return GrantRef(principal, table["DatabaseName"], name)
    return None  # catalog / data location grants go to mesh roles, not to accounts


def undeclared_account_grants(
    session_for: SessionFor, spec: MeshSpec, today: date
) -> list[GrantRef]:
    """Grants to member accounts on mesh databases that mesh.yaml does not declare."""
    producer_of = {p.mesh_database: spec.account(p.producer).account_id for p in spec.products}
    allowed_tables: dict[tuple[str, str], set[str]] = {}
    for consumer, database, tables in _active(spec, today):
        allowed_tables.setdefault((consumer, database), set()).update(tables)
    bad: list[GrantRef] = []
    for entry in list_grants(session_for, spec):
        ref = _ref(entry)
        if ref is None or not ref.principal.isdigit():
            continue
        if producer_of.get(ref.database) == ref.principal:
            continue
        allowed = allowed_tables.get((ref.principal, ref.database))
        if allowed is None or (ref.table and ref.table not in allowed):
            bad.append(ref)
    return bad


def record_problems(session_for: SessionFor, spec: MeshSpec, today: date) -> list[str]:
    """Missing, duplicated or wrong subscription items (empty when all is well)."""
    items = scan_items(session_for, spec)
    live = [i for i in items if i.get("Status") != "Deleted"]
    by_pair = Counter((str(i.get("SubscriberPrincipal")), str(i.get("ProductName"))) for i in live)
    problems = [f"{n} live items for {pair}" for pair, n in by_pair.items() if n > 1]
    by_id = {str(i["SubscriptionId"]): i for i in live}
    declared = set()
    for sub in spec.subscriptions:
        consumer = spec.account(sub.consumer).account_id
        expired = sub.expires is not None and today >= sub.expires
        sid = subscription_id(consumer, sub.product)
        declared.add(sid)
        item = by_id.get(sid)
        if expired:
            if item is not None:
                problems.append(f"expired {sub.key} is still {item.get('Status')}")
            continue
        if item is None:
            problems.append(f"no live item for {sub.key} ({sid})")
        elif item.get("Status") != _STATUS[sub.status]:
            problems.append(f"{sub.key} is {item.get('Status')}, declared {sub.status.value}")
        elif item.get("ManagedBy") != "meshctl" or not item.get("Version"):
            problems.append(f"{sub.key} lacks meshctl's bookkeeping: {item}")
    problems += [f"undeclared live item {sid}" for sid in by_id if sid not in declared]
    return problems


def lf_tag_problems(session_for: SessionFor, spec: MeshSpec) -> list[str]:
    """Mesh databases whose recorded LF-tags are not the ones Lake Formation has on them."""
    session = session_for(spec.mesh.account_id)
    glue = session.client("glue", region_name=spec.mesh.region)
    lf = session.client("lakeformation", region_name=spec.mesh.region)
    problems = []
    for database in sorted({p.mesh_database for p in spec.products}):
        params = glue.get_database(Name=database)["Database"].get("Parameters") or {}
        recorded = json.loads(params.get("MeshctlLfTags") or "{}")
        answer = lf.get_resource_lf_tags(
            CatalogId=spec.mesh.account_id, Resource={"Database": {"Name": database}}
        )
        attached = {t["TagKey"]: t["TagValues"] for t in answer.get("LFTagOnDatabase", [])}
        for key, value in recorded.items():
            if attached.get(key) != [value]:
                problems.append(f"{database}: LF-tag {key}={value} recorded, attached {attached}")
    return problems


def invitation_problems(session_for: SessionFor, spec: MeshSpec) -> list[str]:
    """Member accounts left with a RAM invitation from the mesh account nobody accepted: what it
    shares stays out of the account's sight (a crash between a grant and its acceptance must be
    finished by the next apply, aws/invitations.py)."""
    m = spec.mesh.account_id
    problems = []
    for account in spec.accounts:
        ram = session_for(account.account_id).client("ram", region_name=spec.mesh.region)
        found = ram.get_resource_share_invitations()["resourceShareInvitations"]
        pending = [i for i in found if i["senderAccountId"] == m and i["status"] == "PENDING"]
        if pending:
            problems.append(f"{account.name}: {len(pending)} RAM invitation(s) still pending")
    return problems


def mesh_problems(session_for: SessionFor, spec: MeshSpec, today: date) -> list[str]:
    """Every invariant above, as one list of readable problems."""
    problems = record_problems(session_for, spec, today)
    problems += [
        f"undeclared grant {g}" for g in undeclared_account_grants(session_for, spec, today)
    ]
    problems += lf_tag_problems(session_for, spec)
    problems += invitation_problems(session_for, spec)
    return problems
