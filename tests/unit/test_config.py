"""config: a mesh file becomes the frozen MeshSpec, with defaults, or every problem at once."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from meshctl.errors import MeshctlError, ValidationError
from meshctl.spec.load import load_spec, mesh_digest, schema, summarize
from meshctl.spec.model import (
    DEFAULT_SUBSCRIPTIONS_TABLE,
    TABLE_PERMISSIONS,
    AccountRole,
    MeshSettings,
    Product,
    Subscription,
    SubscriptionStatus,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
MESH_D = ROOT / "tests" / "data" / "valid" / "mesh.d"

MINIMAL = """\
version: 1
mesh:
  account_id: "555555555555"
  region: eu-west-1
accounts:
  sales:
    account_id: "011111111111"
    roles: [producer]
  marketing:
    account_id: "999999999999"
    roles: [consumer]
products:
  sales.orders:
    producer: sales
    source_database: sales
    tables: ["*"]
subscriptions:
  - consumer: marketing
    product: sales.orders
    permissions: [SELECT]
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        load_spec(path)
    return [str(p) for p in caught.value.problems]


def test_example_loads_with_its_counts_and_values() -> None:
    spec = load_spec(EXAMPLE)
    assert summarize(spec) == (
        "4 accounts (3 producers, 3 consumers), 3 products, "
        "6 subscriptions (3 approved, 2 pending, 1 denied)"
    )
    assert spec.mesh.account_id == "555555555555"
    assert spec.account("sales").account_id == "111111111111"
    assert spec.account("marketing").roles == frozenset({AccountRole.CONSUMER})
    both = [a.name for a in spec.accounts if a.is_producer and a.is_consumer]
    assert both, "the example shows an account that is both producer and consumer"
    assert spec.product("sales.orders").mesh_database == "sales-111111111111"
    assert spec.product("finance.invoices").mesh_database == "finance-invoices"
    assert spec.product("sales.orders").tags == (("Domain", "Sales"),)
    assert {s.status for s in spec.subscriptions} == set(SubscriptionStatus)
    expiring = [s for s in spec.subscriptions if s.expires is not None]
    assert [s.expires for s in expiring] == [date(2027, 12, 31)]
    assert all(not p.all_tables for p in spec.products)


def test_defaults_are_applied(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path / "mesh.yaml", MINIMAL))
    assert spec.mesh == MeshSettings("555555555555", "eu-west-1")
    assert spec.mesh.subscriptions_table == DEFAULT_SUBSCRIPTIONS_TABLE
    assert spec.mesh.iam_users is False and spec.mesh.role_arn is None
    assert spec.account("sales").account_id == "011111111111"  # the leading zero survives
    product = spec.product("sales.orders")
    assert product == Product(
        "sales.orders", "sales", "sales", ("*",), mesh_database="sales-011111111111"
    )
    assert product.all_tables and product.protect is False
    assert spec.subscriptions == (
        Subscription("marketing", "sales.orders", tables=(), permissions=frozenset({"SELECT"})),
    )
    sub = spec.subscriptions[0]
    assert sub.status is SubscriptionStatus.PENDING and sub.grantable == frozenset()
    assert sub.approved_by is None and sub.expires is None


def test_schema_defaults_are_the_model_defaults() -> None:
    props = schema()["properties"]
    mesh = props["mesh"]["properties"]
    product = props["products"]["additionalProperties"]["properties"]
    subscription = props["subscriptions"]["items"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(MeshSettings)}
    assert mesh["subscriptions_table"]["default"] == fields["subscriptions_table"]
    assert mesh["iam_users"]["default"] == fields["iam_users"]
    product_defaults = {f.name: f.default for f in dataclasses.fields(Product)}
    assert product["protect"]["default"] == product_defaults["protect"]
    sub_defaults = {f.name: f.default for f in dataclasses.fields(Subscription)}
    assert subscription["status"]["default"] == sub_defaults["status"]
    assert subscription["grantable"]["default"] == sorted(sub_defaults["grantable"])
    assert schema()["$defs"]["permissions"]["items"]["enum"] == list(TABLE_PERMISSIONS)


