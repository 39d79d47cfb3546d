"""Hostile mesh files (hypothesis): whatever a pull request puts in mesh.yaml, `load_spec` either
returns a spec or raises ValidationError — nothing else — and a valid spec always plans.

Inputs: random YAML structures; the example mesh with random mutations (wrong types, missing
keys, renamed keys, dangerous strings: quotes, newlines, ``../``, unicode look-alikes, bidi
controls, terminal escapes, 10 kB names); raw text mutations of the YAML; and generated valid
meshes. The CLI is checked on a handful of nasty files, and an invalid file never reaches AWS.
"""

from __future__ import annotations

import copy
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.sandbox import InProcessSandbox

from meshctl.engine import Engine
from meshctl.errors import ValidationError
from meshctl.observed import ObservedMesh
from meshctl.planning.plan import Plan
from meshctl.planning.planner import make_plan
from meshctl.render.markdown import render_json, render_markdown
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

from ._mesh import EXAMPLE, meshctl
from ._strategies import BASE, DANGEROUS, mutated_example, valid_mesh, values

TODAY = date(2026, 5, 1)
# No example database: no .hypothesis/ directory in the repo; failures print their example.
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _load(text: str | bytes) -> MeshSpec | None:
    """load_spec on ``text`` written to a file: a spec, or None for a ValidationError. Any other
    exception escapes and fails the test."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mesh.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_spec(path)
        except ValidationError as exc:
            assert exc.problems, "a ValidationError lists its problems"
            assert all(p.message for p in exc.problems)
            return None


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _plan_offline(spec: MeshSpec) -> Plan:
    """Plan against an empty mesh account, with no AWS at all, and render every view."""
    plan = make_plan(
        spec,
        ObservedMesh(mesh_account_id=spec.mesh.account_id),
        plan_id="hostile",
        mesh_file_sha256="0" * 64,
        today=TODAY,
    )
    assert Plan.from_json(json.loads(plan.dumps())) == plan
    markdown = render_markdown(plan)
    # Free text cannot break out of the PR comment's structure.
    assert markdown.count("<details>") == markdown.count("</details>")
    assert sum(1 for line in markdown.splitlines() if line.startswith("```")) % 2 == 0
    render_json(plan)
    return plan


# --- broken documents ---------------------------------------------------------------------------


@SETTINGS
@given(
    st.one_of(
        values,
        st.dictionaries(
            st.sampled_from(["version", "mesh", "accounts", "products", "subscriptions", "x"]),
            values,
        ),
    )
)
def test_random_structures_only_raise_validation_errors(doc: Any) -> None:
    spec = _load(_dump(doc))
    if spec is not None:
        _plan_offline(spec)


@SETTINGS
@given(mutated_example())
def test_mutated_example_only_raises_validation_errors(doc: Any) -> None:
    spec = _load(_dump(doc))
    if spec is not None:
        _plan_offline(spec)


@SETTINGS
@given(
    st.integers(0, len(EXAMPLE.read_text())),
    st.integers(0, 40),
    st.one_of(
        st.sampled_from(DANGEROUS), st.text(max_size=10), st.sampled_from(["\n  ", ": ", "- "])
    ),
)
def test_text_mutations_only_raise_validation_errors(at: int, cut: int, insert: str) -> None:
    text = EXAMPLE.read_text()
    spec = _load(text[:at] + insert + text[at + cut :])
    if spec is not None:
        _plan_offline(spec)


@settings(max_examples=40, deadline=None, database=None)
@given(st.binary(max_size=200), st.integers(0, 3000))
def test_binary_garbage_only_raises_validation_errors(junk: bytes, at: int) -> None:
    raw = EXAMPLE.read_bytes()
    spec = _load(raw[:at] + junk + raw[at:])  # a spec is fine, a ValidationError too; not a crash
    assert spec is None or isinstance(spec, MeshSpec)


# --- valid documents ----------------------------------------------------------------------------


@SETTINGS
@given(valid_mesh())
def test_valid_meshes_load_and_plan(doc: dict[str, Any]) -> None:
    spec = _load(_dump(doc))
    assert spec is not None, "a valid mesh was refused"
    plan = _plan_offline(spec)
    assert plan.has_changes  # an empty mesh account needs at least its table


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(valid_mesh())
def test_valid_meshes_plan_against_an_empty_sandbox(
    sandbox: InProcessSandbox, doc: dict[str, Any]
) -> None:
    """The whole path — sessions, readers, planner — on a mesh nobody has built yet."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mesh.yaml"
        path.write_text(_dump(doc), encoding="utf-8")
        engine = Engine(path)
        plan = engine.plan()
    assert plan.has_changes
    assert engine.sessions.stats.writes == 0


