"""RAM as Lake Formation uses it across accounts: shares, invitations, accept, disassociate.

AWS: a Lake Formation grant to another account (outside one AWS Organization) puts the resource in
a RAM resource share owned by the grantor, with the grantee account as a principal; the grantee
gets a PENDING invitation it lists with GetResourceShareInvitations and accepts with
AcceptResourceShareInvitation, after which it sees the share with
GetResourceShares(resourceOwner=OTHER-ACCOUNTS). moto 5.2.5 implements none of the invitation
calls (HTTP 404 "Not yet implemented"), nor DisassociateResourceShare, nor OTHER-ACCOUNTS.

State lives on moto's own backend objects (one per account and region), so moto's reset clears
it with everything else. Lake Formation reaches RAM only through ``share_grant`` and
``unshare_grant``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time, utcnow
from moto.moto_api._internal import mock_random
from moto.ram import urls as ram_urls
from moto.ram.models import ResourceAccessManagerBackend, ResourceShare, ram_backends
from moto.ram.responses import ResourceAccessManagerResponse

from meshctl.sandbox._paging import fingerprint, page


def _error(code: str, message: str) -> Exception:
    error: Exception = JsonRESTError(code, message)
    return error


class ArnSet:
    """The resources of a Lake Formation share: moto's ``resource_arns`` list, in O(1).

    From cross-account version 2 one share carries every resource shared with an account, so a
    list made each grant and revoke cost O(resources in the share). This keeps insertion order
    and offers what moto and this module use of the list (append, remove, ``in``, iteration,
    len); iteration walks a snapshot, so a reader never sees the set change under it."""

    def __init__(self) -> None:
        self._arns: dict[str, None] = {}

    def append(self, arn: str) -> None:
        self._arns[arn] = None

    def remove(self, arn: str) -> None:
        del self._arns[arn]

    def __contains__(self, arn: object) -> bool:
        return arn in self._arns

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._arns))

    def __len__(self) -> int:
        return len(self._arns)


@dataclass
class Invitation:
    arn: str
    share_arn: str
    share_name: str
    sender: str
    receiver: str
    created: float
    status: str = "PENDING"

    def describe(self) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share_name,
            "resourceShareArn": self.share_arn,
            "senderAccountId": self.sender,
            "receiverAccountId": self.receiver,
            "invitationTimestamp": self.created,
            "status": self.status,
        }


@dataclass
class _RamState:
    # Invitations this account received, in arrival order.
    invitations: dict[str, Invitation] = field(default_factory=dict)
    # Share ARN -> the invitation that currently stands for it (PENDING or ACCEPTED).
    current: dict[str, str] = field(default_factory=dict)
    # The Lake Formation shares this account owns: "grant:<grantee>:<Glue ARN>" (version 1, one
    # per grant) or "pair:<grantee>" (version 2 and later, one per account pair).
    lf_shares: dict[str, Any] = field(default_factory=dict)
    # Share ARN -> every Lake Formation share this account has owned (deleted ones too, as
    # moto's resource_shares keeps them), so finding one by ARN is O(1).
    lf_by_arn: dict[str, Any] = field(default_factory=dict)


def _state(backend: Any) -> _RamState:
    state: _RamState | None = backend.__dict__.get("_meshctl_ram")
    if state is None:
        state = _RamState()
        backend._meshctl_ram = state
    return state


def share_grant(region: str, grantor: str, grantee: str, resource_arn: str, version: int) -> str:
    """Put ``resource_arn`` in the grantor's Lake Formation share for the grantee (inviting it
    when the share is new to it) and return the share's ARN.

    AWS (Lake Formation guide, "Updating cross-account data sharing version settings"): with
    cross-account version 1 each cross-account grant gets a RAM resource share of its own; from
    version 2 one share between the two accounts carries every grant, so the grantee accepts one
    invitation per account pair, and resources added to an accepted share need no new one."""
    owner = ram_backends[grantor][region]
    state = _state(owner)
    key = _share_key(grantee, resource_arn, version)
    share = state.lf_shares.get(key)
    if share is None or share.status != "ACTIVE":
        digest = hashlib.sha256(f"{grantor}:{key}".encode()).hexdigest()[:12]
        share = ResourceShare(grantor, region, name=f"LakeFormation-V{version}-{digest}")
        share.resource_arns = ArnSet()
        owner.resource_shares.append(share)
        state.lf_shares[key] = share
        state.lf_by_arn[share.arn] = share
    if resource_arn not in share.resource_arns:
        share.resource_arns.append(resource_arn)
    if grantee not in share.principals:
        share.principals.append(grantee)
    _invite(region, share, grantee)
    return str(share.arn)


def _share_key(grantee: str, resource_arn: str, version: int) -> str:
    return f"grant:{grantee}:{resource_arn}" if version < 2 else f"pair:{grantee}"


def unshare_grant(region: str, grantor: str, grantee: str, resource_arn: str) -> None:
    """The grantee holds no grant on the resource any more: the resource leaves the share that
    carried it to the grantee (a version-1 share of its own, or the account pair's share, made
    before or after a change of version); a share left empty is deleted."""
    state = _state(ram_backends[grantor][region])
    for key in (_share_key(grantee, resource_arn, 1), _share_key(grantee, resource_arn, 2)):
        share = state.lf_shares.get(key)
        if share is None or resource_arn not in share.resource_arns:
            continue
        share.resource_arns.remove(resource_arn)
        if not share.resource_arns:
            _remove_principals(region, share, list(share.principals))
            share.delete()
            del state.lf_shares[key]


def _invite(region: str, share: Any, receiver: str) -> None:
    state = _state(ram_backends[receiver][region])
    standing = state.current.get(share.arn)
    if standing is not None and state.invitations[standing].status in ("PENDING", "ACCEPTED"):
        return
    sender = share.owning_account_id
    arn = f"arn:aws:ram:{region}:{sender}:resource-share-invitation/{mock_random.uuid4()}"
    state.invitations[arn] = Invitation(
        arn, share.arn, share.name, share.owning_account_id, receiver, unix_time(utcnow())
    )
    state.current[share.arn] = arn


def _remove_principals(region: str, share: Any, principals: list[str]) -> None:
    for principal in principals:
        if principal in share.principals:
            share.principals.remove(principal)
        if principal.isdigit():
            state = _state(ram_backends[principal][region])
            standing = state.current.pop(share.arn, None)
            # AWS expires an invitation whose share no longer includes the receiver.
            if standing is not None and state.invitations[standing].status == "PENDING":
                state.invitations[standing].status = "EXPIRED"


# --- backend methods (installed on ResourceAccessManagerBackend) ---------------------------


def _get_invitations(
    self: Any,
    invitation_arns: list[str] | None,
    share_arns: list[str] | None,
    max_results: int | None,
    next_token: str | None,
) -> dict[str, Any]:
    found = [
        inv
        for inv in list(_state(self).invitations.values())
        if (not invitation_arns or inv.arn in invitation_arns)
        and (not share_arns or inv.share_arn in share_arns)
    ]
    chunk, token = page(
        found,
        max_results=max_results,
        next_token=next_token,
        filters=fingerprint(invitation_arns, share_arns),
        default_size=500,
        max_size=500,
        invalid=lambda msg: _error("InvalidParameterException", msg),
    )
    out: dict[str, Any] = {"resourceShareInvitations": [inv.describe() for inv in chunk]}
    if token:
        out["nextToken"] = token
    return out


def _answer_invitation(self: Any, invitation_arn: str, status: str) -> dict[str, Any]:
    inv = _state(self).invitations.get(invitation_arn)
    if inv is None:
        raise _error(
            "ResourceShareInvitationArnNotFoundException",
            f"ResourceShareInvitationArn {invitation_arn} could not be found.",
        )
    if inv.status != "PENDING":
        raise _error(
            {
                "ACCEPTED": "ResourceShareInvitationAlreadyAcceptedException",
                "REJECTED": "ResourceShareInvitationAlreadyRejectedException",
            }.get(inv.status, "ResourceShareInvitationExpiredException"),
            f"The invitation {invitation_arn} is {inv.status}.",
        )
    inv.status = status
    return {"resourceShareInvitation": inv.describe()}


def _find_share(region: str, share_arn: str) -> Any:
    parts = share_arn.split(":")
    owner = parts[4] if len(parts) > 5 else ""
    if owner.isdigit():
        backend = ram_backends[owner][region]
        found = _state(backend).lf_by_arn.get(share_arn)
        if found is not None:
            return found
        for share in backend.resource_shares:
            if share.arn == share_arn:
                return share
    raise _error("UnknownResourceException", f"ResourceShare {share_arn} could not be found.")


def _disassociate(
    self: Any, share_arn: str, principals: list[str], resource_arns: list[str]
) -> dict[str, Any]:
    share = _find_share(self.region_name, share_arn)
    _remove_principals(self.region_name, share, principals)
    for arn in resource_arns:
        if arn in share.resource_arns:
            share.resource_arns.remove(arn)
    associations = [
        {
            "resourceShareArn": share.arn,
            "resourceShareName": share.name,
            "associatedEntity": entity,
            "associationType": kind,
            "status": "DISASSOCIATING",
            "external": kind == "PRINCIPAL",
        }
        for kind, entities in (("PRINCIPAL", principals), ("RESOURCE", resource_arns))
        for entity in entities
    ]
    return {"resourceShareAssociations": associations}


def _shares_from_others(self: Any) -> dict[str, Any]:
    """GetResourceShares(OTHER-ACCOUNTS): the shares whose invitation this account accepted."""
    state = _state(self)
    shares = []
    for inv in list(state.invitations.values()):
        if inv.status == "ACCEPTED" and state.current.get(inv.share_arn) == inv.arn:
            share = _find_share(self.region_name, inv.share_arn)
            if share.status == "ACTIVE":
                shares.append(share.describe())
    return {"resourceShares": shares}


def _wrap_get_resource_shares(original: Any) -> Any:
    def get_resource_shares(self: Any, resource_owner: str | None) -> Any:
        if resource_owner == "OTHER-ACCOUNTS":
            return _shares_from_others(self)
        return original(self, resource_owner)

    return get_resource_shares


# --- response handlers (installed on ResourceAccessManagerResponse) ------------------------


def _r_get_invitations(self: Any) -> str:
    p = self.request_params
    return json.dumps(
        self.ram_backend.meshctl_get_invitations(
            p.get("resourceShareInvitationArns"),
            p.get("resourceShareArns"),
            p.get("maxResults"),
            p.get("nextToken"),
        )
    )


def _r_accept(self: Any) -> str:
    arn = self.request_params.get("resourceShareInvitationArn", "")
    return json.dumps(self.ram_backend.meshctl_answer_invitation(arn, "ACCEPTED"))


def _r_reject(self: Any) -> str:
    arn = self.request_params.get("resourceShareInvitationArn", "")
    return json.dumps(self.ram_backend.meshctl_answer_invitation(arn, "REJECTED"))


def _r_disassociate(self: Any) -> str:
    p = self.request_params
    return json.dumps(
        self.ram_backend.meshctl_disassociate(
            p.get("resourceShareArn", ""), p.get("principals") or [], p.get("resourceArns") or []
        )
    )


_NEW_PATHS = (
    "getresourceshareinvitations",
    "acceptresourceshareinvitation",
    "rejectresourceshareinvitation",
    "disassociateresourceshare",
)


def install() -> None:
    backend: Any = ResourceAccessManagerBackend
    backend.meshctl_get_invitations = _get_invitations
    backend.meshctl_answer_invitation = _answer_invitation
    backend.meshctl_disassociate = _disassociate
    backend.get_resource_shares = _wrap_get_resource_shares(backend.get_resource_shares)

    response: Any = ResourceAccessManagerResponse
    response.get_resource_share_invitations = _r_get_invitations
    response.accept_resource_share_invitation = _r_accept
    response.reject_resource_share_invitation = _r_reject
    response.disassociate_resource_share = _r_disassociate
    # moto builds its routes (server) and matches URLs (in-process) from this module-level dict,
    # so new operations need a route here as well as a handler.
    for path in _NEW_PATHS:
        ram_urls.url_paths["{0}/" + path + "$"] = ResourceAccessManagerResponse.dispatch
