"""IAM refuses deletes of users and groups still in use, and trust in principals that do not exist;
users can hold service-specific credentials.

AWS answers DeleteConflict (HTTP 409) instead of deleting:

- DeleteUser while the user has a login profile ("must delete login profile first."), access keys
  ("must delete access keys first."), signing certificates ("must delete certificates first."),
  SSH public keys or service-specific credentials ("must remove referenced objects first."), MFA
  devices ("must delete MFA device first."), inline policies ("must delete policies first."),
  attached managed policies ("must detach all policies first.") or is in a group ("must remove
  users from group first."). Each message starts "Cannot delete entity, ".
- DeleteGroup while the group has members ("must remove users from group first."), inline policies
  ("must delete policies first.") or attached managed policies ("must detach all policies first.").

moto 5.2.5 refused only a user's policies: it deleted a user with a password, access keys,
certificates, SSH keys, MFA devices or group memberships (leaving the deleted user listed in its
groups), and deleted any group outright. The order follows AWS's DeleteUser documentation
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html: password, keys, signing
certificates, SSH keys, Git credentials, MFA devices, policies, groups); AWS does not document
which conflict it reports first when there are several, nor the messages: those for certificates,
SSH keys and MFA devices are the ones AWS was seen to answer (aws-nuke issues 671, 522, 281); a
service-specific credential is assumed to answer as an SSH key does.

Service-specific credentials (CreateServiceSpecificCredential, ListServiceSpecificCredentials,
DeleteServiceSpecificCredential; moto 5.2.5 implemented none) are kept per user, as in
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceSpecificCredential.html: at
most two per supported service and user (LimitExceeded), an unsupported service answers
NotSupportedService, an unknown user or credential NoSuchEntity; the list never holds passwords.

AWS answers MalformedPolicyDocument (HTTP 400) ``Invalid principal in policy: "AWS":"<arn>"`` to
CreateRole and UpdateAssumeRolePolicy when the trust policy's ``Principal.AWS`` (a string or a
list) names an IAM role or user ARN that does not exist in its account, path included (the ARN
carries the path). Account roots, bare account ids, "*", service and federated principals, and STS
ARNs are not resolved. moto 5.2.5 accepted any principal. The first missing principal in document
order is reported. AWS resolves principals when the policy is saved, so a role named in its own
CreateRole cannot trust itself; AWS keeps a saved policy working (showing a unique id) after its
principal is deleted, which the sandbox does not emulate: it checks only when a policy is saved.

The checks run in the backend, so in-process sandboxes, moto's server and CloudFormation all see
them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.iam.exceptions import (
    DeleteConflictException,
    IAMException,
    LimitExceededException,
    MalformedPolicyDocument,
    NotFoundException,
)
from moto.iam.models import IAMBackend, iam_backends
from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator
from moto.iam.responses import IamResponse
from moto.iam.utils import random_alphanumeric, random_resource_id

_MARKER = "_meshctl_delete_conflicts"


def _conflict(what: str) -> Exception:
    error: Exception = DeleteConflictException(f"Cannot delete entity, must {what} first.")
    return error


def user_conflict(backend: Any, user: Any) -> Exception | None:
    """The DeleteConflict AWS answers for deleting ``user``, or None when nothing depends on it."""
    if user.password:
        return _conflict("delete login profile")
    if user.access_keys:
        return _conflict("delete access keys")
    if user.signing_certificates:
        return _conflict("delete certificates")
    if user.ssh_public_keys or service_credentials(user):
        return _conflict("remove referenced objects")
    if user.mfa_devices:
        return _conflict("delete MFA device")
    if user.policies:
        return _conflict("delete policies")
    if user.managed_policies:
        return _conflict("detach all policies")
    if any(user in group.users for group in backend.groups.values()):
        return _conflict("remove users from group")
    return None


def group_conflict(group: Any) -> Exception | None:
    """The DeleteConflict AWS answers for deleting ``group``, or None when it is empty."""
    if group.users:
        return _conflict("remove users from group")
    if group.policies:
        return _conflict("delete policies")
    if group.managed_policies:
        return _conflict("detach all policies")
    return None


def _wrap_delete_user(original: Any) -> Any:
    def delete_user(self: Any, user_name: str) -> None:
        # get_user raises NoSuchEntity for an unknown user, before any conflict, as AWS does.
        conflict = user_conflict(self, self.get_user(user_name))
        if conflict is not None:
            raise conflict
        original(self, user_name)

    setattr(delete_user, _MARKER, True)
    return delete_user


def _wrap_delete_group(original: Any) -> Any:
    def delete_group(self: Any, group_name: str) -> None:
        group = self.groups.get(group_name)
        # An unknown group falls through to moto, which answers NoSuchEntity.
        conflict = group_conflict(group) if group is not None else None
        if conflict is not None:
            raise conflict
        original(self, group_name)

    setattr(delete_group, _MARKER, True)
    return delete_group


# The principals AWS resolves: IAM roles and users. ``rest`` is the path and the name.
_RESOLVED_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):(?P<kind>role|user)(?P<rest>/.*)$"
)


def trusted_aws_principals(document: str) -> list[str]:
    """Every ``Principal.AWS`` value of a trust policy, in document order.

    A document that is not JSON, or not shaped like a policy, yields nothing here: the syntax
    checks (moto's, where it has them) decide about it.
    """
    try:
        parsed = json.loads(document)
    except (TypeError, ValueError):
        return []
    statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        named = principal.get("AWS") if isinstance(principal, dict) else None
        values = [named] if isinstance(named, str) else named if isinstance(named, list) else []
        found.extend(value for value in values if isinstance(value, str))
    return found


def principal_exists(arn: str) -> bool:
    """Whether the IAM role or user ``arn`` exists in its account (path and name must match).

    Other principals (roots, account ids, "*", STS ARNs) count as existing: AWS does not resolve
    them. An account or partition moto has no IAM backend for holds no roles or users; plain
    ``dict.get`` finds that out without BackendDict's ``[]``, which would create the backend.
    """
    match = _RESOLVED_ARN.match(arn)
    if match is None:
        return True
    accounts = dict.get(iam_backends, match["account"])
    backend: Any = dict.get(accounts, match["partition"]) if accounts is not None else None
    if backend is None:
        return False
    name = match["rest"].rsplit("/", 1)[1]
    if match["kind"] == "user":
        user = backend.users.get(name)
        return user is not None and user.arn == arn
    # Roles are keyed by id; the name test first keeps the ARN (built per call) off most roles.
    return any(role.name == name and role.arn == arn for role in list(backend.roles.values()))


def check_trust_principals(document: str) -> None:
    """Raise AWS's MalformedPolicyDocument for the first trusted role or user that is missing."""
    for arn in trusted_aws_principals(document):
        if not principal_exists(arn):
            error: Exception = MalformedPolicyDocument(
                f'Invalid principal in policy: "AWS":"{arn}"'
            )
            raise error


def _roles_snapshot(self: Any) -> list[Any]:
    """The account's roles as a list taken at once. AWS serves concurrent CreateRole/GetRole
    calls in one account; moto iterated its live dict (``get_roles``: CreateRole's name check,
    GetRole) while another request thread inserted a role, and failed with "dictionary changed
    size during iteration" (seen when meshctl creates mesh roles on parallel workers)."""
    return list(self.roles.values())


def _wrap_create_role(original: Any) -> Any:
    def create_role(
        self: Any, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any
    ) -> Any:
        # Checked before the role exists, so a role cannot trust itself in its own CreateRole.
        # AWS does not document whether a taken name or a missing principal is reported first
        # when both apply; this reports the principal.
        check_trust_principals(assume_role_policy_document)
        return original(self, role_name, assume_role_policy_document, *args, **kwargs)

    setattr(create_role, _MARKER, True)
    return create_role


def _wrap_update_assume_role_policy(original: Any) -> Any:
    def update_assume_role_policy(self: Any, role_name: str, policy_document: str) -> None:
        # moto's order (an unknown role, then syntax) comes first: AWS can only resolve the
        # principals of a role that exists and a document it can read.
        self.get_role(role_name)
        IAMTrustPolicyDocumentValidator(policy_document).validate()
        check_trust_principals(policy_document)
        original(self, role_name, policy_document)

    setattr(update_assume_role_policy, _MARKER, True)
    return update_assume_role_policy


# --- service-specific credentials ------------------------------------------------------------

CREDENTIAL_SERVICES = frozenset(
    {
        "bedrock.amazonaws.com",
        "cassandra.amazonaws.com",
        "codecommit.amazonaws.com",
        "logs.amazonaws.com",
    }
)
CREDENTIALS_PER_SERVICE = 2
_CREDENTIALS = "_meshctl_service_credentials"


def service_credentials(user: Any) -> dict[str, dict[str, Any]]:
    """The user's service-specific credentials by id (metadata only, no password)."""
    found: dict[str, dict[str, Any]] = user.__dict__.setdefault(_CREDENTIALS, {})
    return found


def create_service_specific_credential(
    self: Any, user_name: str, service_name: str
) -> dict[str, Any]:
    user = self.get_user(user_name)  # NoSuchEntity first, as AWS does
    if service_name not in CREDENTIAL_SERVICES:
        error: Exception = IAMException(
            "NotSupportedService",
            f"Service {service_name} is not supported for service-specific credentials.",
        )
        raise error
    held = service_credentials(user)
    if sum(c["ServiceName"] == service_name for c in held.values()) >= CREDENTIALS_PER_SERVICE:
        limit: Exception = LimitExceededException(
            f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: "
            f"{CREDENTIALS_PER_SERVICE}"
        )
        raise limit
    credential_id = "ACCA" + random_resource_id(17).upper()
    metadata = {
        "UserName": user_name,
        "Status": "Active",
        "ServiceUserName": f"{user_name}-at-{self.account_id}",
        "CreateDate": utcnow(),
        "ServiceSpecificCredentialId": credential_id,
        "ServiceName": service_name,
    }
    held[credential_id] = metadata
    return {**metadata, "ServicePassword": random_alphanumeric(44)}


def list_service_specific_credentials(
    self: Any, user_name: str, service_name: str | None
) -> list[dict[str, Any]]:
    held = service_credentials(self.get_user(user_name)).values()
    return [dict(c) for c in held if service_name in (None, c["ServiceName"])]


def delete_service_specific_credential(self: Any, user_name: str, credential_id: str) -> None:
    held = service_credentials(self.get_user(user_name))
    if credential_id not in held:
        error: Exception = NotFoundException(
            f"No such credential {credential_id} exists for user {user_name}."
        )
        raise error
    del held[credential_id]


def _r_create_service_specific_credential(self: Any) -> ActionResult:
    credential = self.backend.meshctl_create_service_specific_credential(
        self._get_param("UserName"), self._get_param("ServiceName")
    )
    return ActionResult({"ServiceSpecificCredential": credential})


def _r_list_service_specific_credentials(self: Any) -> ActionResult:
    # At most two credentials per service and user: one answer holds them all.
    credentials = self.backend.meshctl_list_service_specific_credentials(
        self._get_param("UserName"), self._get_param("ServiceName")
    )
    return ActionResult({"ServiceSpecificCredentials": credentials, "IsTruncated": False})


def _r_delete_service_specific_credential(self: Any) -> EmptyResult:
    self.backend.meshctl_delete_service_specific_credential(
        self._get_param("UserName"), self._get_param("ServiceSpecificCredentialId")
    )
    return EmptyResult()


def install() -> None:
    """Wrap IAMBackend's deletes and trust policy writes, add service-specific credentials; a
    second call changes nothing."""
    backend: Any = IAMBackend
    backend.meshctl_create_service_specific_credential = create_service_specific_credential
    backend.meshctl_list_service_specific_credentials = list_service_specific_credentials
    backend.meshctl_delete_service_specific_credential = delete_service_specific_credential
    response: Any = IamResponse
    response.create_service_specific_credential = _r_create_service_specific_credential
    response.list_service_specific_credentials = _r_list_service_specific_credentials
    response.delete_service_specific_credential = _r_delete_service_specific_credential
    backend.get_roles = _roles_snapshot
    wrappers = {
        "delete_user": _wrap_delete_user,
        "delete_group": _wrap_delete_group,
        "create_role": _wrap_create_role,
        "update_assume_role_policy": _wrap_update_assume_role_policy,
    }
    for name, wrap in wrappers.items():
        if not getattr(getattr(backend, name), _MARKER, False):
            setattr(backend, name, wrap(getattr(backend, name)))
