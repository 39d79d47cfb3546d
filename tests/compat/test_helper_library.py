"""Compatibility with the AWS Data Mesh Helper library itself (``aws-data-mesh-utils`` 1.0.16).

Teams move to meshctl from a mesh the library built, and may keep using its tools meanwhile, so
both must read each other's subscription table. The library pins boto3 ~1.20, so it runs in its
own virtualenv (``helper_venv.py``, cached in ``.venv-helper-library/``) through
``drive_helper_library.py``, against the same patched moto server the meshctl CLI talks to.

- A: meshctl writes, the library reads: after ``meshctl apply``, the library's list and get calls
  return meshctl's records with the statuses and grants the library's own code expects.
- B: the library writes, meshctl reads: a request the library created for a declared pair is
  adopted by ``meshctl plan`` (an update keeping the library's SubscriptionId, not a second item),
  and the library still reads it after apply — also once meshctl approves it.
- C: a library request nobody declared is shown as unmanaged and left exactly as it was.
- The library's known overwrite (a repeated request re-puts an item) is repaired by meshctl.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.sandbox import ServerSandbox, run_meshctl

from meshctl.ids import subscription_id
from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec

from .helper_venv import HelperVenvError, ensure_helper_venv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
DRIVER = Path(__file__).with_name("drive_helper_library.py")
TABLE = "AwsDataMeshSubscriptions"

MESH = "555555555555"
SALES, LOGISTICS, FINANCE, MARKETING = (
    "111111111111",
    "222222222222",
    "333333333333",
    "999999999999",
)
SALES_DB, SHIPMENTS_DB, INVOICES_DB = f"sales-{SALES}", f"logistics-{LOGISTICS}", "finance-invoices"

Item = dict[str, Any]


@pytest.fixture(scope="module")
def library_python() -> Path | HelperVenvError:
    """The library's virtualenv python, or why it could not be built (tried once per module)."""
    try:
        return ensure_helper_venv()
    except HelperVenvError as exc:
        return exc


@dataclass(frozen=True)
class View:
    """What the library answered to a set of reads (made in one process, to save its startup)."""

    lists: dict[str, dict[str, Item]]  # subscriber -> SubscriptionId -> listed item
    queues: dict[tuple[str, str], set[str]]  # (owner, status) -> SubscriptionIds
    items: dict[str, Item | None]  # SubscriptionId -> get (None: unknown, or Deleted)
    archived: dict[str, Item | None]  # SubscriptionId -> get with force (Deleted shown)


@dataclass(frozen=True)
class Request:
    owner: str
    subscriber: str
    database: str
    tables: tuple[str, ...]
    permissions: tuple[str, ...]


