"""`read_tables` (what `meshctl catalog` reads): the same tables a plan's full read finds, without
entering a consumer account."""

from __future__ import annotations

from meshctl.aws.read.snapshot import read_tables

from .test_apply import MARKETING, MESH, SALES, Mesh


def test_the_tables_a_plan_reads_without_entering_consumers(applied: Mesh) -> None:
    engine = applied.engine()
    tables = read_tables(engine.spec, engine.sessions)
    stats = engine.sessions.stats
    assert stats.calls(account_id=MARKETING) == 0  # marketing only consumes
    assert stats.calls(account_id=SALES) == 2  # AssumeRole and one SearchTables page
    assert stats.writes == 0

    observed = applied.engine().observe().tables
    assert len(tables) == len(observed) and set(tables) == set(observed)
    # Both sides of a product: the producer's source and the mesh account's copy.
    assert {(t.account_id, t.name) for t in tables if t.name == "orders"} == {
        (SALES, "orders"),
        (MESH, "orders"),
    }
