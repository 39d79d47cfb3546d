"""Carry out a plan: guards, then every change in plan order, accounts in parallel.

Invariants:
- Changes run in the plan's order. Consecutive changes of the same kind and action form a step;
  inside a step the changes of different accounts run in parallel (bounded pool), and each
  account's changes go to the executor together so it can batch them (20 grants a call).
- A change whose ``depends_on`` names a change that failed or was skipped is skipped, never
  attempted; independent changes go on. The result lists every change as done/failed/skipped.
- The applier never branches on ``reason``; it only reads kind, action, account and values.
- ``before_write`` (the apply lock's ``Lease.check``) runs before each wave is submitted. When it
  raises LockError the lease is lost: no further wave starts, and every change not yet run is
  SKIPPED with its message (a wave already running finishes). Writing on without the lock could
  race another apply, so the apply ends instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from meshctl.errors import LockError, PlanError
from meshctl.outcome import Outcome, Status
from meshctl.planning.graph import apply_waves
from meshctl.planning.plan import Change, Plan
from meshctl.planning.planner import revoke_count

DEFAULT_MAX_REVOKES = 25


class ChangeExecutor(Protocol):
    """Carries out changes that share kind, action and account (the effects live in aws/)."""

    def execute(self, changes: Sequence[Change]) -> Sequence[Outcome]: ...


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    status: Status
    error: str = ""


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[ChangeResult, ...]

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        return all(r.status is Status.DONE for r in self.results)


def check_guards(plan: Plan, *, max_revokes: int, allow_mass_revoke: bool) -> None:
    revokes = revoke_count(plan)
    if revokes > max_revokes and not allow_mass_revoke:
        raise PlanError(
            f"the plan takes away {revokes} (revokes, archives, deletes and updates that drop a "
            f"permission: the count its summary shows), more than --max-revokes {max_revokes}; "
            "nothing was changed. Review the plan, then re-run with --allow-mass-revoke (or a "
            "higher --max-revokes) if it is intended."
        )


def execute_plan(
    plan: Plan,
    executor: ChangeExecutor,
    *,
    max_workers: int = 8,
    on_result: Callable[[ChangeResult], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> ApplyResult:
    results: list[ChangeResult] = []
    blocked: set[str] = set()

    def record(result: ChangeResult) -> None:
        results.append(result)
        if result.status is not Status.DONE:
            blocked.add(result.change.address)
        if on_result is not None:
            on_result(result)

    waves = apply_waves(plan.effective_changes)
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        for n, wave in enumerate(waves):
            by_account: dict[str, list[Change]] = {}
            for change in wave:
                dep = next((d for d in change.depends_on if d in blocked), None)
                if dep is not None:
                    record(ChangeResult(change, Status.SKIPPED, f"depends on {dep}"))
                else:
                    by_account.setdefault(change.account_id, []).append(change)
            if not by_account:
                continue
            refused = _write_refused(before_write)
            if refused:
                not_run = [c for group in by_account.values() for c in group]
                for change in not_run + [c for later in waves[n + 1 :] for c in later]:
                    record(ChangeResult(change, Status.SKIPPED, refused))
                break
            futures = [pool.submit(_run, executor, group) for group in by_account.values()]
            for future in futures:
                for result in future.result():
                    record(result)
    order = {c.address: i for i, c in enumerate(plan.effective_changes)}
    results.sort(key=lambda r: order.get(r.change.address, 0))
    return ApplyResult(tuple(results))


def _write_refused(before_write: Callable[[], None] | None) -> str:
    """Why the next write must not happen (the lock was lost), or "" when it may."""
    if before_write is None:
        return ""
    try:
        before_write()
    except LockError as exc:
        return str(exc)
    return ""


def _run(executor: ChangeExecutor, group: list[Change]) -> list[ChangeResult]:
    """Run one account's share of a step; an unexpected error fails that group, not the apply."""
    try:
        outcomes = {o.address: o for o in executor.execute(group)}
    except Exception as exc:  # reported per change; the apply goes on
        return [ChangeResult(c, Status.FAILED, f"{type(exc).__name__}: {exc}") for c in group]
    out: list[ChangeResult] = []
    for change in group:
        outcome = outcomes.get(change.address)
        if outcome is None:
            out.append(ChangeResult(change, Status.FAILED, "executor returned no outcome"))
        elif outcome.status is Status.DONE:
            out.append(ChangeResult(change, Status.DONE))
        else:
            out.append(ChangeResult(change, Status.FAILED, outcome.error))
    return out
