"""Carry out plan changes: one call per step of same kind, action and account.

The applier groups changes and calls ``Executor.execute``; this module dispatches to the
action of the kind (``apply/<kind>.py``) and turns results into ``Outcome``s. Grants go together so
they can be batched 20 a call; every other kind is carried out change by change.

Failure policy: one change's failure (access denied for one action, a refused conditional write,
a per-entry batch failure) is that change's failed Outcome and the others go on. Credentials or
endpoint problems mean no further call can work: the change and every remaining one of the call
fail with that message, without being attempted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from meshctl.aws.api import AccountApi
from meshctl.aws.apply import data_filters as apply_filters
from meshctl.aws.apply import glue as apply_glue
from meshctl.aws.apply import iam as apply_iam
from meshctl.aws.apply import kms as apply_kms
from meshctl.aws.apply import mesh as apply_mesh
from meshctl.aws.apply import records as apply_tracker
from meshctl.aws.apply.context import ApplyContext, ChangeFailed
from meshctl.aws.apply.grants import grants
from meshctl.aws.errors import is_fatal
from meshctl.aws.read.lakeformation import read_share_arns
from meshctl.aws.sessions import AccountSessions
from meshctl.errors import AwsError
from meshctl.outcome import Outcome
from meshctl.planning.plan import Action, Change, Kind
from meshctl.spec.model import DEFAULT_SUBSCRIPTIONS_TABLE, MeshSpec

Action_ = Callable[[ApplyContext, Change], None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Executor:
    """Applies changes with the sessions of each account; safe to call from several threads
    for different accounts at once. ``spec`` (or ``subscriptions_table``) names the table
    subscription records are written to."""

    def __init__(
        self,
        sessions: AccountSessions,
        *,
        who: str,
        plan_id: str,
        commit: str | None,
        clock: Callable[[], datetime] = _utc_now,
        spec: MeshSpec | None = None,
        subscriptions_table: str = DEFAULT_SUBSCRIPTIONS_TABLE,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 4,
    ) -> None:
        self.sessions = sessions
        if spec is not None:
            subscriptions_table = spec.mesh.subscriptions_table
        self.who = who
        self._subscriptions_table = subscriptions_table
        self.plan_id = plan_id
        self.commit = commit
        self.clock = clock
        self.sleep = sleep
        self.workers = max(1, workers)
        self._actions: dict[Kind, Action_] = {
            Kind.SUBSCRIPTIONS_TABLE: apply_mesh.subscriptions_table,
            Kind.LAKE_SETTINGS: apply_mesh.lake_settings,
            Kind.CATALOG_POLICY: apply_mesh.catalog_policy,
            Kind.LF_TAG: apply_mesh.lf_tag,
            Kind.DATA_LOCATION: apply_mesh.data_location,
            Kind.KMS_GRANT: apply_kms.kms_grant,
            Kind.IAM_USER: apply_iam.iam_user,
            Kind.ROLE: apply_iam.role,
            Kind.DATABASE: apply_glue.database,
            Kind.TABLE: apply_glue.table,
            Kind.DATA_FILTER: apply_filters.data_filter,
            Kind.SUBSCRIPTION: partial(apply_tracker.subscription, table=subscriptions_table),
            Kind.RESOURCE_LINK: apply_glue.resource_link,
        }

    def execute(self, changes: Sequence[Change]) -> list[Outcome]:
        """Carry out ``changes`` (same kind, action and account) and say what happened to each."""
        if not changes:
            return []
        first = changes[0]
        if any(
            (c.kind, c.action, c.account_id) != (first.kind, first.action, first.account_id)
            for c in changes
        ):
            raise ValueError("execute() takes changes of one kind, action and account")
        work = [c for c in changes if c.action is not Action.NOOP]
        ctx = ApplyContext(
            api=AccountApi(self.sessions, first.account_id, sleep=self.sleep),
            mesh_account_id=self.sessions.mesh_account_id,
            who=self.who,
            plan_id=self.plan_id,
            commit=self.commit,
            clock=self.clock,
            sleep=self.sleep,
        )
        results: dict[str, Outcome] = {}
        try:
            # Enter the account first: if its role cannot be assumed, nothing here can work.
            self.sessions.session(first.account_id)
        except AwsError as exc:
            return [
                Outcome.failed(c.address, str(exc)) if c in work else Outcome.done(c.address)
                for c in changes
            ]
        if first.kind is Kind.RESOURCE_LINK and first.action is not Action.DELETE and work:
            # The account's invitations once for all its links: per link (on parallel workers)
            # the same invitation was listed and accepted up to ``workers`` times.
            try:
                apply_glue.accept_invitations(ctx, ctx.mesh_account_id)
            except AwsError as exc:
                results.update((c.address, Outcome.failed(c.address, str(exc))) for c in work)
                work = []
        if first.kind is Kind.SUBSCRIPTION and first.action is not Action.DELETE and work:
            # RamShares of Active records: one paginated read for the step, not one per record.
            try:
                ctx.ram_shares.update(read_share_arns(ctx.api))
            except AwsError as exc:
                results.update((c.address, Outcome.failed(c.address, str(exc))) for c in work)
                work = []
        if first.kind is Kind.SUBSCRIPTION and len(work) > 1:
            # Many records in a few transactions; what they cannot take goes one by one below.
            try:
                written, work = apply_tracker.transact_records(
                    ctx, work, table=self._subscriptions_table
                )
            except AwsError as exc:
                if exc.__cause__ is not None and is_fatal(exc.__cause__):
                    results.update((c.address, Outcome.failed(c.address, str(exc))) for c in work)
                    work = []
                written = set()
            results.update((a, Outcome.done(a)) for a in written)
        if first.kind is Kind.GRANT and work:
            try:
                results.update((o.address, o) for o in grants(ctx, work))
            except Exception as exc:  # AwsError here is fatal (credentials or endpoint)
                message = str(exc) if isinstance(exc, AwsError) else f"unexpected error: {exc!r}"
                results.update((c.address, Outcome.failed(c.address, message)) for c in work)
        else:
            self._one_by_one(ctx, work, results)
        return [results.get(c.address) or Outcome.done(c.address) for c in changes]

    def _one_by_one(
        self, ctx: ApplyContext, changes: Sequence[Change], results: dict[str, Outcome]
    ) -> None:
        """Changes of one step are independent of each other (the planner puts dependents in
        later steps), so they run on a small pool; results are keyed by address."""
        if not changes:
            return
        action = self._actions[changes[0].kind]
        fatal: list[str] = []  # the first credentials/endpoint failure; later changes skip

        def run(change: Change) -> Outcome:
            if fatal:
                return Outcome.failed(change.address, f"not attempted: {fatal[0]}")
            try:
                action(ctx, change)
                return Outcome.done(change.address)
            except ChangeFailed as exc:
                return Outcome.failed(change.address, str(exc))
            except AwsError as exc:
                if exc.__cause__ is not None and is_fatal(exc.__cause__):
                    fatal.append(str(exc))
                return Outcome.failed(change.address, str(exc))
            except Exception as exc:  # a bug or an emulator crash must not stop other changes
                return Outcome.failed(
                    change.address, f"unexpected error: {type(exc).__name__}: {exc}"
                )

        workers = min(self.workers, len(changes))
        if workers <= 1:
            outcomes = [run(c) for c in changes]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
                outcomes = list(pool.map(run, changes))
        results.update((o.address, o) for o in outcomes)
