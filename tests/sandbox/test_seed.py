"""Seeding gives each producer what it has before joining the mesh: database, tables, bucket."""

from __future__ import annotations

from typing import Any

from support.sandbox import InProcessSandbox

from meshctl.sandbox.seed import DEFAULT_TABLES, seed_producers
from meshctl.spec.model import Account, AccountRole, MeshSettings, MeshSpec, Product

from ._support import CONSUMER, MESH, PRODUCER

SPEC = MeshSpec(
    mesh=MeshSettings(account_id=MESH, region="us-east-1"),
    accounts=(
        Account("sales", PRODUCER, frozenset({AccountRole.PRODUCER})),
        Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER})),
    ),
    products=(
        Product("sales.orders", "sales", "sales", ("orders", "customers"), "sales-111111111111"),
        Product("sales.lines", "sales", "sales", ("order_lines", "orders"), "sales-111111111111"),
        Product("sales.clicks", "sales", "clickstream", ("*",), "clickstream-111111111111"),
    ),
)


def _tables(glue: Any, database: str) -> dict[str, dict[str, Any]]:
    return {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}


def test_seed_creates_source_databases_tables_and_bucket(sandbox: InProcessSandbox) -> None:
    seeded = seed_producers(SPEC, sandbox.session)

    producer = sandbox.session(PRODUCER)
    glue = producer.client("glue")
    sales = _tables(glue, "sales")
    assert sorted(sales) == ["customers", "order_lines", "orders"]
    orders = sales["orders"]
    columns = [c["Name"] for c in orders["StorageDescriptor"]["Columns"]]
    assert {"order_id", "customer_id", "total_amount"} <= set(columns)
    assert orders["StorageDescriptor"]["Location"] == "s3://sales-data-111111111111/sales/orders/"
    assert [k["Name"] for k in orders["PartitionKeys"]] == ["dt"]
    partitions = glue.get_partitions(DatabaseName="sales", TableName="orders")["Partitions"]
    assert len(partitions) == 2
    assert sorted(_tables(glue, "clickstream")) == sorted(DEFAULT_TABLES)

    buckets = [b["Name"] for b in producer.client("s3").list_buckets()["Buckets"]]
    assert buckets == ["sales-data-111111111111"]
    assert len(seeded) == 6
    assert {s.account_id for s in seeded} == {PRODUCER}


def test_seed_touches_only_producer_accounts(sandbox: InProcessSandbox) -> None:
    seed_producers(SPEC, sandbox.session)
    for account in (MESH, CONSUMER):
        assert sandbox.session(account).client("glue").get_databases()["DatabaseList"] == []


def test_seeding_twice_leaves_the_same_catalog(sandbox: InProcessSandbox) -> None:
    seed_producers(SPEC, sandbox.session)
    glue = sandbox.session(PRODUCER).client("glue")
    before = {name: t["StorageDescriptor"] for name, t in _tables(glue, "sales").items()}
    seed_producers(SPEC, sandbox.session)
    after = {name: t["StorageDescriptor"] for name, t in _tables(glue, "sales").items()}
    assert after == before
