"""The example mesh's catalog in headless Chromium from file://: what a reader does with it."""

from __future__ import annotations

import struct
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from playwright.sync_api import Page

from meshctl.spec.load import load_spec

from .conftest import EXAMPLE, SCREENSHOTS

SPEC = load_spec(EXAMPLE)
PRODUCTS = {p.name for p in SPEC.products}


def _visible_products(page: Page) -> set[str]:
    rows = page.locator("#products tr.product:visible")
    return {rows.nth(i).get_attribute("data-product") or "" for i in range(rows.count())}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width, height = _png_size(path)
    assert width >= 1000 and height >= 400, (path, width, height)
    return path


def test_index_lists_every_product(page: Page, site: Path) -> None:
    page.goto((site / "index.html").as_uri())
    assert page.title() == "Products · data mesh catalog"
    assert _visible_products(page) == PRODUCTS
    assert page.locator("#search-count").inner_text() == "3 of 3 products"
    _screenshot(page, "index")


def test_search_box_filters_the_products(page: Page, site: Path) -> None:
    page.goto((site / "index.html").as_uri())
    search = page.locator("#search")
    search.press_sequentially("logistics")  # key by key, as a person types
    assert _visible_products(page) == {"logistics.shipments"}
    assert page.locator("#search-count").inner_text() == "1 of 3 products"
    search.fill("privacy-office")  # an owner of finance.invoices
    assert _visible_products(page) == {"finance.invoices"}
    search.fill("domain:sales hourly")  # a tag and a word of the description: both must match
    assert _visible_products(page) == {"sales.orders"}
    _screenshot(page, "index-search")
    search.fill("no such thing")
    assert _visible_products(page) == set()
    assert page.locator("#no-match").is_visible()
    search.fill("")
    assert _visible_products(page) == PRODUCTS
    assert not page.locator("#no-match").is_visible()
    page.goto((site / "index.html").as_uri() + "?q=invoices")  # a shared search link
    assert _visible_products(page) == {"finance.invoices"}
    assert page.locator("#search").input_value() == "invoices"


def test_every_link_resolves(page: Page, site: Path) -> None:
    """Follow every link from the index, as a reader clicking through: each page opens (a
    missing file fails the navigation), has its main content, and each #fragment exists."""
    start = (site / "index.html").as_uri()
    seen, queue, external = {start}, deque([start]), set()
    while queue:
        url = queue.popleft()
        page.goto(url)
        assert page.title().endswith("data mesh catalog"), url
        assert page.locator("main h1").count() == 1, url
        # resolved as the browser does (the access map's links are SVG <a> elements too)
        hrefs: list[str] = page.eval_on_selector_all(
            "a[href]", "as => as.map(a => new URL(a.getAttribute('href'), document.baseURI).href)"
        )
        for href in hrefs:
            if not href.startswith("file://"):
                external.add(href)
                continue
            target, fragment = urldefrag(href)
            if fragment and target == url:
                assert page.locator(f"[id='{fragment}']").count() == 1, href
            if target.endswith(".html") and target not in seen:
                seen.add(target)
                queue.append(target)
            elif not target.endswith(".html"):
                assert Path(target.removeprefix("file://")).is_file(), href  # the SVG
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {Path(u.removeprefix("file://")).relative_to(site).as_posix() for u in seen} == pages
    # the only links leaving the site: editing the mesh file on the repository
    assert external == {"https://github.com/acme/mesh/edit/main/mesh.yaml"}


def test_access_map_renders_with_an_edge_per_subscription(page: Page, site: Path) -> None:
    page.goto((site / "access.html").as_uri())
    svg = page.locator("svg.access-map")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 200
    edges = page.locator("svg.access-map path.edge")
    assert edges.count() == len(SPEC.subscriptions)
    drawn = {}
    for i in range(edges.count()):
        edge = edges.nth(i)
        edge_box = edge.bounding_box()
        assert edge_box is not None and edge_box["width"] > 0, i
        style = edge.evaluate(
            "e => [getComputedStyle(e).stroke, getComputedStyle(e).strokeDasharray]"
        )
        drawn[edge.get_attribute("data-subscription")] = (edge.get_attribute("data-status"), style)
    by_status = {status: style for status, style in drawn.values()}
    assert drawn["finance/sales.orders"][0] == "expiring"
    assert set(by_status) == {"approved", "expiring", "pending", "denied"}
    assert len(set(map(tuple, by_status.values()))) == 4  # each status drawn its own way
    assert page.locator("svg.access-map .legend").is_visible()
    _screenshot(page, "access-map")
    # a product box opens its page
    page.locator("svg.access-map g.node-product a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/products/finance.invoices.html")


@pytest.mark.parametrize(
    ("path", "name", "heading"),
    [
        ("products/sales.orders.html", "product", "sales.orders"),
        ("consumers/marketing.html", "consumer", "marketing"),
    ],
)
def test_product_and_consumer_pages(
    page: Page, site: Path, path: str, name: str, heading: str
) -> None:
    page.goto((site / path).as_uri())
    assert page.locator("main h1").inner_text() == heading
    if name == "product":
        columns = page.locator("section[data-table='orders'] tr.column")
        assert columns.count() >= 5  # live: read from the sandbox's Glue catalog
        command = page.locator("#request-command").inner_text()
        assert command.startswith("meshctl request --consumer CONSUMER --product sales.orders")
    else:
        reads = page.locator("table.subscriptions").first.locator("tr.subscription")
        assert reads.count() == 1 and reads.first.get_attribute("data-product") == "sales.orders"
    _screenshot(page, name)
