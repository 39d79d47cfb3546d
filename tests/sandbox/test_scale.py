"""The sandbox holds ten thousand grants in seconds (plain moto rescans every grant per grant)."""

from __future__ import annotations

import time

import pytest

from ._support import DB, MESH, MeshCatalog, list_all, principal

GRANTS = 10_000


@pytest.mark.slow
def test_ten_thousand_batch_grants_and_a_full_listing_take_seconds(mesh: MeshCatalog) -> None:
    tables = [f"t{i:03d}" for i in range(100)]
    for name in tables:
        mesh.glue.create_table(DatabaseName=DB, TableInput={"Name": name})
    entries = [
        {
            "Id": str(i),
            "Principal": principal(f"arn:aws:iam::{MESH}:role/R{i // len(tables)}"),
            "Resource": {
                "Table": {"CatalogId": MESH, "DatabaseName": DB, "Name": tables[i % len(tables)]}
            },
            "Permissions": ["SELECT"],
        }
        for i in range(GRANTS)
    ]

    started = time.perf_counter()
    for at in range(0, GRANTS, 20):
        assert mesh.lf.batch_grant_permissions(Entries=entries[at : at + 20])["Failures"] == []
    listed = list_all(mesh.lf, MaxResults=1000)
    elapsed = time.perf_counter() - started

    assert len(listed) == GRANTS
    assert elapsed < 20, f"{GRANTS} grants took {elapsed:.1f}s"
