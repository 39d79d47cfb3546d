"""The catalog's page model: plain values for each page, built from the spec and, when live, the
observed snapshot (``Table.columns``). Pure: no AWS, no file, no clock (``today`` is passed in).

Links are relative to the site's root (``products/sales.orders.html``); a page one folder down
prefixes ``../``, so the site works from ``file://`` and from any GitHub Pages path.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from urllib.parse import quote, urlsplit

from meshctl.errors import MeshctlError
from meshctl.observed import ObservedMesh, Table
from meshctl.planning.kinds.subscriptions import EXPIRY_WARNING_DAYS, is_expired
from meshctl.spec.model import MeshSpec, Product, Subscription, SubscriptionStatus

# The default branch an edit link opens when --repo-url names none (``…/tree/BRANCH`` does).
DEFAULT_BRANCH = "main"


class AccessStatus(StrEnum):
    """A subscription as a reader sees it today: the file's decision, and the clock."""

    APPROVED = "approved"
    EXPIRING = "expiring"  # approved, and ``expires`` within the days plan warns of (14)
    EXPIRED = "expired"  # approved, but ``expires`` has passed: access is revoked
    PENDING = "pending"
    DENIED = "denied"

    @property
    def reads(self) -> bool:
        return self in (AccessStatus.APPROVED, AccessStatus.EXPIRING)


def access_status(sub: Subscription, today: date) -> AccessStatus:
    if sub.status is SubscriptionStatus.PENDING:
        return AccessStatus.PENDING
    if sub.status is SubscriptionStatus.DENIED:
        return AccessStatus.DENIED
    if is_expired(sub, today):  # "on and after it, access is revoked"
        return AccessStatus.EXPIRED
    if sub.expires is not None and sub.expires <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return AccessStatus.EXPIRING
    return AccessStatus.APPROVED


@dataclass(frozen=True)
class RepoLink:
    """Where the mesh file lives on the repository host, for "edit this file" links.

    GitHub's form is assumed: ``<repo>/edit/<branch>/<path>`` opens the file in the web editor
    (which offers a pull request from a fork or a branch). ``--repo-url <repo>/tree/<branch>``
    names the branch; otherwise it is ``main``.
    """

    repo_url: str
    branch: str = DEFAULT_BRANCH

    def edit_url(self, path: str) -> str:
        return f"{self.repo_url}/edit/{quote(self.branch)}/{quote(path)}"


