"""The deployer policy as data: every AWS call meshctl makes has its action, no action is more than
meshctl needs, no wildcard action, stable output, and a Terraform block that says the same.

That the policies are enough, and each statement needed, is proven against the sandbox with IAM
enforced: tests/integration/test_deployer_policy.py.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from meshctl.planning.deployer_policy import FEATURES, Side, deployer_policy
from meshctl.render.deployer_policy import render_policies_json, render_policies_terraform
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

ROOT = Path(__file__).resolve().parents[2]
AWS_CODE = ROOT / "meshctl" / "aws"
FULL = ROOT / "tests" / "data" / "deployer" / "mesh.yaml"
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SERVICES = ("cloudtrail", "dynamodb", "glue", "iam", "kms", "lakeformation", "ram", "s3", "sts")
# Calls IAM authorizes as other actions, or not at all.
AUTHORIZED_AS = {
    "dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem"},
    "sts:GetCallerIdentity": set(),  # needs no permission
    # The S3 API reference, GetBucketEncryption: "you must have permission to perform the
    # s3:GetEncryptionConfiguration action".
    "s3:GetBucketEncryption": {"s3:GetEncryptionConfiguration"},
}
# Actions AWS checks for meshctl's calls without meshctl calling them (patch_authorization cites
# the guides): tags on CreateTable, and what Lake Formation does as the caller.
IMPLIED = {
    "dynamodb:TagResource",
    "iam:CreateServiceLinkedRole",
    "ram:AssociateResourceShare",
    "ram:CreateResourceShare",
    "ram:DeleteResourceShare",
    "ram:DisassociateResourceShare",
    "ram:GetResourceShares",
    "ram:UpdateResourceShare",
}
# IAM has no resource-level permissions for these: the only actions allowed on "*".
UNSCOPABLE = re.compile(
    r"^(lakeformation:\w+|iam:GetAccountAuthorizationDetails|ram:GetResourceShareInvitations"
    r"|cloudtrail:DescribeTrails"
    r"|ram:(Create|Associate|Disassociate|Delete|Update|Get)ResourceShares?)$"
)


def _called_operations() -> dict[str, set[str]]:
    """(service) → API operation names whose client method names appear in meshctl/aws: string
    literals (``api.call("glue", "get_table")``), attributes (``ddb.put_item``) and f-strings
    (``f"list_{entity}_policies"``, entity a role or a group)."""
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    methods = {svc: session.client(svc).meta.method_to_api_mapping for svc in SERVICES}
    found: dict[str, set[str]] = {}
    for path in AWS_CODE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.JoinedStr):
                template = "".join(
                    "{}" if isinstance(v, ast.FormattedValue) else str(getattr(v, "value", ""))
                    for v in node.values
                )
                names = [template.replace("{}", entity) for entity in ("role", "group")]
            for name in names:
                for service, mapping in methods.items():
                    if name in mapping:
                        found.setdefault(name, set()).add(f"{service}:{mapping[name]}")
    return found


def _table_actions() -> set[str]:
    return {a for f in FEATURES for n in f.needs for a in n.actions}


def test_every_aws_call_in_meshctl_has_its_action_in_the_feature_table() -> None:
    table = _table_actions()
    called = _called_operations()
    assert len(called) > 60  # the scan sees meshctl's calls
    missing = []
    for name, candidates in sorted(called.items()):
        # A method name several services share (create_table) is one of them: one must be there.
        needed = [AUTHORIZED_AS.get(action, {action}) for action in candidates]
        if not any(actions <= table for actions in needed):
            missing.append((name, sorted(candidates)))
    assert missing == []


def test_every_action_in_the_table_is_one_meshctl_calls_or_aws_checks_for_a_call() -> None:
    called = {a for actions in _called_operations().values() for a in actions}
    called |= {a for actions in AUTHORIZED_AS.values() for a in actions}
    assert sorted(_table_actions() - called - IMPLIED) == []


def _statements(spec: MeshSpec) -> list[dict[str, object]]:
    return [s for side in Side for s in deployer_policy(spec, side)["Statement"]]


def test_no_wildcard_action_and_star_resources_only_where_iam_cannot_scope() -> None:
    statements = _statements(load_spec(FULL))
    assert len({s["Sid"] for s in statements}) == len(statements)
    for s in statements:
        actions = s["Action"]
        assert isinstance(actions, list) and actions == sorted(set(actions))
        assert all(re.fullmatch(r"[a-z0-9]+:[A-Za-z]+", a) for a in actions), s  # no * at all
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert resources == sorted(resources)
        if "*" in resources:
            assert resources == ["*"]
            assert [a for a in actions if not UNSCOPABLE.match(a)] == [], s
        else:
            assert all(r.startswith("arn:aws:") for r in resources), s


def test_resources_are_the_meshs_own() -> None:
    spec = load_spec(FULL)
    mesh = json.dumps(deployer_policy(spec, Side.MESH))
    member = json.dumps(deployer_policy(spec, Side.MEMBER))
    assert "arn:aws:iam::555555555555:role/AwsDataMesh/*" in mesh
    assert "arn:aws:iam::999999999999:user/AwsDataMesh/*" in member  # iam_users: true
    assert "table/AwsDataMeshSubscriptions-Locks" in mesh
    assert "arn:aws:glue:us-east-1:555555555555:table/logistics-222222222222/*" in mesh
    assert "arn:aws:glue:us-east-1:111111111111:table/sales/orders" in member
    # The mesh account's deployer assumes member deployers; finance's is its role_arn.
    assert "arn:aws:iam::333333333333:role/MeshctlDeployer" in mesh
    # Member deployers touch nothing of the mesh account but the invitations it sends.
    invitations = "arn:aws:ram:us-east-1:555555555555:resource-share-invitation/*"
    assert invitations in member
    assert "555555555555" not in member.replace(invitations, "")


def test_a_mesh_without_a_feature_gets_no_statement_for_it() -> None:
    spec = load_spec(FULL)
    sids = {s["Sid"] for s in _statements(spec)}
    kms = {"MeshKeyGrants", "MemberKeyGrants"}
    assert {"MeshUsers", "MemberGroups", "DataCellsFilters", "LfTags", "LinkGrants", *kms} <= sids
    plain = replace(
        spec,
        mesh=replace(spec.mesh, iam_users=False),
        products=tuple(replace(p, tags=(), kms_key_arn="") for p in spec.products),
        subscriptions=tuple(replace(s, principals=(), restrictions=()) for s in spec.subscriptions),
    )
    left = {s["Sid"] for s in _statements(plain)}
    assert left == sids - {
        "MeshUsers",
        "MeshGroups",
        "MemberUsers",
        "MemberGroups",
        "DataCellsFilters",
        "LfTags",
        "LinkGrants",
        *kms,
    }
    # Doctor's reads stay: doctor reads every product bucket and the key of any SSE-KMS one.
    assert {"ReadBucketEncryption", "DoctorMemberKeys", "DoctorTrails"} <= left


def test_kms_grants_are_scoped_to_the_declared_key_or_the_accounts_that_may_hold_it() -> None:
    spec = load_spec(FULL)
    sales, logistics = spec.product("sales.orders"), spec.product("logistics.shipments")
    declared = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    foreign = "arn:aws:kms:us-east-1:444444444444:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    spec = replace(
        spec,
        products=tuple(
            replace(p, kms_key_arn=declared)
            if p is sales
            else replace(p, kms_key_arn=foreign)
            if p is logistics
            else p
            for p in spec.products
        ),
    )
    grants = {
        s["Sid"]: s["Resource"]
        for side in Side
        for s in deployer_policy(spec, side)["Statement"]
        if s["Sid"].endswith("KeyGrants")
    }
    # sales' declared key in its producer's account; logistics' key in an account meshctl does
    # not reach gets a warning and no call, so no permission (docs/kms.md).
    assert grants == {"MemberKeyGrants": declared}
    spec = replace(spec, products=tuple(replace(p, kms_key_arn="bucket") for p in spec.products))
    mesh = deployer_policy(spec, Side.MESH)["Statement"]
    assert next(s for s in mesh if s["Sid"] == "MeshKeyGrants")["Resource"] == (
        "arn:aws:kms:us-east-1:555555555555:key/*"
    )


def test_output_is_stable() -> None:
    first = render_policies_json({s.value: deployer_policy(load_spec(EXAMPLE), s) for s in Side})
    again = render_policies_json({s.value: deployer_policy(load_spec(EXAMPLE), s) for s in Side})
    assert first == again
    assert set(json.loads(first)) == {"mesh", "member"}


_BLOCK = re.compile(r'data "aws_iam_policy_document" "meshctl_deployer_(\w+)" \{\n(.*?)\n\}', re.S)
_STATEMENT = re.compile(
    r"  statement \{\n    sid       = ([^\n]*)\n    effect    = ([^\n]*)\n"
    r"    actions   = (\[.*?\])\n    resources = (\[.*?\])\n  \}",
    re.S,
)


def _hcl_value(text: str) -> object:
    return json.loads(re.sub(r",\s*\]", "]", text))  # HCL allows a trailing comma


@pytest.mark.parametrize("path", [FULL, EXAMPLE], ids=["full", "example"])
def test_the_terraform_block_says_what_the_json_says(path: Path) -> None:
    documents = {s.value: deployer_policy(load_spec(path), s) for s in Side}
    hcl = render_policies_terraform(documents)
    parsed = {}
    for side, body in _BLOCK.findall(hcl):
        parsed[side] = [
            {
                "Sid": _hcl_value(sid),
                "Effect": _hcl_value(effect),
                "Action": _hcl_value(actions),
                "Resource": _hcl_value(resources),
            }
            for sid, effect, actions, resources in _STATEMENT.findall(body)
        ]
    expected = {
        side: [
            {**s, "Resource": s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]}
            for s in document["Statement"]
        ]
        for side, document in documents.items()
    }
    assert parsed == expected
