"""A grant to another account shares the resource through RAM, as in AWS (fails on plain moto)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._support import CONSUMER, MESH, PRODUCER, MeshCatalog, database, list_all, principal, table


def _grant(mesh: MeshCatalog, ident: str, resource: dict[str, Any], perms: list[str]) -> None:
    mesh.lf.grant_permissions(Principal=principal(ident), Resource=resource, Permissions=perms)


def _invitations(mesh: MeshCatalog, account: str) -> list[dict[str, Any]]:
    ram = mesh.client(account, "ram")
    return list(ram.get_resource_share_invitations()["resourceShareInvitations"])


def test_grant_to_another_account_sends_it_a_pending_invitation(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])

    [invitation] = _invitations(mesh, CONSUMER)
    assert invitation["status"] == "PENDING"
    assert invitation["senderAccountId"] == MESH
    assert invitation["receiverAccountId"] == CONSUMER
    assert "LakeFormation" in invitation["resourceShareName"]

    [share] = mesh.client(MESH, "ram").get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert share["resourceShareArn"] == invitation["resourceShareArn"]
    [listed] = list_all(mesh.lf)
    assert listed["AdditionalDetails"]["ResourceShare"] == [invitation["resourceShareArn"]]


def test_grantee_accepts_and_then_sees_the_share(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    ram = mesh.client(CONSUMER, "ram")
    [invitation] = _invitations(mesh, CONSUMER)

    accepted = ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )["resourceShareInvitation"]
    assert accepted["status"] == "ACCEPTED"
    assert [i["status"] for i in _invitations(mesh, CONSUMER)] == ["ACCEPTED"]
    shared = ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [s["resourceShareArn"] for s in shared] == [invitation["resourceShareArn"]]

    with pytest.raises(ClientError) as err:
        ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
    assert err.value.response["Error"]["Code"] == "ResourceShareInvitationAlreadyAcceptedException"


def test_grantee_can_reject_an_invitation(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    [invitation] = _invitations(mesh, CONSUMER)
    mesh.client(CONSUMER, "ram").reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    assert [i["status"] for i in _invitations(mesh, CONSUMER)] == ["REJECTED"]


def test_unknown_invitation_is_reported(mesh: MeshCatalog) -> None:
    with pytest.raises(ClientError) as err:
        mesh.client(CONSUMER, "ram").accept_resource_share_invitation(
            resourceShareInvitationArn=f"arn:aws:ram:us-east-1:{MESH}:resource-share-invitation/x"
        )
    assert err.value.response["Error"]["Code"] == "ResourceShareInvitationArnNotFoundException"


def test_one_invitation_per_shared_resource(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    _grant(mesh, CONSUMER, table("orders"), ["DESCRIBE"])
    _grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    _grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    _grant(mesh, PRODUCER, table("orders"), ["SELECT"])

    shares = {i["resourceShareArn"] for i in _invitations(mesh, CONSUMER)}
    assert len(shares) == 3  # orders, customers, the database
    assert len(_invitations(mesh, PRODUCER)) == 1


def test_library_reads_share_arn_of_a_database_grant(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    listed = list_all(mesh.lf, CatalogId=MESH, ResourceType="TABLE", Resource=database())
    [invitation] = _invitations(mesh, CONSUMER)
    assert listed[0]["AdditionalDetails"]["ResourceShare"][0] == invitation["resourceShareArn"]


def test_grant_within_the_account_makes_no_share(mesh: MeshCatalog) -> None:
    _grant(mesh, f"arn:aws:iam::{MESH}:role/Analyst", table("orders"), ["SELECT"])
    assert (
        mesh.client(MESH, "ram").get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    )
    assert "AdditionalDetails" not in list_all(mesh.lf)[0]


def _share_principals(mesh: MeshCatalog, share_arn: str) -> list[str]:
    associations = mesh.client(MESH, "ram").get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    )["resourceShareAssociations"]
    return [a["associatedEntity"] for a in associations]


def test_revoking_the_last_grant_takes_the_account_out_of_the_share(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT", "DESCRIBE"])
    [invitation] = _invitations(mesh, CONSUMER)
    share_arn = invitation["resourceShareArn"]

    mesh.lf.revoke_permissions(
        Principal=principal(CONSUMER), Resource=table("orders"), Permissions=["SELECT"]
    )
    assert _share_principals(mesh, share_arn) == [CONSUMER]

    mesh.lf.revoke_permissions(
        Principal=principal(CONSUMER), Resource=table("orders"), Permissions=["DESCRIBE"]
    )
    assert _share_principals(mesh, share_arn) == []
    assert [i["status"] for i in _invitations(mesh, CONSUMER)] == ["EXPIRED"]

    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])  # a new grant invites again
    assert [i["status"] for i in _invitations(mesh, CONSUMER)] == ["EXPIRED", "PENDING"]


def test_owner_disassociates_an_account_from_a_share(mesh: MeshCatalog) -> None:
    _grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    [invitation] = _invitations(mesh, CONSUMER)
    share_arn = invitation["resourceShareArn"]

    answer = mesh.client(MESH, "ram").disassociate_resource_share(
        resourceShareArn=share_arn, principals=[CONSUMER]
    )
    assert [a["associatedEntity"] for a in answer["resourceShareAssociations"]] == [CONSUMER]
    assert _share_principals(mesh, share_arn) == []


def test_disassociating_an_unknown_share_is_reported(mesh: MeshCatalog) -> None:
    with pytest.raises(ClientError) as err:
        mesh.client(MESH, "ram").disassociate_resource_share(
            resourceShareArn=f"arn:aws:ram:us-east-1:{MESH}:resource-share/nope",
            principals=[CONSUMER],
        )
    assert err.value.response["Error"]["Code"] == "UnknownResourceException"
