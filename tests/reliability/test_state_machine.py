"""A stateful property test: any sequence of the edits a platform team makes converges, and no
apply takes away more (or less) than its plan said.

The machine (``MeshEdits``) holds a mesh document over a small universe (``_edits.py``: two
producers, three consumers, three products of two tables) and an empty, seeded in-process sandbox
of its own per example. Its rules edit the file (accounts, products, subscriptions: status,
permissions, tables, ``expires``, ``grantable``) or AWS behind meshctl's back (a helper-library
request with or without its grants, a grant or a revoke by hand, a status changed by the library).
After every rule it runs plan → apply → plan through ``Engine`` and checks, straight against AWS:

- ``ApplyFailed``: the apply had no failed or skipped change;
- ``RevokesDiffer``: the permissions apply took away (ListPermissions before and after) are
  exactly the ones the plan announced (grant deletes, and what grant updates drop);
- ``UnmanagedGrantTouched``: every grant the machine made by hand (and every grant the library
  made for a request the file does not declare) is still there — no ``--prune`` is ever given —
  unless the plan deleted its database or table and said that the grant goes with it;
- ``GrantUnbacked``: every other grant to an account on a mesh database or table is its
  producer's, or backed by an approved, unexpired subscription (tables, permissions, options);
- ``RecordLost`` / ``RecordWrong``: every subscription record ever seen is still in the table;
  each declared pair has one live meshctl record with the declared status (none when expired);
  every record whose subscription left the file (or expired) is ``Deleted`` with a note;
- ``LfTagsWrong``: the LF-tags meshctl recorded on each mesh database are attached;
- ``NotConverged``: the plan after the apply has no effective change.

A failure prints the shrunk sequence of rules with their arguments (pairs as
``consumer/product``, subscription entries as they would appear in mesh.yaml). ``make test`` runs
a few derandomized examples (about a minute); ``make reliability`` sets
``MESHCTL_STATE_MACHINE_EXAMPLES`` and runs many more, randomized. ``bench/report.py`` calls
``run_for_report``, which counts steps and violations instead of failing.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import boto3
import yaml
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support.sandbox import ProcessEnv, in_process_sandbox

from meshctl.applier import Status
from meshctl.aws.sessions import AccountSessions
from meshctl.engine import Engine
from meshctl.observed import Grant, LfResource, ResourceType
from meshctl.planning.canonical import expand
from meshctl.planning.plan import Plan
from meshctl.sandbox.seed import seed_producers
from meshctl.sandbox.sessions import botocore_session
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSettings, MeshSpec

from . import _edits as edits
from ._edits import GrantKey
from ._mesh import lf_tag_problems, scan_items

T = TypeVar("T")

# `make reliability` sets the number of examples; `make test` runs a fixed, derandomized few.
EXAMPLES = int(os.environ.get("MESHCTL_STATE_MACHINE_EXAMPLES") or 0)
STEPS = int(os.environ.get("MESHCTL_STATE_MACHINE_STEPS") or (15 if EXAMPLES else 10))
SETTINGS = settings(
    max_examples=EXAMPLES or 14,
    stateful_step_count=STEPS,
    deadline=None,
    database=None,  # no .hypothesis/ in the repository; a failure prints its sequence
    derandomize=not EXAMPLES,  # make test is reproducible; make reliability explores
    print_blob=bool(EXAMPLES),
    # No explain phase: it replays every step of a failing sequence many more times.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BY_ID = {aid: name for name, (aid, _) in edits.ACCOUNTS.items()}


# --- what can go wrong, one class each (hypothesis tells failures apart by exception type) ---


class Violation(AssertionError):
    """An invariant broken after an edit."""


class ApplyFailed(Violation):
    pass


class RevokesDiffer(Violation):
    pass


class UnmanagedGrantTouched(Violation):
    pass


class GrantUnbacked(Violation):
    pass


class RecordLost(Violation):
    pass


class RecordWrong(Violation):
    pass


class LfTagsWrong(Violation):
    pass


class NotConverged(Violation):
    pass


ORDER: tuple[type[Violation], ...] = (
    ApplyFailed,
    RevokesDiffer,
    UnmanagedGrantTouched,
    GrantUnbacked,
    RecordLost,
    RecordWrong,
    LfTagsWrong,
    NotConverged,
)


@dataclass
class Tally:
    """Examples and steps run, and violations seen (counting mode), for bench/report.py."""

    examples: int = 0
    steps: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)


TALLY = Tally()


# --- strategies -----------------------------------------------------------------------------------

# Shrinking goes to the first element: SELECT, approved, no expiry, every table.
PERMISSIONS = ("SELECT", "DESCRIBE", "INSERT", "ALTER", "DELETE", "DROP", "ALL")
STATUSES = ("approved", "pending", "denied")
EXPIRY = st.sampled_from((None, *edits.EXPIRES))
ACCESS = st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=3, unique=True).flatmap(
    lambda perms: st.tuples(
        st.just(perms), st.lists(st.sampled_from(perms), max_size=2, unique=True)
    )
)


def _tables(product: str) -> st.SearchStrategy[list[str] | None]:
    names = edits.PRODUCTS[product]["tables"]
    return st.one_of(
        st.none(), st.lists(st.sampled_from(names), min_size=1, unique=True).map(sorted)
    )


def _entry(pair: str) -> st.SearchStrategy[dict[str, Any]]:
    """A new subscription entry for ``pair``, as it would be written in mesh.yaml."""
    _, product = edits.split(pair)
    return st.builds(
        lambda access, status, tables, expires: edits.new_entry(
            pair,
            permissions=access[0],
            grantable=access[1],
            status=status,
            tables=tables,
            expires=expires,
        ),
        ACCESS,
        st.sampled_from(STATUSES),
        _tables(product),
        EXPIRY,
    )


def _pick(choices: Callable[[MeshEdits], Sequence[T]]) -> st.SearchStrategy[T]:
    """One of what is valid in the machine's current state (the rule's precondition makes sure
    there is one), so every drawn step is a real edit and prints as the value itself."""
    return st.runner().flatmap(lambda machine: st.sampled_from(choices(machine)))


def _drawn(make: Callable[[MeshEdits], st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    return st.runner().flatmap(make)


# --- the machine --------------------------------------------------------------------------------


class MeshEdits(RuleBasedStateMachine):
    counting = False  # bench/report.py: count violations instead of failing

    def __init__(self) -> None:
        super().__init__()
        TALLY.examples += 1
        self._env = ProcessEnv()
        self._stack = ExitStack()
        try:
            sandbox = self._stack.enter_context(in_process_sandbox(self._env))
            tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        except BaseException:
            self.teardown()
            raise
        self.session_for = cache(sandbox.session)
        self.path = tmp / "mesh.yaml"
        self.doc = edits.initial_doc()
        self._write()
        seed_producers(load_spec(self.path), self.session_for)
        # One set of sessions per example, on the sandbox's shared botocore loader: a new
        # Engine per step would otherwise spend a second parsing service models.
        base = boto3.Session(botocore_session=botocore_session(), region_name=edits.REGION)
        self.sessions = AccountSessions(MeshSettings(edits.MESH, edits.REGION), base_session=base)
        # Grants made behind meshctl's back that it must leave alone.
        self.hand: dict[GrantKey, Grant] = {}
        self.library_grants: dict[GrantKey, Grant] = {}  # while their request is undeclared
        self.library_ids: dict[str, str] = {}  # helper-library request id -> pair
        self.seen_ids: set[str] = set()
        self.must_be_archived: dict[str, str] = {}  # record id -> why
        self.declared_before: set[str] = set()
        self.grants: dict[GrantKey, Grant] = {}  # after the last apply
        self.items: list[dict[str, Any]] = []  # after the last apply

    def teardown(self) -> None:
        try:
            self._stack.close()
        finally:
            self._env.restore()

    # --- the file -------------------------------------------------------------------------

    def _write(self) -> None:
        self.path.write_text(yaml.safe_dump(self.doc, sort_keys=False), encoding="utf-8")

    def _entry_of(self, pair: str) -> dict[str, Any]:
        return edits.declared(self.doc)[pair]

    def _declared(self) -> list[str]:
        return sorted(edits.declared(self.doc))

    def _removable_accounts(self) -> list[str]:
        used = {p["producer"] for p in self.doc["products"].values()}
        used |= {s["consumer"] for s in self.doc["subscriptions"]}
        return [a for a in self.doc["accounts"] if a not in used]

    def _addable_products(self) -> list[str]:
        return [
            p
            for p, spec in edits.PRODUCTS.items()
            if p not in self.doc["products"] and spec["producer"] in self.doc["accounts"]
        ]

    # --- rules: the mesh file -------------------------------------------------------------

    @initialize(
        entries=st.lists(st.sampled_from(edits.PAIRS), max_size=3, unique=True).flatmap(
            lambda pairs: st.tuples(*(_entry(p) for p in pairs)).map(list)
        )
    )
    def start(self, entries: list[dict[str, Any]]) -> None:
        """Every account and product, and a few subscriptions, applied to an empty sandbox."""
        self.doc["subscriptions"] = entries
        self._converge()

    @precondition(lambda self: len(self.doc["accounts"]) < len(edits.ACCOUNTS))
    @rule(name=_pick(lambda m: [a for a in edits.ACCOUNTS if a not in m.doc["accounts"]]))
    def add_account(self, name: str) -> None:
        aid, roles = edits.ACCOUNTS[name]
        self.doc["accounts"][name] = {"account_id": aid, "roles": list(roles)}
        self._converge()

    @precondition(lambda self: bool(self._removable_accounts()))
    @rule(name=_pick(lambda m: m._removable_accounts()))
    def remove_account(self, name: str) -> None:
        del self.doc["accounts"][name]
        self._converge()

    @precondition(lambda self: bool(self._addable_products()))
    @rule(name=_pick(lambda m: m._addable_products()))
    def add_product(self, name: str) -> None:
        self.doc["products"][name] = dict(edits.PRODUCTS[name])
        self._converge()

    @precondition(lambda self: bool(self.doc["products"]))
    @rule(name=_pick(lambda m: sorted(m.doc["products"])))
    def remove_product(self, name: str) -> None:
        """The product and every subscription to it leave the file together."""
        del self.doc["products"][name]
        self.doc["subscriptions"] = [s for s in self.doc["subscriptions"] if s["product"] != name]
        self._converge()

    @precondition(lambda self: bool(edits.insertable(self.doc)))
    @rule(entry=_drawn(lambda m: st.sampled_from(edits.insertable(m.doc)).flatmap(_entry)))
    def add_subscription(self, entry: dict[str, Any]) -> None:
        self.doc["subscriptions"].append(entry)
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(pair=_pick(lambda m: m._declared()))
    def remove_subscription(self, pair: str) -> None:
        self.doc["subscriptions"].remove(self._entry_of(pair))
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(pair=_pick(lambda m: m._declared()), status=st.sampled_from(STATUSES))
    def set_status(self, pair: str, status: str) -> None:
        """Approve (naming an owner), deny, or set back to pending."""
        edits.approve(self._entry_of(pair), status)
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(pair=_pick(lambda m: m._declared()), access=ACCESS)
    def set_permissions(self, pair: str, access: tuple[list[str], list[str]]) -> None:
        """Narrow or widen (permissions, grantable)."""
        entry = self._entry_of(pair)
        entry["permissions"] = access[0]
        entry.pop("grantable", None)
        if access[1]:
            entry["grantable"] = access[1]
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(
        change=_drawn(
            lambda m: st.sampled_from(m._declared()).flatmap(
                lambda pair: st.fixed_dictionaries(
                    {"subscription": st.just(pair), "tables": _tables(edits.split(pair)[1])}
                )
            )
        )
    )
    def set_tables(self, change: dict[str, Any]) -> None:
        """Narrow or widen the tables (None: every table of the product)."""
        entry = self._entry_of(change["subscription"])
        entry.pop("tables", None)
        if change["tables"] is not None:
            entry["tables"] = change["tables"]
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(pair=_pick(lambda m: m._declared()), expires=EXPIRY)
    def set_expires(self, pair: str, expires: str | None) -> None:
        entry = self._entry_of(pair)
        entry.pop("expires", None)
        if expires is not None:
            entry["expires"] = expires
        self._converge()

    @precondition(lambda self: bool(self.doc["subscriptions"]))
    @rule(pair=_pick(lambda m: m._declared()))
    def toggle_grantable(self, pair: str) -> None:
        """No grant option → every permission grantable; some → none."""
        entry = self._entry_of(pair)
        if entry.pop("grantable", None) is None:
            entry["grantable"] = list(entry["permissions"])
        self._converge()

    # --- rules: behind meshctl's back -----------------------------------------------------

    def _requestable(self) -> list[str]:
        """Pairs the library may request: product live, not declared, no record of the pair."""
        taken = edits.declared(self.doc)
        recorded = {edits.item_key(i) for i in self.items}
        return [
            pair
            for pair in edits.PAIRS
            if edits.split(pair)[1] in self.doc["products"]
            and pair not in taken
            and edits.pair_key(pair) not in recorded
        ]

    def _request(self, pair: str) -> st.SearchStrategy[dict[str, Any]]:
        consumer, product = edits.split(pair)
        declare = (None, *STATUSES) if consumer in self.doc["accounts"] else (None,)
        return st.fixed_dictionaries(
            {
                "subscription": st.just(pair),
                "status": st.sampled_from(("Active", "Pending")),
                "tables": st.lists(
                    st.sampled_from(edits.PRODUCTS[product]["tables"]), min_size=1, unique=True
                ).map(sorted),
                "permissions": st.lists(
                    st.sampled_from(PERMISSIONS[:-1]), min_size=1, max_size=2, unique=True
                ),
                "with_grants": st.booleans(),
                "declare_as": st.sampled_from(declare),
            }
        )

    @precondition(lambda self: bool(self._requestable()))
    @rule(request=_drawn(lambda m: st.sampled_from(m._requestable()).flatmap(m._request)))
    def library_request(self, request: dict[str, Any]) -> None:
        """The helper library's item (its own id, no ManagedBy/Version); for an Active one
        optionally the grants the library makes; then the file declares it (adoption) or not."""
        pair = request["subscription"]
        product = edits.split(pair)[1]
        sid = f"LibraryRequest{len(self.library_ids) + 1:04d}"
        self.library_ids[sid] = pair
        edits.put_library_request(
            self.session_for,
            sid,
            pair,
            status=request["status"],
            tables=request["tables"],
            permissions=request["permissions"],
        )
        if request["status"] == "Active" and request["with_grants"]:
            cid, db = edits.pair_key(pair)
            made = [("", ["DESCRIBE"])] + [(t, request["permissions"]) for t in request["tables"]]
            for table, perms in made:
                edits.grant_by_hand(self.session_for, cid, db, table, perms)
                self._track(self.library_grants, cid, db, table, perms)
        if request["declare_as"] is not None:
            tables = request["tables"]
            every = sorted(edits.PRODUCTS[product]["tables"])
            entry = edits.new_entry(
                pair,
                permissions=request["permissions"],
                status=request["declare_as"],
                tables=None if tables == every else tables,
            )
            self.doc["subscriptions"].append(entry)
        self._converge()

    def _track(
        self, where: dict[GrantKey, Grant], principal: str, db: str, table: str, perms: list[str]
    ) -> None:
        kind = ResourceType.TABLE if table else ResourceType.DATABASE
        resource = LfResource(kind, edits.MESH, db, table)
        old = where.get((principal, db, table))
        held = expand(perms, kind) | (old.permissions if old else frozenset())
        where[(principal, db, table)] = Grant(principal, resource, held)

    def _hand_targets(self) -> list[tuple[str, str]]:
        return [
            (edits.mesh_database(p), t)
            for p in sorted(self.doc["products"])
            for t in ("", *edits.PRODUCTS[p]["tables"])
        ]

    @precondition(lambda self: bool(self.doc["products"]))
    @rule(
        grant=_drawn(
            lambda m: st.sampled_from(m._hand_targets()).flatmap(
                lambda target: st.fixed_dictionaries(
                    {
                        "principal": st.sampled_from(edits.HAND_PRINCIPALS),
                        "database": st.just(target[0]),
                        "table": st.just(target[1]),
                        "permissions": st.just(["DESCRIBE"])
                        if not target[1]
                        else st.lists(
                            st.sampled_from(PERMISSIONS), min_size=1, max_size=2, unique=True
                        ),
                    }
                )
            )
        )
    )
    def grant_by_hand(self, grant: dict[str, Any]) -> None:
        """A grant made in the console to someone outside the mesh's subscriptions."""
        principal, db, table = grant["principal"], grant["database"], grant["table"]
        edits.grant_by_hand(self.session_for, principal, db, table, grant["permissions"])
        self._track(self.hand, principal, db, table, grant["permissions"])
        self._converge()

    def _managed_grants(self) -> list[GrantKey]:
        exempt = set(self.hand) | set(self.library_grants)
        return sorted(k for k, g in self.grants.items() if k not in exempt and k[1])

    @precondition(lambda self: bool(self._managed_grants()))
    @rule(grant=_pick(lambda m: m._managed_grants()))
    def revoke_by_hand(self, grant: GrantKey) -> None:
        """Someone revokes a grant meshctl made (a subscriber's, a producer's, a mesh role's)
        in the console; the next apply restores it."""
        edits.revoke_by_hand(self.session_for, self.grants[grant])
        self._converge()

    def _editable_records(self) -> list[dict[str, Any]]:
        declared_keys = {edits.pair_key(p) for p in self._declared()}
        out = []
        for item in self.items:
            sid, status = str(item["SubscriptionId"]), str(item.get("Status"))
            key = edits.item_key(item)
            if item.get("ManagedBy") != "meshctl":
                # The library's own request: only while the file does not declare its pair
                # and nothing else is open for it (else adoption has two candidates).
                others = [
                    i
                    for i in self.items
                    if i is not item and edits.item_key(i) == key and i.get("Status") != "Deleted"
                ]
                if key in declared_keys or others:
                    continue
            consumer = BY_ID.get(key[0], key[0])
            label = f"{consumer}/{item.get('ProductName') or key[1]}"
            for new in ("Pending", "Active", "Denied", "Deleted"):
                if new != status:
                    out.append({"record": sid, "subscription": label, "status": new})
        return out

    @precondition(lambda self: bool(self._editable_records()))
    @rule(edit=_pick(lambda m: m._editable_records()))
    def edit_record_by_hand(self, edit: dict[str, str]) -> None:
        """The library (or a person) changes a record's Status without meshctl's Version."""
        edits.set_status_by_hand(self.session_for, edit["record"], edit["status"])
        self._converge()

    # --- plan → apply → plan, and the invariants ------------------------------------------

    def _engine(self) -> Engine:
        engine = Engine(self.path, clock=lambda: edits.NOW)
        engine.sessions = self.sessions  # type: ignore[misc]  # the example's shared sessions
        return engine

    def _converge(self) -> None:
        TALLY.steps += 1
        self._write()
        spec = load_spec(self.path)  # every rule keeps the file valid; a ValidationError is ours
        today = edits.NOW.date()
        self._expect_archives(spec)
        engine = self._engine()
        with engine.locked("apply"):
            before = edits.live_grants(self.session_for, spec)
            plan = engine.plan()
            result = engine.execute(plan, max_revokes=25, allow_mass_revoke=True)
        after = edits.live_grants(self.session_for, spec)
        again = self._engine().plan()
        items = _scan(self.session_for, spec)

        problems: dict[type[Violation], list[str]] = {cls: [] for cls in ORDER}
        problems[ApplyFailed] = [
            f"{r.change.address} ({r.change.action.value}): {r.status.value}: {r.error}"
            for r in result.results
            if r.status is not Status.DONE
        ]
        problems[RevokesDiffer] = _revoke_problems(plan, before, after)
        problems[UnmanagedGrantTouched] = self._untouched_problems(plan, after)
        exempt = set(self.hand) | set(self.library_grants)
        problems[GrantUnbacked] = edits.unbacked_grants(after.values(), spec, today, exempt)
        ids = {str(i["SubscriptionId"]) for i in items}
        problems[RecordLost] = [f"record {sid} is gone" for sid in sorted(self.seen_ids - ids)]
        problems[RecordWrong] = self._record_problems(spec, items)
        problems[LfTagsWrong] = lf_tag_problems(self.session_for, spec)
        problems[NotConverged] = [
            f"{c.address} {c.action.value}: {c.reason}" for c in again.effective_changes
        ]

        self.grants, self.items = after, items
        self.seen_ids |= ids
        self.declared_before = set(edits.declared(self.doc))
        self._judge(problems, plan)

    def _judge(self, problems: dict[type[Violation], list[str]], plan: Plan) -> None:
        found = [(cls, lines) for cls, lines in problems.items() if lines]
        if not found:
            return
        if self.counting:
            for cls, lines in found:
                TALLY.violations[cls.__name__] += 1
                TALLY.first.setdefault(cls.__name__, lines[0])
            return
        cls = found[0][0]
        report = [f"{c.__name__}:\n  " + "\n  ".join(lines) for c, lines in found]
        shown = [f"  {c.action.value:6} {c.address}: {c.reason}" for c in plan.changes]
        raise cls("\n".join(report) + "\nthe plan was:\n" + "\n".join(shown))

    def _expect_archives(self, spec: MeshSpec) -> None:
        """Before the apply: records whose subscription left the file, or expired, must end
        ``Deleted``. Also adopts (stops protecting) library grants of a pair now declared."""
        self.items = _scan(self.session_for, spec)
        self.seen_ids |= {str(i["SubscriptionId"]) for i in self.items}
        now = set(edits.declared(self.doc))
        expired = {
            f"{s.consumer}/{s.product}"
            for s in spec.subscriptions
            if s.expires is not None and s.expires <= edits.NOW.date()
        }
        for pair in (self.declared_before - now) | expired:
            why = "expired" if pair in expired else "removed from the file"
            for item in self.items:
                if edits.item_key(item) == edits.pair_key(pair) and item.get("Status") != "Deleted":
                    self.must_be_archived[str(item["SubscriptionId"])] = f"{pair} ({why})"
        declared_keys = {edits.pair_key(p) for p in now}
        for key in [k for k in self.library_grants if k[:2] in declared_keys]:
            del self.library_grants[key]  # adopted with its request: meshctl's from now on

    def _untouched_problems(self, plan: Plan, after: dict[GrantKey, Grant]) -> list[str]:
        announced = edits.announced_revokes(plan)
        deleted = edits.deleted_resources(plan)
        noops = {c.address: c.reason for c in plan.changes}
        problems = []
        for where in (self.hand, self.library_grants):
            for key, grant in list(where.items()):
                live = after.get(key)
                lost = grant.permissions - (live.permissions if live else frozenset())
                if not lost:
                    continue
                _, db, table = key
                gone = (db, "") in deleted or (db, table) in deleted
                said = noops.get(grant.address, "not in the plan")
                if gone:
                    del where[key]  # its database or table is gone: nothing left to protect
                    if not edits.tokens(grant) <= announced:
                        problems.append(
                            f"{grant.address}: destroyed with its database/table, but the plan "
                            f"said: {said}"
                        )
                else:
                    problems.append(
                        f"{grant.address}: {sorted(lost)} revoked without --prune (plan: {said})"
                    )
        return problems

    def _record_problems(self, spec: MeshSpec, items: list[dict[str, Any]]) -> list[str]:
        today = edits.NOW.date()
        by_id = {str(i["SubscriptionId"]): i for i in items}
        live = [i for i in items if i.get("Status") != "Deleted"]
        problems = []
        matched: set[str] = set()
        revived: set[str] = set()
        declared_keys = set()
        for sub in spec.subscriptions:
            key = (spec.account(sub.consumer).account_id, spec.product(sub.product).mesh_database)
            declared_keys.add(key)
            found = [i for i in live if edits.item_key(i) == key]
            matched |= {str(i["SubscriptionId"]) for i in found}
            shown = [f"{i['SubscriptionId']} {i.get('Status')}" for i in found]
            if sub.expires is not None and sub.expires <= today:
                if found:
                    problems.append(f"{sub.key} expired on {sub.expires}, records live: {shown}")
                continue
            mine = [i for i in found if i.get("ManagedBy") == "meshctl"]
            if len(found) != 1 or len(mine) != 1:
                problems.append(f"{sub.key}: live records {shown}, expected one of meshctl's")
                continue
            item = mine[0]
            revived.add(str(item["SubscriptionId"]))
            want = edits.STATUS_WORD[sub.status.value]
            if item.get("Status") != want:
                problems.append(f"{sub.key}: record is {item.get('Status')}, declared {want}")
            if item.get("ProductName") != sub.product or not item.get("Version"):
                problems.append(f"{sub.key}: record lacks meshctl's bookkeeping: {item}")
        for item in live:
            sid = str(item["SubscriptionId"])
            if sid in matched:
                continue
            pending_library = sid in self.library_ids and item.get("ManagedBy") is None
            if pending_library and edits.item_key(item) not in declared_keys:
                continue  # the library's request the file does not declare: left alone
            problems.append(
                f"record {sid} {edits.item_key(item)} is {item.get('Status')}, undeclared"
            )
        for sid, why in list(self.must_be_archived.items()):
            if sid in revived:
                del self.must_be_archived[sid]  # declared again: the record was revived
                continue
            item = by_id.get(sid)
            if item is None:
                continue  # RecordLost says so
            notes = item.get("Notes") or set()
            notes = {notes} if isinstance(notes, str) else set(notes)
            if item.get("Status") != "Deleted":
                problems.append(f"record {sid} of {why} is {item.get('Status')}, not Deleted")
            elif not any("archived" in str(n).lower() for n in notes):
                problems.append(f"record {sid} of {why} is Deleted without a note: {notes}")
        return problems