def test_every_problem_is_reported_at_once_sorted_by_line(tmp_path: Path) -> None:
    text = MINIMAL.replace('"999999999999"', "999999999999").replace("[SELECT]", "[SELECT, READ]")
    text += "  - consumer: nobody\n    product: sales.orders\n    permissions: [SELECT]\n"
    path = _write(tmp_path / "mesh.yaml", text)
    assert _problems(path) == [
        f"{path}:10: accounts.marketing.account_id: must be text; 999999999999 reads as a "
        'number: quote it, "999999999999" (a YAML number loses leading zeros)',
        f"{path}:20: subscriptions[0].permissions[1]: 'READ' is not one of: "
        "ALL, SELECT, ALTER, DROP, DELETE, INSERT, DESCRIBE",
        f"{path}:21: subscriptions[1].consumer: unknown account 'nobody'; known: marketing, sales",
    ]


def test_directory_merges_every_yaml_file() -> None:
    spec = load_spec(MESH_D)
    assert summarize(spec) == (
        "3 accounts (2 producers, 2 consumers), 2 products, "
        "3 subscriptions (1 approved, 1 pending, 1 denied)"
    )
    sources = dict(spec.sources)
    assert sources["account.sales"] == f"{MESH_D / '00-mesh.yaml'}:9"
    assert sources["product.sales.orders"] == f"{MESH_D / 'sales.yaml'}:4"
    assert (
        sources["subscription.marketing/logistics.shipments"] == f"{MESH_D / 'logistics.yaml'}:10"
    )


