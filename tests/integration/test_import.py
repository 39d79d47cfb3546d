"""`meshctl import` against the in-process sandbox: the example mesh built by meshctl, plus items
the helper library wrote, read back into a mesh file that validates and plans clean.

A helper-library item that the imported file declares is *adopted* on the next apply (it gains
``ManagedBy = meshctl``, the product name and a version): that write is the one change a plan right
after import may hold, and it changes no access. Everything meshctl built plans as no change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from support.sandbox import InProcessSandbox

from meshctl.aws.read.for_import import read_for_import
from meshctl.aws.sessions import AccountSessions
from meshctl.codec import from_json
from meshctl.engine import Engine
from meshctl.importer.build import import_mesh
from meshctl.observed import SubscriptionRecord
from meshctl.planning.kinds.subscriptions import changed_fields
from meshctl.planning.plan import Action, Kind
from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSettings, MeshSpec, SubscriptionStatus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
MESH = "555555555555"
LOGISTICS = "222222222222"
FINANCE = "333333333333"
MARKETING = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
SETTINGS = MeshSettings(MESH, "us-east-1", TABLE)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LIBRARY_ID = "Jw8mV2b7cTqK3dXo9pLrYa"  # a shortuuid, as the library makes them


def _engine(path: Path) -> Engine:
    return Engine(path, clock=lambda: NOW)


@pytest.fixture
def built(sandbox: InProcessSandbox) -> InProcessSandbox:
    """examples/mesh.yaml applied by meshctl onto the seeded producers."""
    engine = _engine(EXAMPLE)
    seed_producers(engine.spec, sandbox.session)
    result = engine.execute(engine.plan(), max_revokes=25, allow_mass_revoke=False)
    assert result.ok
    return sandbox


def _put_raw(sandbox: InProcessSandbox, item: dict[str, Any]) -> None:
    serialize = TypeSerializer().serialize
    sandbox.session(MESH).client("dynamodb").put_item(
        TableName=TABLE, Item={k: serialize(v) for k, v in item.items()}
    )


def _library_items(sandbox: InProcessSandbox) -> None:
    """What the helper library writes: logistics requests finance.invoices (Pending, its own id),
    and an old, deleted request of marketing for sales.orders (history)."""
    _put_raw(
        sandbox,
        {
            "SubscriptionId": LIBRARY_ID,
            "OwnerPrincipal": FINANCE,
            "SubscriberPrincipal": LOGISTICS,
            "Status": "Pending",
            "DatabaseName": "finance-invoices",
            "TableName": ["invoices"],
            "RequestedGrants": ["SELECT"],
            "CreationDate": "2025-11-02 09:30:00",
            "CreatedBy": f"arn:aws:sts::{LOGISTICS}:assumed-role/DataMeshConsumer/alice",
        },
    )
    _put_raw(
        sandbox,
        {
            "SubscriptionId": "Qz1oldRequestDeleted0000",
            "OwnerPrincipal": "111111111111",
            "SubscriberPrincipal": MARKETING,
            "Status": "Deleted",
            "DatabaseName": "sales-111111111111",
            "TableName": ["orders"],
            "RequestedGrants": ["SELECT", "INSERT"],
            "Notes": {"Deleted: superseded"},
            "CreationDate": "2024-03-01 08:00:00",
            "CreatedBy": f"arn:aws:sts::{MARKETING}:assumed-role/DataMeshConsumer/bob",
        },
    )


def _import(tmp_path: Path, name: str = "mesh.yaml") -> tuple[Path, str, AccountSessions]:
    sessions = AccountSessions(SETTINGS)
    text = import_mesh(SETTINGS, read_for_import(SETTINGS, sessions))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text, sessions


def _without_names(spec: MeshSpec) -> Callable[[str], str]:
    """Account id of an account name of ``spec``."""
    return lambda name: spec.account(name).account_id


def test_import_of_a_meshctl_mesh_plans_no_change(built: InProcessSandbox, tmp_path: Path) -> None:
    path, _, sessions = _import(tmp_path)
    assert sessions.stats.writes == 0  # import only reads

    imported = load_spec(path)
    example = load_spec(EXAMPLE)
    # Products come back whole (their names from the DataProduct tag, finance's source database
    # "billing" found in the producer's catalog, though its mesh database has another name).
    assert {p.name for p in imported.products} == {p.name for p in example.products}
    for want in example.products:
        got = imported.product(want.name)
        assert (got.source_database, got.mesh_database) == (
            want.source_database,
            want.mesh_database,
        )
        assert sorted(got.tables) == sorted(want.tables)
        assert (got.description, got.tags, got.protect) == (
            want.description,
            want.tags,
            want.protect,
        )
        assert set(got.owners) <= set(want.owners)  # only approvers are recorded
    # Accounts: ids and roles as declared; producers named after their products.
    assert {(a.account_id, a.roles) for a in imported.accounts} == {
        (a.account_id, a.roles) for a in example.accounts
    }
    assert {a.name for a in imported.accounts} == {
        "sales",
        "logistics",
        "finance",
        "acct-999999999999",
    }
    # Subscriptions: the same six, field for field (consumers by account id).
    ids_in = _without_names(imported)
    ids_ex = _without_names(example)

    def key(spec_ids: Callable[[str], str], s: Any) -> tuple[object, ...]:
        return (
            spec_ids(s.consumer),
            s.product,
            tuple(sorted(s.tables)),
            s.permissions,
            s.grantable,
            s.status,
            s.approved_by,
            s.purpose,
            s.expires,
            s.principals,  # finance's subscription names a role: it comes back
            s.restrictions,  # marketing reads part of orders: columns and rows come back
        )

    assert {key(ids_in, s) for s in imported.subscriptions} == {
        key(ids_ex, s) for s in example.subscriptions
    }

    plan = _engine(path).plan()
    assert not plan.has_changes, [(c.address, c.reason) for c in plan.effective_changes]


def test_import_with_helper_library_items_plans_only_their_adoption(
    built: InProcessSandbox, tmp_path: Path
) -> None:
    _library_items(built)
    path, text, _ = _import(tmp_path)
    spec = load_spec(path)

    adopted = [s for s in spec.subscriptions if s.product == "finance.invoices"]
    assert {(s.consumer, s.status, s.tables, s.permissions) for s in adopted} == {
        ("logistics", SubscriptionStatus.PENDING, (), frozenset({"SELECT"})),  # the library's
        ("acct-999999999999", SubscriptionStatus.DENIED, (), frozenset({"SELECT"})),
    }
    assert f"# helper-library record {LIBRARY_ID}: apply adopts it" in text
    assert "# 1 archived subscription record(s) are history: not imported." in text
    assert "Qz1oldRequestDeleted0000" not in text
    assert len(spec.subscriptions) == 7

    engine = _engine(path)
    plan = engine.plan()
    # The one change: the library record becomes meshctl's. No grant, link or catalog change.
    (change,) = plan.effective_changes
    assert (change.kind, change.action) == (Kind.SUBSCRIPTION, Action.UPDATE)
    assert change.reason == f"adopt helper-library record {LIBRARY_ID}; changed: product"
    before = from_json(SubscriptionRecord, change.before)
    after = from_json(SubscriptionRecord, change.after)
    assert changed_fields(before, after) == ["managed", "product"]
    assert after.subscription_id == LIBRARY_ID

    assert engine.execute(plan, max_revokes=25, allow_mass_revoke=False).ok
    assert not _engine(path).plan().has_changes
    # Imported again after the adoption: the same mesh, now with nothing left to adopt.
    again, text_again, _ = _import(tmp_path, "again.yaml")
    assert load_spec(again) == spec
    assert "apply adopts it" not in text_again


def test_import_infers_iam_users_from_the_librarys_users(
    built: InProcessSandbox, tmp_path: Path
) -> None:
    """The library's user and group beside the manager role (untagged, the group's access by an
    attached managed policy) make the import say ``iam_users: true``; the plan then adopts that
    pair with one update and adds the others, and touches no grant."""
    iam = built.session(MESH).client("iam")
    iam.create_user(UserName="DataMeshManager", Path="/AwsDataMesh/")
    iam.create_group(GroupName="DataMeshManagerGroup", Path="/AwsDataMesh/")
    iam.add_user_to_group(GroupName="DataMeshManagerGroup", UserName="DataMeshManager")
    path, text, _ = _import(tmp_path)
    assert (
        "  iam_users: true  # inferred: 1 user(s) and their groups found beside the mesh roles"
        in text
    )
    assert load_spec(path).mesh.iam_users

    plan = _engine(path).plan()
    by_address = {c.address: c for c in plan.effective_changes}
    manager = by_address[f"iam_user.{MESH}/DataMeshManager"]
    assert manager.action is Action.UPDATE
    assert "differs: " in manager.reason and "managed_by_meshctl" in manager.reason
    assert {c.kind for c in plan.effective_changes} == {Kind.IAM_USER, Kind.ROLE}
    creates = [c for c in plan.effective_changes if c.action is Action.CREATE]
    assert len(creates) == 13 and {c.kind for c in creates} == {Kind.IAM_USER}
