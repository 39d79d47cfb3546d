"""Render the catalog's pages to text: ``{path relative to the site's root: content}``.

Templates are Jinja2 with autoescape on, so every value from the mesh file (a description, an
owner, a purpose) is text, never markup. Only the access map's SVG is inserted as markup, and
``access_map`` escapes every text in it itself.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from meshctl.render.catalog.access_map import STYLES, render_access_map
from meshctl.render.catalog.model import AccessStatus, CatalogView, consumer_href, product_href

ACCESS_MAP = "access-map.svg"
ASSETS = ("assets/catalog.css", "assets/catalog.js")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("meshctl.render.catalog", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["status_label"] = lambda status: STYLES[AccessStatus(status)].label
    env.globals["product_href"] = product_href
    env.globals["consumer_href"] = consumer_href
    return env


def render_site(view: CatalogView) -> dict[str, str]:
    env = _environment()
    svg = render_access_map(view)
    pages = {path: env.get_template(path).render() for path in ASSETS}
    common = {"catalog": view, "statuses": list(AccessStatus)}
    pages["index.html"] = env.get_template("index.html").render(common, root="", page="index")
    pages["access.html"] = env.get_template("access.html").render(
        common, root="", page="access", svg=Markup(svg), svg_file=ACCESS_MAP
    )
    pages[ACCESS_MAP] = svg
    for product in view.products:
        pages[product.path] = env.get_template("product.html").render(
            common, root="../", page="product", product=product
        )
    for consumer in view.consumers:
        pages[consumer.path] = env.get_template("consumer.html").render(
            common, root="../", page="consumer", consumer=consumer
        )
    return pages
