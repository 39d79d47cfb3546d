"""Calls into one account: botocore errors become ``AwsError``, pages are followed to the end.

Readers and the executor go through ``AccountApi`` so every message names the account, the
identity meshctl acted as and the exact action, and so "absent" answers (a missing table or
role) are values, not errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from meshctl.aws.errors import error_code, to_aws_error
from meshctl.aws.sessions import AccountSessions
from meshctl.errors import AwsError

# What an "absent" answer looks like, per service, for ``call(..., absent=True)``.
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",  # dynamodb
        "EntityNotFoundException",  # glue, lakeformation
        "NoSuchEntity",  # iam
        "UnknownResourceException",  # ram
    }
)


class AccountApi:
    """The AWS API of one account, as meshctl uses it."""

    def __init__(self, sessions: AccountSessions, account_id: str) -> None:
        self.sessions = sessions
        self.account_id = account_id

    def client(self, service: str) -> Any:
        return self.sessions.client(self.account_id, service)

    def error(self, exc: BaseException, service: str, operation: str = "") -> AwsError:
        return to_aws_error(
            exc,
            account_id=self.account_id,
            acting_as=self.sessions.acting_as(self.account_id),
            service=service,
            operation=operation,
        )

    def call(
        self,
        service: str,
        method: str,
        *,
        absent: bool = False,
        ok_codes: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """``client.<method>(**kwargs)``; None when ``absent`` and AWS says not found, or when
        AWS answers with one of ``ok_codes`` (an "already done" answer)."""
        client = self.client(service)
        try:
            answer: dict[str, Any] = _retry_concurrent(getattr(client, method), method, kwargs)
            return answer
        except ClientError as exc:
            code = error_code(exc)
            if (absent and code in NOT_FOUND_CODES) or code in ok_codes:
                return None
            raise self.error(exc, service) from exc
        except (BotoCoreError, ResponseParserError) as exc:
            raise self.error(exc, service, _operation(client, method)) from exc

    def require(self, service: str, method: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.call(service, method, **kwargs)
        assert answer is not None  # call() only returns None when asked to
        return answer

    def pages(
        self,
        service: str,
        method: str,
        *,
        token_in: str = "NextToken",
        token_out: str = "NextToken",
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a list call, following its continuation token to the end."""
        token: Any = None
        seen: list[Any] = []
        while True:
            args = dict(kwargs)
            if token:
                args[token_in] = token
            page = self.require(service, method, **args)
            yield page
            token = page.get(token_out)
            # A repeated token would loop forever; AWS never sends one, a broken emulator might.
            if not token or token in seen:
                return
            seen.append(token)


CONCURRENT = "ConcurrentModificationException"  # Lake Formation: another writer was first
CONCURRENT_ATTEMPTS = 5


def _retry_concurrent(call: Any, method: str, kwargs: dict[str, Any]) -> Any:
    """``call(**kwargs)``, repeated on ConcurrentModificationException: nothing was changed, so
    repeating is safe (architecture.md) and botocore does not. Batch calls retry it per entry."""
    for attempt in range(1, CONCURRENT_ATTEMPTS):
        try:
            return call(**kwargs)
        except ClientError as exc:
            if error_code(exc) != CONCURRENT or "batch" in method:
                raise
            time.sleep(0.2 * 2**attempt)
    return call(**kwargs)


def _operation(client: Any, method: str) -> str:
    mapping: dict[str, str] = getattr(client.meta, "method_to_api_mapping", {})
    return mapping.get(method, method)
