"""Security properties a reviewer of meshctl would ask for:

- credentials never appear in output, logs, error messages or plan files (even with --debug);
- a subscription without an approval (pending, denied, approval withdrawn) never has a grant;
- grants meshctl does not manage are reported, and revoked only with --prune;
- the IAM policies meshctl writes allow no ``*`` action on ``*`` resource, trust no ``*``
  principal, and no producer role becomes a data lake admin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from support.sandbox import InProcessSandbox, ServerSandbox

from meshctl.engine import Engine
from meshctl.planning.plan import Drift, Kind
from meshctl.spec.model import MeshSpec

from ._mesh import EXAMPLE, list_grants, meshctl
from .conftest import NOW

MESH = "555555555555"
FINANCE = "333333333333"
MARKETING = "999999999999"
STRANGER = "777777777777"
# Distinctive dummy keys: 20 and 40 characters, shaped like real ones.
ACCESS_KEY = "AKIAMESHCTLLEAKTEST7"
SECRET_KEY = "mEsHcTl/SeCrEt+LeAk/TeSt/0123456789abcdE"
# Session keys moto hands out for assumed roles look like real ones too.
_KEY_SHAPE = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


def _leaks(text: str) -> list[str]:
    found = [k for k in (ACCESS_KEY, SECRET_KEY) if k in text or k in unquote(text)]
    return found + _KEY_SHAPE.findall(text)


def test_no_credentials_in_output_logs_or_plan_files(
    seeded_server: ServerSandbox, tmp_path: Path
) -> None:
    assert len(ACCESS_KEY) == 20 and len(SECRET_KEY) == 40
    env = dict(seeded_server.env, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    planfile = tmp_path / "plan.json"
    f = ("-f", str(EXAMPLE))
    runs = [
        meshctl("plan", *f, "--stats", "--out", str(planfile), env=env),
        meshctl("plan", *f, "--format", "json", env=env),
        meshctl("plan", *f, "--format", "markdown", env=env),
        meshctl("apply", str(planfile), *f, "--stats", env=env),
        meshctl("apply", *f, "--auto-approve", env=env),  # no changes left
        meshctl("--debug", "plan", *f, env=dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9")),
        meshctl("--debug", "apply", *f, "--auto-approve", env=dict(env, AWS_PROFILE="nope")),
    ]
    assert [r.returncode for r in runs[:5]] == [0, 0, 0, 0, 0], [r.stderr for r in runs]
    assert runs[5].returncode != 0 and "Traceback" in runs[5].stderr  # --debug shows it
    assert runs[6].returncode != 0
    for run in runs:
        assert _leaks(run.stdout + run.stderr) == [], (run.args, run.stdout, run.stderr)
    assert _leaks(planfile.read_text()) == []


def test_no_credentials_from_a_credentials_file_in_errors(
    seeded_server: ServerSandbox, tmp_path: Path
) -> None:
    """The helper library's credentials file: broken, or pointing at an unreachable AWS."""
    creds = tmp_path / "credentials.json"
    creds.write_text(
        json.dumps(
            {
                "Mesh": {
                    "AccountId": MESH,
                    "AccessKeyId": ACCESS_KEY,
                    "SecretAccessKey": SECRET_KEY,
                },
                "Producer": {"AccountId": "111111111111", "AccessKeyId": ACCESS_KEY},
            }
        )
    )
    env = {k: v for k, v in seeded_server.env.items() if not k.startswith("AWS_ACCESS")}
    env = {k: v for k, v in env.items() if k != "AWS_SECRET_ACCESS_KEY"}
    broken = meshctl("plan", "-f", str(EXAMPLE), "--credentials-file", str(creds), env=env)
    assert broken.returncode == 1 and "Producer" in broken.stderr
    creds.write_text(
        json.dumps(
            {"Mesh": {"AccountId": MESH, "AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET_KEY}}
        )
    )
    unreachable = meshctl(
        "--debug",
        "plan",
        "-f",
        str(EXAMPLE),
        "--credentials-file",
        str(creds),
        env=dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:9"),
    )
    assert unreachable.returncode != 0
    for run in (broken, unreachable):
        assert _leaks(run.stdout + run.stderr) == [], run.stderr


# --- in-process: grants, ownership, IAM ------------------------------------------------------


def _engine(path: Path = EXAMPLE) -> Engine:
    return Engine(path, clock=lambda: NOW)


def _apply(path: Path = EXAMPLE, *, prune: bool = False) -> None:
    engine = _engine(path)
    result = engine.execute(engine.plan(prune=prune), max_revokes=25, allow_mass_revoke=False)
    assert result.ok, [(r.change.address, r.error) for r in result.results if r.error]


def _account_grants(sandbox: InProcessSandbox, spec: MeshSpec, account_id: str) -> set[str]:
    """Mesh databases/tables ``account_id`` holds any permission on ("db" or "db.table")."""
    out = set()
    for entry in list_grants(sandbox.session, spec):
        if entry["Principal"]["DataLakePrincipalIdentifier"] != account_id:
            continue
        resource = entry["Resource"]
        if "Database" in resource:
            out.add(resource["Database"]["Name"])
        table = resource.get("Table") or resource.get("TableWithColumns")
        if table:
            out.add(f"{table['DatabaseName']}.{table.get('Name', '*')}")
    return out


def test_pending_and_denied_subscriptions_have_no_grant(
    seeded: InProcessSandbox, example_spec: MeshSpec, tmp_path: Path
) -> None:
    _apply()
    # finance: approved on sales.orders for its role (principals), pending on
    # logistics.shipments, and producer of its own product
    finance = _account_grants(seeded, example_spec, FINANCE)
    assert not any(g.startswith(("logistics-", "sales-")) for g in finance), finance
    role = _account_grants(seeded, example_spec, f"arn:aws:iam::{FINANCE}:role/revenue-reporting")
    assert "sales-111111111111.orders" in role
    assert not any(g.startswith("logistics-") for g in role), role
    # marketing: approved on sales.orders (orders only), pending on shipments, denied on invoices
    marketing = _account_grants(seeded, example_spec, MARKETING)
    assert marketing == {"sales-111111111111", "sales-111111111111.orders"}, marketing

    # Withdrawing an approval (approved -> pending) takes the access away on the next apply.
    withdrawn = tmp_path / "mesh.yaml"
    text = EXAMPLE.read_text()
    start = text.index("  - consumer: marketing\n    product: sales.orders")
    block = text[start : text.index("  - consumer: logistics\n", start)]
    pending = block.replace("status: approved", "status: pending").replace(
        "    approved_by: sales-data-owners@example.com\n", ""
    )
    withdrawn.write_text(text.replace(block, pending))
    _apply(withdrawn)
    assert _account_grants(seeded, example_spec, MARKETING) == set()


def test_unmanaged_grant_is_kept_without_prune_and_revoked_with_it(
    seeded: InProcessSandbox, example_spec: MeshSpec
) -> None:
    _apply()
    lf = seeded.session(MESH).client("lakeformation")
    lf.grant_permissions(
        CatalogId=MESH,
        Principal={"DataLakePrincipalIdentifier": STRANGER},
        Resource={
            "Table": {"CatalogId": MESH, "DatabaseName": "sales-111111111111", "Name": "orders"}
        },
        Permissions=["SELECT"],
    )

    plan = _engine().plan()
    unmanaged = [c for c in plan.changes if c.kind is Kind.GRANT and STRANGER in c.address]
    assert unmanaged and all(c.drift is Drift.UNMANAGED for c in unmanaged)
    assert not plan.has_changes  # reported, not acted on
    _apply()
    assert _account_grants(seeded, example_spec, STRANGER) == {"sales-111111111111.orders"}

    _apply(prune=True)
    assert _account_grants(seeded, example_spec, STRANGER) == set()
    assert not _engine().plan(prune=True).has_changes


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def test_iam_policies_grant_no_star_on_star_and_no_producer_is_lake_admin(
    seeded: InProcessSandbox, example_spec: MeshSpec
) -> None:
    _apply()
    checked = 0
    accounts = [MESH, *(a.account_id for a in example_spec.accounts)]
    for account_id in accounts:
        iam = seeded.session(account_id).client("iam")
        roles = [
            r
            for page in iam.get_paginator("list_roles").paginate()
            for r in page["Roles"]
            if r["RoleName"].startswith("DataMesh")
        ]
        for role in roles:
            name = role["RoleName"]
            trust = _statements(role["AssumeRolePolicyDocument"])
            for statement in trust:
                principals = statement.get("Principal", {})
                assert principals != "*" and "*" not in _as_list(principals.get("AWS", [])), name
            documents = [
                iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
            ]
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                documents.append(version["PolicyVersion"]["Document"])
            for document in documents:
                for statement in _statements(document):
                    checked += 1
                    if statement.get("Effect") != "Allow":
                        continue
                    actions = _as_list(statement.get("Action"))
                    resources = _as_list(statement.get("Resource"))
                    assert not ({"*", "*:*"} & set(actions) and "*" in resources), (
                        name,
                        statement,
                    )
                    assert "NotAction" not in statement, (name, statement)
    assert checked >= 14  # every mesh and member role has its policy

    lf = seeded.session(MESH).client("lakeformation")
    admins = [
        a["DataLakePrincipalIdentifier"]
        for a in lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]["DataLakeAdmins"]
    ]
    assert admins, "the mesh has data lake admins"
    assert not [a for a in admins if "Producer" in a or "Consumer" in a], admins
