"""What happened to one change of a plan, in the words apply reports end to end.

Part of the foundation (docs/architecture.md): it imports nothing of meshctl, so the executor
(``aws/apply``), the applier and the renderers share one ``Status`` without importing each
other. The executor answers each change with an ``Outcome`` (done or failed); the applier adds
``skipped`` for the changes it never hands to the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DONE = "done"  # carried out, or found already done
    FAILED = "failed"  # attempted (or refused) with an error saying why
    SKIPPED = "skipped"  # never attempted: a dependency did not succeed, or the lock was lost


@dataclass(frozen=True)
class Outcome:
    """What the executor did with one change: done (also when it was already done) or failed."""

    address: str
    status: Status
    error: str = ""

    @classmethod
    def done(cls, address: str) -> Outcome:
        return cls(address, Status.DONE)

    @classmethod
    def failed(cls, address: str, error: str) -> Outcome:
        return cls(address, Status.FAILED, error)
