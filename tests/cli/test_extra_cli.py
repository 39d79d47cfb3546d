"""`meshctl import`, `meshctl subscriptions list|get`, `meshctl schema`, the composite action and
the expiry workflow's check, run as a user or CI runs them (the console script, the action's
bash step, the workflow's check script) against the patched sandbox.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from boto3.dynamodb.types import TypeSerializer
from support.sandbox import InProcessSandbox, ServerSandbox, run_meshctl

from meshctl.aws.apply.mesh import subscriptions_table_definition
from meshctl.aws.tracker import item_from_record
from meshctl.engine import Engine
from meshctl.ids import subscription_id
from meshctl.observed import RecordStatus, SubscriptionRecord
from meshctl.render.markdown import MARKDOWN_MARKER, render_json
from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec, schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
BIN = Path(sys.executable).parent
MESH = "555555555555"
SALES = "111111111111"
FINANCE = "333333333333"
MARKETING = "999999999999"
TABLE = "AwsDataMeshSubscriptions"
SALES_DB = f"sales-{SALES}"


def meshctl(
    server: ServerSandbox | None, *args: str, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = dict(server.env) if server else {**os.environ}
    env["COLUMNS"] = "250"  # rich tables: one line per row
    proc = run_meshctl(*args, env=env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _workflow_step(workflow: str, step_id: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    steps = [s for job in data["jobs"].values() for s in job["steps"]]
    step: dict[str, Any] = next(s for s in steps if s.get("id") == step_id)
    return step


def _action_script() -> str:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    return str(next(s["run"] for s in steps if s.get("id") == "run"))


# --- schema --------------------------------------------------------------------------------------


def test_schema_prints_the_json_schema_of_the_installed_package() -> None:
    proc = meshctl(None, "schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == schema()
    assert proc.stdout == (ROOT / "meshctl" / "schemas" / "mesh.schema.json").read_text()


# --- import --------------------------------------------------------------------------------------


@pytest.fixture
def built(sandbox_server: ServerSandbox) -> ServerSandbox:
    seed_producers(load_spec(EXAMPLE), sandbox_server.session)
    applied = meshctl(sandbox_server, "apply", "-f", str(EXAMPLE), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return sandbox_server


def test_import_then_plan_shows_no_change(built: ServerSandbox, tmp_path: Path) -> None:
    out = tmp_path / "mesh.yaml"
    proc = meshctl(
        built,
        "import",
        "--mesh-account-id",
        MESH,
        "--out",
        str(out),
        "--account-name",
        f"{MARKETING}=marketing",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"Wrote {out}: 4 accounts" in proc.stderr and f"meshctl plan -f {out}" in proc.stderr
    assert load_spec(out).account("marketing").account_id == MARKETING

    plan = meshctl(built, "plan", "-f", str(out), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr

    again = meshctl(built, "import", "--mesh-account-id", MESH, "--out", str(out))
    assert again.returncode == 1 and "exists; pass --force" in again.stderr
    to_stdout = meshctl(built, "import", "--mesh-account-id", MESH)
    assert to_stdout.returncode == 0 and "version: 1" in to_stdout.stdout


def test_import_refuses_a_bad_account_id(sandbox_server: ServerSandbox) -> None:
    proc = meshctl(sandbox_server, "import", "--mesh-account-id", "5555")
    assert proc.returncode == 1
    assert "Error: --mesh-account-id must be 12 digits" in proc.stderr


# --- subscriptions list / get ------------------------------------------------------------------


def _record(consumer: str, product: str, status: RecordStatus, **more: Any) -> SubscriptionRecord:
    return SubscriptionRecord(
        subscription_id=subscription_id(consumer, product),
        owner=SALES,
        subscriber=consumer,
        status=status,
        database=SALES_DB,
        tables=("orders",),
        requested=("SELECT", "DESCRIBE"),
        permitted=("SELECT", "DESCRIBE") if status is RecordStatus.ACTIVE else (),
        managed=True,
        version=2,
        product=product,
        **more,
    )


ACTIVE = _record(
    MARKETING,
    "sales.orders",
    RecordStatus.ACTIVE,
    approved_by="sales-data-owners@example.com",
    purpose="campaign attribution",
)
ARCHIVED = _record(
    FINANCE,
    "sales.orders",
    RecordStatus.DELETED,
    notes=("archived by meshctl: expired on 2026-01-31",),
)


@pytest.fixture
def table(sandbox_server: ServerSandbox) -> ServerSandbox:
    client = sandbox_server.session(MESH).client("dynamodb")
    client.create_table(**subscriptions_table_definition(TABLE))
    serialize = TypeSerializer().serialize
    for record in (ACTIVE, ARCHIVED):
        item = item_from_record(record, "arn:aws:sts::555555555555:assumed-role/ci", "p1", "c0ffee")
        client.put_item(TableName=TABLE, Item={k: serialize(v) for k, v in item.items()})
    return sandbox_server


def test_subscriptions_list_names_accounts_through_the_mesh_file(table: ServerSandbox) -> None:
    proc = meshctl(table, "subscriptions", "list", "--consumer", "marketing", "-f", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    # Piped: a header, then one tab-separated line per record, every value whole.
    header, row = proc.stdout.splitlines()
    assert header.split("\t") == [
        "ID", "CONSUMER", "PRODUCER", "PRODUCT", "STATUS", "TABLES", "PERMISSIONS", "EXPIRES"
    ]  # fmt: skip
    assert row.split("\t") == [
        ACTIVE.subscription_id, "marketing", "sales", "sales.orders", "approved", "orders",
        "DESCRIBE, SELECT", "-",
    ]  # fmt: skip

    listed = meshctl(
        table, "subscriptions", "list", "--product", "sales.orders", "--include-archived",
        "--format", "json", "-f", str(EXAMPLE),
    )  # fmt: skip
    data = json.loads(listed.stdout)["subscriptions"]
    assert {(s["consumer"], s["status"]) for s in data} == {
        ("marketing", "approved"),
        ("finance", "archived"),
    }


def test_subscriptions_list_without_a_mesh_file_takes_account_ids(
    table: ServerSandbox, tmp_path: Path
) -> None:
    where = ["--mesh-account-id", MESH, "--region", "us-east-1"]
    proc = meshctl(
        table, "subscriptions", "list", "--status", "archived", "--format", "json", *where,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (only,) = json.loads(proc.stdout)["subscriptions"]
    assert (only["consumer"], only["product"]) == (FINANCE, "sales.orders")

    by_name = meshctl(
        table, "subscriptions", "list", "--consumer", "marketing", *where, cwd=tmp_path
    )
    assert by_name.returncode == 1
    assert "--consumer 'marketing': not an account of the mesh file" in by_name.stderr
    nowhere = meshctl(table, "subscriptions", "list", cwd=tmp_path)
    assert nowhere.returncode == 1 and "Error: no mesh.yaml here" in nowhere.stderr


def test_subscriptions_get_shows_the_record_and_its_history(table: ServerSandbox) -> None:
    proc = meshctl(table, "subscriptions", "get", ARCHIVED.subscription_id, "-f", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "archived (Deleted)" in proc.stdout
    assert "finance (333333333333)" in proc.stdout
    history = proc.stdout.split("History", 1)[1]
    assert "note: archived by meshctl: expired on 2026-01-31" in history
    assert "last meshctl commit: c0ffee" in history

    as_json = meshctl(
        table, "subscriptions", "get", ACTIVE.subscription_id, "--format", "json",
        "-f", str(EXAMPLE),
    )  # fmt: skip
    data = json.loads(as_json.stdout)
    assert data["approved_by"] == "sales-data-owners@example.com"
    assert data["attributes"]["ManagedBy"] == "meshctl" and data["attributes"]["Version"] == 2

    missing = meshctl(table, "subscriptions", "get", "nope", "-f", str(EXAMPLE))
    assert missing.returncode == 1
    assert f"no subscription id starts with 'nope' in table {TABLE}" in missing.stderr


# --- the composite action, for real -------------------------------------------------------------


def test_action_runs_plan_with_detailed_exitcode(
    sandbox_server: ServerSandbox, tmp_path: Path
) -> None:
    """The action's step, with the real meshctl: exit 2 (changes) reported, the step succeeds,
    and its output file is the markdown a pull-request comment shows."""
    seed_producers(load_spec(EXAMPLE), sandbox_server.session)
    outputs = tmp_path / "github-output"
    outputs.touch()
    env = {
        **sandbox_server.env,
        "PATH": f"{BIN}:{sandbox_server.env['PATH']}",
        "MESHCTL_COMMAND": "plan",
        "MESHCTL_MESH_FILE": str(EXAMPLE),
        "MESHCTL_ARGS": "--format markdown --detailed-exitcode --out plan.json",
        "GITHUB_OUTPUT": str(outputs),
        "RUNNER_TEMP": str(tmp_path),
    }
    proc = subprocess.run(
        ["bash", "-c", _action_script()], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["exit-code"] == "2"
    markdown = Path(values["output-file"]).read_text()
    assert markdown.startswith(MARKDOWN_MARKER) and "\x1b[" not in markdown
    assert json.loads((tmp_path / "plan.json").read_text())["summary"]["create"] > 0


# --- the expiry workflow's check -----------------------------------------------------------------


def _expiry_check(plan_json: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "plan.json"
    path.write_text(plan_json, encoding="utf-8")
    step = _workflow_step("expiry.yml", "check")
    env = {**os.environ, "PLAN_JSON": str(path), "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", step["run"]], env=env, capture_output=True, text=True)


def test_expiry_check_fails_while_expired_access_is_live(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    """finance → sales.orders expires on 2027-12-31 in the example; the clock is injected."""

    def engine(now: datetime) -> Engine:
        return Engine(EXAMPLE, clock=lambda: now)

    built = engine(datetime(2026, 5, 1, tzinfo=UTC))
    seed_producers(built.spec, sandbox.session)
    assert built.execute(built.plan(), max_revokes=25, allow_mass_revoke=False).ok

    soon = engine(datetime(2027, 12, 21, 8, 0, tzinfo=UTC)).plan()
    assert not soon.has_changes  # warned, still granted
    check = _expiry_check(render_json(soon), tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "::warning title=meshctl plan::subscription finance/sales.orders expires on " in (
        check.stdout
    )
    assert "(in 10 days)" in check.stdout and "No expired access is live." in check.stdout

    late = engine(datetime(2028, 1, 1, tzinfo=UTC))
    expired = late.plan()
    reasons = {c.address: c.reason for c in expired.effective_changes}
    assert reasons["subscription.finance/sales.orders"] == "expired on 2027-12-31"
    check = _expiry_check(render_json(expired), tmp_path)
    assert check.returncode == 1
    assert (
        "::error title=expired access still live::subscription.finance/sales.orders: "
        "expired on 2027-12-31" in check.stdout
    )
    role = f"arn:aws:iam::{FINANCE}:role/revenue-reporting"
    assert f"grant.{role}/table:{MESH}:{SALES_DB}.orders: expired on 2027-12-31" in check.stdout

    assert late.execute(expired, max_revokes=25, allow_mass_revoke=False).ok
    after = _expiry_check(render_json(late.plan()), tmp_path)
    assert after.returncode == 0 and "No expired access is live." in after.stdout


def test_subscriptions_list_on_a_narrow_terminal_wraps_instead_of_cutting(
    table: ServerSandbox,
) -> None:
    env = {**table.env, "TTY_COMPATIBLE": "1", "COLUMNS": "60", "NO_COLOR": "1"}
    proc = run_meshctl(
        "subscriptions", "list", "--include-archived", "-f", str(EXAMPLE), env=env, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    shown = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)  # bold headers
    assert "…" not in shown and "..." not in shown
    assert max(len(line) for line in shown.splitlines()) <= 60, shown
    # The id column folds the id over lines of 8 characters: every piece is there.
    pieces = [ACTIVE.subscription_id[i : i + 8] for i in range(0, 36, 8)]
    assert all(piece in shown for piece in pieces), shown
    assert "2 subscriptions" in shown


def test_subscriptions_get_takes_an_id_prefix_or_consumer_slash_product(
    table: ServerSandbox,
) -> None:
    by_prefix = meshctl(
        table, "subscriptions", "get", ACTIVE.subscription_id[:8], "--format", "json",
        "-f", str(EXAMPLE),
    )  # fmt: skip
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert json.loads(by_prefix.stdout)["subscription_id"] == ACTIVE.subscription_id

    by_pair = meshctl(
        table, "subscriptions", "get", "marketing/sales.orders", "--format", "json",
        "-f", str(EXAMPLE),
    )  # fmt: skip
    assert json.loads(by_pair.stdout)["subscription_id"] == ACTIVE.subscription_id
    archived = meshctl(table, "subscriptions", "get", "finance/sales.orders", "-f", str(EXAMPLE))
    assert archived.returncode == 0 and ARCHIVED.subscription_id in archived.stdout

    # A second id starting like the first: its first 8 characters no longer name one record.
    twin = replace(ACTIVE, subscription_id=ACTIVE.subscription_id[:8] + "-0000-0000-0000-twin")
    item = item_from_record(twin, "arn:aws:sts::555555555555:assumed-role/ci", "p1", "c0ffee")
    serialize = TypeSerializer().serialize
    table.session(MESH).client("dynamodb").put_item(
        TableName=TABLE, Item={k: serialize(v) for k, v in item.items()}
    )
    ambiguous = meshctl(
        table, "subscriptions", "get", ACTIVE.subscription_id[:8], "-f", str(EXAMPLE)
    )
    assert ambiguous.returncode == 1
    assert f"is the start of 2 ids: {twin.subscription_id}, {ACTIVE.subscription_id}" in (
        ambiguous.stderr
    )
    nobody = meshctl(table, "subscriptions", "get", "nobody/sales.orders", "-f", str(EXAMPLE))
    assert nobody.returncode == 1 and "not an account of the mesh file" in nobody.stderr


def test_an_archive_for_expiry_records_the_date_access_ended(
    built: ServerSandbox, tmp_path: Path
) -> None:
    mesh = tmp_path / "mesh.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    mesh.write_text(text.replace("expires: 2027-12-31", "expires: 2026-11-30"), encoding="utf-8")
    applied = meshctl(built, "apply", "-f", str(mesh), "--auto-approve", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    proc = meshctl(
        built, "subscriptions", "get", "finance/sales.orders", "--format", "json", "-f",
        str(mesh), cwd=tmp_path,
    )  # fmt: skip
    data = json.loads(proc.stdout)
    assert data["status"] == "archived"
    assert data["expires"] == "2026-11-30"  # not the 2027-12-31 it was approved until
    assert any("expired on 2026-11-30" in note for note in data["notes"])
