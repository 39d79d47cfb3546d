"""Calls into one account: botocore errors become ``AwsError``, pages come from botocore.

Readers and the executor go through ``AccountApi`` so every message names the account, the
identity meshctl acted as and the exact action, and so "absent" answers (a missing table or
role) are values, not errors. List calls are paged by botocore's paginators, which follow each
service's own token (``NextToken``, ``Marker``, ``LastEvaluatedKey``...) and stop with an error
when a service repeats one; a write refused by a concurrent one is retried (``retry.py``) with the
sleep the caller passes in.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.paginate import Paginator
from botocore.parsers import ResponseParserError

from meshctl.aws.errors import error_code, to_aws_error
from meshctl.aws.retry import Sleep, retry_call
from meshctl.aws.sessions import AccountSessions
from meshctl.errors import AwsError

# What an "absent" answer looks like, per service, for ``call(..., absent=True)``.
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",  # dynamodb
        "EntityNotFoundException",  # glue, lakeformation
        "NoSuchEntity",  # iam
        "UnknownResourceException",  # ram
        "NotFoundException",  # kms
    }
)


def _by_next_token(result_key: str) -> dict[str, str]:
    return {
        "input_token": "NextToken",
        "output_token": "NextToken",
        "limit_key": "MaxResults",
        "result_key": result_key,
    }


# List calls meshctl pages that botocore has no paginator for (as of botocore 1.44), defined in
# botocore's own format (botocore/data/<service>/<version>/paginators-1.json) so that they page
# exactly like the rest. A botocore that gains one uses its own.
EXTRA_PAGINATORS: dict[tuple[str, str], dict[str, str]] = {
    ("glue", "search_tables"): _by_next_token("TableList"),
    ("lakeformation", "list_permissions"): _by_next_token("PrincipalResourcePermissions"),
    ("lakeformation", "list_resources"): _by_next_token("ResourceInfoList"),
}


class AccountApi:
    """The AWS API of one account, as meshctl uses it."""

    def __init__(
        self, sessions: AccountSessions, account_id: str, *, sleep: Sleep = time.sleep
    ) -> None:
        self.sessions = sessions
        self.account_id = account_id
        self.sleep = sleep  # between retries of a call refused by a concurrent write

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
        AWS answers with one of ``ok_codes`` (an "already done" answer). A call refused by a
        concurrent write is tried again (``retry.py``)."""
        client = self.client(service)
        try:
            answer: dict[str, Any] = retry_call(
                lambda: getattr(client, method)(**kwargs), sleep=self.sleep
            )
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
        page_size: int | None = None,
        absent: bool = False,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of the list call ``client.<method>(**kwargs)``, by botocore's paginator;
        ``page_size`` items a page (the call's own MaxResults, MaxItems, Limit...). With
        ``absent``, a "not found" answer (the role or group is gone) ends the pages."""
        client = self.client(service)
        config = {"PageSize": page_size} if page_size else {}
        try:
            paginator = _paginator(client, service, method)
            yield from paginator.paginate(PaginationConfig=config, **kwargs)
        except ClientError as exc:
            if absent and error_code(exc) in NOT_FOUND_CODES:
                return
            raise self.error(exc, service) from exc
        except (BotoCoreError, ResponseParserError) as exc:
            # PaginationError too: the service sent the same token twice (an emulator bug; AWS
            # never does), which would otherwise page forever.
            raise self.error(exc, service, _operation(client, method)) from exc


def is_absent(exc: AwsError) -> bool:
    """Does ``exc``, raised by ``AccountApi``, say that what was asked for does not exist?"""
    return exc.__cause__ is not None and error_code(exc.__cause__) in NOT_FOUND_CODES


def _paginator(client: Any, service: str, method: str) -> Paginator:
    if client.can_paginate(method):
        paginator: Paginator = client.get_paginator(method)
        return paginator
    config = EXTRA_PAGINATORS.get((service, method))
    if config is None:
        raise ValueError(f"{service}.{method} has no paginator; add it to EXTRA_PAGINATORS")
    model = client.meta.service_model.operation_model(_operation(client, method))
    return Paginator(getattr(client, method), config, model)


def _operation(client: Any, method: str) -> str:
    mapping: dict[str, str] = getattr(client.meta, "method_to_api_mapping", {})
    return mapping.get(method, method)
