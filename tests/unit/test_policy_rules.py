"""Policies as code over a plan (meshctl/rules/): loading, CEL conditions, violations, hostile
policy files, and the report a plan carries. Pure: specs and plans are built here, no AWS."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from rich.console import Console
from support.planner_cases import BASE, TODAY, build_spec, plan_of, source_table

from meshctl.errors import MeshctlError, ValidationError
from meshctl.observed import ObservedMesh
from meshctl.planning.plan import Action, Kind, Plan
from meshctl.planning.policy_report import Enforcement, PolicyReport, Violation
from meshctl.render.markdown import render_json, render_markdown, render_text
from meshctl.rules.cel import MAX_SOURCE_CHARS
from meshctl.rules.check import PolicyError, check_plan, refuse_violations
from meshctl.rules.load import FIELDS, Subject, load_policies
from meshctl.rules.subjects import subjects
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "policies"
SOURCES = tuple(source_table(t) for t in BASE["sources"])


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def policy(
    condition: str,
    *,
    for_each: str = "subscription",
    enforcement: str = "mandatory",
    message: str = "{subscription.consumer} on {subscription.product}",
    name: str = "rule",
) -> str:
    return (
        f"name: {name}\n"
        "description: a rule of the tests\n"
        f"enforcement: {enforcement}\n"
        f"for_each: {for_each}\n"
        f"condition: {json.dumps(condition)}\n"
        f"message: {json.dumps(message)}\n"
    )


def plan_for(spec: MeshSpec) -> Plan:
    return plan_of(spec, ObservedMesh(spec.mesh.account_id, tables=SOURCES), TODAY)


def check(tmp_path: Path, spec: MeshSpec, *texts: str, today: date = TODAY) -> PolicyReport:
    for i, text in enumerate(texts):
        write(tmp_path / "policies", f"{i:02d}.yaml", text)
    policies = load_policies(tmp_path / "policies")
    return check_plan(policies, spec, plan_for(spec), today=today)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    write(tmp_path / "policies", "bad.yaml", text)
    with pytest.raises(ValidationError) as caught:
        load_policies(tmp_path / "policies")
    return [str(p) for p in caught.value.problems]


# --- the four example rules ------------------------------------------------------------------


def test_examples_pass_on_the_example_mesh_with_two_owner_warnings() -> None:
    spec = load_spec(ROOT / "examples" / "mesh.yaml")
    policies = load_policies(EXAMPLES)
    report = check_plan(policies, spec, Plan("p", "a", "b"), today=date(2026, 12, 4))
    assert [p.name for p in policies] == [
        "grantable-only-inside",
        "no-all-permission",
        "pii-expires-within-90-days",
        "two-owners",
    ]
    assert report.passed
    assert [(v.policy, v.subject) for v in report.advisory] == [
        ("two-owners", "product sales.orders"),
        ("two-owners", "product logistics.shipments"),
    ]
    assert report.advisory[0].message == (
        "sales.orders has sales-data-owners@example.com as its only owner; add a second one"
    )


def example_report(overlay: dict[str, Any], today: date = TODAY) -> PolicyReport:
    spec = build_spec(overlay)
    return check_plan(load_policies(EXAMPLES), spec, plan_for(spec), today=today)


def test_all_permission_is_a_mandatory_violation_with_its_message() -> None:
    report = example_report(
        {"subscriptions": {"marketing/sales.orders": {"permissions": ["ALL", "SELECT"]}}}
    )
    assert not report.passed
    assert [(v.policy, v.subject, v.message) for v in report.mandatory] == [
        (
            "no-all-permission",
            "subscription marketing/sales.orders",
            "marketing asks for ALL on sales.orders",
        )
    ]
    assert report.mandatory[0].source == f"{EXAMPLES / 'no-all-permission.yaml'}:7"


def test_grantable_outside_the_listed_consumers_is_refused() -> None:
    outside = {"subscriptions": {"marketing/sales.orders": {"grantable": ["SELECT"]}}}
    report = example_report(outside)
    assert [v.policy for v in report.mandatory] == ["grantable-only-inside"]
    assert "marketing may re-grant SELECT on sales.orders" in report.mandatory[0].message
    # A listed consumer may hold it.
    inside = {
        "accounts": {"finance": {"account_id": "333333333333", "roles": ["consumer"]}},
        "subscriptions": {
            "finance/sales.orders": {"permissions": ["SELECT"], "grantable": ["SELECT"]}
        },
    }
    assert example_report(inside).mandatory == ()


@pytest.mark.parametrize(
    ("expires_in", "status", "violates"),
    [
        (None, "approved", True),  # no expiry at all
        (91, "approved", True),
        (90, "approved", False),
        (10, "approved", False),
        (None, "pending", False),  # not granted: nothing to expire
    ],
)
def test_pii_products_need_an_expiry_within_90_days(
    expires_in: int | None, status: str, violates: bool
) -> None:
    sub: dict[str, Any] = {"status": status}
    if expires_in is not None:
        sub["expires"] = (TODAY + timedelta(days=expires_in)).isoformat()
    overlay = {
        "products": {"sales.orders": {"tags": {"Classification": "pii"}}},
        "subscriptions": {"marketing/sales.orders": sub},
    }
    report = example_report(overlay)
    assert [v.policy for v in report.mandatory] == (
        ["pii-expires-within-90-days"] if violates else []
    )


def test_products_not_tagged_pii_need_no_expiry() -> None:
    assert example_report({}).mandatory == ()


# --- conditions over each kind of subject ----------------------------------------------------


def test_change_policies_see_the_plan_changes(tmp_path: Path) -> None:
    spec = build_spec()
    report = check(
        tmp_path,
        spec,
        policy(
            "!(change.kind == 'grant' && change.action == 'create')",
            for_each="change",
            message="{change.action} {change.kind} {change.address}",
            enforcement="advisory",
        ),
    )
    grants = [
        c
        for c in plan_for(spec).effective_changes
        if c.kind is Kind.GRANT and c.action is Action.CREATE
    ]
    assert len(grants) > 1
    assert [v.subject for v in report.advisory] == [f"change {c.address}" for c in grants]
    assert report.advisory[0].message == f"create grant {grants[0].address}"
    assert report.passed  # advisory only


def test_change_policies_read_after_values(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        build_spec(),
        policy(
            "change.kind != 'subscription' || change.after.status != 'Active'",
            for_each="change",
            message="{change.address} becomes {change.after.status}",
        ),
    )
    assert len(report.mandatory) == 1
    assert report.mandatory[0].message.endswith("becomes Active")


def test_subscription_data_has_every_documented_field(tmp_path: Path) -> None:
    spec = build_spec(
        {"subscriptions": {"marketing/sales.orders": {"expires": "2026-03-31", "grantable": []}}}
    )
    (label, data), *_ = subjects(Subject.SUBSCRIPTION, spec, plan_for(spec), TODAY)
    assert label == "subscription marketing/sales.orders"
    assert tuple(data) == FIELDS[Subject.SUBSCRIPTION]
    assert data["expires"] == "2026-03-31" and data["days_until_expiry"] == 30
    assert data["tags"] == {"Domain": "Sales"} and data["owners"] == ["owner@example.com"]
    assert data["producer"] == "sales" and data["permissions"] == ["DESCRIBE", "SELECT"]
    (_, product), *_ = subjects(Subject.PRODUCT, spec, plan_for(spec), TODAY)
    assert tuple(product) == FIELDS[Subject.PRODUCT]
    (_, change), *_ = subjects(Subject.CHANGE, spec, plan_for(spec), TODAY)
    assert tuple(change) == FIELDS[Subject.CHANGE]


def test_docs_describe_every_field() -> None:
    doc = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    for subject, fields in FIELDS.items():
        for field in fields:
            assert f"`{subject.value}.{field}`" in doc, (subject, field)


# Three consumers of one product: two alike in every field but ``purpose``, one in another account.
MANY = {
    "accounts": {
        "finance": {"account_id": "333333333333", "roles": ["consumer"]},
        "logistics": {"account_id": "444444444444", "roles": ["consumer"]},
    },
    "subscriptions": {
        "finance/sales.orders": {"permissions": ["SELECT"], "purpose": "audit"},
        "logistics/sales.orders": {"permissions": ["SELECT"], "purpose": "shipping"},
        "marketing/sales.orders": {"permissions": ["SELECT"], "purpose": "campaigns"},
    },
}


@pytest.mark.parametrize(
    "condition",
    [
        "subscription.purpose != 'shipping'",  # reads one field
        "subscription['purpose'] != 'shipping'",  # reads the subject whole
        "[subscription.purpose].all(subscription, subscription != 'shipping')",  # rebinds it
        "subscription.consumer == 'marketing' || subscription.purpose != 'shipping'",
    ],
)
def test_each_subject_is_judged_on_its_own_data(tmp_path: Path, condition: str) -> None:
    # Results are shared between subjects equal in the fields a condition reads: never between
    # subjects that differ in one it reads, however it reads it.
    report = check(tmp_path, build_spec(MANY), policy(condition, message="{subscription.purpose}"))
    assert [(v.subject, v.message) for v in report.mandatory] == [
        ("subscription logistics/sales.orders", "shipping")
    ]


def test_subjects_sharing_a_result_keep_their_own_messages(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        build_spec(MANY),
        policy(
            "subscription.product != 'sales.orders'",
            message="{subscription.consumer} for {subscription.purpose}",
        ),
    )
    assert [v.message for v in report.mandatory] == [
        "finance for audit",
        "logistics for shipping",
        "marketing for campaigns",
    ]


def test_policies_run_in_file_name_order_and_report_what_was_checked(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        build_spec(),
        policy("true", name="first"),
        policy(
            "size(product.owners) >= 2",
            for_each="product",
            name="second",
            enforcement="advisory",
            message="{product.name}: {product.owners}",
        ),
    )
    assert report.checked == ("first", "second")
    assert [v.message for v in report.violations] == ["sales.orders: owner@example.com"]


# --- broken policy files: FILE:LINE: field: message, before any plan ------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", r"bad\.yaml:2: invalid YAML"),
        (policy("true") + "severity: high\n", r"bad\.yaml:7: severity: unknown field 'severity'"),
        (
            policy("true").replace("enforcement: mandatory\n", ""),
            r"bad\.yaml:1: enforcement: missing; every policy needs it",
        ),
        (
            policy("true", enforcement="blocking"),
            r"bad\.yaml:3: enforcement: 'blocking' is not one of: mandatory, advisory",
        ),
        (
            policy("true", for_each="account"),
            r"bad\.yaml:4: for_each: 'account' is not one of: subscription, product, change",
        ),
        (
            policy("subscription.permissions.exists(p, p == )"),
            r"bad\.yaml:5: condition: CEL syntax error at line 1, column \d+",
        ),
        (
            policy("subscription.permisions.size() > 0"),
            r"bad\.yaml:5: condition: subscription has no field 'permisions'; did you mean "
            r"'permissions'\?",
        ),
        (
            policy("product.protect"),
            r"bad\.yaml:5: condition: uses 'product', but this policy is for_each subscription",
        ),
        (
            policy("true", message="{subscription.consumr} asks"),
            r"bad\.yaml:6: message: subscription has no field 'consumr'; did you mean 'consumer'\?",
        ),
        (
            policy("true", message="{product.name}"),
            r"bad\.yaml:6: message: placeholder \{product.name\}: write \{subscription.FIELD\}",
        ),
        (
            policy("true").replace('condition: "true"', "condition: 42"),
            r"bad\.yaml:5: condition: must be text, not a number",
        ),
        (policy("true", name="no all!"), r"bad\.yaml:1: name: 'no all!' is not a policy name"),
    ],
    ids=[
        "yaml-syntax",
        "unknown-field",
        "missing-field",
        "bad-enforcement",
        "bad-for-each",
        "cel-syntax",
        "misspelt-field",
        "other-subject",
        "bad-placeholder-field",
        "placeholder-of-another-subject",
        "not-text",
        "bad-name",
    ],
)
def test_a_broken_policy_file_names_file_line_and_field(
    tmp_path: Path, text: str, expected: str
) -> None:
    found = problems_of(tmp_path, text)
    assert any(re.search(expected, p) for p in found), found
    assert all(p.startswith(str(tmp_path / "policies" / "bad.yaml") + ":") for p in found)


def test_two_policies_of_one_name_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "policies", "a.yaml", policy("true"))
    write(tmp_path / "policies", "b.yaml", policy("false"))
    with pytest.raises(ValidationError) as caught:
        load_policies(tmp_path / "policies")
    assert "b.yaml:1: name: 'rule' is also the name of the policy in" in str(caught.value)


def test_a_missing_or_empty_policy_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MeshctlError, match="not a directory"):
        load_policies(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MeshctlError, match=r"no \*\.yaml policy files"):
        load_policies(tmp_path / "empty")


# --- hostile input: bounded, and a clear error -----------------------------------------------


def test_a_huge_expression_is_refused_by_its_length(tmp_path: Path) -> None:
    huge = " || ".join(["subscription.consumer == 'x'"] * 200)
    assert len(huge) > MAX_SOURCE_CHARS
    started = time.monotonic()
    found = problems_of(tmp_path, policy(huge))
    assert time.monotonic() - started < 2
    assert any(
        f"condition: the expression is {len(huge)} characters; at most {MAX_SOURCE_CHARS}" in p
        for p in found
    ), found


@pytest.mark.parametrize(
    "deep", ["(" * 200 + "true" + ")" * 200, "!" * 1500 + "true", "1 + " * 900 + "1 > 0"]
)
def test_deep_nesting_is_refused_without_exhausting_the_stack(tmp_path: Path, deep: str) -> None:
    found = problems_of(tmp_path, policy(deep))
    assert any("condition: the expression is nested too deeply" in p for p in found), found


def test_a_runaway_comprehension_stops_with_a_clear_error(tmp_path: Path) -> None:
    # Six nested comprehensions over ten values: 10**6 bodies, stopped by the step budget.
    loops = "true"
    for var in "abcdef":
        loops = f"[0,1,2,3,4,5,6,7,8,9].all({var}, {loops})"
    started = time.monotonic()
    with pytest.raises(PolicyError) as caught:
        check(tmp_path, build_spec(), policy(loops))
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'policies' / '00.yaml'}:5: condition: policy 'rule'")
    assert "subscription marketing/sales.orders" in message and "steps" in message


def test_an_accumulator_that_doubles_is_refused_at_load(tmp_path: Path) -> None:
    # celpy's reduce() (not CEL): 2**40 elements from a 40-element list, memory no step budget
    # sees; refused when the file is loaded.
    doubling = f"{list(range(40))}.reduce(r, i, [1], r + r).size() > 0"
    found = problems_of(tmp_path, policy(doubling))
    assert any("condition: reduce() is not CEL" in p for p in found), found


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ("subscription.tags['Classification'] == 'pii'", "no such key"),
        ("subscription.permissions", "must be true or false, not a list"),
        ("subscription.consumer", "must be true or false, not a string"),
        ("size(subscription.permissions) / 0 > 1", "divide by zero"),
        ("nothing_here", "undeclared reference to 'nothing_here'"),
        ("subscription.days_until_expiry > 5", "> does not apply to null and int (test the"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_names_the_policy_and_subject(
    tmp_path: Path, condition: str, why: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        check(tmp_path, build_spec(), policy(condition))
    message = str(caught.value)
    assert "00.yaml:5: condition: policy 'rule' on subscription marketing/sales.orders" in message
    assert why in message
    assert len(message) < 400  # not celpy's dump of every function it knows


# --- the report a plan carries ------------------------------------------------------------------


def _report() -> PolicyReport:
    return PolicyReport(
        checked=("no-all-permission", "two-owners"),
        violations=(
            Violation(
                "two-owners",
                Enforcement.ADVISORY,
                "product sales.orders",
                "one owner",
                "p/two-owners.yaml:7",
            ),
            Violation(
                "no-all-permission",
                Enforcement.MANDATORY,
                "subscription marketing/sales.orders",
                "marketing asks <b>ALL</b>",
                "p/no-all.yaml:5",
            ),
        ),
    )


def test_a_plan_with_a_report_round_trips_and_validates_against_the_schema() -> None:
    plan = Plan("p", "a", "b", policies=_report())
    document = json.loads(render_json(plan))
    assert document["policies"]["passed"] is False
    assert document["policies"]["violations"][1]["enforcement"] == "mandatory"
    assert Plan.from_json(json.loads(plan.dumps())) == plan
    assert Plan.from_json(json.loads(Plan("p", "a", "b").dumps())).policies is None
    packaged = (files("meshctl") / "schemas" / "plan.schema.json").read_text()
    validator = Draft202012Validator(json.loads(packaged))
    report_schema = validator.schema["$defs"]["policy_report"]["properties"]
    enforcement = report_schema["violations"]["items"]["properties"]["enforcement"]
    assert enforcement["enum"] == [e.value for e in Enforcement]
    assert list(validator.iter_errors(document)) == []
    document["policies"]["violations"][0]["enforcement"] = "blocking"
    assert list(validator.iter_errors(document)) != []


def test_text_lists_mandatory_violations_first_then_the_policy_summary() -> None:
    console = Console(record=True, width=200)
    render_text(Plan("p", "a", "b", policies=_report()), console)
    lines = console.export_text().splitlines()
    start = lines.index("Policies (2 checked):")
    assert lines[start + 1 : start + 4] == [
        "  ✗ mandatory no-all-permission: subscription marketing/sales.orders: "
        "marketing asks <b>ALL</b>",
        "  ! advisory two-owners: product sales.orders: one owner",
        "Policies: 2 checked, 1 mandatory violation, 1 advisory.",
    ]


def test_markdown_shows_the_policy_section_escaped() -> None:
    md = render_markdown(Plan("p", "a", "b", policies=_report()))
    assert "#### Policies" in md
    assert "**Policies: 2 checked, 1 mandatory violation, 1 advisory.**" in md
    assert (
        "- ❌ **mandatory** `no-all-permission` · subscription marketing/sales.orders: "
        "marketing asks &lt;b&gt;ALL&lt;/b&gt;"
    ) in md
    assert md.index("mandatory") < md.index("⚠️ advisory")
    # Without --policy there is no section at all.
    assert "#### Policies" not in render_markdown(Plan("p", "a", "b"))


def test_only_mandatory_violations_refuse() -> None:
    advisory_only = PolicyReport(("two-owners",), _report().advisory)
    refuse_violations(advisory_only, applying=True)  # warnings only: no error
    with pytest.raises(PolicyError, match=r"no-all-permission.*nothing was applied"):
        refuse_violations(_report(), applying=True)
