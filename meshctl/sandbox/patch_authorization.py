"""IAM authorization of the requests meshctl makes, evaluated as AWS evaluates them.

moto checks an identity's policies only once ``INITIAL_NO_AUTH_ACTION_COUNT`` requests have passed
(off by default; tests switch it on with ``moto.core.authorization.enable_iam_authentication``),
and then differs from AWS in ways that matter to a resource-scoped policy. AWS behaviour restored
(each has a test in tests/sandbox/test_authorization.py):

- A request is authorized against the ARNs of the resources it names (the Service Authorization
  Reference; Glue: "Specifying AWS Glue resource ARNs" — a table needs the catalog, its database
  and the table). moto evaluates every request but S3 and a few IAM/STS ones against ``*``, so a
  statement scoped to resources allowed nothing.
- DynamoDB authorizes ``TransactWriteItems`` per item as ``PutItem``, ``UpdateItem``,
  ``DeleteItem`` or ``ConditionCheckItem`` on that item's table (there is no
  ``dynamodb:TransactWriteItems`` action), and ``CreateTable`` with ``Tags`` also needs
  ``dynamodb:TagResource``.
- Lake Formation acts as the caller for what a request implies: ``RegisterResource`` with
  ``UseServiceLinkedRole`` needs ``iam:CreateServiceLinkedRole`` and ``iam:PutRolePolicy`` on its
  service-linked role (Lake Formation guide, "Requirements for roles used to register
  locations"); a grant to another account needs ``ram:CreateResourceShare`` and
  ``ram:AssociateResourceShare``, a revoke ``ram:DisassociateResourceShare`` (guide,
  "Cross-account data sharing prerequisites").
- KMS authorizes a request against the key it names, whether ``KeyId`` is a key id, a key ARN,
  an alias or an alias ARN (KMS developer guide, "Using IAM policies": the key ARN is the
  resource; an alias resolves to its key); CloudTrail's ``GetTrailStatus`` against the trail's
  ARN, ``DescribeTrails`` against ``*`` (Service Authorization Reference, CloudTrail).
- S3 authorizes ``GetBucketEncryption`` as ``s3:GetEncryptionConfiguration`` (S3 API reference,
  GetBucketEncryption; moto checked ``s3:ListBucket``), and refuses with a message naming the
  action and the bucket, as S3 does for a request of the bucket owner's account.
- A JSON service (Glue, Lake Formation, DynamoDB, RAM, KMS, CloudTrail) refuses with
  ``AccessDeniedException`` in its own protocol, "User: ARN is not authorized to perform: ACTION
  on resource: ARN"; moto sent an XML body that botocore could not parse, so the client saw only
  "403".

``recording()`` collects every (account, action, resource) pair a request was checked for (also
while authorization is off), for tests that evaluate a policy against a run.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError

_JSON_SERVICES = frozenset({"glue", "dynamodb", "lakeformation", "ram", "kms", "cloudtrail"})
LF_SERVICE_ROLE = (
    "role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess"
)
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True, order=True)
class Checked:
    """One (action, resource) pair a request was authorized for, in ``account``."""

    account: str
    action: str
    resource: str


_lock = threading.Lock()
_recordings: list[list[Checked]] = []


@contextmanager
def recording() -> Iterator[list[Checked]]:
    """Every pair checked while the block runs (requests of all accounts)."""
    found: list[Checked] = []
    with _lock:
        _recordings.append(found)
    try:
        yield found
    finally:
        with _lock:
            _recordings.remove(found)


def _record(pairs: list[Checked]) -> None:
    with _lock:
        for found in _recordings:
            found.extend(pairs)


# --- what a request names ---------------------------------------------------------------------


def _params(response: Any) -> dict[str, Any]:
    body = response.body
    if isinstance(body, dict):  # some handlers (DynamoDB) have parsed it already
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.lstrip().startswith("{"):
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    return {k: v[0] if isinstance(v, list) and v else v for k, v in response.querystring.items()}


def _iam_arn(response: Any, kind: str, name: str, path: str | None) -> str:
    from moto.iam.models import iam_backends

    backend = iam_backends[response.current_account]["aws"]
    try:
        found = {"role": backend.get_role, "user": backend.get_user, "group": backend.get_group}[
            kind
        ](name)
        return str(found.arn)
    except Exception:  # not there (yet): the ARN it will have
        return f"arn:aws:iam::{response.current_account}:{kind}{path or '/'}{name}"


def pairs_for(response: Any, service: str, operation: str) -> list[tuple[str, str]]:
    """(action, resource) pairs AWS authorizes a request for (``resource`` ``*``: none named)."""
    p = _params(response)
    account, region = response.current_account, response.region
    action = f"{service}:{operation}"
    if service == "sts" and operation == "AssumeRole":
        return [(action, str(p.get("RoleArn", "*")))]
    if service == "iam":
        for key, kind in (("GroupName", "group"), ("RoleName", "role"), ("UserName", "user")):
            if key in p:
                return [(action, _iam_arn(response, kind, str(p[key]), p.get("Path")))]
        return [(action, "*")]
    if service == "dynamodb":
        return _dynamodb(p, action, f"arn:aws:dynamodb:{region}:{account}:table/")
    if service == "glue":
        return [(action, r) for r in _glue(p, operation, region, account)]
    if service == "lakeformation":
        return [(action, "*"), *_lake_formation_implies(p, operation, account)]
    if service == "ram" and operation == "AcceptResourceShareInvitation":
        return [(action, str(p.get("resourceShareInvitationArn", "*")))]
    if service == "kms" and p.get("KeyId"):
        return [(action, _kms_key_arn(str(p["KeyId"]), region, account))]
    if service == "cloudtrail" and operation != "DescribeTrails" and p.get("Name"):
        name = str(p["Name"])
        trail = (
            name
            if name.startswith("arn:")
            else f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"
        )
        return [(action, trail)]
    return [(action, "*")]


def _kms_key_arn(key_id: str, region: str, account: str) -> str:
    """The ARN of the key ``key_id`` names (an id, key ARN, alias or alias ARN)."""
    if key_id.startswith("arn:") and ":key/" in key_id:
        return key_id
    if key_id.startswith("arn:"):  # an alias ARN names its account and region
        _, _, _, region, account, _ = key_id.split(":", 5)
    from moto.kms.models import kms_backends

    with contextlib.suppress(Exception):  # no such alias: the request fails in KMS itself
        key_id = kms_backends[account][region].any_id_to_key_id(key_id)
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def _dynamodb(p: dict[str, Any], action: str, prefix: str) -> list[tuple[str, str]]:
    if action == "dynamodb:TransactWriteItems":
        out = []
        for item in p.get("TransactItems", []):
            for kind, body in item.items():
                out.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", prefix + body["TableName"]))
        return out
    table = prefix + str(p.get("TableName", "*"))
    if p.get("IndexName"):
        return [(action, f"{table}/index/{p['IndexName']}")]
    if action == "dynamodb:CreateTable" and p.get("Tags"):
        return [(action, table), ("dynamodb:TagResource", table)]
    return [(action, table)]


def _glue(p: dict[str, Any], operation: str, region: str, account: str) -> list[str]:
    prefix = f"arn:aws:glue:{region}:{p.get('CatalogId') or account}:"
    found = [prefix + "catalog"]
    if operation in ("CreateDatabase", "GetDatabase", "UpdateDatabase", "DeleteDatabase"):
        name = (p.get("DatabaseInput") or {}).get("Name") or p.get("Name")
        found.append(f"{prefix}database/{name}")
    elif operation in ("CreateTable", "UpdateTable", "GetTable", "DeleteTable", "GetTables"):
        db = p.get("DatabaseName")
        found.append(f"{prefix}database/{db}")
        name = (p.get("TableInput") or {}).get("Name") or p.get("Name")
        if name:
            found.append(f"{prefix}table/{db}/{name}")
    return found


def _is_identity(identifier: str) -> bool:
    """An account id or IAM ARN (not IAM_ALLOWED_PRINCIPALS, a SAML or Identity Center one)."""
    return identifier.isdigit() or identifier.startswith("arn:aws:iam::")


def _principal_account(identifier: str) -> str:
    return identifier.split(":")[4] if identifier.startswith("arn:") else identifier


def _lake_formation_implies(
    p: dict[str, Any], operation: str, account: str
) -> list[tuple[str, str]]:
    if operation == "RegisterResource" and p.get("UseServiceLinkedRole"):
        role = f"arn:aws:iam::{account}:{LF_SERVICE_ROLE}"
        return [("iam:CreateServiceLinkedRole", role), ("iam:PutRolePolicy", role)]
    if operation in ("BatchGrantPermissions", "BatchRevokePermissions"):
        principals = [
            str((e.get("Principal") or {}).get("DataLakePrincipalIdentifier", ""))
            for e in p.get("Entries", [])
        ]
        if any(_principal_account(x) != account for x in principals if _is_identity(x)):
            if operation == "BatchGrantPermissions":
                return [("ram:CreateResourceShare", "*"), ("ram:AssociateResourceShare", "*")]
            return [("ram:DisassociateResourceShare", "*")]
    return []


# --- the check --------------------------------------------------------------------------------


def _service_of(headers: Any) -> str:
    authorization = str(headers.get("Authorization") or "")
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) > 3 else ""


def _authorize(self: Any, resource: str = "*") -> None:
    from moto.iam.access_control import IAMRequest

    enforcing = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    if not enforcing and not _recordings:  # the usual sandbox: nothing to evaluate
        ActionAuthenticatorMixin.request_count += 1
        return
    service = _service_of(self.headers)
    operation = self._get_action()
    try:
        pairs = pairs_for(self, service, operation) if service else [(operation, resource)]
    except Exception:  # a malformed request: authorize what moto would, let the service refuse
        pairs = [(f"{service}:{operation}", resource)]
    account = self.current_account
    _record([Checked(account, action, res) for action, res in pairs])
    if not enforcing:
        ActionAuthenticatorMixin.request_count += 1
        return
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    path = self.raw_path
    query = self.uri.partition("?")[2]
    request = IAMRequest(
        account_id=account,
        method=self.method,
        path=path + ("?" + query if query else ""),
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=operation,
    )
    request.check_signature()
    for action, res in pairs:
        request._action = action
        try:
            request.check_action_permitted(res)
        except AccessDeniedError:
            message = (
                f"User: {request._access_key.arn} is not authorized to perform: {action} "
                f"on resource: {res}"
            )
            if service in _JSON_SERVICES:
                raise JsonRESTError("AccessDeniedException", message) from None
            raise AccessDeniedError(
                request._access_key.arn, f"{action} on resource: {res}"
            ) from None


# The ``?encryption`` subresource's actions (S3 API reference, Get/Put/DeleteBucketEncryption,
# "Permissions"); moto's action map has no entry for it and checked s3:ListBucket.
_S3_ENCRYPTION = {
    "GET": "GetEncryptionConfiguration",
    "PUT": "PutEncryptionConfiguration",
    "DELETE": "PutEncryptionConfiguration",
}


def _authorize_s3(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    operation = self._get_action()
    if bucket_name and not key_name and "encryption" in self.querystring:
        operation = _S3_ENCRYPTION.get(self.method, operation)
    path = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    resource = f"arn:aws:s3:::{path}"
    action = f"s3:{operation}"
    enforcing = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    _record([Checked(self.current_account, action, resource)])
    if not enforcing:
        ActionAuthenticatorMixin.request_count += 1
        return
    query = self.uri.partition("?")[2]
    request = S3IAMRequest(
        account_id=self.current_account,
        method=self.method,
        path=self.raw_path + ("?" + query if query else ""),
        data=self.data,
        body=self.raw_body,
        headers=self.headers,
        action=operation,
    )
    request.check_signature()
    try:
        request.check_action_permitted(resource)
    except S3ClientError as exc:
        if exc.code != "AccessDenied":
            raise
        raise S3ClientError(
            "AccessDenied",
            f"User: {request._access_key.arn} is not authorized to perform: {action} "
            f"on resource: {resource}",
        ) from None


def install() -> None:
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = _authorize_s3  # type: ignore[method-assign]
