"""The apply lock held as a lease: renewed in the background, checked before every write.

Invariants:
- While a ``Lease`` runs, a daemon thread renews the lock every ``renew_every`` seconds, so a live
  apply's ``ExpiresAt`` stays ahead of the clock and no other apply may take it over.
- The lease is lost when a renewal's condition fails (someone ran ``meshctl unlock`` on it, or
  took it over after it expired), or when its expiry passed with no successful renewal (AWS
  unreachable: another apply may take it over now). A refused renewal is final; an expiry ends
  when a later renewal succeeds, which proves nobody took the lock in between (a takeover
  changes the Token).
- ``check()`` only reads what the thread recorded and the clock: it is cheap enough to call before
  every write, and it never calls AWS. A write already in flight when the lease is lost finishes;
  the next one is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from meshctl.aws.lock import (
    DEFAULT_RENEW_EVERY_SECONDS,
    DEFAULT_TTL_SECONDS,
    LockInfo,
    LockTable,
    iso_time,
)
from meshctl.errors import LockError


class Lease:
    """The lock ``info`` taken in ``table``, kept alive while the ``with`` block runs."""

    def __init__(
        self,
        table: LockTable,
        info: LockInfo,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        renew_every: float = DEFAULT_RENEW_EVERY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.info = info
        self._ttl = ttl_seconds
        self._renew_every = renew_every
        self._clock = clock
        self._expires_at = float(info.expires_at)
        self._lost = ""  # why a renewal was refused; final
        self._last_error = ""  # the last renewal that failed for another reason (network, ...)
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meshctl-lease", daemon=True)

    @property
    def lock_id(self) -> str:
        return self.info.lock_id

    def start(self) -> Lease:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (promptly: the thread waits on an Event, not a sleep)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def __enter__(self) -> Lease:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self._renew_every):
            if not self.renew():
                return

    def renew(self) -> bool:
        """Renew once; False when the lease is lost for good (the thread stops then)."""
        try:
            expires_at = self.table.renew(self.info.lock_id, self._ttl)
        except LockError as exc:
            with self._guard:
                self._lost = str(exc)
            return False
        except Exception as exc:  # a failed call, not a lost lease: the expiry decides
            with self._guard:
                self._last_error = f"{type(exc).__name__}: {exc}"
            return True
        with self._guard:
            self._expires_at = float(expires_at)
            self._last_error = ""
        return True

    @property
    def expires_at(self) -> float:
        """When the lease ends unless renewed again, as of the last successful renewal."""
        with self._guard:
            return self._expires_at

    @property
    def lost_reason(self) -> str:
        """Why the lease is lost, or "" while it is held."""
        with self._guard:
            lost, last_error, expires_at = self._lost, self._last_error, self._expires_at
        if lost:
            return lost
        if self._clock() >= expires_at:
            why = f"; last renewal failed: {last_error}" if last_error else ""
            return f"lock {self.info.lock_id} expired at {iso_time(expires_at)} unrenewed{why}"
        return ""

    def check(self) -> None:
        """Raise LockError when the lease is lost or expired; call it before each write."""
        reason = self.lost_reason
        if reason:
            raise LockError(
                f"the apply lock was lost ({reason}); stopped before the next write; nothing "
                "after this point was changed; run plan again"
            )
