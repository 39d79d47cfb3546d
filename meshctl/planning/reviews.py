"""Pull-request reviews, as GitHub's REST API lists them (pure: decoded JSON in, values out).

The input is the answer of "list reviews for a pull request"
(``GET /repos/{owner}/{repo}/pulls/{number}/reviews``): a JSON array of reviews, each with
``user.login``, ``state``, ``submitted_at`` and ``commit_id``. ``gh api --paginate`` prints one
array per page one after the other, and ``--slurp`` wraps the pages in an outer array: both are
read as one list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from meshctl.errors import MeshctlError


class ReviewState(StrEnum):
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"
    PENDING = "PENDING"


@dataclass(frozen=True)
class Review:
    login: str
    state: ReviewState
    submitted_at: str  # ISO 8601 UTC as GitHub writes it ("" while PENDING): sorts as text
    commit_id: str
    order: int  # position in the answer: GitHub lists reviews oldest first


def parse_reviews(text: str, name: str) -> tuple[Review, ...]:
    """The reviews of a REVIEWS.json text; a clear MeshctlError naming what is wrong."""
    pages = _json_values(text, name)
    items: list[Any] = []
    for page in pages:
        if not isinstance(page, list):
            raise MeshctlError(
                f"{name}: expected the JSON array GitHub's 'list reviews for a pull request' "
                f"returns, not {_kind(page)}"
            )
        if page and all(isinstance(p, list) for p in page):  # --slurp: an array of pages
            items.extend(x for p in page for x in p)
        else:
            items.extend(page)
    return tuple(_review(item, i, name) for i, item in enumerate(items))


def _json_values(text: str, name: str) -> list[Any]:
    decoder = json.JSONDecoder()
    values: list[Any] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            break
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise MeshctlError(
                f"{name}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        values.append(value)
    if not values:
        raise MeshctlError(f"{name}: empty; expected the JSON array of the pull request's reviews")
    return values


_STATES = {s.value: s for s in ReviewState}


def _review(item: Any, index: int, name: str) -> Review:
    where = f"{name}: review {index + 1}"
    if not isinstance(item, Mapping):
        raise MeshctlError(f"{where}: expected an object, not {_kind(item)}")
    state = item.get("state")
    if not isinstance(state, str) or state not in _STATES:
        known = ", ".join(_STATES)
        raise MeshctlError(f"{where}: state: {state!r} is not one of {known}")
    user = item.get("user")
    # A deleted account's reviews come with "user": null; nobody can be that owner.
    login = user.get("login") if isinstance(user, Mapping) else None
    if user is not None and not isinstance(login, str):
        raise MeshctlError(f"{where}: user.login: expected text, not {_kind(login)}")
    submitted = item.get("submitted_at") or ""
    commit = item.get("commit_id") or ""
    if not isinstance(submitted, str) or not isinstance(commit, str):
        raise MeshctlError(f"{where}: submitted_at and commit_id must be text")
    return Review(login or "", _STATES[state], submitted, commit, index)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "text", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def latest_reviews(reviews: Iterable[Review]) -> dict[str, Review]:
    """Each reviewer's latest review that decides something, by lowercased login: COMMENTED and
    PENDING reviews neither approve nor withdraw an approval (GitHub counts them the same way);
    a later DISMISSED, CHANGES_REQUESTED or APPROVED review replaces an earlier one."""
    latest: dict[str, Review] = {}
    deciding = (r for r in reviews if r.login and r.state not in _NOT_DECIDING)
    for review in sorted(deciding, key=lambda r: (r.submitted_at, r.order)):
        latest[review.login.casefold()] = review
    return latest


_NOT_DECIDING = frozenset({ReviewState.COMMENTED, ReviewState.PENDING})
