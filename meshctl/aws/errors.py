"""botocore errors → messages a platform engineer can act on (``meshctl.errors.AwsError``).

Three failures need more than AWS's own words: access denied (which account, which identity
meshctl acted as, which action is missing), missing or expired credentials (how to get them),
and an unreachable endpoint (which URL). Messages never contain credentials: only ARNs,
account ids, URLs and AWS's error text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

from meshctl.errors import AwsError

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "NotAuthorized",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
    }
)

# What a botocore call raises when it fails. ResponseParserError is not a BotoCoreError: botocore
# raises it when the endpoint answers with something that is not AWS (a wrong AWS_ENDPOINT_URL,
# a proxy's error page), and it must not escape as a traceback.
CALL_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, ResponseParserError)

CREDENTIALS_HINT = (
    "Get credentials first: `aws sso login --profile NAME` and set AWS_PROFILE, or export "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN); in GitHub Actions use "
    "aws-actions/configure-aws-credentials (OIDC); or pass --credentials-file. Against the local "
    "sandbox, `meshctl sandbox up` prints the variables to export."
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def is_code(exc: BaseException, *codes: str) -> bool:
    return error_code(exc) in codes


def iam_action(service: str, operation: str) -> str:
    """``glue:GetDatabases`` for (glue, GetDatabases): the IAM prefix of every service meshctl
    uses is its boto3 name."""
    return f"{service}:{operation}" if service else operation


def is_fatal(exc: BaseException) -> bool:
    """True when no further call can work: credentials or endpoint problems, not one action's."""
    if isinstance(
        exc,
        NoCredentialsError
        | PartialCredentialsError
        | CredentialRetrievalError
        | TokenRetrievalError
        | ProfileNotFound
        | SSOError
        | NoRegionError
        | ConnectionError
        | ReadTimeoutError
        | ResponseParserError,
    ):
        return True
    return error_code(exc) in CREDENTIAL_CODES


def describe(
    exc: BaseException, *, account_id: str, acting_as: str, service: str = "", operation: str = ""
) -> str:
    """One message for ``exc``, naming the account and identity meshctl acted as."""
    op = operation or (exc.operation_name if isinstance(exc, ClientError) else "")
    action = iam_action(service, op) if op else "the call"
    code = error_code(exc)
    text = error_message(exc)
    if code in ACCESS_DENIED_CODES:
        return (
            f"access denied in account {account_id}: {acting_as} may not perform {action} "
            f"({text}). Allow {action} for that role, or set role_arn for this account in "
            "mesh.yaml to a role that may."
        )
    if code in CREDENTIAL_CODES:
        return (
            f"AWS rejected the credentials used for account {account_id} ({acting_as}): "
            f"{code}: {text}. {CREDENTIALS_HINT}"
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials found for account {account_id}. {CREDENTIALS_HINT}"
    if isinstance(exc, CredentialRetrievalError | TokenRetrievalError | ProfileNotFound | SSOError):
        return f"could not load AWS credentials: {exc}. {CREDENTIALS_HINT}"
    if isinstance(exc, NoRegionError):
        return "no AWS region: set mesh.region in mesh.yaml or AWS_REGION"
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "") or "the AWS endpoint"
        return (
            f"cannot reach {url} ({action} in account {account_id}): {exc}. Check the network "
            "and AWS_ENDPOINT_URL (for the local sandbox: is `meshctl sandbox up` running?)."
        )
    if isinstance(exc, ResponseParserError):
        url = os.environ.get("AWS_ENDPOINT_URL") or "the AWS endpoint"
        return (
            f"{url} did not answer like AWS ({action} in account {account_id}). Check "
            "AWS_ENDPOINT_URL (for the local sandbox: is `meshctl sandbox up` running there?)."
        )
    if isinstance(exc, ClientError):
        return f"{action} failed in account {account_id}: {code}: {text}"
    if isinstance(exc, BotoCoreError):
        return f"{action} failed in account {account_id}: {exc}"
    return f"{action} failed in account {account_id}: {type(exc).__name__}: {exc}"


def to_aws_error(
    exc: BaseException, *, account_id: str, acting_as: str, service: str = "", operation: str = ""
) -> AwsError:
    err = AwsError(
        describe(
            exc, account_id=account_id, acting_as=acting_as, service=service, operation=operation
        )
    )
    err.__cause__ = exc
    return err


@contextmanager
def translated(account_id: str, acting_as: str, service: str = "") -> Iterator[None]:
    """Re-raise botocore errors inside the block as ``AwsError`` with a clear message."""
    try:
        yield
    except AwsError:
        raise
    except CALL_ERRORS as exc:
        raise to_aws_error(
            exc, account_id=account_id, acting_as=acting_as, service=service
        ) from exc
