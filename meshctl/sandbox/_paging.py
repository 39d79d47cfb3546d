"""Opaque page tokens for the sandbox's patched list calls.

AWS page tokens are opaque and tied to the request that produced them. Ours encode the offset of
the next item and a fingerprint of the request's filters, so a token replayed with different
filters is refused (as AWS refuses it) instead of silently returning the wrong page. Listings are
taken in a stable order, so an offset is enough while nothing is written between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def fingerprint(*parts: Any) -> str:
    """A short digest of the request's filters, stable across processes."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(offset: int, filters: str) -> str:
    raw = json.dumps({"o": offset, "f": filters}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(token: str, filters: str) -> int | None:
    """The offset a token points at, or None when it is malformed or from another request."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["o"]
        same_request = data["f"] == filters
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if not isinstance(offset, int) or offset < 0 or not same_request:
        return None
    return offset


def page(
    items: Sequence[T],
    *,
    max_results: int | None,
    next_token: str | None,
    filters: str,
    default_size: int,
    max_size: int,
    invalid: Callable[[str], Exception],
) -> tuple[Sequence[T], str | None]:
    """One page of ``items`` and the token of the next page (None on the last page).

    ``invalid`` builds the service's own error for a bad MaxResults or NextToken, so each
    service reports them in its own words (InvalidInputException, InvalidNextTokenException...).
    """
    size = default_size if max_results is None else int(max_results)
    if not 1 <= size <= max_size:
        raise invalid(f"MaxResults must be between 1 and {max_size}, got {size}.")
    start = 0
    if next_token:
        offset = decode_token(next_token, filters)
        if offset is None:
            raise invalid("The NextToken is invalid or does not belong to this request.")
        start = offset
    chunk = items[start : start + size]
    end = start + len(chunk)
    return chunk, (encode_token(end, filters) if end < len(items) else None)
