"""Test-only fault injection: a seeded fraction of AWS calls fail the way AWS calls fail.

A ``FaultInjector`` is a botocore ``before-send`` handler. Installed on an ``AccountSessions``, a
boto3 session or a botocore event emitter, it answers a chosen fraction of HTTP attempts with:

- ``throttle``: HTTP 400 ``ThrottlingException`` (``Throttling`` for query services, 503
  ``SlowDown`` for S3) — botocore's retry handler sees a real error response and backs off;
- ``internal`` / ``unavailable``: HTTP 500 ``InternalFailure`` / 503 ``ServiceUnavailable``;
- ``reset`` / ``unreachable``: ``ConnectionClosedError`` / ``EndpointConnectionError`` raised
  before the request leaves (botocore treats both as retryable connection errors);
- ``lost``: writes only — the request reaches the service and is carried out, then the connection
  drops before the answer arrives (``ConnectionClosedError``). The retry repeats a write that
  already happened, which is what idempotent actions and conditional writes must absorb;
- ``concurrent``: Lake Formation writes only — HTTP 400 ``ConcurrentModificationException``,
  which botocore does not retry: meshctl must.

Decisions are reproducible: the n-th attempt of each (service, operation) gets the decision
``hash(seed, service, operation, n)``, whatever the wall clock or the request body (plan ids and
lock tokens are random). Threads racing on the same operation may swap which of their calls gets
a fault, never how many faults that operation gets.

Product code never imports this module; tests and benchmarks do. In-process (moto's
``mock_aws``) every ``before-send`` handler runs even after one answered, so an injected answer
also points the request at an unroutable URL, which moto's stubber ignores: a faulted request
never reaches the emulator (except ``lost``, which delivers it on purpose).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

_UNROUTABLE = "http://fault-injected.meshctl.invalid/"
_READ_PREFIXES = ("Get", "List", "Describe", "Search", "Scan", "Query", "BatchGet")
_NOT_WRITES = frozenset({"AssumeRole", "GetCallerIdentity"})
# botocore's wire protocol families, by service name (the ones meshctl uses).
_QUERY = frozenset({"sts", "iam"})
_REST_XML = frozenset({"s3"})


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    RESET = "reset"
    UNREACHABLE = "unreachable"
    LOST = "lost"
    CONCURRENT = "concurrent"


# Relative weights of each kind among the faults injected (when the call is eligible for it).
DEFAULT_WEIGHTS: dict[FaultKind, int] = {
    FaultKind.THROTTLE: 4,
    FaultKind.INTERNAL: 2,
    FaultKind.UNAVAILABLE: 1,
    FaultKind.RESET: 1,
    FaultKind.UNREACHABLE: 1,
    FaultKind.LOST: 1,
    FaultKind.CONCURRENT: 2,
}


def is_write(operation: str) -> bool:
    """Does ``operation`` change AWS? (Same rule as the crash hook.)"""
    return operation not in _NOT_WRITES and not operation.startswith(_READ_PREFIXES)


def _unit(*parts: object) -> float:
    """A number in [0, 1) determined by ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class FaultInjector:
    """Inject faults into ``rate`` (0..1) of the HTTP attempts, reproducibly from ``seed``.

    ``services`` and ``operations`` limit injection to those boto3 service names and API
    operation names (empty: all); ``limit`` caps the number of faults (a targeted test injects
    exactly one); ``first_attempts_only`` spares botocore's retries (so with ``rate=1`` every
    call fails once, then goes through); ``every=k`` makes only every k-th attempt of each
    operation eligible (with ``rate=1, every=2`` calls alternate between failing and working,
    which also spares meshctl's own retries); ``weights`` picks the mix of kinds; ``error``
    (status, code, message) answers every fault with that service error instead (an answer AWS
    gives that a test needs exactly once, such as a call-level "No permissions revoked").
    ``injected`` counts the faults by kind, ``by_operation`` by "service:Operation",
    ``attempts`` every attempt seen.
    """

    rate: float
    seed: int = 0
    services: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()
    limit: int | None = None
    first_attempts_only: bool = False
    every: int = 1
    weights: dict[FaultKind, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    error: tuple[int, str, str] | None = None
    injected: Counter[FaultKind] = field(default_factory=Counter, init=False)
    by_operation: Counter[str] = field(default_factory=Counter, init=False)
    attempts: int = field(default=0, init=False)
    enabled: bool = field(default=True, init=False)
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _hooked: set[int] = field(default_factory=set, init=False, repr=False)

    # --- installing --------------------------------------------------------------------------

    def install(self, target: Any) -> None:
        """Hook ``target``: an ``AccountSessions``, a boto3 Session, a botocore Session, a
        client or an event emitter. Clients copy their session's emitter when created, so install
        on a session before making its clients (an ``AccountSessions`` is handled fully: every
        client it makes from now on, and the STS clients it uses to assume roles)."""
        from meshctl.aws.sessions import AccountSessions  # the seam this module is built for

        if isinstance(target, AccountSessions):
            self._install_on_sessions(target)
            return
        events = getattr(getattr(target, "meta", None), "events", None)  # a client
        if events is None:
            events = getattr(target, "events", None)  # a boto3 Session
        if events is None and hasattr(target, "get_component"):  # a botocore Session
            events = target.get_component("event_emitter")
        self._register(events if events is not None else target)

    def _install_on_sessions(self, sessions: Any) -> None:
        self._register(sessions._base.events)  # STS clients are made from the base session
        original = sessions.client

        def client(account_id: str, service: str) -> Any:
            made = original(account_id, service)
            self._register(made.meta.events)
            return made

        sessions.client = client

    def _register(self, events: Any) -> None:
        with self._lock:
            if id(events) in self._hooked:
                return
            self._hooked.add(id(events))
        # First: our answer must be the first non-None response of before-send.
        events.register_first("before-send", self._before_send)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No faults inside the block (e.g. for the checks a test makes afterwards)."""
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = True

    # --- deciding ----------------------------------------------------------------------------

    def _decide(self, service: str, operation: str, attempt: int) -> FaultKind | None:
        with self._lock:
            self.attempts += 1
            n = self._seen[(service, operation)]
            self._seen[(service, operation)] += 1
            kind = self._pick(service, operation, attempt, n)
            if kind is not None:
                self.injected[kind] += 1
                self.by_operation[f"{service}:{operation}"] += 1
            return kind

    def _pick(self, service: str, operation: str, attempt: int, n: int) -> FaultKind | None:
        if not self.enabled or (self.services and service not in self.services):
            return None
        if self.operations and operation not in self.operations:
            return None
        if (self.first_attempts_only and attempt > 1) or n % self.every:
            return None
        if self.limit is not None and self.injected.total() >= self.limit:
            return None
        if _unit(self.seed, service, operation, n, "fault?") >= self.rate:
            return None
        eligible = [
            (k, w) for k, w in self.weights.items() if w > 0 and _eligible(k, service, operation)
        ]
        if not eligible:
            return None
        pick = _unit(self.seed, service, operation, n, "kind") * sum(w for _, w in eligible)
        for kind, weight in eligible:
            if pick < weight:
                return kind
            pick -= weight
        return eligible[-1][0]

    def _before_send(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        # event_name is "before-send.<service-id>.<Operation>"
        parts = [*event_name.split(".", 2), "", ""]
        service, operation = _service_name(parts[1]), parts[2]
        kind = self._decide(service, operation, _attempt(request))
        if kind is None:
            return None
        url = request.url
        if kind is FaultKind.LOST:
            _deliver(event_name, request)
            raise ConnectionClosedError(endpoint_url=url)
        request.url = _UNROUTABLE  # moto's in-process stubber would still answer it otherwise
        if kind is FaultKind.RESET:
            raise ConnectionClosedError(endpoint_url=url)
        if kind is FaultKind.UNREACHABLE:
            raise EndpointConnectionError(endpoint_url=url)
        if self.error is not None:
            return _answer(url, service, *self.error)
        return _error_response(url, service, kind)


def _attempt(request: Any) -> int:
    """botocore numbers the attempts of a call in the ``amz-sdk-request`` header."""
    header = request.headers.get("amz-sdk-request", b"")
    if isinstance(header, bytes):
        header = header.decode("ascii", "replace")
    for part in str(header).split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


def _eligible(kind: FaultKind, service: str, operation: str) -> bool:
    if kind is FaultKind.CONCURRENT:
        return service == "lakeformation" and is_write(operation)
    if kind is FaultKind.LOST:
        return is_write(operation)
    return True


_SERVICE_IDS = {"lakeformation": "lakeformation", "resource-groups-tagging-api": "tagging"}


def _service_name(service_id: str) -> str:
    """boto3 service name from the hyphenized service id of the event name."""
    return _SERVICE_IDS.get(service_id, service_id)


def _error_response(url: str, service: str, kind: FaultKind) -> AWSResponse:
    status, code = {
        FaultKind.THROTTLE: (400, "ThrottlingException"),
        FaultKind.INTERNAL: (500, "InternalFailure"),
        FaultKind.UNAVAILABLE: (503, "ServiceUnavailable"),
        FaultKind.CONCURRENT: (400, "ConcurrentModificationException"),
    }[kind]
    if kind is FaultKind.THROTTLE and service in _QUERY:
        code = "Throttling"
    if kind is FaultKind.THROTTLE and service in _REST_XML:
        status, code = 503, "SlowDown"
    return _answer(url, service, status, code, f"injected by support.faults ({kind})")


def _answer(url: str, service: str, status: int, code: str, message: str) -> AWSResponse:
    """An error answer in the wire format of ``service``."""
    headers: dict[str, str] = {"x-amzn-RequestId": "fault-injected"}
    if service in _QUERY:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-injected</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif service in _REST_XML:
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        headers["Content-Type"] = "application/xml"
    else:  # json and rest-json: the error type travels in a header and in the body
        headers["x-amzn-ErrorType"] = code
        headers["Content-Type"] = "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return AWSResponse(url, status, headers, _Raw(body))


class _Raw:
    """The raw body AWSResponse reads (``stream()`` for streaming operations, ``read()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def _deliver(event_name: str, request: Any) -> None:
    """Carry the request out (its answer is then lost): in-process through moto's stubber,
    else over HTTP to the endpoint."""
    from moto.core.models import botocore_stubber

    if botocore_stubber.enabled:
        botocore_stubber(event_name, request)
        return
    from botocore.httpsession import URLLib3Session

    URLLib3Session().send(request)


@contextmanager
def fast_retries(scale: float = 0.01) -> Iterator[None]:
    """Run botocore's retry machinery ``1/scale`` times faster, so a test with hundreds of
    injected faults does not sleep for minutes: backoff delays are multiplied by ``scale``, and
    the adaptive rate limiter (token bucket, cubic rate) sees a clock running ``1/scale`` times
    faster while its waits shrink by ``scale`` — the same behaviour, time-dilated. Which calls are
    retried, and how often, does not change."""
    from botocore.retries import bucket, standard

    delay_amount = standard.ExponentialBackoff.delay_amount
    current_time = bucket.Clock.current_time
    sleep_amount = bucket.TokenBucket._sleep_amount

    def scaled_delay(self: Any, context: Any) -> float:
        return float(delay_amount(self, context)) * scale

    def fast_clock(self: Any) -> float:
        return float(current_time(self)) / scale

    def scaled_wait(self: Any, amount: Any) -> float:
        return float(sleep_amount(self, amount)) * scale

    standard.ExponentialBackoff.delay_amount = scaled_delay
    bucket.Clock.current_time = fast_clock
    bucket.TokenBucket._sleep_amount = scaled_wait
    try:
        yield
    finally:
        standard.ExponentialBackoff.delay_amount = delay_amount
        bucket.Clock.current_time = current_time
        bucket.TokenBucket._sleep_amount = sleep_amount


def summary(injectors: Sequence[FaultInjector]) -> dict[str, int]:
    """Total injected faults by kind, plus attempts, over several injectors."""
    out: Counter[str] = Counter()
    for inj in injectors:
        out["attempts"] += inj.attempts
        for kind, n in inj.injected.items():
            out[kind.value] += n
    return dict(out)
