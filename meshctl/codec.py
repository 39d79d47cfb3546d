"""JSON round-trip for the frozen dataclasses of model, observed and plan.

One generic codec so every value a plan carries (before/after) is plain JSON in a plan file and
the same typed value again when apply reads it back. Frozensets are written as sorted lists so the
same value always gives the same JSON (fingerprints depend on it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Mapping
from datetime import date
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")
Json = Any


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a class's dataclass field names, or None


def _field_names(cls: type) -> tuple[str, ...] | None:
    names = _FIELDS.get(cls, ())
    if names == ():
        names = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
        _FIELDS[cls] = names
    return names


def to_json(value: Any) -> Json:
    """A JSON-able copy of a dataclass, enum, collection or scalar; deterministic.

    Called for every value of a snapshot (its fingerprint) and a plan: the common cases (plain
    scalars, then dataclasses by their cached field names) are decided by the value's type alone."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    names = _field_names(cls)
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted((to_json(v) for v in value), key=_sort_key)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return value


def _sort_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _encode_default(value: Any) -> Json:
    """What ``json`` cannot encode itself, one level at a time, exactly as ``to_json`` does it
    (dataclasses, enums that are not ``str``/``int``, dates, sets, other mappings)."""
    names = _field_names(type(value))
    if names is not None:
        return {name: getattr(value, name) for name in names}
    if isinstance(value, frozenset | set):
        return sorted((to_json(v) for v in value), key=_sort_key)
    return to_json(value)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_encode_default).encode


def canonical_json(value: Any) -> str:
    """``json.dumps(to_json(value), sort_keys=True, separators=(",", ":"))``, without building
    the ``to_json`` copy first: ``json``'s C encoder walks lists, tuples, dicts, text (a ``StrEnum``
    too) and numbers itself and asks ``_encode_default`` for the rest. Called for every value of
    a snapshot (its fingerprint). Dict keys are text here (field names, JSON documents)."""
    return _CANONICAL(value)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[T], data: Json) -> T:
    """Rebuild a value of type ``cls`` from what ``to_json`` wrote."""
    return typing.cast(T, _decode(cls, data))


def _decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _decode(non_none[0], data) if len(non_none) == 1 else data
    if origin is frozenset:
        return frozenset(_decode(args[0], v) for v in data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin in (dict, Mapping) or tp is dict:
        if args:
            return {k: _decode(args[1], v) for k, v in data.items()}
        return dict(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is date:
        return date.fromisoformat(data)
    return data
