"""`meshctl catalog`'s pages as a browser would parse them: the index, a product, a consumer and
the access map, built from the example mesh (offline, and from a hand-made live snapshot).

The same pages in a real Chromium: tests/browser/ (`make test-browser`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from support.html_site import Element, Site, parse

from meshctl.errors import MeshctlError
from meshctl.observed import Column, ObservedMesh, Table
from meshctl.render.catalog.access_map import STYLES
from meshctl.render.catalog.model import (
    AccessStatus,
    CatalogView,
    RepoLink,
    build_catalog,
    parse_repo_url,
)
from meshctl.render.catalog.site import render_site
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2027, 12, 20)  # finance's sales.orders subscription expires 2027-12-31: expiring


@pytest.fixture(scope="module")
def spec() -> MeshSpec:
    return load_spec(EXAMPLE)


def _site(
    spec: MeshSpec,
    today: date = TODAY,
    *,
    observed: ObservedMesh | None = None,
    repo: RepoLink | None = None,
) -> tuple[CatalogView, Site]:
    view = build_catalog(
        spec, today=today, mesh_file="examples/mesh.yaml", observed=observed, repo=repo
    )
    return view, Site(render_site(view))


def _row_cells(row: Element) -> list[Element]:
    return row.find_all("td")


# --- the index ------------------------------------------------------------------------------


def test_index_lists_every_product_with_its_facts(spec: MeshSpec) -> None:
    _, site = _site(spec)
    index = site.page("index.html")
    rows = {r.attrs["data-product"]: r for r in index.find_all("tr", class_="product")}
    assert set(rows) == {p.name for p in spec.products}
    orders = _row_cells(rows["sales.orders"])
    assert orders[0].find("a").attrs["href"] == "products/sales.orders.html"
    assert [c.text for c in orders[1:5]] == [
        "Orders and their lines, refreshed hourly",
        "sales",
        "sales-data-owners@example.com",
        "Domain: Sales",
    ]
    # subscriber count: consumers that read it today; pending requests beside it
    counts = {name: _row_cells(row)[5].text for name, row in rows.items()}
    assert counts == {
        "sales.orders": "3",
        "logistics.shipments": "0 (+2 pending)",
        "finance.invoices": "0",
    }
    # the search box and the text it filters on
    assert index.find("input", id="search").attrs["type"] == "search"
    assert "logistics-data@example.com" in rows["logistics.shipments"].attrs["data-search"]
    consumers = [r.attrs["data-consumer"] for r in index.find_all("tr", class_="consumer")]
    assert consumers == ["finance", "logistics", "marketing"]


def test_every_relative_link_resolves_to_a_written_file(spec: MeshSpec) -> None:
    _, site = _site(spec, repo=RepoLink("https://github.com/acme/mesh"))
    checked = 0
    for path in site.html_pages():
        for href, target, fragment in site.links(path):
            assert target in site.pages, f"{path}: {href} -> {target} is not written"
            if fragment:
                ids = {e.attrs.get("id") for e in site.page(target).iter()}
                assert fragment in ids, f"{path}: {href}: no id {fragment!r} in {target}"
            checked += 1
    assert checked > 50
    # each product and consumer page is reached from the index
    reached = {t for _, t, _ in site.links("index.html")}
    pages = {p for p in site.pages if p.startswith(("products/", "consumers/"))}
    assert pages == {p for p in reached if p.startswith(("products/", "consumers/"))}


# --- a product page -------------------------------------------------------------------------


def test_product_page_offline(spec: MeshSpec) -> None:
    _, site = _site(spec, repo=RepoLink("https://github.com/acme/mesh", "dev"))
    page = site.page("products/sales.orders.html")
    assert page.find("h1").text == "sales.orders"
    tables = [s.attrs["data-table"] for s in page.find_all("section", class_="table")]
    assert tables == ["order_lines", "orders"]
    assert page.find_all("tr", class_="column") == []  # offline: no columns, and it says so
    assert "Offline" in page.find("p", class_="note").text
    subscribers = {r.attrs["data-consumer"]: r for r in page.find_all("tr", class_="subscriber")}
    assert {c: r.attrs["data-status"] for c, r in subscribers.items()} == {
        "finance": "expiring",
        "logistics": "approved",
        "marketing": "approved",
    }
    finance = [c.text for c in _row_cells(subscribers["finance"])]
    assert finance == [
        "finance",
        "expiring",
        "DESCRIBE, SELECT (grantable)",
        "all tables",
        "arn:aws:iam::333333333333:role/revenue-reporting",
        "2027-12-31",
        "revenue reporting",
        "sales-data-owners@example.com",
    ]
    marketing = _row_cells(subscribers["marketing"])
    assert marketing[3].text == "orders except (customer_id) rows where currency = 'EUR'"
    assert marketing[4].text == "the account"
    command = page.find("code", id="request-command").text
    assert command == (
        "meshctl request --consumer CONSUMER --product sales.orders "
        "--permissions SELECT,DESCRIBE -f examples/mesh.yaml"
    )
    edit = page.find("a", class_="edit").attrs["href"]
    assert edit == "https://github.com/acme/mesh/edit/dev/examples/mesh.yaml"


def test_request_section_names_who_may_still_ask(spec: MeshSpec) -> None:
    _, site = _site(spec)
    page = site.page("products/finance.invoices.html")
    section = page.find("pre", class_="command").text
    assert "--product finance.invoices" in section
    # marketing was denied (it asked), finance produces it: logistics may still ask
    assert "one of logistics" in " ".join(p.text for p in page.find_all("p"))
    assert page.find_all("a", class_="edit") == []  # no --repo-url, no edit link


def test_product_page_live_columns_from_the_snapshot(spec: MeshSpec) -> None:
    mesh, sales = spec.mesh.account_id, spec.account("sales").account_id
    copy = Table(mesh, "sales-111111111111", "orders", (Column("order_id", "bigint"),))
    source = Table(
        sales,
        "sales",
        "orders",
        (Column("order_id", "bigint"), Column("total", "decimal(12,2)", "gross")),
        partition_keys=(Column("dt", "date"),),
    )
    observed = ObservedMesh(mesh_account_id=mesh, tables=(copy, source))
    _, site = _site(spec, observed=observed)
    page = site.page("products/sales.orders.html")
    sections = {s.attrs["data-table"]: s for s in page.find_all("section", class_="table")}
    # the mesh copy is what consumers read, and is preferred over the source
    orders = [[c.text for c in r.find_all("td")] for r in sections["orders"].find_all("tr")[1:]]
    assert orders == [["order_id", "bigint", ""]]
    assert "mesh catalog 555555555555" in sections["orders"].find("p", class_="where").text
    # order_lines is live nowhere: flagged, not invented
    assert "Not found" in sections["order_lines"].find("p", class_="warning").text
    _, site = _site(spec, observed=ObservedMesh(mesh_account_id=mesh, tables=(source,)))
    rows = site.page("products/sales.orders.html").find_all("tr", class_="column")
    assert [[c.text for c in r.find_all("td")] for r in rows[:3]] == [
        ["order_id", "bigint", ""],
        ["total", "decimal(12,2)", "gross"],
        ["dt (partition)", "date", ""],
    ]


def test_a_star_product_lists_the_tables_found(spec: MeshSpec) -> None:
    star = replace(spec, products=tuple(replace(p, tables=("*",)) for p in spec.products))
    _, site = _site(star)
    offline = site.page("products/logistics.shipments.html")
    assert offline.find_all("section", class_="table") == []
    assert offline.find("p", class_="all-tables").text == "Every table of logistics."
    source = Table("222222222222", "logistics", "depots", (Column("depot_id", "bigint"),))
    observed = ObservedMesh(mesh_account_id=spec.mesh.account_id, tables=(source,))
    _, site = _site(star, observed=observed)
    live = site.page("products/logistics.shipments.html")
    assert [s.attrs["data-table"] for s in live.find_all("section", class_="table")] == ["depots"]
    empty = site.page("products/finance.invoices.html")
    assert "none found in the producer's catalog" in empty.find("p", class_="all-tables").text


# --- a consumer page ------------------------------------------------------------------------


def test_consumer_page_shows_what_it_reads_and_what_it_asked_for(spec: MeshSpec) -> None:
    _, site = _site(spec)
    page = site.page("consumers/marketing.html")
    tables = page.find_all("table", class_="subscriptions")
    reads, asked = (
        {r.attrs["data-product"]: r.attrs["data-status"] for r in t.find_all("tr")[1:]}
        for t in tables
    )
    assert reads == {"sales.orders": "approved"}
    assert asked == {"logistics.shipments": "pending", "finance.invoices": "denied"}


def test_expired_access_moves_to_the_requests(spec: MeshSpec) -> None:
    _, site = _site(spec, today=date(2028, 1, 1))
    tables = site.page("consumers/finance.html").find_all("table", class_="subscriptions")
    asked = {r.attrs["data-product"]: r.attrs["data-status"] for r in tables[-1].find_all("tr")[1:]}
    assert asked["sales.orders"] == "expired"


# --- the access map -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "finance_status"),
    [(TODAY, "expiring"), (date(2027, 6, 1), "approved"), (date(2028, 1, 1), "expired")],
)
def test_access_map_has_an_edge_per_subscription_styled_by_status(
    spec: MeshSpec, today: date, finance_status: str
) -> None:
    _, site = _site(spec, today=today)
    svg = ET.fromstring(site.pages["access-map.svg"])
    assert svg.tag == f"{SVG}svg"
    edges = {e.get("data-subscription"): e for e in svg.iter(f"{SVG}path") if e.get("data-status")}
    assert set(edges) == {s.key for s in spec.subscriptions}
    statuses = {key: e.get("data-status") for key, e in edges.items()}
    assert statuses == {
        "finance/sales.orders": finance_status,
        "logistics/sales.orders": "approved",
        "marketing/sales.orders": "approved",
        "finance/logistics.shipments": "pending",
        "marketing/logistics.shipments": "pending",
        "marketing/finance.invoices": "denied",
    }
    for edge in edges.values():
        style = STYLES[AccessStatus(edge.get("data-status"))]
        assert edge.get("stroke") == style.stroke
        assert edge.get("stroke-dasharray") == (style.dash or None)
    # distinct looks: no two statuses share stroke and dash
    assert len({(s.stroke, s.dash) for s in STYLES.values()}) == len(STYLES)
    legend = {g.get("class") for g in svg.iter(f"{SVG}g") if "legend-" in (g.get("class") or "")}
    assert legend >= {f"legend-{s.value}" for s in AccessStatus}
    offers = [e for e in svg.iter(f"{SVG}path") if e.get("class") == "offer"]
    assert len(offers) == len(spec.products)  # producer -> product
    # the same picture is inline in access.html, its nodes linking to the pages
    page = site.page("access.html")
    assert len(page.find_all("path", class_="edge")) == len(spec.subscriptions)
    hrefs = {a.attrs["href"] for a in page.find("svg").find_all("a")}
    assert "products/sales.orders.html" in hrefs and "consumers/marketing.html" in hrefs


# --- hostile text ---------------------------------------------------------------------------

HOSTILE = """\
version: 1
mesh: {account_id: "555555555555", region: us-east-1}
accounts:
  sales: {account_id: "111111111111", roles: [producer]}
  marketing: {account_id: "999999999999", roles: [consumer]}
