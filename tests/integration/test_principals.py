"""Subscriptions that name the consumer's IAM roles (``principals``): the access reaches the roles
that run queries, not only the account (the helper library's upstream issue #26: "the consumer
role can see the database but not the table").

Each test starts from examples/mesh.yaml applied to a seeded sandbox, edits the file as a user
would, applies, and checks Lake Formation as the consumer's analyst would need it: grants on the
mesh database and tables to the role, DESCRIBE on the consumer's resource link (in the consumer's
own catalog), nothing left to the account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.sandbox import InProcessSandbox

from meshctl.errors import ValidationError
from meshctl.planning.plan import Action, Kind
from meshctl.planning.planner import revoke_count
from meshctl.sandbox.seed import seed_principals
from meshctl.spec.load import load_spec

from .test_apply import (
    LOGISTICS,
    MESH,
    SALES_DB,
    Grants,
    Mesh,
    glue_database,
    live_grants,
    record,
)

ANALYST = f"arn:aws:iam::{LOGISTICS}:role/analyst"
REPORTING = f"arn:aws:iam::{LOGISTICS}:role/athena-reporting"
SUB = ("logistics", "sales.orders")


def link_grants(sandbox: InProcessSandbox, account_id: str, database: str) -> Grants:
    """Grants on the account's resource link, from ListPermissions in the account's catalog."""
    lf = sandbox.session(account_id).client("lakeformation")
    out: Grants = {}
    for entry in lf.list_permissions(CatalogId=account_id)["PrincipalResourcePermissions"]:
        db = entry["Resource"].get("Database")
        if db is not None and db["Name"] == database:
            principal = entry["Principal"]["DataLakePrincipalIdentifier"]
            out[(principal, database, "")] = (
                frozenset(entry.get("Permissions", ())),
                frozenset(entry.get("PermissionsWithGrantOption", ())),
            )
    return out


def mesh_grants(sandbox: InProcessSandbox, principal: str) -> Grants:
    return {k: v for k, v in live_grants(sandbox, principal).items() if k[1] == SALES_DB}


def name_principals(mesh: Mesh, *principals: str) -> None:
    """The file names ``principals`` on logistics' subscription to sales.orders; the consumer's
    IaC has made those roles (the sandbox's seed stands for it)."""
    mesh.file.edit(*SUB, principals=list(principals) or None)
    seed_principals(mesh.engine().spec, mesh.sandbox.session)


def delete_role(sandbox: InProcessSandbox, name: str) -> None:
    sandbox.session(LOGISTICS).client("iam").delete_role(RoleName=name)


READ = (frozenset({"DESCRIBE", "SELECT"}), frozenset())
DESCRIBE = (frozenset({"DESCRIBE"}), frozenset())


def test_principals_get_the_access_and_the_account_does_not(applied: Mesh) -> None:
    sandbox = applied.sandbox
    assert mesh_grants(sandbox, LOGISTICS), "before: the account is the grantee"
    name_principals(applied, "role/analyst", REPORTING)

    run = applied.apply_ok()

    for role in (ANALYST, REPORTING):
        assert mesh_grants(sandbox, role) == {
            (role, SALES_DB, ""): DESCRIBE,
            (role, SALES_DB, "orders"): READ,
            (role, SALES_DB, "order_lines"): READ,
        }
    assert mesh_grants(sandbox, LOGISTICS) == {}
    # DESCRIBE on the consumer's resource link, in the consumer's own catalog.
    assert glue_database(sandbox, LOGISTICS, SALES_DB) is not None
    assert link_grants(sandbox, LOGISTICS, SALES_DB) == {
        (ANALYST, SALES_DB, ""): DESCRIBE,
        (REPORTING, SALES_DB, ""): DESCRIBE,
    }
    # The record: the account stays the subscriber (the helper library reads it), plus Principals.
    item = record(sandbox, LOGISTICS, "sales.orders")
    assert item["SubscriberPrincipal"] == LOGISTICS
    assert item["Principals"] == [ANALYST, REPORTING]
    assert item["Status"] == "Active"
    # The new grants came before the account's revokes, and every one is counted.
    order = [(c.address, c.action) for c in run.plan.effective_changes if c.kind is Kind.GRANT]
    first_revoke = min(i for i, (_, a) in enumerate(order) if a is Action.DELETE)
    assert all(a is Action.CREATE for _, a in order[:first_revoke])
    assert all(a is Action.DELETE for _, a in order[first_revoke:])
    assert revoke_count(run.plan) == 3  # the account's DESCRIBE, orders, order_lines


def test_a_principal_added_removed_and_replaced_is_an_ordinary_update(applied: Mesh) -> None:
    sandbox = applied.sandbox
    name_principals(applied, "role/analyst")
    applied.apply_ok()

    name_principals(applied, "role/athena-reporting")  # replaced
    run = applied.apply_ok()
    grants = [c for c in run.plan.effective_changes if c.kind is Kind.GRANT]
    created = {c.address for c in grants if c.action is Action.CREATE}
    deleted = {c.address for c in grants if c.action is Action.DELETE}
    assert all(REPORTING in a for a in created) and len(created) == 4
    assert all(ANALYST in a for a in deleted) and len(deleted) == 4
    positions = [i for i, c in enumerate(grants) if c.action is Action.CREATE]
    assert max(positions) < min(i for i, c in enumerate(grants) if c.action is Action.DELETE)
    assert mesh_grants(sandbox, ANALYST) == {}
    assert link_grants(sandbox, LOGISTICS, SALES_DB) == {(REPORTING, SALES_DB, ""): DESCRIBE}

    name_principals(applied)  # removed: the account is the grantee again
    applied.apply_ok()
    assert mesh_grants(sandbox, REPORTING) == {}
    assert link_grants(sandbox, LOGISTICS, SALES_DB) == {}
    assert mesh_grants(sandbox, LOGISTICS)[(LOGISTICS, SALES_DB, "orders")] == READ
    assert "Principals" not in record(sandbox, LOGISTICS, "sales.orders")


def test_principals_never_get_more_than_the_subscription(applied: Mesh) -> None:
    name_principals(applied, "role/analyst")
    applied.apply_ok()
    applied.file.edit(*SUB, permissions=["SELECT"], tables=["orders"])
    run = applied.apply_ok()
    assert revoke_count(run.plan) == 2  # DESCRIBE off orders, order_lines revoked
    assert mesh_grants(applied.sandbox, ANALYST) == {
        (ANALYST, SALES_DB, ""): DESCRIBE,
        (ANALYST, SALES_DB, "orders"): (frozenset({"SELECT"}), frozenset()),
    }


def test_a_missing_role_is_a_warning_and_converges_when_it_returns(applied: Mesh) -> None:
    sandbox = applied.sandbox
    name_principals(applied, "role/analyst", "role/athena-reporting")
    applied.apply_ok()
    delete_role(sandbox, "athena-reporting")

    plan = applied.plan()
    assert not plan.has_changes  # what it held is kept: no failure, no revoke
    [warning] = [w for w in plan.warnings if "athena-reporting" in w]
    assert "does not exist in account" in warning

    # A role named before it exists: nothing is granted to it, and the apply succeeds.
    applied.file.edit(*SUB, principals=["role/analyst", "role/athena-reporting", "role/new"])
    run = applied.apply()
    assert run.result.ok
    assert not any("role/new" in c.address for c in run.plan.effective_changes)
    assert mesh_grants(sandbox, f"arn:aws:iam::{LOGISTICS}:role/new") == {}

    seed_principals(applied.engine().spec, sandbox.session)  # the consumer's IaC runs
    plan = applied.plan()
    assert not [w for w in plan.warnings if "does not exist" in w]
    created = {c.address for c in plan.effective_changes if c.action is Action.CREATE}
    assert len([a for a in created if "role/new" in a]) == 4
    applied.apply_ok()
    assert (
        mesh_grants(sandbox, f"arn:aws:iam::{LOGISTICS}:role/new")[
            (f"arn:aws:iam::{LOGISTICS}:role/new", SALES_DB, "orders")
        ]
        == READ
    )


def test_removing_the_subscription_revokes_the_link_grants_before_the_link(applied: Mesh) -> None:
    sandbox = applied.sandbox
    name_principals(applied, "role/analyst")
    applied.apply_ok()
    applied.file.remove(*SUB)
    run = applied.apply_ok()
    addresses = [c.address for c in run.plan.effective_changes]
    link_grant = f"grant.{ANALYST}/database:{LOGISTICS}:{SALES_DB}"
    link = f"resource_link.{LOGISTICS}/{SALES_DB}"
    assert addresses.index(link_grant) < addresses.index(link)
    assert mesh_grants(sandbox, ANALYST) == {}
    assert glue_database(sandbox, LOGISTICS, SALES_DB) is None
    assert record(sandbox, LOGISTICS, "sales.orders")["Status"] == "Deleted"


def test_a_hand_made_grant_on_the_link_is_unmanaged_and_kept(applied: Mesh) -> None:
    sandbox = applied.sandbox
    name_principals(applied, "role/analyst")
    applied.apply_ok()
    lf: Any = sandbox.session(LOGISTICS).client("lakeformation")
    other = f"arn:aws:iam::{LOGISTICS}:role/someone-else"
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": other},
        Resource={"Database": {"CatalogId": LOGISTICS, "Name": SALES_DB}},
        Permissions=["DESCRIBE"],
    )
    plan = applied.plan()
    assert not plan.has_changes
    [kept] = [c for c in plan.changes if other in c.address]
    assert kept.action is Action.NOOP and kept.drift.value == "unmanaged"


