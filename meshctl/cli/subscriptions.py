"""`meshctl subscriptions list|get`: the subscription table, read through its indexes.

Registered on the main app by ``cli._register_subcommands``. The mesh account comes from
``-f mesh.yaml`` (which also resolves account and product names); without a mesh file,
``--mesh-account-id`` and ``--region`` say where the mesh is and filters take account ids. Reads
only: a filtered list is a Query on the Owner or Subscriber index, only an unfiltered one scans.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from meshctl.cli.extra import (
    CredsOption,
    MeshAccountOption,
    RegionOption,
    TableOption,
    mesh_settings,
)
from meshctl.errors import MeshctlError
from meshctl.observed import RecordStatus, SubscriptionRecord
from meshctl.spec.load import conforms
from meshctl.spec.model import MeshSettings, MeshSpec

if TYPE_CHECKING:  # boto3 is imported only by the commands that call AWS
    from meshctl.aws.read.subscriptions import SubscriptionTable

STATUS_FILTERS = {
    "pending": RecordStatus.PENDING,
    "approved": RecordStatus.ACTIVE,
    "denied": RecordStatus.DENIED,
    "archived": RecordStatus.DELETED,
    # the helper library's words for the same states
    "active": RecordStatus.ACTIVE,
    "deleted": RecordStatus.DELETED,
}
MeshFileOption = Annotated[
    Path | None,
    typer.Option(
        "-f",
        "--file",
        help="Mesh file (names accounts and products). Default: ./mesh.yaml when it exists.",
    ),
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format", help="text (a table on a terminal, tab-separated when piped), tsv or json."
    ),
]


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _format(value: str) -> str:
    if value not in ("text", "tsv", "json"):
        raise MeshctlError(f"--format: {value!r} is not one of 'text', 'tsv', 'json'")
    return value


@dataclass(frozen=True)
class _Mesh:
    """Where the mesh is, and the mesh file's names when there is one."""

    settings: MeshSettings
    spec: MeshSpec | None
    credentials_file: Path | None

    @classmethod
    def locate(
        cls,
        file: Path | None,
        account_id: str | None,
        region: str | None,
        table: str | None,
        credentials_file: Path | None,
    ) -> _Mesh:
        from meshctl.spec.load import load_spec

        path = file if file is not None else Path("mesh.yaml")
        spec = load_spec(path) if file is not None or path.exists() else None
        settings = mesh_settings(spec.mesh if spec else None, account_id, region, table)
        return cls(settings, spec, credentials_file)

    def table(self) -> SubscriptionTable:
        from meshctl.aws.api import AccountApi
        from meshctl.aws.read.subscriptions import SubscriptionTable
        from meshctl.aws.sessions import AccountSessions, load_credentials_file

        creds = self.credentials_file
        sessions = AccountSessions(
            self.settings,
            self.spec.accounts if self.spec else (),
            static_credentials=load_credentials_file(creds) if creds else None,
        )
        api = AccountApi(sessions, self.settings.account_id)
        return SubscriptionTable(api, self.settings.subscriptions_table)

    def account_id(self, value: str, option: str) -> str:
        if self.spec is not None:
            for account in self.spec.accounts:
                if value == account.name:
                    return account.account_id
        if conforms("accountId", value):
            return value
        known = ", ".join(a.name for a in self.spec.accounts) if self.spec else ""
        raise MeshctlError(
            f"{option} {value!r}: not an account of the mesh file"
            + (f" ({known})" if known else " (no mesh file: give a 12-digit account id)")
        )

    def account_name(self, account_id: str) -> str:
        found = self.spec.account_by_id(account_id) if self.spec else None
        return found.name if found else account_id

    def product_of(self, record: SubscriptionRecord) -> str:
        if record.product:
            return record.product
        for product in self.spec.products if self.spec else ():
            if product.mesh_database == record.database:
                return product.name
        return ""


# --- meshctl subscriptions ---------------------------------------------------------------------

subscriptions_app = typer.Typer(
    help="Read the subscription table: list and get subscriptions.", no_args_is_help=True
)


