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