def test_changing_the_cross_account_version_is_an_update_in_plan(applied: Mesh) -> None:
    applied.file.data["mesh"]["cross_account_version"] = 3
    applied.file.save()
    plan = applied.plan()
    [change] = plan.effective_changes
    assert (change.kind, change.action) == (Kind.LAKE_SETTINGS, Action.UPDATE)
    assert "cross-account sharing version 4 -> 3" in change.reason
    applied.apply_ok()
    lf = applied.sandbox.session(MESH).client("lakeformation")
    settings = lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    assert settings["Parameters"]["CROSS_ACCOUNT_VERSION"] == "3"


@pytest.mark.parametrize("version", [1, 2])
def test_principals_below_version_3_are_refused_before_any_aws_call(
    mesh: Mesh, version: int
) -> None:
    mesh.file.data["mesh"]["cross_account_version"] = version
    mesh.file.edit(*SUB, principals=["role/analyst"])
    with pytest.raises(ValidationError) as err:
        load_spec(mesh.file.path)
    # Each subscription naming principals is refused (the example's finance one too), each
    # message at its own line and naming the line of the version.
    problems = [str(p) for p in err.value.problems]
    assert len(problems) == 2
    version_line = f"{mesh.file.path}:{_line_of(mesh.file.path, 'cross_account_version')}"
    assert all(f"it is {version} ({version_line})" in p for p in problems), problems


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)