@subscriptions_app.command("list")
def list_command(
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Consumer account: name or id.")
    ] = None,
    producer: Annotated[
        str | None, typer.Option("--producer", help="Producer account: name or id.")
    ] = None,
    product: Annotated[str | None, typer.Option("--product", help="Product name.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved, denied or archived.")
    ] = None,
    include_archived: Annotated[
        bool, typer.Option("--include-archived", help="Also list archived subscriptions.")
    ] = False,
    output_format: FormatOption = "text",
    file: MeshFileOption = None,
    mesh_account_id: MeshAccountOption = None,
    region: RegionOption = None,
    subscriptions_table: TableOption = None,
    credentials_file: CredsOption = None,
) -> int:
    """List subscriptions; a consumer, producer or product filter reads an index, not the table."""
    from meshctl.aws.read.subscriptions import RecordQuery

    fmt = _format(output_format)
    mesh = _Mesh.locate(file, mesh_account_id, region, subscriptions_table, credentials_file)
    wanted = STATUS_FILTERS.get(status.lower()) if status else None
    if status and wanted is None:
        raise MeshctlError(f"--status {status!r}: use pending, approved, denied or archived")
    owner = mesh.account_id(producer, "--producer") if producer else None
    database = None
    if product and mesh.spec is not None:
        if product not in {p.name for p in mesh.spec.products}:
            raise MeshctlError(f"--product {product!r}: not a product of the mesh file")
        declared = mesh.spec.product(product)
        database = declared.mesh_database
        # The product names its producer: read the Owner index rather than the whole table.
        owner = owner or mesh.spec.account(declared.producer).account_id
    query = RecordQuery(
        subscriber=mesh.account_id(consumer, "--consumer") if consumer else None,
        owner=owner,
        status=wanted,
        product=product,
        database=database,
        include_archived=include_archived,
    )
    records = mesh.table().records(query)
    if fmt == "json":
        typer.echo(
            json.dumps({"subscriptions": [_record_json(r, mesh) for r in records]}, indent=2)
        )
        return 0
    console = _stdout()
    if fmt == "tsv" or not console.is_terminal:
        # Piped: every value whole, one record per line, for cut, sort and spreadsheets.
        for row in [_COLUMNS, *(_row(r, mesh) for r in records)]:
            typer.echo("\t".join(value.replace("\t", " ") for value in row))
        return 0
    if records:
        console.print(_records_table(records, mesh))
    hidden = "" if include_archived or wanted else " (archived hidden: --include-archived)"
    console.print(f"{len(records)} subscription{'s' if len(records) != 1 else ''}{hidden}")
    return 0


@subscriptions_app.command("get")
def get_command(
    subscription_id: Annotated[
        str,
        typer.Argument(
            metavar="SUBSCRIPTION",
            help="A SubscriptionId, an unambiguous prefix of one, or CONSUMER/PRODUCT.",
        ),
    ],
    output_format: FormatOption = "text",
    file: MeshFileOption = None,
    mesh_account_id: MeshAccountOption = None,
    region: RegionOption = None,
    subscriptions_table: TableOption = None,
    credentials_file: CredsOption = None,
) -> int:
    """Show one subscription: every field, and its history notes."""
    from meshctl.aws.tracker import record_from_item

    fmt = _format(output_format)
    mesh = _Mesh.locate(file, mesh_account_id, region, subscriptions_table, credentials_file)
    table = mesh.table()
    item = table.get_item(_resolve(subscription_id, mesh, table))
    if item is None:
        raise MeshctlError(f"no subscription {subscription_id} in table {table.name}")
    record = record_from_item(item)
    if fmt == "json":
        data = _record_json(record, mesh)
        data["attributes"] = _plain(item)
        typer.echo(json.dumps(data, indent=2))
        return 0
    _print_record(record, item, mesh, _stdout())
    return 0


def _resolve(ref: str, mesh: _Mesh, table: SubscriptionTable) -> str:
    """The SubscriptionId that ``ref`` names: an id, a unique id prefix, or CONSUMER/PRODUCT
    (the open subscription of that pair, else its newest archived one)."""
    from meshctl.aws.read.subscriptions import RecordQuery

    if "/" in ref:
        consumer, _, product = ref.partition("/")
        database = None
        if mesh.spec is not None and product in {p.name for p in mesh.spec.products}:
            database = mesh.spec.product(product).mesh_database
        query = RecordQuery(
            subscriber=mesh.account_id(consumer, "CONSUMER"),
            product=product,
            database=database,
            include_archived=True,
        )
        found = sorted(
            table.records(query),
            key=lambda r: (r.status is not RecordStatus.DELETED, r.updated_at or r.created_at),
        )
        if not found:
            raise MeshctlError(f"no subscription of {consumer} to {product} in table {table.name}")
        return found[-1].subscription_id
    if len(ref) >= 36 or table.get_item(ref) is not None:
        return ref
    matches = sorted(
        r.subscription_id
        for r in table.records(RecordQuery(include_archived=True))
        if r.subscription_id.startswith(ref)
    )
    if len(matches) > 1:
        raise MeshctlError(f"{ref!r} is the start of {len(matches)} ids: {', '.join(matches)}")
    if not matches:
        raise MeshctlError(f"no subscription id starts with {ref!r} in table {table.name}")
    return matches[0]


