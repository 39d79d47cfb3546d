"""The planner's data-driven cases, tests/data/planner/*.json, as typed inputs (pure: no AWS).

A case's spec is ``_base.json``'s spec with the case's overlay merged in (maps merge key by key,
``null`` removes a key, lists are replaced); subscriptions are a map keyed ``consumer/product``.
``sources`` (default: the base's) are the producers' source tables. ``observed`` says how the
live mesh looks before planning: ``converged`` (true: the case's spec; a map: ``_base`` with that
overlay; false: nothing but the sources) applied on ``observed.today``, then hand edits
(``remove``, ``edit``, ``add``, ``raw_grants``, ``accept_invitations``, ``lake_settings``,
``catalog_policy``, ``lf_tags``) that tests/integration/_hand.py makes in the sandbox.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from meshctl.observed import Column, Grant, LfResource, ObservedMesh, ResourceType, Table
from meshctl.planning.plan import Plan
from meshctl.planning.planner import make_plan
from meshctl.spec.model import (
    Account,
    AccountRole,
    MeshSettings,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
)

CASES = Path(__file__).resolve().parents[1] / "data" / "planner"
BASE: dict[str, Any] = json.loads((CASES / "_base.json").read_text())
TODAY = date.fromisoformat(BASE["today"])


def merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(overlay)


def _product(name: str, p: dict[str, Any], accounts: dict[str, Any]) -> Product:
    producer_id = accounts[p["producer"]]["account_id"]
    return Product(
        name=name,
        producer=p["producer"],
        source_database=p["source_database"],
        tables=tuple(p["tables"]),
        mesh_database=p.get("mesh_database") or f"{p['source_database']}-{producer_id}",
        description=p.get("description", ""),
        owners=tuple(p.get("owners", ())),
        tags=tuple(sorted(p.get("tags", {}).items())),
        protect=p.get("protect", False),
    )


def _subscription(key: str, s: dict[str, Any]) -> Subscription:
    consumer, product = key.split("/")
    return Subscription(
        consumer=consumer,
        product=product,
        tables=tuple(s.get("tables", ())),
        permissions=frozenset(s["permissions"]),
        grantable=frozenset(s.get("grantable", ())),
        status=SubscriptionStatus(s.get("status", "pending")),
        approved_by=s.get("approved_by"),
        purpose=s.get("purpose", ""),
        expires=date.fromisoformat(s["expires"]) if s.get("expires") else None,
    )


def build_spec(overlay: dict[str, Any] | None = None) -> MeshSpec:
    raw = merge(BASE["spec"], overlay or {})
    mesh = raw["mesh"]
    return MeshSpec(
        mesh=MeshSettings(
            mesh["account_id"],
            mesh["region"],
            role_arn=mesh.get("role_arn"),
            iam_users=mesh.get("iam_users", False),
        ),
        accounts=tuple(
            Account(name, a["account_id"], frozenset(AccountRole(r) for r in a["roles"]))
            for name, a in sorted(raw["accounts"].items())
        ),
        products=tuple(
            _product(name, p, raw["accounts"])
            for name, p in sorted(raw.get("products", {}).items())
        ),
        subscriptions=tuple(
            _subscription(key, s) for key, s in sorted(raw.get("subscriptions", {}).items())
        ),
    )


def source_table(raw: dict[str, Any]) -> Table:
    return Table(
        account_id=raw["account_id"],
        database=raw["database"],
        name=raw["name"],
        columns=tuple(Column(n, t) for n, t in raw.get("columns", [["id", "bigint"]])),
        partition_keys=tuple(Column(n, t) for n, t in raw.get("partition_keys", [])),
        location=raw.get("location", f"s3://{raw['database']}/{raw['name']}/"),
        owner=raw.get("owner", "etl"),
        input_format="org.apache.hadoop.mapred.TextInputFormat",
        serde="org.openx.data.jsonserde.JsonSerDe",
        parameters=tuple(sorted(raw.get("parameters", {"classification": "json"}).items())),
    )


def parse_resource(key: str) -> LfResource:
    """The inverse of ``LfResource.key`` (for compact grants in case files)."""
    kind, catalog, rest = ([*key.split(":", 2), ""])[:3]
    if kind == "catalog":
        return LfResource(ResourceType.CATALOG, catalog)
    if kind == "database":
        return LfResource(ResourceType.DATABASE, catalog, rest)
    if kind == "location":
        return LfResource(ResourceType.DATA_LOCATION, catalog, table=rest)
    db, table = rest.split(".", 1)
    if table == "*":
        return LfResource(ResourceType.TABLE_WILDCARD, catalog, db)
    return LfResource(ResourceType.TABLE, catalog, db, table)


def compact_grant(raw: dict[str, Any]) -> Grant:
    grantable = frozenset(raw.get("grantable", ()))
    return Grant(
        raw["principal"],
        parse_resource(raw["resource"]),
        frozenset(raw["permissions"]) | grantable,
        grantable,
    )


def plan_of(
    spec: MeshSpec, observed: ObservedMesh, today: date, prune: bool = False, plan_id: str = "test"
) -> Plan:
    return make_plan(
        spec, observed, plan_id=plan_id, mesh_file_sha256="0" * 64, today=today, prune=prune
    )


@dataclass(frozen=True)
class Case:
    """One case file: the spec planned with, the live state to build, and what is expected."""

    name: str
    raw: dict[str, Any]
    spec: MeshSpec
    sources: tuple[Table, ...]
    today: date
    prune: bool

    @property
    def observed(self) -> dict[str, Any]:
        return dict(self.raw.get("observed", {}))

    @property
    def converged_spec(self) -> MeshSpec | None:
        """The spec whose apply the live state starts from (None: only the sources)."""
        base = self.observed.get("converged", True)
        if base is True:
            return self.spec
        return build_spec(base) if isinstance(base, dict) else None

    @property
    def converged_today(self) -> date:
        return date.fromisoformat(self.observed.get("today", BASE["today"]))


def case_files() -> Iterator[Path]:
    yield from sorted(p for p in CASES.glob("*.json") if not p.name.startswith("_"))


def load_case(path: Path) -> Case:
    raw = json.loads(path.read_text())
    return Case(
        name=path.stem,
        raw=raw,
        spec=build_spec(raw.get("spec")),
        sources=tuple(source_table(t) for t in raw.get("sources", BASE["sources"])),
        today=date.fromisoformat(raw.get("today", BASE["today"])),
        prune=raw.get("prune", False),
    )
