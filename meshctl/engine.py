"""The façade the CLI talks to: load → observe → plan → apply.

The engine wires the pieces together and owns nothing else: config reads the file, aws/ reads
and writes AWS, the planner is pure, the applier runs a plan. Clock and console-free callbacks are
passed in so tests can drive every path.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

from meshctl.applier import ApplyResult, ChangeResult, check_guards, execute_plan
from meshctl.aws import invitations
from meshctl.aws.api import AccountApi
from meshctl.aws.errors import translated
from meshctl.aws.lease import Lease
from meshctl.aws.lock import LockTable
from meshctl.aws.read.snapshot import read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.errors import AwsError, LockError, PlanError
from meshctl.observed import ObservedMesh
from meshctl.planning.canonical import iam_principal
from meshctl.planning.invitations import invited_accounts, settled_accounts
from meshctl.planning.plan import Plan
from meshctl.planning.planner import make_plan
from meshctl.spec.load import collector_paused, load_spec, mesh_digest
from meshctl.spec.model import MeshSpec


def _now() -> datetime:
    return datetime.now(UTC)


def git_commit() -> str:
    return os.environ.get("MESHCTL_COMMIT") or os.environ.get("GITHUB_SHA") or ""


@dataclass
class Engine:
    mesh_path: Path
    credentials_file: Path | None = None
    clock: Callable[[], datetime] = _now
    _spec: MeshSpec | None = field(default=None, init=False, repr=False)
    # The lease `locked` holds; `execute` checks it before each wave so a lost lock stops writes.
    _lease: Lease | None = field(default=None, init=False, repr=False)
    # What `observe` read while that lease was held: nothing can change it before `execute`.
    _observed_locked: ObservedMesh | None = field(default=None, init=False, repr=False)

    @property
    def spec(self) -> MeshSpec:
        if self._spec is None:
            self._spec = load_spec(self.mesh_path)
        return self._spec

    def validate(self) -> MeshSpec:
        """Load and validate the mesh file; raises ValidationError before any AWS call."""
        return self.spec

    @cached_property
    def sessions(self) -> AccountSessions:
        return AccountSessions.for_spec(self.spec, credentials_file=self.credentials_file)

    @property
    def today(self) -> date:
        return self.clock().date()

    def observe(self) -> ObservedMesh:
        with collector_paused():
            observed = read_mesh(self.spec, self.sessions)
        if self._lease is not None:
            self._observed_locked = observed
        return observed

    def plan(self, *, prune: bool = False) -> Plan:
        with collector_paused():  # the plan keeps what it builds too
            observed = self.observe()
            return make_plan(
                self.spec,
                observed,
                plan_id=uuid.uuid4().hex,
                mesh_file_sha256=mesh_digest(self.mesh_path),
                today=self.today,
                prune=prune,
                created_at=self.clock().isoformat(timespec="seconds"),
                ignore_principals=self.own_principals(),
                mesh_file=self.mesh_path.name,
            )

    def own_principals(self) -> tuple[str, ...]:
        """Who meshctl is in the mesh account (after a read): Lake Formation lists that identity
        as the creator of what meshctl made, and those grants are neither desired nor meshctl's
        to revoke, whether it is the deployer role, a ``role_arn`` or the caller's own role."""
        m = self.spec.mesh.account_id
        found = {
            iam_principal(self.sessions.acting_as(m)),
            iam_principal(self.sessions.caller_arn()),
        }
        # In a consumer's catalog meshctl creates the resource links its principals are granted
        # DESCRIBE on: Lake Formation lists meshctl's identity there as their creator.
        found |= {
            iam_principal(self.sessions.acting_as(a.account_id))
            for a in self.spec.accounts
            if a.is_consumer
        }
        return tuple(sorted(p for p in found if p))

    def _lock_table(self) -> LockTable:
        mesh = self.spec.mesh
        return LockTable(self.sessions.client(mesh.account_id, "dynamodb"), mesh.locks_table)

    def _lock_errors(self) -> AbstractContextManager[None]:
        """AWS errors of the lock table as AwsError (account, identity, action), not tracebacks."""
        m = self.spec.mesh.account_id
        where = f"{m} (lock table {self.spec.mesh.locks_table})"
        return translated(where, self.sessions.acting_as(m), "dynamodb")

    def holder(self) -> str:
        return f"{self.sessions.caller_arn()} on {socket.gethostname()} pid {os.getpid()}"

    @contextmanager
    def locked(self, operation: str) -> Iterator[Lease]:
        """Hold the mesh's apply lock as a renewed lease for the duration.

        A second holder fails fast. Raises LockError at the end when the lock was no longer
        ours to release, unless the body is already raising (that error is the one to see).
        """
        table = self._lock_table()
        with self._lock_errors():
            table.ensure()
            info = table.acquire(self.holder(), operation)
        lease = self._lease = Lease(table, info).start()
        body_ok = False
        try:
            yield lease
            body_ok = True
        finally:
            self._lease = None
            self._observed_locked = None
            lease.stop()
            with self._lock_errors():
                released = table.release(info.lock_id)
            if body_ok and not released:
                why = lease.lost_reason or f"lock {info.lock_id} was unlocked or taken over"
                raise LockError(
                    f"the apply lock was no longer ours at release: {why}. Another apply may "
                    "have changed the mesh meanwhile; run plan again."
                )

    def unlock(self, lock_id: str) -> bool:
        with self._lock_errors():
            return self._lock_table().release(lock_id)

    def check_saved_plan(self, plan: Plan) -> None:
        """Refuse a saved plan when the file or the live state moved since it was made."""
        if plan.mesh_file_sha256 != mesh_digest(self.mesh_path):
            raise PlanError(
                f"plan is stale: {self.mesh_path} changed since plan {plan.plan_id} was made; "
                "nothing was changed. Run `meshctl plan` again."
            )
        if self.observe().fingerprint != plan.observed_fingerprint:
            raise PlanError(
                f"plan is stale: the live mesh changed since plan {plan.plan_id} was made; "
                "nothing was changed. Run `meshctl plan` again."
            )
        with self._lock_errors():
            self._lock_table().mark_plan_applied(plan.plan_id, self.holder())

    def execute(
        self,
        plan: Plan,
        *,
        max_revokes: int,
        allow_mass_revoke: bool,
        on_result: Callable[[ChangeResult], None] | None = None,
    ) -> ApplyResult:
        from meshctl.aws.apply.executor import Executor

        check_guards(plan, max_revokes=max_revokes, allow_mass_revoke=allow_mass_revoke)
        executor = Executor(
            self.sessions,
            spec=self.spec,
            who=self.sessions.caller_arn(),
            plan_id=plan.plan_id,
            commit=git_commit(),
            clock=self.clock,
        )
        before_write = self._lease.check if self._lease is not None else None
        api = AccountApi(self.sessions, self.spec.mesh.account_id)
        table = self.spec.mesh.locks_table
        earlier = self._journal_read(api, table)
        invited = invited_accounts(plan.effective_changes)
        if invited or not earlier.kept:  # write-ahead: before any grant can send an invitation
            invitations.record(api, table, invited)
        result = execute_plan(plan, executor, on_result=on_result, before_write=before_write)
        recorded = earlier.accounts | invited
        settled = settled_accounts(recorded, ((r.change, r.status) for r in result.results))
        # A failure leaves them recorded: later plans list their invitations until an apply
        # settles them.
        with suppress(AwsError):
            invitations.settle(api, table, settled)
        return result

    def _journal_read(self, api: AccountApi, table: str) -> invitations.InvitationJournal:
        """The journal as the plan under this lock read it, else read now."""
        seen = self._observed_locked
        if seen is None:
            return invitations.read_journal(api, table)
        return invitations.InvitationJournal(
            seen.invitation_journal_kept, frozenset(seen.invitation_journal)
        )
