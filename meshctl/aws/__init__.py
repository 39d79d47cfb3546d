"""The AWS layer: the only code that imports boto3 (besides the sandbox).

``sessions`` resolves a session per account, ``reader.read_mesh`` builds the observed snapshot,
``executor.Executor`` carries out plan changes. ``Outcome`` lives here, free of boto3, so the
applier and renderers can use it without importing AWS code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What happened to one change: done (also when it was already done) or failed, with why."""

    address: str
    status: OutcomeStatus
    error: str = ""

    @classmethod
    def done(cls, address: str) -> Outcome:
        return cls(address, OutcomeStatus.DONE)

    @classmethod
    def failed(cls, address: str, error: str) -> Outcome:
        return cls(address, OutcomeStatus.FAILED, error)
