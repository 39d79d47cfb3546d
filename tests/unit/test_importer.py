"""The importer on hand-built snapshots: what lands in the mesh file, and which comments say that a
value was inferred. Every output is loaded back with ``load_spec`` (it must validate)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from meshctl.ids import subscription_id
from meshctl.importer.build import import_mesh
from meshctl.observed import (
    Column,
    Database,
    ObservedMesh,
    RecordStatus,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSettings, MeshSpec, SubscriptionStatus

MESH = "555555555555"
SALES = "111111111111"
MARKETING = "999999999999"
STRANGER = "444444444444"
SETTINGS = MeshSettings(MESH, "eu-west-1", "MeshSubs")
APPROVER = "arn:aws:sts::111111111111:assumed-role/DataMeshProducer/alice"
COLUMNS = (Column("order_id", "bigint"), Column("total", "decimal(12,2)"))


def _role(account_id: str, kind: str) -> Role:
    name = f"DataMeshAdmin{kind}-{account_id}"
    return Role(MESH, name, "/AwsDataMesh/", "{}", name, "{}")


def _table(account_id: str, database: str, name: str, owner: str = "") -> Table:
    return Table(
        account_id,
        database,
        name,
        columns=COLUMNS,
        location=f"s3://sales-data/{name}/",
        owner=owner,
        parameters=(("classification", "parquet"),),
    )


def _record(sid: str, status: RecordStatus, **values: object) -> SubscriptionRecord:
    defaults: dict[str, object] = {
        "owner": SALES,
        "subscriber": MARKETING,
        "database": f"sales-{SALES}",
        "tables": ("orders",),
        "requested": ("SELECT",),
        "created_at": "2024-01-02 10:00:00",
        "created_by": "arn:aws:sts::999999999999:assumed-role/DataMeshConsumer/bob",
    }
    defaults.update(values)
    return SubscriptionRecord(subscription_id=sid, status=status, **defaults)  # type: ignore[arg-type]


def _observed(*records: SubscriptionRecord, **changes: object) -> ObservedMesh:
    """A library-built mesh: producer sales (database sales, two tables), consumer marketing."""
    values: dict[str, object] = {
        "mesh_account_id": MESH,
        "roles": (_role(SALES, "Producer"), _role(MARKETING, "Consumer")),
        "databases": (Database(MESH, f"sales-{SALES}", description="Sales: orders # hourly"),),
        "tables": (
            _table(MESH, f"sales-{SALES}", "orders", SALES),
            _table(MESH, f"sales-{SALES}", "order_lines", SALES),
            _table(SALES, "sales", "orders"),
            _table(SALES, "sales", "order_lines"),
        ),
        "subscriptions": records,
    }
    values.update(changes)
    return ObservedMesh(**values)  # type: ignore[arg-type]


def _load(text: str, tmp_path: Path) -> MeshSpec:
    path = tmp_path / "mesh.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))


def test_library_mesh_imports_with_inferred_approver_among_owners(tmp_path: Path) -> None:
    active = _record(
        "lib-active",
        RecordStatus.ACTIVE,
        permitted=("SELECT",),
        updated_by=APPROVER,
        updated_at="2024-01-03 09:00:00",
        imported=True,
    )
    text = import_mesh(SETTINGS, _observed(active))
    spec = _load(text, tmp_path)

    # A mesh account that never set it is on cross-account version 1: the file says so.
    assert spec.mesh == MeshSettings(MESH, "eu-west-1", "MeshSubs", cross_account_version=1)
    assert {(a.name, a.account_id) for a in spec.accounts} == {
        ("acct-111111111111", SALES),  # no product name to take a name from
        ("acct-999999999999", MARKETING),
    }
    (product,) = spec.products
    assert product.name == "sales"
    assert product.source_database == "sales"
    assert product.mesh_database == f"sales-{SALES}"
    assert product.tables == ("order_lines", "orders")
    assert product.description == "Sales: orders # hourly"
    assert product.owners == (APPROVER,)
    (sub,) = spec.subscriptions
    assert sub.status is SubscriptionStatus.APPROVED
    assert sub.approved_by == APPROVER
    assert sub.tables == ("orders",)
    assert sub.permissions == frozenset({"SELECT"})
    # Each inferred value says so, where it stands.
    assert _line(text, "approved_by:").endswith("# inferred from UpdatedBy")
    assert _line(text, f"- {APPROVER}").endswith("# inferred from UpdatedBy")
    assert "# helper-library record lib-active: apply adopts it" in text
    assert _line(text, "sales:").endswith(f"# name inferred from mesh database sales-{SALES}")


def test_library_statuses_map_and_deleted_items_stay_history(tmp_path: Path) -> None:
    records = (
        _record("lib-pending", RecordStatus.PENDING),
        _record("lib-denied", RecordStatus.DENIED, subscriber=STRANGER),
        _record("lib-old", RecordStatus.DELETED, subscriber="222222222222"),
    )
    text = import_mesh(SETTINGS, _observed(*records), names={MARKETING: "marketing"})
    spec = _load(text, tmp_path)

    statuses = {s.consumer: s.status for s in spec.subscriptions}
    assert statuses == {
        "marketing": SubscriptionStatus.PENDING,
        f"acct-{STRANGER}": SubscriptionStatus.DENIED,
    }
    assert "222222222222" not in text.split("# Not imported")[0].replace("# 1 archived", "")
    assert "# 1 archived subscription record(s) are history: not imported." in text
    # The denied subscriber has no consumer role in the mesh: added, with a comment.
    assert f"# no DataMeshAdminConsumer-{STRANGER} role: apply creates it" in text
    assert spec.account(f"acct-{STRANGER}").is_consumer


def test_meshctl_product_keeps_its_name_tags_protection_and_source(tmp_path: Path) -> None:
    """A product with its own mesh_database: the source database is found in the producer's
    catalog by comparing the table definitions, and account names come from product names."""
    db = Database(
        MESH,
        "sales-orders",
        description="Orders",
        tags=(("DataProduct", "sales.orders"), ("Domain", "Sales")),
        managed_by_meshctl=True,
        protected=True,
    )
    record = _record(
        subscription_id(MARKETING, "sales.orders"),
        RecordStatus.ACTIVE,
        database="sales-orders",
        permitted=("SELECT",),
        requested=("SELECT",),
        grantable=("SELECT",),
        managed=True,
        product="sales.orders",
        approved_by="owners@example.com",
        purpose='attribution: "last click"',
        expires="2027-06-30",
    )
    observed = _observed(
        record,
        databases=(db,),
        tables=(
            _table(MESH, "sales-orders", "orders", SALES),
            _table(SALES, "raw", "orders"),
            Table(SALES, "curated", "orders", location="s3://elsewhere/"),  # another definition
        ),
    )
    text = import_mesh(SETTINGS, observed)
    spec = _load(text, tmp_path)

    product = spec.product("sales.orders")
    assert product.producer == "sales"  # inferred from "sales.orders"
    assert product.source_database == "raw"
    assert product.mesh_database == "sales-orders"
    assert product.tags == (("Domain", "Sales"),)
    assert product.protect is True
    assert product.owners == ("owners@example.com",)
    (sub,) = spec.subscriptions
    assert sub.grantable == frozenset({"SELECT"})
    assert sub.purpose == 'attribution: "last click"'
    assert str(sub.expires) == "2027-06-30"
    assert _line(text, "sales:").endswith("# name inferred from its products' names")
    assert "apply adopts it" not in text  # already meshctl's
    assert "inferred" not in _line(text, "approved_by:")


def test_source_database_not_found_is_inferred_from_the_name(tmp_path: Path) -> None:
    observed = _observed(tables=(_table(MESH, f"sales-{SALES}", "orders", SALES),))
    text = import_mesh(SETTINGS, observed)
    assert _line(text, "source_database:").strip() == (
        "source_database: sales  # inferred from the mesh database name; "
        "not found in the producer account"
    )
    assert _load(text, tmp_path).products[0].source_database == "sales"


def test_second_open_record_for_a_pair_is_listed_not_declared(tmp_path: Path) -> None:
    mine = _record(
        subscription_id(MARKETING, "sales"),
        RecordStatus.PENDING,
        managed=True,
        product="sales",
    )
    library = _record("lib-dup", RecordStatus.PENDING, created_at="2020-01-01 00:00:00")
    text = import_mesh(SETTINGS, _observed(mine, library))
    spec = _load(text, tmp_path)

    assert len(spec.subscriptions) == 1
    assert "apply adopts it" not in text  # the meshctl record is the one kept
    assert "# - subscription lib-dup (Pending): a second record of account" in text


def test_record_of_an_unknown_database_is_listed_not_declared(tmp_path: Path) -> None:
    stray = _record("lib-stray", RecordStatus.PENDING, database="gone-111111111111")
    text = import_mesh(SETTINGS, _observed(stray))
    assert _load(text, tmp_path).subscriptions == ()
    assert "lib-stray: mesh database gone-111111111111 is not a product" in text


@pytest.mark.parametrize(
    "description",
    [
        "plain words, with a comma",
        "key: value # not a comment",
        "yes",
        "2024-01-01",
        "12345",
        "'quoted' and \"double\"",
        "tab\there and a\nnewline",
        "unicode ✓ and an emoji 😀",
        "- looks like a list",
        "@at start",
        "trailing space ",
    ],
)
def test_any_description_reads_back_unchanged(description: str, tmp_path: Path) -> None:
    db = Database(MESH, f"sales-{SALES}", description=description)
    spec = _load(import_mesh(SETTINGS, _observed(databases=(db,))), tmp_path)
    assert spec.products[0].description == description


def test_empty_mesh_is_a_valid_file(tmp_path: Path) -> None:
    spec = _load(import_mesh(SETTINGS, ObservedMesh(MESH)), tmp_path)
    assert spec == MeshSpec(mesh=dataclasses.replace(SETTINGS, cross_account_version=1))


def test_output_is_deterministic() -> None:
    records = (_record("a", RecordStatus.PENDING), _record("b", RecordStatus.DELETED))
    assert import_mesh(SETTINGS, _observed(*records)) == import_mesh(
        SETTINGS, _observed(*reversed(records))
    )


def test_importer_and_cli_use_the_schema_definitions_not_copies() -> None:
    """An account name of 64 characters or an id with a trailing newline is refused by the file's
    schema, and so by every name the importer or the CLI checks (one source of the rule)."""
    from meshctl.spec.load import conforms

    assert conforms("accountName", "a" * 63) and not conforms("accountName", "a" * 64)
    assert conforms("accountId", "111111111111") and not conforms("accountId", "111111111111\n")
    assert not conforms("productName", "sales..orders")
    assert conforms("date", "2026-12-03") and not conforms("date", "3 Dec 2026")
