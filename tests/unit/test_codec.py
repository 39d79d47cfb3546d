"""codec.canonical_json is the text of to_json, whatever the value holds (fingerprints and saved
plans compare it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import Enum

from meshctl.codec import canonical_json, to_json
from meshctl.observed import Grant, LakeSettings, LfResource, RecordStatus, ResourceType


class _Plain(Enum):
    ONE = "one"


@dataclass(frozen=True)
class _Holder:
    name: str
    when: date
    plain: _Plain
    status: RecordStatus
    items: frozenset[str]
    nested: frozenset[tuple[str, int]]
    mapping: dict[str, object]
    settings: LakeSettings


def _reference(value: object) -> str:
    return json.dumps(to_json(value), sort_keys=True, separators=(",", ":"))


def test_canonical_json_is_the_text_of_to_json() -> None:
    holder = _Holder(
        name='quote " and é',
        when=date(2026, 5, 1),
        plain=_Plain.ONE,
        status=RecordStatus.DELETED,
        items=frozenset({"b", "a", 'c"', "B"}),
        nested=frozenset({("x", 2), ("x", 10), ("a", 1)}),
        mapping={"z": [1, 2.5, None, True], "a": {"k": (ResourceType.TABLE, "t")}},
        settings=LakeSettings(admins=frozenset({"arn:b", "arn:a"}), cross_account_version=3),
    )
    for value in (holder, [holder, (holder,)], {"b": holder, "a": 1}, "text", 3, None):
        assert canonical_json(value) == _reference(value)


def test_canonical_json_of_a_grant() -> None:
    grant = Grant(
        principal="111111111111",
        resource=LfResource(
            type=ResourceType.TABLE, catalog_id="555555555555", database="db", table="t"
        ),
        permissions=frozenset({"SELECT", "DESCRIBE"}),
        grantable=frozenset({"SELECT"}),
    )
    assert canonical_json(grant) == _reference(grant)
    assert '"permissions":["DESCRIBE","SELECT"]' in canonical_json(grant)
