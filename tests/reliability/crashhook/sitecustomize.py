"""Crash hook for the crash-at-every-step suite (test-only; put this directory on PYTHONPATH).

With ``MESHCTL_TEST_KILL_AFTER_WRITES=k`` in the environment, every botocore session of the
process counts the AWS WRITE calls that succeed and the process SIGKILLs itself right after the
k-th one (``after-call`` with a 2xx answer): no cleanup, no ``finally``, no lock release —
exactly what a killed CI runner leaves behind. A write is any operation except
Get/List/Describe/Search/Scan/Query/BatchGet* and sts AssumeRole/GetCallerIdentity.

With ``MESHCTL_TEST_WRITE_LOG=path`` each counted write is appended there as
``<n> <service> <operation>`` (before the kill), so the test knows what the k-th write was and,
with a huge k, how many writes a full apply makes; its first line is ``0 pid <pid>``.

With ``MESHCTL_TEST_PAUSE_AFTER=Operation:seconds`` the process sleeps once, right after the
first successful write of that operation (``PutItem:2`` holds the freshly taken apply lock for
two seconds, so a concurrent apply surely meets it).
"""

from __future__ import annotations

import os

_KILL_AFTER = os.environ.get("MESHCTL_TEST_KILL_AFTER_WRITES", "")
_LOG = os.environ.get("MESHCTL_TEST_WRITE_LOG", "")
_PAUSE = os.environ.get("MESHCTL_TEST_PAUSE_AFTER", "")
_READS = ("Get", "List", "Describe", "Search", "Scan", "Query", "BatchGet")
_NOT_WRITES = frozenset({"AssumeRole", "GetCallerIdentity"})


def _install(kill_after: int, log: str, pause: str) -> None:
    import signal
    import threading
    import time
    from typing import Any

    import botocore.session

    lock = threading.Lock()
    count = [0]
    pause_op, _, pause_seconds = pause.partition(":")
    paused: list[str] = []
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"0 pid {os.getpid()}\n")

    def after_call(
        http_response: Any = None, model: Any = None, event_name: str = "", **_: Any
    ) -> None:
        operation = getattr(model, "name", "")
        if operation in _NOT_WRITES or operation.startswith(_READS):
            return
        if http_response is None or not 200 <= http_response.status_code < 300:
            return  # a failed write changed nothing (or its retry will be counted)
        with lock:
            count[0] += 1
            n = count[0]
            if log:
                service = event_name.split(".")[1] if "." in event_name else "?"
                with open(log, "a", encoding="utf-8") as out:
                    out.write(f"{n} {service} {operation}\n")
            if n >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        if operation == pause_op and not paused:
            paused.append(operation)
            time.sleep(float(pause_seconds or 1))

    original_init = botocore.session.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        # Once per event system: meshctl copies one session's handlers into each account's
        # session (aws/sessions.py), and a copied hook must not count a write twice.
        self.register("after-call", after_call, unique_id="meshctl-crashhook-after-call")

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]


if _KILL_AFTER or _PAUSE:
    _install(int(_KILL_AFTER or 10**9), _LOG, _PAUSE)
