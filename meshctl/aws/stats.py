"""AWS call statistics per (account, service, operation), for ``--stats`` and the benchmarks.

Counted with botocore event hooks on every client meshctl creates, so nothing calls AWS without
being counted: ``before-call`` fires once per API call, ``request-created`` once per HTTP attempt
(the difference is botocore's retries). Role assumptions are recorded explicitly by
``sessions.py`` against the account being entered, because that is where they count in the
per-account budget (architecture.md).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

_WRITE_PREFIXES = (
    "Accept",
    "Add",
    "Batch",
    "Create",
    "Delete",
    "Put",
    "Remove",
    "Revoke",
    "Grant",
    "Tag",
    "TransactWrite",
    "Untag",
    "Update",
)


@dataclass(frozen=True, order=True)
class CallKey:
    account_id: str
    service: str
    operation: str

    @property
    def is_write(self) -> bool:
        # BatchGetItem/BatchGetTable are reads; every other Batch* meshctl uses writes.
        if self.operation.startswith("BatchGet"):
            return False
        return self.operation.startswith(_WRITE_PREFIXES)


class CallStats:
    """Thread-safe counters of AWS calls and HTTP attempts; one per command run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[CallKey] = Counter()
        self._attempts: Counter[CallKey] = Counter()
        self._started = time.monotonic()

    # --- recording -------------------------------------------------------------------------

    def record(self, account_id: str, service: str, operation: str, *, attempts: int = 1) -> None:
        key = CallKey(account_id, service, operation)
        with self._lock:
            self._calls[key] += 1
            self._attempts[key] += attempts

    def _record_attempt(self, key: CallKey) -> None:
        with self._lock:
            self._attempts[key] += 1

    def attach(self, client: Any, account_id: str) -> None:
        """Count every call ``client`` makes, under ``account_id``."""
        service = client.meta.service_model.service_name

        def before_call(model: Any, **_: Any) -> None:
            with self._lock:
                self._calls[CallKey(account_id, service, model.name)] += 1

        def request_created(operation_name: str = "", **_: Any) -> None:
            self._record_attempt(CallKey(account_id, service, operation_name))

        # register_first: a handler that answers before-call (a stub) must not hide the count.
        client.meta.events.register_first("before-call", before_call)
        client.meta.events.register_first("request-created", request_created)

    # --- reading ---------------------------------------------------------------------------

    def calls(
        self,
        *,
        account_id: str | None = None,
        service: str | None = None,
        operation: str | None = None,
    ) -> int:
        """Number of API calls matching every filter given (retries not included)."""
        with self._lock:
            items = list(self._calls.items())
        return sum(
            n
            for k, n in items
            if (account_id is None or k.account_id == account_id)
            and (service is None or k.service == service)
            and (operation is None or k.operation == operation)
        )

    @property
    def total(self) -> int:
        return self.calls()

    @property
    def writes(self) -> int:
        with self._lock:
            return sum(n for k, n in self._calls.items() if k.is_write)

    @property
    def retries(self) -> int:
        with self._lock:
            return sum(max(0, self._attempts[k] - n) for k, n in self._calls.items())

    def snapshot(self) -> dict[CallKey, tuple[int, int]]:
        """(calls, retries) per key."""
        with self._lock:
            return {k: (n, max(0, self._attempts[k] - n)) for k, n in sorted(self._calls.items())}

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(account, service, operation, calls) rows, sorted; what ``--stats`` renders."""
        return [(k.account_id, k.service, k.operation, n) for k, (n, _) in self.snapshot().items()]

    def by_service(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for key, (n, _) in self.snapshot().items():
            out[key.service] += n
        return dict(sorted(out.items()))

    def by_account(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for key, (n, _) in self.snapshot().items():
            out[key.account_id] += n
        return dict(sorted(out.items()))

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._attempts.clear()
            self._started = time.monotonic()

    def render(self) -> str:
        """A plain-text table for ``--stats``: calls per account, service and operation."""
        snap = self.snapshot()
        elapsed = time.monotonic() - self._started
        if not snap:
            return f"AWS calls: 0 (wall time {elapsed:.2f}s)"
        rows = [("account", "service", "operation", "calls", "retries")]
        rows += [
            (k.account_id, k.service, k.operation, str(n), str(r)) for k, (n, r) in snap.items()
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for i, row in enumerate(rows):
            pairs = enumerate(zip(row, widths, strict=True))
            cells = [c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in pairs]
            lines.append("  ".join(cells).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        per_service = ", ".join(f"{s} {n}" for s, n in self.by_service().items())
        lines.append(
            f"AWS calls: {self.total} ({per_service}); writes {self.writes}; "
            f"retries {self.retries}; wall time {elapsed:.2f}s"
        )
        return "\n".join(lines)
