"""The one small tree of errors meshctl raises for things a user can act on.

The CLI prints ``Error: <message>`` for any ``MeshctlError`` and exits 1; only ``--debug`` shows a
traceback. Anything that is not a ``MeshctlError`` is a bug in meshctl.
"""

from __future__ import annotations

from dataclasses import dataclass


class MeshctlError(Exception):
    """Base of every error meant for the user."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in a mesh file, printed as ``FILE:LINE: path.to.field: message``."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class ValidationError(MeshctlError):
    """The mesh file is invalid; carries every problem found, sorted by file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class AwsError(MeshctlError):
    """AWS refused or failed a call in a way the user must act on (access, credentials, network)."""


class PlanError(MeshctlError):
    """A plan cannot be made or applied (guards, stale plan, plan already applied)."""


class LockError(MeshctlError):
    """Another apply holds the lock."""


class SandboxError(MeshctlError):
    """The local sandbox cannot be started, found or stopped."""
