"""`meshctl catalog --out DIR` run as a user runs it, against the sandbox: live columns come from
the producers' Glue catalogs, `--offline` never calls AWS, bad input writes nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support.cli import meshctl
from support.html_site import Site
from support.sandbox import ServerSandbox, run_meshctl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SALES = "111111111111"
# Nothing listens here: an AWS call would fail the command.
NOWHERE = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _columns(site: Site, product: str, table: str) -> list[tuple[str, str]]:
    page = site.page(f"products/{product}.html")
    section = page.find("section", data_table=table)
    rows = section.find_all("tr", class_="column")
    return [(r.find_all("td")[0].text, r.find_all("td")[1].text) for r in rows]


def _glue_columns(server: ServerSandbox, database: str, table: str) -> list[tuple[str, str]]:
    glue = server.session(SALES).client("glue")
    found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    columns = [(c["Name"], c["Type"]) for c in found["StorageDescriptor"]["Columns"]]
    return columns + [(f"{c['Name']} (partition)", c["Type"]) for c in found["PartitionKeys"]]


def test_live_columns_come_from_the_catalog_and_offline_from_the_file(
    server: ServerSandbox, tmp_path: Path
) -> None:
    shutil.copy(EXAMPLE, tmp_path / "mesh.yaml")
    live = meshctl(server, "catalog", "--out", "site", cwd=tmp_path)
    assert live.returncode == 0, live.stderr
    index = (tmp_path / "site" / "index.html").resolve()
    assert f"Open {index.as_uri()}" in live.stdout
    assert "3 products and 3 consumers" in live.stdout
    site = Site.read(tmp_path / "site")
    orders = _columns(site, "sales.orders", "orders")
    assert orders == _glue_columns(server, "sales", "orders")
    assert ("customer_id", "bigint") in orders  # the seeded schema, not an invented one
    assert _columns(site, "sales.orders", "order_lines") == _glue_columns(
        server, "sales", "order_lines"
    )
    footer = site.page("index.html").find("footer").text
    assert "read from the live catalog" in footer

    offline = run_meshctl(
        "catalog", "--out", "site", "--offline", env={**server.env, **NOWHERE}, cwd=tmp_path
    )
    assert offline.returncode == 0, offline.stderr
    site = Site.read(tmp_path / "site")
    page = site.page("products/sales.orders.html")
    tables = [s.attrs["data-table"] for s in page.find_all("section", class_="table")]
    assert tables == ["order_lines", "orders"]
    assert page.find_all("tr", class_="column") == []
    assert "offline" in site.page("index.html").find("footer").text


def test_mesh_d_products_link_to_their_own_file(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests" / "data" / "valid" / "mesh.d", tmp_path / "mesh.d")
    (tmp_path / ".git").mkdir()  # the repository's root: links are relative to it
    done = run_meshctl(
        "catalog",
        "-f",
        str(tmp_path / "mesh.d"),
        "--out",
        str(tmp_path / "site"),
        "--offline",
        "--repo-url",
        "https://github.com/acme/mesh/tree/trunk",
        env=NOWHERE,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    page = Site.read(tmp_path / "site").page("products/logistics.shipments.html")
    edit = page.find("a", class_="edit").attrs["href"]
    assert edit == "https://github.com/acme/mesh/edit/trunk/mesh.d/logistics.yaml"
    command = page.find("code", id="request-command").text
    assert command.endswith(
        "--product logistics.shipments --permissions SELECT,DESCRIBE -f mesh.d/"
    )


def test_a_removed_product_loses_its_page(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "mesh.yaml")
    (tmp_path / "site" / "products").mkdir(parents=True)
    (tmp_path / "site" / "products" / "gone.html").write_text("old")
    (tmp_path / "site" / "notes.txt").write_text("mine")
    done = run_meshctl("catalog", "--out", "site", "--offline", env=NOWHERE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "site" / "products" / "gone.html").exists()
    assert (tmp_path / "site" / "notes.txt").read_text() == "mine"  # not ours: kept


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    done = run_meshctl("catalog", env=NOWHERE, cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (1, "Error: --out: required but missing")

    bad = tmp_path / "mesh.yaml"
    bad.write_text(EXAMPLE.read_text().replace('"111111111111"', "111111111111", 1))
    done = run_meshctl("catalog", "--out", "site", env=NOWHERE, cwd=tmp_path)
    assert done.returncode == 1
    assert "mesh.yaml:20: accounts.sales.account_id:" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "site").exists()

    shutil.copy(EXAMPLE, bad)
    done = run_meshctl(
        "catalog", "--out", "site", "--repo-url", "javascript:alert(1)", env=NOWHERE, cwd=tmp_path
    )
    assert done.returncode == 1
    assert "--repo-url: 'javascript:alert(1)' is not an http(s) URL" in done.stderr
    assert not (tmp_path / "site").exists()

    (tmp_path / "site").write_text("a file")
    done = run_meshctl("catalog", "--out", "site", "--offline", env=NOWHERE, cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (
        1,
        "Error: --out: site is a file; give a folder for the site",
    )