def parse_repo_url(url: str) -> RepoLink:
    """``https://github.com/acme/mesh`` or ``…/tree/BRANCH``; only http(s), so a link can never
    run script (``javascript:``) or reach a local file."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise MeshctlError(
            f"--repo-url: {url!r} is not an http(s) URL of a repository, such as "
            "https://github.com/acme/mesh (or https://github.com/acme/mesh/tree/BRANCH)"
        )
    if parts.query or parts.fragment:
        raise MeshctlError(f"--repo-url: {url!r}: give the repository's URL, without ? or #")
    path, _, branch = parts.path.rstrip("/").partition("/tree/")
    base = f"{parts.scheme}://{parts.netloc}{path}"
    return RepoLink(base.removesuffix(".git"), branch.strip("/") or DEFAULT_BRANCH)


@dataclass(frozen=True)
class ColumnView:
    name: str
    type: str
    comment: str = ""
    partition: bool = False


@dataclass(frozen=True)
class TableView:
    name: str
    columns: tuple[ColumnView, ...] = ()
    where: str = ""  # the catalog the columns were read from; "" when not read
    missing: bool = False  # live, and found in neither the mesh nor the producer's catalog


@dataclass(frozen=True)
class SubscriberView:
    consumer: str
    product: str
    status: AccessStatus
    permissions: tuple[str, ...]  # sorted; grantable ones are in ``grantable`` too
    grantable: tuple[str, ...]
    tables: tuple[str, ...]  # each as "orders" or "orders except (id) rows where …"; () = all
    principals: tuple[str, ...]
    expires: str
    purpose: str
    approved_by: str

    @property
    def key(self) -> str:
        return f"{self.consumer}/{self.product}"


@dataclass(frozen=True)
class ProductView:
    name: str
    path: str  # the page's file, from the site's root
    href: str  # the link to it, from the site's root
    description: str
    producer: str
    producer_account: str
    owners: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    source_database: str
    mesh_database: str
    all_tables: bool  # the product is every table of source_database ("*")
    tables: tuple[TableView, ...]
    subscribers: tuple[SubscriberView, ...]
    request_command: str
    can_request: tuple[str, ...]  # consumers that have not asked for it yet
    defined_in: str  # the file that holds the product (a mesh.d/ member, or the mesh file)
    edit_url: str  # "" without --repo-url

    @property
    def readers(self) -> int:
        """The subscriber count: consumers that read the product today."""
        return sum(s.status.reads for s in self.subscribers)

    @property
    def waiting(self) -> int:
        return sum(s.status is AccessStatus.PENDING for s in self.subscribers)

    @property
    def search_text(self) -> str:
        words = [self.name, self.description, self.producer, *self.owners]
        words += [f"{k}:{v} {k} {v}" for k, v in self.tags]
        return " ".join(words).lower()


@dataclass(frozen=True)
class ConsumerView:
    name: str
    account_id: str
    path: str
    href: str
    reads: tuple[SubscriberView, ...]  # approved (or expiring) today
    requests: tuple[SubscriberView, ...]  # pending, denied or expired


@dataclass(frozen=True)
class ProducerView:
    name: str
    account_id: str
    products: tuple[str, ...]


@dataclass(frozen=True)
class CatalogView:
    mesh_file: str  # as a user passes it to -f
    mesh_account_id: str
    region: str
    today: str
    live: bool  # columns read from the live catalog (False: --offline, from the file alone)
    producers: tuple[ProducerView, ...]
    products: tuple[ProductView, ...]
    consumers: tuple[ConsumerView, ...]


def product_path(name: str) -> str:
    """The page's file, relative to the site's root. A validated name is its own file name; any
    other character is %-escaped, so no name can leave the folder (``/``, ``..``)."""
    return f"products/{quote(name, safe='')}.html"


def consumer_path(name: str) -> str:
    return f"consumers/{quote(name, safe='')}.html"


def product_href(name: str) -> str:
    """A link to the page: its path, escaped once more (a browser unescapes a URL once)."""
    return quote(product_path(name))


def consumer_href(name: str) -> str:
    return quote(consumer_path(name))


def request_command(product: Product, mesh_file: str) -> str:
    """The `meshctl request` line a consumer runs (issue 18's syntax); CONSUMER is theirs to
    fill in, and the optional flags are shown beside it on the page."""
    words = ["--product", product.name, "--permissions", "SELECT,DESCRIBE", "-f", mesh_file]
    return "meshctl request --consumer CONSUMER " + " ".join(shlex.quote(w) for w in words)


def build_catalog(
    spec: MeshSpec,
    *,
    today: date,
    mesh_file: str,
    observed: ObservedMesh | None = None,
    product_files: Mapping[str, str] | None = None,
    repo: RepoLink | None = None,
) -> CatalogView:
    """Every page's values. ``observed`` given: tables and columns from the live catalog;
    ``None`` (``--offline``): from the file alone. ``product_files`` maps a product to the file
    (relative to the repository) that defines it, for edit links."""
    files = dict(product_files or {})
    live = _live_tables(observed) if observed is not None else None
    subscribers = {
        s.key: _subscriber(s, today)
        for s in sorted(spec.subscriptions, key=lambda s: (s.product, s.consumer))
    }
    products = tuple(
        _product(spec, p, live, subscribers, mesh_file, files.get(p.name, mesh_file), repo)
        for p in sorted(spec.products, key=lambda p: p.name)
    )
    consumers = tuple(
        ConsumerView(
            name=a.name,
            account_id=a.account_id,
            path=consumer_path(a.name),
            href=consumer_href(a.name),
            reads=tuple(v for v in subscribers.values() if v.consumer == a.name and v.status.reads),
            requests=tuple(
                v for v in subscribers.values() if v.consumer == a.name and not v.status.reads
            ),
        )
        for a in sorted(spec.accounts, key=lambda a: a.name)
        if a.is_consumer
    )
    producers = tuple(
        ProducerView(
            a.name,
            a.account_id,
            tuple(p.name for p in products if p.producer == a.name),
        )
        for a in sorted(spec.accounts, key=lambda a: a.name)
        if a.is_producer
    )
    return CatalogView(
        mesh_file=mesh_file,
        mesh_account_id=spec.mesh.account_id,
        region=spec.mesh.region,
        today=today.isoformat(),
        live=observed is not None,
        producers=producers,
        products=products,
        consumers=consumers,
    )


def _subscriber(sub: Subscription, today: date) -> SubscriberView:
    restricted = {r.table: r.describe() for r in sub.restrictions}
    return SubscriberView(
        consumer=sub.consumer,
        product=sub.product,
        status=access_status(sub, today),
        permissions=tuple(sorted(sub.permissions)),
        grantable=tuple(sorted(sub.grantable)),
        tables=tuple(restricted.get(t, t) for t in sub.tables),
        principals=sub.principals,
        expires=sub.expires.isoformat() if sub.expires else "",
        purpose=sub.purpose,
        approved_by=sub.approved_by or "",
    )


def _product(
    spec: MeshSpec,
    product: Product,
    live: LiveTables | None,
    subscribers: Mapping[str, SubscriberView],
    mesh_file: str,
    defined_in: str,
    repo: RepoLink | None,
) -> ProductView:
    producer = spec.account(product.producer)
    mine = tuple(v for v in subscribers.values() if v.product == product.name)
    asked = {v.consumer for v in mine}
    return ProductView(
        name=product.name,
        path=product_path(product.name),
        href=product_href(product.name),
        description=product.description,
        producer=producer.name,
        producer_account=producer.account_id,
        owners=product.owners,
        tags=product.tags,
        source_database=product.source_database,
        mesh_database=product.mesh_database,
        all_tables=product.all_tables,
        tables=_tables(spec, product, producer.account_id, live),
        subscribers=mine,
        request_command=request_command(product, mesh_file),
        can_request=tuple(
            a.name
            for a in sorted(spec.accounts, key=lambda a: a.name)
            if a.is_consumer and a.name != product.producer and a.name not in asked
        ),
        defined_in=defined_in,
        edit_url=repo.edit_url(defined_in) if repo is not None else "",
    )


# Live tables by (account id, database), then by name.
LiveTables = Mapping[tuple[str, str], Mapping[str, Table]]


def _live_tables(observed: ObservedMesh) -> LiveTables:
    found: dict[tuple[str, str], dict[str, Table]] = {}
    for t in observed.tables:
        found.setdefault((t.account_id, t.database), {})[t.name] = t
    return found


def _tables(
    spec: MeshSpec, product: Product, producer_id: str, live: LiveTables | None
) -> tuple[TableView, ...]:
    if live is None:
        if product.all_tables:
            return ()  # the file names no table: every table of source_database
        return tuple(TableView(name) for name in sorted(product.tables))
    # The mesh copy is what consumers read; before the first apply only the source exists.
    copies = live.get((spec.mesh.account_id, product.mesh_database), {})
    sources = live.get((producer_id, product.source_database), {})
    names = sorted(sources.keys() | copies.keys()) if product.all_tables else product.tables
    views = []
    for name in sorted(names):
        if name in copies:
            where = f"mesh catalog {spec.mesh.account_id}, database {product.mesh_database}"
            views.append(_table_view(copies[name], where))
        elif name in sources:
            where = f"producer catalog {producer_id}, database {product.source_database}"
            views.append(_table_view(sources[name], where))
        else:
            views.append(TableView(name, missing=True))
    return tuple(views)


def _table_view(table: Table, where: str) -> TableView:
    columns = [ColumnView(c.name, c.type, c.comment) for c in table.columns]
    columns += [ColumnView(c.name, c.type, c.comment, partition=True) for c in table.partition_keys]
    return TableView(table.name, tuple(columns), where)
