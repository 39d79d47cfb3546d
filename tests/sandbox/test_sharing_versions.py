"""Lake Formation's cross-account data sharing versions, as the sandbox emulates them.

AWS: Lake Formation developer guide, "Updating cross-account data sharing version settings"
(https://docs.aws.amazon.com/lake-formation/latest/dg/optimize-ram.html), and the Lake Formation
best-practices guide, "Cross account versions". The version is the grantor's data lake setting
``Parameters["CROSS_ACCOUNT_VERSION"]`` (version 1 when never set):
- version 1 maps each cross-account grant to a RAM resource share of its own;
- version 2 and later use one RAM share between two accounts for many grants (one invitation per
  account pair);
- version 3 and later accept grants to IAM principals of other accounts; earlier versions refuse.
Plain moto shares nothing, keeps any version value and refuses nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._support import CONSUMER, MESH, MeshCatalog, database, list_all, principal, table

ANALYST = f"arn:aws:iam::{CONSUMER}:role/analyst"


def set_version(mesh: MeshCatalog, version: str) -> None:
    settings = mesh.lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    settings["Parameters"] = {**settings.get("Parameters", {}), "CROSS_ACCOUNT_VERSION": version}
    mesh.lf.put_data_lake_settings(CatalogId=MESH, DataLakeSettings=settings)


def grant(mesh: MeshCatalog, who: str, resource: dict[str, Any], perms: list[str]) -> None:
    mesh.lf.grant_permissions(Principal=principal(who), Resource=resource, Permissions=perms)


def revoke(mesh: MeshCatalog, who: str, resource: dict[str, Any], perms: list[str]) -> None:
    mesh.lf.revoke_permissions(Principal=principal(who), Resource=resource, Permissions=perms)


def invitations(mesh: MeshCatalog) -> list[dict[str, Any]]:
    ram = mesh.client(CONSUMER, "ram")
    return list(ram.get_resource_share_invitations()["resourceShareInvitations"])


def own_shares(mesh: MeshCatalog) -> dict[str, dict[str, Any]]:
    ram = mesh.client(MESH, "ram")
    found = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    return {s["resourceShareArn"]: s for s in found if s["status"] == "ACTIVE"}


def listed_shares(mesh: MeshCatalog) -> set[str]:
    return {
        arn
        for entry in list_all(mesh.lf, CatalogId=MESH)
        for arn in entry.get("AdditionalDetails", {}).get("ResourceShare", ())
    }


def accept_all(mesh: MeshCatalog) -> None:
    ram = mesh.client(CONSUMER, "ram")
    for invitation in invitations(mesh):
        if invitation["status"] == "PENDING":
            ram.accept_resource_share_invitation(
                resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
            )


def test_version_1_gives_each_cross_account_grant_its_own_share(mesh: MeshCatalog) -> None:
    """Version 1 (never set): each cross-account grant maps to one RAM resource share."""
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    assert len(own_shares(mesh)) == 2
    assert len(invitations(mesh)) == 2
    assert listed_shares(mesh) == set(own_shares(mesh))


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_version_2_and_later_use_one_share_per_account_pair(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 2 and later: one RAM share between the two accounts carries many grants, so the
    grantee gets one invitation; once accepted, a new grant needs no new invitation."""
    set_version(mesh, version)
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    [share] = own_shares(mesh).values()
    assert listed_shares(mesh) == {share["resourceShareArn"]}
    [invitation] = invitations(mesh)
    assert invitation["resourceShareArn"] == share["resourceShareArn"]

    accept_all(mesh)
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    assert [i["status"] for i in invitations(mesh)] == ["ACCEPTED"]
    seen = mesh.client(CONSUMER, "ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    assert [s["resourceShareArn"] for s in seen["resourceShares"]] == [share["resourceShareArn"]]
    assert listed_shares(mesh) == {share["resourceShareArn"]}


def test_revoking_takes_the_resource_out_and_the_last_one_deletes_the_share(
    mesh: MeshCatalog,
) -> None:
    """Version 2 and later: a resource leaves the account pair's share when the grantee holds
    nothing on it any more; the share goes with its last resource."""
    set_version(mesh, "4")
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    accept_all(mesh)
    revoke(mesh, CONSUMER, table("orders"), ["SELECT"])
    [share] = own_shares(mesh)
    assert listed_shares(mesh) == {share}
    revoke(mesh, CONSUMER, table("customers"), ["SELECT"])
    assert own_shares(mesh) == {}
    seen = mesh.client(CONSUMER, "ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS")
    assert seen["resourceShares"] == []


def test_changing_the_version_keeps_what_the_grantee_holds(mesh: MeshCatalog) -> None:
    """Updating the version does not change the permissions recipients already hold: the
    version-1 share stays; new grants follow the new version."""
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    [old] = own_shares(mesh)
    set_version(mesh, "4")
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    shares = own_shares(mesh)
    assert old in shares and len(shares) == 2
    revoke(mesh, CONSUMER, table("orders"), ["SELECT"])
    assert old not in own_shares(mesh) and len(own_shares(mesh)) == 1


@pytest.mark.parametrize("version", ["1", "2"])
def test_versions_before_3_refuse_grants_to_other_accounts_iam_principals(
    mesh: MeshCatalog, version: str
) -> None:
    """Only version 3 and later allow sharing with IAM principals of external accounts."""
    set_version(mesh, version)
    with pytest.raises(ClientError) as err:
        grant(mesh, ANALYST, table("orders"), ["SELECT"])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert "version 3 or later" in err.value.response["Error"]["Message"]
    answer = mesh.lf.batch_grant_permissions(
        CatalogId=MESH,
        Entries=[
            {
                "Id": "1",
                "Principal": principal(ANALYST),
                "Resource": table("orders"),
                "Permissions": ["SELECT"],
            },
            {
                "Id": "2",
                "Principal": principal(CONSUMER),
                "Resource": table("orders"),
                "Permissions": ["SELECT"],
            },
        ],
    )
    [failure] = answer["Failures"]
    assert failure["RequestEntry"]["Id"] == "1"
    assert failure["Error"]["ErrorCode"] == "InvalidInputException"
    assert [e["Principal"]["DataLakePrincipalIdentifier"] for e in list_all(mesh.lf)] == [CONSUMER]
    # A principal of the grantor's own account is never refused.
    grant(mesh, f"arn:aws:iam::{MESH}:role/local", table("orders"), ["SELECT"])


@pytest.mark.parametrize("version", ["3", "4"])
def test_version_3_and_later_share_with_another_accounts_role(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 3 and later: a grant to an IAM role of another account is shared with that
    account, which gets the RAM invitation to accept."""
    set_version(mesh, version)
    grant(mesh, ANALYST, table("orders"), ["SELECT"])
    grant(mesh, ANALYST, database(), ["DESCRIBE"])
    [invitation] = invitations(mesh)
    assert (invitation["receiverAccountId"], invitation["status"]) == (CONSUMER, "PENDING")
    assert listed_shares(mesh) == {invitation["resourceShareArn"]}


def test_an_unknown_version_is_refused(mesh: MeshCatalog) -> None:
    """PutDataLakeSettings accepts CROSS_ACCOUNT_VERSION 1 to 4 only."""
    with pytest.raises(ClientError) as err:
        set_version(mesh, "5")
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    settings = mesh.lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    assert "CROSS_ACCOUNT_VERSION" not in settings.get("Parameters", {})