def _record_json(record: SubscriptionRecord, mesh: _Mesh) -> dict[str, Any]:
    return {
        "subscription_id": record.subscription_id,
        "status": record.status.word,
        "library_status": record.status.value,
        "consumer": mesh.account_name(record.subscriber),
        "consumer_account_id": record.subscriber,
        "producer": mesh.account_name(record.owner),
        "producer_account_id": record.owner,
        "product": mesh.product_of(record),
        "mesh_database": record.database,
        "tables": list(record.tables),
        "requested": list(record.requested),
        "permitted": list(record.permitted),
        "grantable": list(record.grantable),
        "approved_by": record.approved_by,
        "purpose": record.purpose,
        "expires": record.expires,
        "managed_by_meshctl": record.managed,
        "imported_to_consumer": record.imported,
        "created_at": record.created_at,
        "created_by": record.created_by,
        "updated_at": record.updated_at,
        "updated_by": record.updated_by,
        "notes": list(record.notes),
    }


def _plain(value: Any) -> Any:
    """A DynamoDB item as JSON: sets as sorted lists, numbers as int or str."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | str | int | float) or value is None:
        return value
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text


_COLUMNS = ("ID", "CONSUMER", "PRODUCER", "PRODUCT", "STATUS", "TABLES", "PERMISSIONS", "EXPIRES")


def _row(r: SubscriptionRecord, mesh: _Mesh) -> tuple[str, ...]:
    managed = "" if r.managed else " (library)"
    return (
        r.subscription_id,
        mesh.account_name(r.subscriber),
        mesh.account_name(r.owner),
        mesh.product_of(r) or r.database,
        r.status.word + managed,
        ", ".join(r.tables) or "(all)",
        ", ".join(r.permitted or r.requested),
        r.expires or "-",
    )


def _records_table(records: list[SubscriptionRecord], mesh: _Mesh) -> Table:
    """Wraps (folds) long values at any terminal width; never cuts one with an ellipsis."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in _COLUMNS:
        table.add_column(column, overflow="fold", min_width=4 if column != "ID" else 8)
    for r in records:
        table.add_row(*(_text(c) for c in _row(r, mesh)))
    return table


def _print_record(
    record: SubscriptionRecord, item: dict[str, Any], mesh: _Mesh, console: Console
) -> None:
    rows = [
        ("subscription", record.subscription_id),
        ("status", f"{record.status.word} ({record.status.value})"),
        ("consumer", _named(mesh, record.subscriber)),
        ("producer", _named(mesh, record.owner)),
        ("product", mesh.product_of(record) or "-"),
        ("mesh database", record.database),
        ("tables", ", ".join(record.tables) or "(all)"),
        ("requested", ", ".join(record.requested) or "-"),
        ("permitted", ", ".join(record.permitted) or "-"),
        ("grantable", ", ".join(record.grantable) or "-"),
        ("approved by", record.approved_by or "-"),
        ("purpose", record.purpose or "-"),
        ("expires", record.expires or "-"),
        ("managed by", "meshctl" if record.managed else "the helper library (not adopted)"),
        ("imported to consumer", "yes" if record.imported else "no"),
        ("granted tables", ", ".join(record.granted_table_arns) or "-"),
        ("RAM shares", ", ".join(f"{k}={v}" for k, v in record.ram_shares) or "-"),
    ]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")  # ARNs wrap whole, never cut
    for label, value in rows:
        grid.add_row(label, _text(value))
    console.print(grid)
    console.print()
    console.print("History", style="bold")
    history = [f"{record.created_at or '?'}  created by {record.created_by or '?'}"]
    history += [f"note: {note}" for note in record.notes]
    if record.updated_at or record.updated_by:
        history.append(f"{record.updated_at or '?'}  last updated by {record.updated_by or '?'}")
    for key, label in (("LastPlanId", "plan"), ("GitCommit", "commit")):
        if item.get(key):
            history.append(f"last meshctl {label}: {item[key]}")
    for line in history:
        console.print(_text(f"  {line}"))


def _text(value: str) -> Any:
    from rich.text import Text

    return Text(value)  # plain text: values from AWS are never rich markup


def _named(mesh: _Mesh, account_id: str) -> str:
    name = mesh.account_name(account_id)
    return account_id if name == account_id else f"{name} ({account_id})"