# --- fixed cases: what the validator must refuse --------------------------------------------------

_NEWLINE_SUFFIXED = [
    ("mesh", "account_id"),
    ("mesh", "region"),
    ("accounts", "sales", "account_id"),
    ("accounts", "finance", "role_arn"),
    ("products", "sales.orders", "source_database"),
    ("products", "sales.orders", "tables", 0),
    ("products", "sales.orders", "owners", 0),
    ("products", "sales.orders", "tags", "Domain"),
]


def test_trailing_newline_in_an_identifier_is_refused() -> None:
    accepted = []
    for path in _NEWLINE_SUFFIXED:
        doc = copy.deepcopy(BASE)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = f"{parent[path[-1]]}\n"
        if _load(_dump(doc)) is not None:
            accepted.append(".".join(map(str, path)))
    assert accepted == []


# --- the CLI on nasty files ---------------------------------------------------------------------


def _nasty_files(tmp: Path) -> dict[str, Path]:
    def variant(name: str, edit: Any) -> Path:
        doc = copy.deepcopy(BASE)
        edit(doc)
        path = tmp / f"{name}.yaml"
        path.write_text(_dump(doc), encoding="utf-8")
        return path

    files = {
        "look-alike account": variant(
            "lookalike", lambda d: d["accounts"].__setitem__("s\u0430les", d["accounts"]["sales"])
        ),
        "10 kB account name": variant(
            "huge",
            lambda d: d["accounts"].__setitem__("s" * 10_000, d["accounts"].pop("marketing")),
        ),
        "path traversal": variant(
            "traversal",
            lambda d: d["products"]["sales.orders"].__setitem__("mesh_database", "../x"),
        ),
        "terminal escapes": variant(
            "escapes", lambda d: d["subscriptions"][0].__setitem__("purpose", "a\x1b[2K\x1b[1Ab")
        ),
        "quote in a name": variant(
            "quote", lambda d: d["products"]["sales.orders"].__setitem__("source_database", "a'b")
        ),
    }
    python_tag = tmp / "python-tag.yaml"
    python_tag.write_text(EXAMPLE.read_text() + "\nx: !!python/object/apply:os.system ['id']\n")
    files["python tag"] = python_tag
    bomb = tmp / "bomb.yaml"
    bomb.write_text(
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
    )
    files["alias bomb"] = bomb
    garbage = tmp / "garbage.yaml"
    garbage.write_bytes(b"\xff\xfe\x00version: 1\x00\x9f")
    files["not UTF-8"] = garbage
    return files


def test_validate_refuses_nasty_files_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for label, path in _nasty_files(tmp_path).items():
        result = meshctl("validate", "-f", str(path), env=env, timeout=60)
        assert result.returncode == 1, (label, result.stdout, result.stderr)
        assert "Error:" in result.stderr, (label, result.stderr)
        assert "Traceback" not in result.stderr, (label, result.stderr)
        assert "\x1b" not in result.stderr + result.stdout, label  # escapes shown, not obeyed
        assert len(result.stderr) < 20_000, label  # a 10 kB name is shortened, not echoed


def test_invalid_file_makes_no_aws_call(tmp_path: Path) -> None:
    """apply --auto-approve of a broken file, with AWS pointing at a closed port: refused at
    once with the validation message — it never tried to connect."""
    bad = tmp_path / "mesh.yaml"
    bad.write_text(EXAMPLE.read_text().replace('account_id: "111111111111"', "account_id: 1111"))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: nothing listens
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    started = time.monotonic()
    result = meshctl("apply", "--auto-approve", "-f", str(bad), env=env, timeout=60)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert "accounts.sales.account_id" in result.stderr
    assert "nothing was sent to AWS" in result.stderr
    assert "cannot reach" not in result.stderr and "Traceback" not in result.stderr
    assert elapsed < 15, elapsed

    # The same command on a valid file does try AWS — so the refusal above was validation's.
    good = meshctl("apply", "--auto-approve", "-f", str(EXAMPLE), env=env, timeout=120)
    assert good.returncode == 1 and "cannot reach" in good.stderr, good.stderr
