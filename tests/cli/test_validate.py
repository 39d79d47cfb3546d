"""`meshctl validate` end to end: the bad-input corpus, the example, and a 5 MB mesh file.

Every file in tests/data/invalid/ is one mistake. Its first line says where meshctl must point:
``# expect: LINE PATH | words of the message`` (PATH ``-`` for a problem with the file as a whole).
A file that cannot carry that line (the empty file) has it in ``NAME.expect`` beside it; a
directory case (``*.d/``, merged like ``-f mesh.d/``) has ``expect.txt`` lines starting with the
file name. Each case runs the real console script and must exit 1, without a traceback, printing
``FILE:LINE: PATH: ...`` with the expected words.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.sandbox import run_meshctl

from meshctl.errors import ValidationError
from meshctl.spec.load import load_spec, summarize

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "data" / "invalid"


@dataclass(frozen=True)
class Expected:
    file: Path
    line: int
    path: str  # "" for a problem with the whole file
    words: str

    def prefix(self) -> str:
        return f"{self.file}:{self.line}: " + (f"{self.path}: " if self.path else "")


def _parse(spec: str, file: Path) -> Expected:
    where, _, words = spec.partition("|")
    line, path = where.split()
    return Expected(file, int(line), "" if path == "-" else path, words.strip())


def _expectations(case: Path) -> list[Expected]:
    if case.is_dir():
        found = []
        for row in (case / "expect.txt").read_text().splitlines():
            name, rest = row.split(maxsplit=1)
            found.append(_parse(rest.replace("{dir}", str(case)), case / name))
        return found
    sidecar = case.with_name(case.name + ".expect")
    if sidecar.exists():
        return [_parse(sidecar.read_text(), case)]
    first = case.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{case.name}: first line must be '# expect: ...'"
    return [_parse(first.removeprefix("# expect: "), case)]


CASES = sorted(p for p in INVALID.iterdir() if p.suffix == ".yaml" or p.suffix == ".d")


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return run_meshctl("validate", "-f", str(path), timeout=60)


def test_corpus_covers_the_bad_input_list() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_invalid_file_exits_1_naming_line_and_field(case: Path) -> None:
    expected = _expectations(case)
    result = _validate(case)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    for want in expected:
        lines = [line for line in output.splitlines() if want.prefix() in line]
        assert lines, f"no line starting {want.prefix()!r} in:\n{output}"
        assert any(want.words in line for line in lines), f"{want.words!r} not in {lines}"


def test_example_is_valid_and_summarised() -> None:
    result = _validate(ROOT / "examples" / "mesh.yaml")
    assert result.returncode == 0, result.stderr
    assert (
        "4 accounts (3 producers, 3 consumers), 3 products, "
        "6 subscriptions (3 approved, 2 pending, 1 denied)" in result.stdout
    )


def test_directory_of_mesh_files_is_one_mesh() -> None:
    result = _validate(ROOT / "tests" / "data" / "valid" / "mesh.d")
    assert result.returncode == 0, result.stderr
    assert "3 accounts (2 producers, 2 consumers), 2 products, 3 subscriptions" in result.stdout


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    result = _validate(tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert "nope.yaml: no such file" in result.stderr
    assert "Traceback" not in result.stderr


# --- a 5 MB mesh file -----------------------------------------------------------------------


def big_mesh(target_bytes: int) -> tuple[str, int]:
    """A valid mesh of about ``target_bytes``: 450 accounts, 500 products, ~25k subscriptions."""
    out = ["version: 1", "mesh:", '  account_id: "555555555555"', "  region: us-east-1"]
    out.append("accounts:")
    for i in range(50):
        out += [f"  prod-{i}:", f'    account_id: "1{i:011d}"', "    roles: [producer]"]
    for i in range(400):
        out += [f"  cons-{i}:", f'    account_id: "9{i:011d}"', "    roles: [consumer]"]
    out.append("products:")
    for k in range(500):
        out += [
            f"  p{k}.data:",
            f"    producer: prod-{k % 50}",
            f"    source_database: db{k}",
            "    tables: [orders, customers, lines]",
            f"    owners: [owner{k}@example.com]",
        ]
    out.append("subscriptions:")
    size, count = sum(len(line) + 1 for line in out), 0
    while size < target_bytes:
        product = count // 400
        entry = [
            f"  - consumer: cons-{count % 400}",
            f"    product: p{product}.data",
            "    tables: [orders]",
            "    permissions: [SELECT, DESCRIBE]",
            "    status: approved",
            f"    approved_by: owner{product}@example.com",
            "    purpose: measuring validation speed",
            "    expires: 2030-01-01",
        ]
        out += entry
        size += sum(len(line) + 1 for line in entry)
        count += 1
    return "\n".join(out) + "\n", count


@pytest.mark.slow
def test_5mb_file_validates_in_under_5_seconds(tmp_path: Path) -> None:
    text, count = big_mesh(5 * 1024 * 1024)
    path = tmp_path / "mesh.yaml"
    path.write_text(text)
    # CPU time, not wall time: the bound is meshctl's cost, not how busy the test machine is.
    started = time.process_time()
    spec = load_spec(path)
    elapsed = time.process_time() - started
    assert len(spec.subscriptions) == count
    assert summarize(spec).startswith("450 accounts (50 producers, 400 consumers), 500 products")
    assert elapsed < 5.0, f"5 MB took {elapsed:.1f} s of CPU"


@pytest.mark.slow
def test_5mb_file_with_a_mistake_at_the_end_names_its_line(tmp_path: Path) -> None:
    text, _ = big_mesh(5 * 1024 * 1024)
    text += "  - consumer: cons-399\n    product: p499.data\n    permissions: [SELECT, READ]\n"
    path = tmp_path / "mesh.yaml"
    path.write_text(text)
    last = text.count("\n")
    result = _validate(path)
    assert result.returncode == 1
    assert f"{path}:{last}: subscriptions[" in result.stderr
    assert "].permissions[1]: 'READ' is not one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        load_spec(INVALID / "alias-bomb.yaml")
    assert time.perf_counter() - started < 1.0
    assert "aliases (*name) are not supported" in str(caught.value)