products:
  sales.orders:
    producer: sales
    source_database: sales
    tables: [orders]
    description: "</td><script>alert('d')</script><img src=x onerror=alert(1)>"
    owners: [owner@example.com]
subscriptions:
  - consumer: marketing
    product: sales.orders
    tables:
      - name: orders
        row_filter: "note = '</code><script>alert(3)</script>'"
    permissions: [SELECT]
    status: approved
    approved_by: owner@example.com
    purpose: "<iframe src=javascript:alert(4)>"
"""
# Names and owners the file format refuses, as if validation had let them through: the pages
# must not trust it either (a name is also a file name and a link).
EVIL_PRODUCT = 'x"><script>alert(5)</script>/../../etc'
EVIL_CONSUMER = "<img src=x onerror=alert(6)>"
EVIL_OWNER = '"><svg onload=alert(2)>'


def _hostile(tmp_path: Path) -> MeshSpec:
    mesh = tmp_path / "mesh.yaml"
    mesh.write_text(HOSTILE, encoding="utf-8")
    spec = load_spec(mesh)
    (product,) = spec.products
    evil = replace(product, name=EVIL_PRODUCT, owners=(EVIL_OWNER,), tags=(("D", "<b>x</b>"),))
    accounts = tuple(
        replace(a, name=EVIL_CONSUMER) if a.name == "marketing" else a for a in spec.accounts
    )
    subs = tuple(
        replace(s, product=EVIL_PRODUCT, consumer=EVIL_CONSUMER, approved_by=EVIL_OWNER)
        for s in spec.subscriptions
    )
    return replace(spec, accounts=accounts, products=(evil,), subscriptions=subs, sources=())


def test_hostile_text_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    _, site = _site(_hostile(tmp_path))
    assert sorted(site.pages) == sorted(
        [
            "access-map.svg",
            "access.html",
            "assets/catalog.css",
            "assets/catalog.js",
            "consumers/%3Cimg%20src%3Dx%20onerror%3Dalert%286%29%3E.html",
            "index.html",
            "products/x%22%3E%3Cscript%3Ealert%285%29%3C%2Fscript%3E%2F..%2F..%2Fetc.html",
        ]
    )
    for path in site.html_pages():
        page = site.page(path)
        tags = {e.tag for e in page.iter()}
        assert not tags & {"img", "iframe"}, path
        scripts = [e.attrs.get("src") for e in page.find_all("script")]
        assert scripts == [("../" if "/" in path else "") + "assets/catalog.js"], path
        handlers = [(e.tag, a) for e in page.iter() for a in e.attrs if a.startswith("on")]
        assert handlers == [], path
        for href, target, _ in site.links(path):
            assert target in site.pages, f"{path}: {href} -> {target} is not written"
    (product_page,) = (p for p in site.pages if p.startswith("products/"))
    product = site.page(product_page)
    assert product.find("h1").text == EVIL_PRODUCT
    assert "</td><script>alert('d')</script><img src=x onerror=alert(1)>" in product.text
    assert f"{EVIL_OWNER}" in product.find("dl").text
    assert "orders rows where note = '</code><script>alert(3)</script>'" in product.text
    (consumer_page,) = (p for p in site.pages if p.startswith("consumers/"))
    assert "<iframe src=javascript:alert(4)>" in site.page(consumer_page).text
    svg = ET.fromstring(site.pages["access-map.svg"])  # still well-formed XML
    names = {g.get("data-name") for g in svg.iter(f"{SVG}g") if g.get("data-name")}
    assert {EVIL_PRODUCT, EVIL_CONSUMER} <= names
    index = site.page("index.html")
    assert "<b>x</b>" in index.find("tr", class_="product").attrs["data-search"]


# --- --repo-url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "edit"),
    [
        ("https://github.com/acme/mesh", "https://github.com/acme/mesh/edit/main/mesh.d/a.yaml"),
        ("https://github.com/acme/mesh/", "https://github.com/acme/mesh/edit/main/mesh.d/a.yaml"),
        (
            "https://github.com/acme/mesh.git",
            "https://github.com/acme/mesh/edit/main/mesh.d/a.yaml",
        ),
        (
            "https://github.com/acme/mesh/tree/release/2027",
            "https://github.com/acme/mesh/edit/release/2027/mesh.d/a.yaml",
        ),
    ],
)
def test_repo_url_gives_githubs_edit_link(url: str, edit: str) -> None:
    assert parse_repo_url(url).edit_url("mesh.d/a.yaml") == edit


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "github.com/acme/mesh", "https://x/?a=1"]
)
def test_repo_url_must_be_an_http_repository_url(url: str) -> None:
    with pytest.raises(MeshctlError, match="--repo-url"):
        parse_repo_url(url)


def test_pages_are_parsed_not_string_matched() -> None:
    """The test helper itself: an unclosed element is a failure, not a pass."""
    with pytest.raises(AssertionError):
        parse("<main><table><tr><td>x</td></tr></main>")
