"""What a reviewer sees of a plan (terminal, PR comment, JSON) and of an apply."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from rich.console import Console

from meshctl.codec import to_json
from meshctl.observed import (
    Column,
    Grant,
    LfResource,
    RecordStatus,
    ResourceType,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.planning.plan import Action, Change, Drift, GroupRef, Kind, Plan, Scope
from meshctl.render.markdown import (
    MARKDOWN_MARKER,
    render_apply_result,
    render_json,
    render_markdown,
    render_stats,
    render_text,
)

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
ORDERS = LfResource(ResourceType.TABLE, MESH, "sales_db", "orders")


def _grant(principal: str, perms: set[str], grantable: set[str] | None = None) -> Grant:
    return Grant(principal, ORDERS, frozenset(perms), frozenset(grantable or set()))


def _record(status: RecordStatus, version: int = 1, permitted: tuple[str, ...] = ()) -> Any:
    return to_json(
        SubscriptionRecord(
            subscription_id="6b3e",
            owner=PRODUCER,
            subscriber=CONSUMER,
            status=status,
            database="sales_db",
            tables=("orders",),
            requested=("SELECT",),
            permitted=permitted,
            managed=True,
            version=version,
            product="sales",
        )
    )


def _create(value: Any, kind: Kind, address: str) -> Change:
    return Change(address, kind, Action.CREATE, MESH, after=to_json(value), drift=Drift.MISSING)


def _grant_update(before: Grant, after: Grant) -> Change:
    return Change(
        before.address,
        Kind.GRANT,
        Action.UPDATE,
        MESH,
        before=to_json(before),
        after=to_json(after),
        drift=Drift.CHANGED,
        reason="permissions changed in mesh.yaml",
    )


def _unmanaged() -> Change:
    grant = Grant(
        "IAM_ALLOWED_PRINCIPALS",
        LfResource(ResourceType.DATABASE, MESH, "sales_db"),
        frozenset({"ALL"}),
    )
    return Change(
        grant.address,
        Kind.GRANT,
        Action.NOOP,
        MESH,
        before=to_json(grant),
        drift=Drift.UNMANAGED,
        reason="granted outside meshctl",
    )


def _full_plan() -> Plan:
    """3 creates, 1 update, 2 deletes (an archive and a revoke) and one unmanaged no-op."""
    role = Role(PRODUCER, "DataMeshProducer", "/AwsDataMesh/", "{}", "DataMeshProducer", "{}")
    table = Table(MESH, "sales_db", "orders", (Column("id", "int"),), location="s3://b/orders")
    changes = (
        _create(role, Kind.ROLE, role.address),
        _create(table, Kind.TABLE, table.address),
        _create(_grant(CONSUMER, {"SELECT", "DESCRIBE"}), Kind.GRANT, "grant.new"),
        _grant_update(_grant("888888888888", {"INSERT"}), _grant("888888888888", {"SELECT"})),
        Change(
            "subscription.old/sales",
            Kind.SUBSCRIPTION,
            Action.DELETE,
            MESH,
            before=_record(RecordStatus.ACTIVE),
            drift=Drift.ORPHANED,
            reason="removed from mesh.yaml",
        ),
        Change(
            _grant("777777777777", {"SELECT"}).address,
            Kind.GRANT,
            Action.DELETE,
            MESH,
            before=to_json(_grant("777777777777", {"SELECT"})),
            drift=Drift.ORPHANED,
        ),
        _unmanaged(),
    )
    # The planner gives every change its group; here: the role's account, then the product.
    groups = [GroupRef(Scope.ACCOUNT, PRODUCER)] + [GroupRef(Scope.DATABASE, "sales_db")] * 6
    changes = tuple(replace(c, group=g) for c, g in zip(changes, groups, strict=True))
    return Plan(
        plan_id="plan-1",
        mesh_file_sha256="a" * 64,
        observed_fingerprint="b" * 64,
        changes=changes,
        warnings=("IAMAllowedPrincipals has ALL on mesh database sales_db",),
        created_at="2025-01-01T00:00:00Z",
    )


def _text(plan: Plan, *, terminal: bool = False) -> str:
    console = Console(record=True, width=120, force_terminal=terminal)
    render_text(plan, console)
    return console.export_text(styles=terminal)


def _line_of(output: str, address: str) -> str:
    return next(line for line in output.splitlines() if f" {address} " in line)


def _schema_validator() -> Draft202012Validator:
    schema = json.loads((files("meshctl") / "schemas" / "plan.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_summary_line_counts_creates_updates_and_archives_last() -> None:
    out = _text(_full_plan())
    # 2 deletes and a grant update that drops INSERT: 3 toward the guard, shown in the summary.
    last = out.strip().splitlines()[-1]
    assert last == "Plan: 3 to create, 1 to update, 2 to archive/revoke (3 toward --max-revokes)."


def test_empty_plan_says_aws_matches_the_file() -> None:
    out = _text(Plan("p", "a", "b"))
    assert out.strip() == "No changes. AWS matches mesh.yaml."


def test_only_unmanaged_findings_is_no_changes_but_lists_them() -> None:
    out = _text(Plan("p", "a", "b", changes=(_unmanaged(),)))
    assert out.strip().splitlines()[-1] == "No changes. AWS matches mesh.yaml."
    assert "unmanaged, left alone (use --prune to remove)" in _line_of(out, _unmanaged().address)


def test_each_action_has_its_symbol_and_deletes_say_archive_or_revoke() -> None:
    plan = _full_plan()
    out = _text(plan)
    by_address = {c.address: c for c in plan.changes}
    expected = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: "?"}
    for address, change in by_address.items():
        assert _line_of(out, address).lstrip().startswith(expected[change.action] + " ")
    assert "archive" in _line_of(out, "subscription.old/sales")
    assert "revoke" in _line_of(out, _grant("777777777777", {"SELECT"}).address)


def test_changes_are_grouped_by_account_and_mesh_database() -> None:
    lines = _text(_full_plan()).splitlines()
    role_at = next(i for i, line in enumerate(lines) if "role.111111111111/" in line)
    archive_at = next(i for i, line in enumerate(lines) if "subscription.old/sales" in line)
    assert f"account {PRODUCER}" in lines[:role_at]
    # The subscription record and the grants and table of its product share one heading.
    heading = lines.index("mesh database sales_db")
    assert heading < archive_at and all("account" not in line for line in lines[heading:archive_at])


def test_grant_update_shows_added_and_removed_permissions() -> None:
    before = _grant("888888888888", {"DESCRIBE", "INSERT"})
    after = _grant("888888888888", {"DESCRIBE", "SELECT"}, {"SELECT"})
    out = _text(Plan("p", "a", "b", changes=(_grant_update(before, after),)))
    assert "permissions: +SELECT -INSERT" in out
    assert "grantable: +SELECT" in out
    assert "permissions changed in mesh.yaml" in out


def test_subscription_update_shows_status_not_bookkeeping() -> None:
    change = Change(
        "subscription.analytics/sales",
        Kind.SUBSCRIPTION,
        Action.UPDATE,
        MESH,
        before=_record(RecordStatus.PENDING, version=3),
        after=_record(RecordStatus.ACTIVE, version=4, permitted=("SELECT",)),
        drift=Drift.CHANGED,
    )
    out = _text(Plan("p", "a", "b", changes=(change,)))
    assert 'status: "pending" -> "approved"' in out  # the file's words
    assert "permitted: +SELECT" in out
    assert "version" not in out


def test_added_permissions_are_green_and_removed_red_on_a_terminal() -> None:
    before = _grant("888888888888", {"DESCRIBE", "INSERT"})
    after = _grant("888888888888", {"DESCRIBE", "SELECT"})
    out = _text(Plan("p", "a", "b", changes=(_grant_update(before, after),)), terminal=True)
    assert "permissions: \x1b[32m+SELECT\x1b[0m \x1b[31m-INSERT\x1b[0m" in out


def test_a_policy_change_names_its_field_path_and_a_reorder_is_not_an_edit() -> None:
    def role(actions: list[str], tags: list[list[str]]) -> dict[str, Any]:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions}]}
        return {"name": "r", "policy": json.dumps(policy), "tags": tags}

    change = Change(
        "role.111111111111/r",
        Kind.ROLE,
        Action.UPDATE,
        PRODUCER,
        before=role(["glue:GetTable", "s3:GetObject"], [["a", "1"], ["b", "2"]]),
        after=role(["s3:GetObject", "glue:GetTable", "glue:GetDatabase"], [["b", "2"], ["a", "1"]]),
    )
    out = _text(Plan("p", "a", "b", changes=(change,)))
    assert "policy.Statement[0].Action: +glue:GetDatabase" in out
    assert "tags: (reordered) -> b=2, a=1" in out  # the order of a list is shown, never hidden
    assert "s3:GetObject" not in out


def test_a_scalar_change_shows_before_and_after() -> None:
    change = Change(
        "database.555555555555/sales_db",
        Kind.DATABASE,
        Action.UPDATE,
        MESH,
        before={"name": "sales_db", "description": "old"},
        after={"name": "sales_db", "description": "new", "protected": True},
    )
    out = _text(Plan("p", "a", "b", changes=(change,)))
    assert 'description: "old" -> "new"' in out
    assert "protected: (none) -> true" in out


def test_colours_only_on_a_terminal_and_markup_is_printed_literally() -> None:
    plan = Plan(
        "p", "a", "b", changes=(_create(_grant(CONSUMER, {"SELECT"}), Kind.GRANT, "g[red]"),)
    )
    assert "\x1b[" in _text(plan, terminal=True)
    plain = _text(plan, terminal=False)
    assert "\x1b[" not in plain
    assert "+ g[red]  create [missing]" in plain


def test_warnings_are_listed() -> None:
    out = _text(_full_plan())
    assert "Warnings:" in out
    assert "IAMAllowedPrincipals has ALL on mesh database sales_db" in out


def test_markdown_is_a_findable_collapsible_pr_comment_without_ansi() -> None:
    plan = _full_plan()
    leaky = Change("grant.x", Kind.GRANT, Action.CREATE, MESH, reason="\x1b[31mred\x1b[0m <b>")
    md = render_markdown(
        Plan("p", "a", "b", changes=(*plan.changes, leaky), warnings=plan.warnings)
    )
    assert md.splitlines()[0] == MARKDOWN_MARKER
    assert "\x1b" not in md
    assert "Plan: 4 to create, 1 to update, 2 to archive/revoke (3 toward --max-revokes)." in md
    assert "<details><summary><b>mesh database sales_db</b>" in md
    assert md.count("<details>") == md.count("</details>") == 3
    assert "```diff" in md
    assert "- subscription.old/sales  archive [orphaned]" in md.splitlines()
    assert "      permissions: +SELECT -INSERT" in md.splitlines()
    assert "- IAMAllowedPrincipals has ALL on mesh database sales_db" in md.splitlines()
    assert "| 4 | 1 | 2 | 1 |" in md


def test_markdown_of_empty_plan_says_no_changes() -> None:
    md = render_markdown(Plan("p", "a", "b"))
    assert md.startswith(MARKDOWN_MARKER)
    assert "No changes. AWS matches mesh.yaml." in md
    assert "<details>" not in md


def test_json_output_validates_against_the_plan_schema() -> None:
    document = json.loads(render_json(_full_plan()))
    assert list(_schema_validator().iter_errors(document)) == []
    assert document["summary"] == {"create": 3, "update": 1, "delete": 2}


def test_schema_enums_match_the_code() -> None:
    change_schema = _schema_validator().schema["$defs"]["change"]["properties"]
    assert change_schema["action"]["enum"] == [a.value for a in Action]
    assert change_schema["kind"]["enum"] == [k.value for k in Kind]
    assert change_schema["drift"]["enum"] == [*(d.value for d in Drift), None]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d["changes"][0].update(action="destroy"),
        lambda d: d["changes"][0].update(drift="gone"),
        lambda d: d.update(format_version="2"),
        lambda d: d.pop("observed_fingerprint"),
        lambda d: d["summary"].update(create=-1),
    ],
    ids=["action-destroy", "unknown-drift", "format-2", "no-fingerprint", "negative-count"],
)
def test_schema_rejects_an_invalid_plan(spoil: Any) -> None:
    document = json.loads(render_json(_full_plan()))
    spoil(document)
    assert not _schema_validator().is_valid(document)


def test_schema_allows_unknown_keys() -> None:
    document = json.loads(render_json(_full_plan()))
    document["future_key"] = {"x": 1}
    document["changes"][0]["future_key"] = True
    assert _schema_validator().is_valid(document)


def test_apply_result_lists_each_status_with_the_aws_error() -> None:
    plan = _full_plan()
    results = [
        (plan.changes[0], "done", ""),
        (plan.changes[1], "done", ""),
        (plan.changes[2], "failed", "AccessDeniedException: lakeformation:GrantPermissions"),
        (plan.changes[4], "skipped", "depends on a failed change"),
    ]
    console = Console(record=True, width=120, force_terminal=False)
    render_apply_result(results, console)
    out = console.export_text()
    assert out.strip().splitlines()[-1] == "Apply complete: 2 done, 1 failed, 1 skipped."
    failed = out.splitlines().index(_line_of(out, "grant.new"))
    assert "failed" in out.splitlines()[failed]
    assert "AccessDeniedException" in out.splitlines()[failed + 1]
    assert "skipped" in _line_of(out, "subscription.old/sales")


def test_apply_result_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown apply status"):
        render_apply_result([(_full_plan().changes[0], "maybe", "")], Console(record=True))


def test_stats_show_calls_totals_per_service_and_wall_time() -> None:
    rows = [
        (MESH, "lakeformation", "ListPermissions", 3),
        (MESH, "sts", "AssumeRole", 1),
        (PRODUCER, "sts", "AssumeRole", 1),
    ]
    console = Console(record=True, width=120, force_terminal=False)
    render_stats(rows, 1.234, console)
    out = console.export_text()
    sts_total = next(line for line in out.splitlines() if "sts" in line and "total" in line)
    assert sts_total.split("│")[-2].strip() == "2"
    assert "all services" in out
    assert out.strip().splitlines()[-1] == "5 AWS calls in 1.23 s wall time."