def test_problem_in_a_merged_file_names_that_file_and_its_own_index(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", MINIMAL)
    _write(tmp_path / "b.yaml", "subscriptions:\n  - consumer: marketing\n    product: nope\n")
    assert _problems(tmp_path) == [
        f"{tmp_path / 'b.yaml'}:2: subscriptions[0].permissions: is required but missing",
        f"{tmp_path / 'b.yaml'}:3: subscriptions[0].product: unknown product 'nope'; "
        "known: sales.orders",
    ]


@pytest.mark.parametrize("section", ["accounts", "products"])
def test_name_defined_in_two_files_names_both_files(tmp_path: Path, section: str) -> None:
    _write(tmp_path / "a.yaml", MINIMAL)
    again = {
        "accounts": 'accounts:\n  sales:\n    account_id: "222222222222"\n    roles: [producer]\n',
        "products": "products:\n  sales.orders:\n    producer: sales\n"
        "    source_database: sales\n    tables: [orders]\n",
    }[section]
    _write(tmp_path / "b.yaml", "# the same name again\n" + again)
    name = "sales" if section == "accounts" else "sales.orders"
    line_in_a = 6 if section == "accounts" else 13
    assert _problems(tmp_path) == [
        f"{tmp_path / 'b.yaml'}:3: {section}.{name}: defined twice: here and in "
        f"{tmp_path / 'a.yaml'}:{line_in_a}"
    ]


def test_version_and_mesh_may_repeat_only_identically(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", MINIMAL)
    head = MINIMAL.split("accounts:")[0]
    _write(tmp_path / "b.yaml", head)
    assert load_spec(tmp_path).mesh.region == "eu-west-1"
    _write(tmp_path / "b.yaml", head.replace("eu-west-1", "us-east-1"))
    assert _problems(tmp_path) == [
        f"{tmp_path / 'b.yaml'}:2: mesh: differs from {tmp_path / 'a.yaml'}:2; "
        "define it in one file"
    ]


def test_digest_covers_names_and_bytes_of_the_files_read(tmp_path: Path) -> None:
    file = _write(tmp_path / "mesh.yaml", MINIMAL)
    assert mesh_digest(file) == mesh_digest(file)
    first = mesh_digest(tmp_path)
    _write(tmp_path / "notes.txt", "not a mesh file")
    assert mesh_digest(tmp_path) == first
    file.rename(tmp_path / "other.yaml")
    assert mesh_digest(tmp_path) != first
    _write(tmp_path / "other.yaml", MINIMAL + "# a comment\n")
    assert mesh_digest(tmp_path / "other.yaml") != mesh_digest(MESH_D / "00-mesh.yaml")


def test_hostile_names_are_escaped_in_messages(tmp_path: Path) -> None:
    text = MINIMAL.replace("  marketing:\n", '  "evil\\e[31m\\nname":\n')
    problems = _problems(_write(tmp_path / "mesh.yaml", text))
    assert problems
    assert all("\x1b" not in p and "\n" not in p for p in problems)
    assert any("'evil\\x1b[31m\\nname' is not a valid name" in p for p in problems)
    assert any("known: evil\\x1b[31m\\nname, sales" in p for p in problems)


def test_yaml_keys_are_taken_verbatim(tmp_path: Path) -> None:
    # PyYAML would read the key `on` as True; a name is text, whatever it looks like. As a value,
    # `on` is YAML's true, and the message says how to write the name instead.
    text = MINIMAL.replace("  marketing:\n", "  on:\n")
    text = text.replace("consumer: marketing", "consumer: on")
    assert _problems(_write(tmp_path / "mesh.yaml", text)) == [
        f"{tmp_path / 'mesh.yaml'}:18: subscriptions[0].consumer: must be text; on reads as "
        'true/false: quote it, "on"'
    ]
    text = text.replace("consumer: on", 'consumer: "on"')
    spec = load_spec(_write(tmp_path / "mesh.yaml", text))
    assert spec.account("on").account_id == "999999999999"


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MeshctlError, match="no such file"):
        load_spec(tmp_path / "mesh.yaml")
    with pytest.raises(MeshctlError, match=r"no \*\.yaml or \*\.yml mesh files"):
        load_spec(tmp_path)


def test_summary_counts_in_the_singular() -> None:
    spec = dataclasses.replace(load_spec(EXAMPLE), subscriptions=())
    assert summarize(spec) == "4 accounts (3 producers, 3 consumers), 3 products, 0 subscriptions"
    one = dataclasses.replace(spec, accounts=spec.accounts[:1], products=spec.products[:1])
    assert summarize(one) == "1 account (1 producer, 0 consumers), 1 product, 0 subscriptions"


KEY = "arn:aws:kms:eu-west-1:011111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


MRK = "arn:aws:kms:eu-west-1:011111111111:key/mrk-" + "0123456789abcdef" * 2


@pytest.mark.parametrize("value", [KEY, MRK, "bucket"])
def test_kms_key_arn_is_a_key_arn_or_bucket(tmp_path: Path, value: str) -> None:
    text = MINIMAL.replace('tables: ["*"]\n', f'tables: ["*"]\n    kms_key_arn: {value}\n')
    spec = load_spec(_write(tmp_path / "mesh.yaml", text))
    assert spec.product("sales.orders").kms_key_arn == value


def test_a_malformed_kms_key_or_one_of_another_region_is_named_with_its_line(
    tmp_path: Path,
) -> None:
    text = MINIMAL.replace(
        'tables: ["*"]\n',
        'tables: ["*"]\n    kms_key_arn: arn:aws:kms:eu-west-1:011111111111:alias/data\n',
    )
    path = _write(tmp_path / "mesh.yaml", text)
    [problem] = _problems(path)
    assert problem.startswith(
        f"{path}:17: products.sales.orders.kms_key_arn: "
        "'arn:aws:kms:eu-west-1:011111111111:alias/data' is not valid: expected a KMS key ARN"
    )
    other_region = KEY.replace("eu-west-1", "us-east-1")
    path = _write(
        tmp_path / "mesh.yaml",
        MINIMAL.replace('tables: ["*"]\n', f'tables: ["*"]\n    kms_key_arn: {other_region}\n'),
    )
    assert _problems(path) == [
        f"{path}:17: products.sales.orders.kms_key_arn: is a key in us-east-1; the mesh's data "
        "is in eu-west-1 (S3 uses a KMS key of the bucket's Region)"
    ]
