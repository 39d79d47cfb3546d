"""README.md documents every field of mesh.yaml and every command of the CLI contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshctl.spec.load import schema

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item)


PROPERTIES = sorted(set(_property_names(schema())))


def test_schema_has_the_fields_of_design_section_2() -> None:
    assert {"subscriptions_table", "mesh_database", "grantable", "approved_by"} <= set(PROPERTIES)


@pytest.mark.parametrize("name", PROPERTIES)
def test_every_schema_property_is_documented(name: str) -> None:
    assert f"`{name}`" in README, f"README.md does not document `{name}`"


@pytest.mark.parametrize(
    "command",
    [
        "meshctl validate",
        "meshctl plan",
        "meshctl apply",
        "meshctl import",
        "meshctl subscriptions list",
        "meshctl subscriptions get",
        "meshctl sandbox up",
        "meshctl unlock",
    ],
)
def test_every_command_is_listed(command: str) -> None:
    assert command in README


def test_quick_start_is_two_commands() -> None:
    assert "make demo" in README and "make test" in README


def _commands() -> Iterator[tuple[str, Any]]:
    """Every leaf command of the CLI, as (words after meshctl, click command)."""
    import typer

    from meshctl.cli.app import _register_subcommands, app

    _register_subcommands()

    def walk(command: Any, words: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        children = getattr(command, "commands", None)
        if not children:
            yield " ".join(words), command
            return
        for name, child in children.items():
            yield from walk(child, (*words, name))

    yield from walk(typer.main.get_command(app), ())


def _usage_block() -> str:
    start = README.index("## Commands")
    return README[start : README.index("```", README.index("```", start) + 3)]


def test_the_command_list_names_every_command_and_option() -> None:
    """The README's command list is complete: a newcomer finds every command and option there."""
    block = _usage_block()
    missing = []
    for words, command in _commands():
        head = words.split()
        lines = [
            line
            for line in block.splitlines()
            if line.startswith(f"meshctl {head[0]}")
            and all(any(w in part.split("|") for part in line.split()) for w in head[1:])
        ]
        if not lines:
            missing.append(f"meshctl {words}")
            continue
        for param in command.params:
            names = [o for o in param.opts if o.startswith("-")]
            if names and not any(name in line for name in names for line in lines):
                missing.append(f"meshctl {words} {names[-1]}")
    assert missing == [], "\n".join(missing)


def test_the_readme_says_how_long_make_test_takes() -> None:
    assert "make test" in README and "minutes" in README[README.index("## Developing") :]
