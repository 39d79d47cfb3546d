"""What every apply action needs: the account's API, who/why facts, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from meshctl.aws.api import AccountApi
from meshctl.aws.tracker import format_date


class ChangeFailed(Exception):
    """One change cannot be carried out; its message becomes the failed Outcome's error."""


@dataclass(frozen=True)
class ApplyContext:
    api: AccountApi  # the account the changes are made in
    mesh_account_id: str
    who: str  # caller ARN, written as UpdatedBy/CreatedBy
    plan_id: str
    commit: str | None
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    # (principal, database, table or "") → RAM share ARN, read once for a step of records.
    ram_shares: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        return self.api.account_id

    def now(self) -> str:
        return format_date(self.clock())