class Library:
    """The helper library's SubscriberTracker, driven in its own virtualenv."""

    def __init__(self, python: Path | HelperVenvError, server: ServerSandbox) -> None:
        self._python, self.server = python, server

    @property
    def python(self) -> Path:
        # Fails the test (never skips it): without the library nothing here is checked.
        if isinstance(self._python, HelperVenvError):
            pytest.fail(f"cannot install the helper library from PyPI: {self._python}", False)
        return self._python

    def _run(self, commands: Iterable[list[str]]) -> list[Any]:
        args: list[str] = []
        for command in commands:
            args += [*command, "--"]
        env = {k: v for k, v in self.server.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        done = subprocess.run(
            [str(self.python), str(DRIVER), self.server.endpoint, MESH, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"library {args} failed:\n{done.stdout}\n{done.stderr}"
        return [json.loads(line) for line in done.stdout.splitlines()]

    def read(
        self,
        *,
        lists: Iterable[str] = (),
        queues: Iterable[tuple[str, str]] = (),
        gets: Iterable[str] = (),
        archived: Iterable[str] = (),
    ) -> View:
        lists, queues, gets, archived = list(lists), list(queues), list(gets), list(archived)
        answers = iter(
            self._run(
                [["list", s] for s in lists]
                + [["list-owner", o, status] for o, status in queues]
                + [["get", i] for i in gets]
                + [["get", i, "force"] for i in archived]
            )
        )
        return View(
            lists={
                s: {i["SubscriptionId"]: i for i in next(answers)["Subscriptions"]} for s in lists
            },
            queues={
                q: {i["SubscriptionId"] for i in next(answers)["Subscriptions"]} for q in queues
            },
            items={i: next(answers) for i in gets},
            archived={i: next(answers) for i in archived},
        )

    def get(self, sub_id: str) -> Item | None:
        return self.read(gets=[sub_id]).items[sub_id]

    def request(self, *requests: Request) -> list[str]:
        """create_subscription_request for each; the SubscriptionIds the library answered."""
        answers = self._run(
            [
                ["request", r.owner, r.subscriber, r.database, ",".join(r.tables), *r.permissions]
                for r in requests
            ]
        )
        return [str(answer["SubscriptionId"]) for answer in answers]

    def configure_iam(self, *roles: tuple[str, str, str]) -> list[dict[str, str]]:
        """The library's configure_iam for each (role, policy, template), in the mesh account."""
        return self._run([["configure-iam", *role] for role in roles])


@pytest.fixture
def library(library_python: Path | HelperVenvError, sandbox_server: ServerSandbox) -> Library:
    return Library(library_python, sandbox_server)


def _meshctl(server: ServerSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**server.env, "COLUMNS": "200", "NO_COLOR": "1"}
    return run_meshctl(*args, env=env, cwd=ROOT, timeout=300)


def _apply(server: ServerSandbox, mesh_file: Path) -> None:
    done = _meshctl(server, "apply", "-f", str(mesh_file), "--auto-approve")
    assert done.returncode == 0, f"apply failed:\n{done.stdout}\n{done.stderr}"


def _plan(server: ServerSandbox, mesh_file: Path) -> dict[str, Any]:
    done = _meshctl(server, "plan", "-f", str(mesh_file), "--format", "json")
    assert done.returncode == 0, f"plan failed:\n{done.stdout}\n{done.stderr}"
    plan: dict[str, Any] = json.loads(done.stdout)
    return plan


def _seed(server: ServerSandbox) -> None:
    seed_producers(load_spec(EXAMPLE), server.session)


def _items(server: ServerSandbox) -> list[Item]:
    """Every item of the subscription table, read directly (deserialized by boto3)."""
    table = server.session(MESH).resource("dynamodb").Table(TABLE)
    answer = table.scan(ConsistentRead=True)
    items: list[Item] = answer["Items"]
    while "LastEvaluatedKey" in answer:
        answer = table.scan(ConsistentRead=True, ExclusiveStartKey=answer["LastEvaluatedKey"])
        items += answer["Items"]
    return items


def _open_items(server: ServerSandbox, subscriber: str, database: str) -> list[Item]:
    """The items of a (consumer, mesh database) pair that are not archived."""
    return [
        i
        for i in _items(server)
        if i["SubscriberPrincipal"] == subscriber
        and i["DatabaseName"] == database
        and i["Status"] != "Deleted"
    ]


def _mesh_file(tmp_path: Path, edit: Callable[[list[dict[str, Any]]], None]) -> Path:
    """A copy of the example mesh with ``edit(subscriptions)`` applied to its subscription list."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    edit(doc["subscriptions"])
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _subscription(subs: list[dict[str, Any]], consumer: str, product: str) -> dict[str, Any]:
    [sub] = [s for s in subs if s["consumer"] == consumer and s["product"] == product]
    return sub


def test_library_reads_what_meshctl_applied(
    sandbox_server: ServerSandbox, library: Library, tmp_path: Path
) -> None:
    _seed(sandbox_server)
    _apply(sandbox_server, EXAMPLE)

    orders = subscription_id(MARKETING, "sales.orders")
    shipments = subscription_id(MARKETING, "logistics.shipments")
    invoices = subscription_id(MARKETING, "finance.invoices")
    finance_orders = subscription_id(FINANCE, "sales.orders")
    finance_shipments = subscription_id(FINANCE, "logistics.shipments")
    seen = library.read(
        lists=[MARKETING, FINANCE],
        queues=[(LOGISTICS, "Pending"), (SALES, "Active")],
        gets=[orders, shipments, invoices],
    )

    # The consumer's list: every record of the subscriber (the library hides Deleted ones, and
    # strips Status and OwnerPrincipal from what it returns).
    listed = seen.lists[MARKETING]
    assert set(listed) == {orders, shipments, invoices}
    approved = listed[orders]
    assert approved["SubscriberPrincipal"] == MARKETING
    assert approved["DatabaseName"] == SALES_DB
    assert approved["TableName"] == ["orders"]
    assert sorted(approved["RequestedGrants"]) == ["DESCRIBE", "SELECT"]
    assert sorted(approved["PermittedGrants"]) == ["DESCRIBE", "SELECT"]
    assert approved["GrantableGrants"] == []
    assert approved["ImportedToConsumer"] is True
    assert "Status" not in approved and "OwnerPrincipal" not in approved
    assert listed[shipments]["DatabaseName"] == SHIPMENTS_DB
    assert listed[shipments]["TableName"] == ["shipments"]
    assert listed[shipments]["PermittedGrants"] == []
    assert listed[invoices]["DatabaseName"] == INVOICES_DB

    # Another consumer, with a grantable permission and all of the product's tables.
    finance = seen.lists[FINANCE]
    assert set(finance) == {finance_orders, finance_shipments}
    assert sorted(finance[finance_orders]["TableName"]) == ["order_lines", "orders"]
    assert sorted(finance[finance_orders]["PermittedGrants"]) == ["DESCRIBE", "SELECT"]
    assert finance[finance_orders]["GrantableGrants"] == ["SELECT"]
    # Its access goes to the roles the file names (principals): the library still finds the
    # record by the consumer account, and the roles ride along as an attribute it ignores.
    assert finance[finance_orders]["SubscriberPrincipal"] == FINANCE
    assert finance[finance_orders]["Principals"] == [
        f"arn:aws:iam::{FINANCE}:role/revenue-reporting"
    ]

    # get: the full item, with the status as the library names it.
    assert {k: v["Status"] if v else None for k, v in seen.items.items()} == {
        orders: "Active",
        shipments: "Pending",
        invoices: "Denied",
    }
    got = seen.items[orders]
    assert got is not None and got["OwnerPrincipal"] == SALES
    assert sorted(got["PermittedGrants"]) == ["DESCRIBE", "SELECT"]
    denied = seen.items[invoices]
    assert denied is not None and denied["OwnerPrincipal"] == FINANCE

    # The producers' queues (Owner index, sorted by Status): requests to decide, grants given.
    assert seen.queues[(LOGISTICS, "Pending")] == {shipments, finance_shipments}
    assert seen.queues[(SALES, "Active")] == {
        orders,
        subscription_id(LOGISTICS, "sales.orders"),
        finance_orders,
    }

    # Archived by meshctl (removed from the file): Deleted, which the library hides from its
    # lists and its plain get, with meshctl's note in the library's Notes set.
    def drop_invoices(subs: list[dict[str, Any]]) -> None:
        subs.remove(_subscription(subs, "marketing", "finance.invoices"))

    _apply(sandbox_server, _mesh_file(tmp_path, drop_invoices))
    seen = library.read(lists=[MARKETING], gets=[invoices], archived=[invoices])
    assert set(seen.lists[MARKETING]) == {orders, shipments}
    assert seen.items[invoices] is None
    archived = seen.archived[invoices]
    assert archived is not None and archived["Status"] == "Deleted"
    assert any("archived by meshctl" in note for note in archived["Notes"])


def test_approved_record_names_its_tables_and_ram_shares_as_the_library_writes_them(
    sandbox_server: ServerSandbox, library: Library
) -> None:
    """The library's consumer side works from the record: ``finalize_subscription`` accepts the
    RAM shares listed in ``RamShares`` and ``delete_subscription`` leaves them; its approve writes
    them (by database and table name) with ``GrantedTableARNs``. A record meshctl approved must
    carry the same, or the library's consumer tools see no shares to accept or to leave."""
    _seed(sandbox_server)
    _apply(sandbox_server, EXAMPLE)

    got = library.get(subscription_id(MARKETING, "sales.orders"))
    assert got is not None and got["Status"] == "Active"
    assert got["GrantedTableARNs"] == [f"arn:aws:glue:us-east-1:{MESH}:table/{SALES_DB}/orders"]
    ram = sandbox_server.session(MARKETING).client("ram")
    invitations = ram.get_resource_share_invitations()["resourceShareInvitations"]
    shared = {i["resourceShareArn"] for i in invitations if i["senderAccountId"] == MESH}
    assert {name: share["type"] for name, share in got["RamShares"].items()} == {
        SALES_DB: "Database",
        "orders": "Table",
    }
    assert {share["arn"] for share in got["RamShares"].values()} == shared


def test_meshctl_adopts_a_library_request_and_leaves_undeclared_ones_alone(
    sandbox_server: ServerSandbox, library: Library, tmp_path: Path
) -> None:
    _seed(sandbox_server)
    # The library on a mesh it started: it creates the subscription table itself, then the two
    # requests — one for a pair mesh.yaml declares (finance reads logistics.shipments, pending),
    # one for a pair nobody declared (logistics reads finance's invoices).
    adopted, stray = library.request(
        Request(LOGISTICS, FINANCE, SHIPMENTS_DB, ("shipments", "carriers"), ("SELECT",)),
        Request(FINANCE, LOGISTICS, INVOICES_DB, ("invoices",), ("SELECT",)),
    )
    assert adopted != subscription_id(FINANCE, "logistics.shipments")  # the library's own id
    stray_item = library.get(stray)
    assert stray_item is not None and stray_item["Status"] == "Pending"

    plan = _plan(sandbox_server, EXAMPLE)
    records = [c for c in plan["changes"] if c["kind"] == "subscription"]
    # B: adopted as an update of the library's item, not a second create.
    pair = [c for c in records if c["address"].startswith("subscription.finance/logistics.")]
    assert len(pair) == 1, pair
    [change] = pair
    assert change["address"] == "subscription.finance/logistics.shipments"
    assert change["action"] == "update", change
    assert change["before"]["subscription_id"] == adopted
    assert change["after"]["subscription_id"] == adopted
    assert change["after"]["managed"] is True
    assert "adopt helper-library record" in change["reason"]
    # The table the library created is meshctl's subscription table as it is.
    assert all(
        c["action"] == "no-op" for c in plan["changes"] if c["kind"] == "subscriptions_table"
    )
    # C: the undeclared request is listed as unmanaged and left alone.
    [unmanaged] = [c for c in records if c["drift"] == "unmanaged"]
    assert unmanaged["action"] == "no-op"
    assert unmanaged["before"]["subscription_id"] == stray

    _apply(sandbox_server, EXAMPLE)

    [record] = _open_items(sandbox_server, FINANCE, SHIPMENTS_DB)
    assert record["SubscriptionId"] == adopted
    assert record["ManagedBy"] == "meshctl"
    assert record["Status"] == "Pending"
    assert record["ProductName"] == "logistics.shipments"
    # The library still reads the adopted record, through get and through its lists; the stray
    # request is untouched (same item, no meshctl attribute).
    seen = library.read(lists=[FINANCE], queues=[(LOGISTICS, "Pending")], gets=[adopted, stray])
    got = seen.items[adopted]
    assert got is not None and got["Status"] == "Pending"
    assert sorted(got["TableName"]) == ["carriers", "shipments"]
    assert adopted in seen.lists[FINANCE]
    assert adopted in seen.queues[(LOGISTICS, "Pending")]
    assert seen.items[stray] == stray_item
    assert "ManagedBy" not in stray_item and "Version" not in stray_item

    # The owner approves the adopted request in mesh.yaml: meshctl grants it, and the library
    # sees it Active with the grants, under its own id still.
    def approve(subs: list[dict[str, Any]]) -> None:
        sub = _subscription(subs, "finance", "logistics.shipments")
        sub.update(status="approved", approved_by="logistics-data@example.com")

    approved_file = _mesh_file(tmp_path, approve)
    _apply(sandbox_server, approved_file)
    own_id = subscription_id(FINANCE, "logistics.shipments")
    seen = library.read(gets=[adopted, own_id, stray])
    got = seen.items[adopted]
    assert got is not None and got["Status"] == "Active"
    assert got["PermittedGrants"] == ["SELECT"]
    assert got["ApprovedBy"] == "logistics-data@example.com"
    assert seen.items[own_id] is None  # no second record under meshctl's id
    assert seen.items[stray] == stray_item

    # Converged: planning again changes nothing (the stray request stays a listed no-op).
    again = _meshctl(sandbox_server, "plan", "-f", str(approved_file), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_meshctl_restores_a_record_a_repeated_library_request_overwrote(
    sandbox_server: ServerSandbox, library: Library
) -> None:
    """The library's known defect: a repeated request for the same tables and grants re-puts the
    item under the same id, dropping its grants and meshctl's attributes (the status stays).
    meshctl reads that as a helper-library item with its own id and writes it back."""
    _seed(sandbox_server)
    _apply(sandbox_server, EXAMPLE)
    orders = subscription_id(MARKETING, "sales.orders")

    [again] = library.request(
        Request(SALES, MARKETING, SALES_DB, ("orders",), ("DESCRIBE", "SELECT"))
    )
    assert again == orders  # the library took meshctl's item for its own earlier request
    clobbered = library.get(orders)
    assert clobbered is not None and clobbered["Status"] == "Active"
    assert "PermittedGrants" not in clobbered and "ManagedBy" not in clobbered

    plan = _plan(sandbox_server, EXAMPLE)
    [change] = [c for c in plan["changes"] if c["action"] != "no-op"]
    assert change["address"] == "subscription.marketing/sales.orders"
    assert change["action"] == "update"
    assert change["before"]["subscription_id"] == change["after"]["subscription_id"] == orders

    _apply(sandbox_server, EXAMPLE)
    restored = library.get(orders)
    assert restored is not None and restored["Status"] == "Active"
    assert sorted(restored["PermittedGrants"]) == ["DESCRIBE", "SELECT"]
    assert restored["ManagedBy"] == "meshctl"
    assert [i["SubscriptionId"] for i in _open_items(sandbox_server, MARKETING, SALES_DB)] == [
        orders
    ]


def test_meshctl_adopts_the_users_and_groups_the_library_made(
    sandbox_server: ServerSandbox, library: Library, tmp_path: Path
) -> None:
    """The library's own configure_iam makes DataMeshAdminReadOnly and DataMeshManager, each with
    a user and group (its managed policies attached). With ``iam_users: true`` meshctl adopts those
    pairs in place (updates, never a second user), creates the other pairs, and converges; the
    library's policies stay attached to its groups."""
    _seed(sandbox_server)
    made = library.configure_iam(
        ("DataMeshAdminReadOnly", "DataMeshReadOnlyPolicy", "data_mesh_read_only_policy.pystache"),
        ("DataMeshManager", "DataMeshManagerPolicy", "data_mesh_setup_iam_policy.pystache"),
    )
    assert [m["user"] for m in made] == [
        f"arn:aws:iam::{MESH}:user/AwsDataMesh/DataMeshAdminReadOnly",
        f"arn:aws:iam::{MESH}:user/AwsDataMesh/DataMeshManager",
    ]
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    doc["mesh"]["iam_users"] = True
    mesh_file = tmp_path / "mesh.yaml"
    mesh_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    changes = {c["address"]: c for c in _plan(sandbox_server, mesh_file)["changes"]}
    for role in ("DataMeshAdminReadOnly", "DataMeshManager"):
        change = changes[f"iam_user.{MESH}/{role}"]
        assert change["action"] == "update", change
        assert change["before"]["user_exists"] and change["before"]["in_group"]
        assert not change["before"]["managed_by_meshctl"]
    creates = [c for c in changes.values() if c["kind"] == "iam_user" and c["action"] == "create"]
    assert len(creates) == 12

    _apply(sandbox_server, mesh_file)
    assert not [c for c in _plan(sandbox_server, mesh_file)["changes"] if c["action"] != "no-op"]
    iam = sandbox_server.session(MESH).client("iam")
    users = iam.list_users(PathPrefix="/AwsDataMesh/")["Users"]
    assert len(users) == 8  # one each: no second user beside an adopted role
    group = "DataMeshManagerGroup"
    attached = {
        p["PolicyName"]
        for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    }
    assert {"DataMeshManagerPolicy", "AssumeDataMeshManager"} <= attached
    assert iam.list_group_policies(GroupName=group)["PolicyNames"] == ["AssumeDataMeshManager"]