def _scan(session_for: edits.SessionFor, spec: MeshSpec) -> list[dict[str, Any]]:
    """Every subscription item; none before the first apply made the table."""
    try:
        return scan_items(session_for, spec)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise


def _revoke_problems(
    plan: Plan, before: dict[GrantKey, Grant], after: dict[GrantKey, Grant]
) -> list[str]:
    """What apply took away must be exactly what the plan announced."""
    taken = edits.all_tokens(before.values()) - edits.all_tokens(after.values())
    announced = edits.announced_revokes(plan)
    listed = {c.address.removeprefix("grant."): c for c in plan.changes}
    problems = []
    for principal, resource, what in sorted(taken - announced):
        change = listed.get(f"{principal}/{resource}")
        said = f"{change.action.value}: {change.reason}" if change else "not in the plan"
        problems.append(f"silently revoked {what} of {principal} on {resource} (plan: {said})")
    for principal, resource, what in sorted(announced - taken):
        problems.append(f"announced revoke of {what} of {principal} on {resource} not made")
    return problems


def test_any_sequence_of_edits_converges_and_revokes_only_what_the_plan_says() -> None:
    run_state_machine_as_test(MeshEdits, settings=SETTINGS)


# --- for bench/report.py ------------------------------------------------------------------------


class _CountingMeshEdits(MeshEdits):
    counting = True


def run_for_report(examples: int, steps: int) -> Tally:
    """Run ``examples`` derandomized examples of up to ``steps`` rules each, counting steps and
    the steps that broke an invariant (no shrinking, no failure)."""
    global TALLY
    TALLY = Tally()
    run_state_machine_as_test(
        _CountingMeshEdits,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    return TALLY
