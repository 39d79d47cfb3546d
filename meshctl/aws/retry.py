"""The one retry meshctl makes itself: a write refused because another writer was first.

botocore's adaptive retries absorb throttling and transient failures (``sessions.client_config``)
but not a conflict: Lake Formation and Glue answer ``ConcurrentModificationException`` (IAM
``ConcurrentModification``) when a write races another one. Nothing was changed, so repeating
the write is safe (docs/architecture.md). Two places repeat one, with the one policy below:

- ``AccountApi.call`` repeats a whole call refused so (``retry_call``);
- ``apply/grants.py`` repeats the entries of a batch call that failed so one by one (a batch
  answers per entry, in ``Failures``, not with an error).

The sleep is always passed in (the executor's, which tests replace), never ``time.sleep`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from meshctl.aws.errors import error_code

T = TypeVar("T")
Sleep = Callable[[float], None]

CONFLICT_CODES = frozenset(
    {
        "ConcurrentModificationException",  # lakeformation, glue
        "ConcurrentModification",  # iam
    }
)


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all; after failed try ``n`` (from 0), wait ``first * 2**n`` seconds,
    never more than ``longest``."""

    attempts: int
    first: float
    longest: float

    def delay(self, failed: int) -> float:
        return min(self.longest, self.first * float(2**failed))


# Six tries, waiting 0.25, 0.5, 1, 2 and 4 s: almost 8 s for the other writer to finish.
CONFLICT_BACKOFF = Backoff(attempts=6, first=0.25, longest=8.0)


def is_conflict(exc: BaseException) -> bool:
    return error_code(exc) in CONFLICT_CODES


def retry_call(
    call: Callable[[], T],
    *,
    sleep: Sleep,
    retryable: Callable[[BaseException], bool] = is_conflict,
    backoff: Backoff = CONFLICT_BACKOFF,
) -> T:
    """``call()``, tried again after a ``retryable`` error up to ``backoff.attempts`` tries in
    all; the last error (or any other) propagates."""
    for failed in range(backoff.attempts - 1):
        try:
            return call()
        except Exception as exc:
            if not retryable(exc):
                raise
        sleep(backoff.delay(failed))
    return call()
