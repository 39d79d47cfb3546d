"""The access map: producers → products → consumers as one SVG, drawn here in pure Python.

Three columns of boxes; a grey edge from each producer to its products, and one edge per
subscription from its product to its consumer, styled by ``AccessStatus`` (stroke and dash are
attributes, so the file looks the same opened on its own as inline in a page). Every text is
XML-escaped; links are relative to the site's root, where the SVG and ``access.html`` live.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from meshctl.render.catalog.model import AccessStatus, CatalogView

BOX_W, BOX_H, ROW = 210, 34, 50
COLUMNS_X = (20, 370, 720)
TOP = 56  # below the column headings
WIDTH = COLUMNS_X[2] + BOX_W + 20
LABEL_CHARS = 28


@dataclass(frozen=True)
class EdgeStyle:
    stroke: str
    width: float
    dash: str  # "" for a solid line
    label: str


STYLES: dict[AccessStatus, EdgeStyle] = {
    AccessStatus.APPROVED: EdgeStyle("#2e7d32", 2.5, "", "approved"),
    AccessStatus.EXPIRING: EdgeStyle("#e65100", 3, "10 4", "approved, expires within 14 days"),
    AccessStatus.PENDING: EdgeStyle("#f9a825", 2, "6 5", "pending"),
    AccessStatus.DENIED: EdgeStyle("#c62828", 2, "2 5", "denied"),
    AccessStatus.EXPIRED: EdgeStyle("#9e9e9e", 2, "2 5", "expired (access revoked)"),
}
OFFERS = EdgeStyle("#b0bec5", 1.5, "", "offers")


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _node(x: int, y: int, text: str, kind: str, href: str, sub: str = "") -> str:
    title = escape(f"{text} ({sub})" if sub else text)
    box = (
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
        f'fill="#ffffff" stroke="#546e7a" stroke-width="1"/>'
        f'<text x="{x + 10}" y="{y + 22}" font-size="14" fill="#263238">'
        f"{escape(_label(text))}</text><title>{title}</title>"
    )
    body = f"<a href={quoteattr(href)}>{box}</a>" if href else box
    return f"<g class={quoteattr(f'node node-{kind}')} data-name={quoteattr(text)}>{body}</g>"


def _edge(
    x1: float, y1: float, x2: float, y2: float, style: EdgeStyle, attrs: str, title: str
) -> str:
    mid = (x1 + x2) / 2
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return (
        f'<path {attrs} d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
        f'stroke="{style.stroke}" stroke-width="{style.width}"{dash}>'
        f"<title>{escape(title)}</title></path>"
    )


def _column(names: list[str]) -> dict[str, int]:
    """The top y of each box of a column."""
    return {name: TOP + i * ROW for i, name in enumerate(names)}


def _ports(ends: list[tuple[str, int, str]]) -> dict[str, float]:
    """For each (box, y of the other end, edge key): the edge's offset from the box's middle."""
    by_box: dict[str, list[tuple[int, str]]] = {}
    for box, other_y, key in ends:
        by_box.setdefault(box, []).append((other_y, key))
    offsets = {}
    for edges in by_box.values():
        step = min(7.0, (BOX_H - 10) / max(len(edges) - 1, 1))
        for i, (_, key) in enumerate(sorted(edges)):
            offsets[key] = round((i - (len(edges) - 1) / 2) * step, 1)
    return offsets


def render_access_map(view: CatalogView) -> str:
    """The SVG document (with its XML declaration omitted: it is valid both alone and inline)."""
    producers = _column([p.name for p in view.producers])
    products = _column([p.name for p in view.products])
    consumers = _column([c.name for c in view.consumers])
    rows = max(len(producers), len(products), len(consumers), 1)
    legend_y = TOP + rows * ROW + 20
    height = legend_y + 30 + 22 * (len(STYLES) + 1)
    px, mx, cx = COLUMNS_X
    half = BOX_H // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="access-map" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="access-map-title" font-family="system-ui, sans-serif">',
        '<title id="access-map-title">Access map: producers, products and consumers</title>',
    ]
    for x, heading in zip(COLUMNS_X, ("Producers", "Products", "Consumers"), strict=True):
        parts.append(
            f'<text x="{x}" y="{TOP - 20}" font-size="15" font-weight="bold" '
            f'fill="#263238">{heading}</text>'
        )
    # Each box spreads its edges over its height (in the order of the other end), so edges that
    # meet at one box stay apart.
    subscriptions = [
        (product, sub)
        for product in view.products
        for sub in product.subscribers
        if sub.consumer in consumers  # validation makes every consumer a consumer account
    ]
    leaving = _ports([(p.name, consumers[s.consumer], s.key) for p, s in subscriptions])
    arriving = _ports([(s.consumer, products[p.name], s.key) for p, s in subscriptions])
    for product in view.products:
        y1, y2 = producers[product.producer] + half, products[product.name] + half
        parts.append(
            _edge(
                px + BOX_W,
                y1,
                mx,
                y2,
                OFFERS,
                f'class="offer" data-product={quoteattr(product.name)}',
                f"{product.producer} offers {product.name}",
            )
        )
    for product, sub in subscriptions:
        start = products[product.name] + half + leaving[sub.key]
        end = consumers[sub.consumer] + half + arriving[sub.key]
        attrs = (
            f'class="edge edge-{sub.status.value}" data-status="{sub.status.value}" '
            f"data-subscription={quoteattr(sub.key)}"
        )
        title = f"{sub.consumer} → {product.name}: {STYLES[sub.status].label}"
        if sub.expires:
            title += f", expires {sub.expires}"
        parts.append(_edge(mx + BOX_W, start, cx, end, STYLES[sub.status], attrs, title))
    for producer in view.producers:
        parts.append(
            _node(px, producers[producer.name], producer.name, "producer", "", producer.account_id)
        )
    for product in view.products:
        parts.append(_node(mx, products[product.name], product.name, "product", product.href))
    for consumer in view.consumers:
        parts.append(
            _node(
                cx,
                consumers[consumer.name],
                consumer.name,
                "consumer",
                consumer.href,
                consumer.account_id,
            )
        )
    parts.append(_legend(legend_y))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _legend(y: int) -> str:
    parts = [
        f'<g class="legend"><text x="20" y="{y}" font-size="14" font-weight="bold" '
        f'fill="#263238">Legend</text>'
    ]
    entries = [*STYLES.items(), (None, OFFERS)]
    for i, (status, style) in enumerate(entries):
        row = y + 22 * (i + 1)
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        kind = f"legend-{status.value}" if status is not None else "legend-offers"
        parts.append(
            f'<g class="{kind}"><line x1="20" y1="{row - 5}" x2="80" y2="{row - 5}" '
            f'stroke="{style.stroke}" stroke-width="{style.width}"{dash}/>'
            f'<text x="92" y="{row}" font-size="13" fill="#263238">{escape(style.label)}</text>'
            "</g>"
        )
    parts.append("</g>")
    return "".join(parts)
