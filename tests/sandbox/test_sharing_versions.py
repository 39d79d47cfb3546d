"""Lake Formation's cross-account data sharing versions, as the sandbox emulates them.

AWS sources, cited by each test as [optimize-ram] and [best-practices]:
- [optimize-ram] Lake Formation developer guide, "Updating cross-account data sharing version
  settings", https://docs.aws.amazon.com/lake-formation/latest/dg/optimize-ram.html;
- [best-practices] Lake Formation best-practices guide, "Cross account versions".

The version is the grantor's data lake setting ``Parameters["CROSS_ACCOUNT_VERSION"]`` ("1" to
"4"; version 1 when never set):
- version 1 maps each cross-account grant to a RAM resource share of its own;
- version 2 and later use one RAM share between two accounts for many grants (one invitation per
  account pair; resources added to an accepted share need no new invitation);
- version 3 and later accept grants to IAM principals of other accounts; earlier versions refuse;
- a change of version leaves what recipients already hold as it is.
Plain moto shares nothing, keeps any version value and refuses nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._support import (
    CONSUMER,
    DB,
    MESH,
    PRODUCER,
    MeshCatalog,
    database,
    list_all,
    principal,
    table,
)

ANALYST = f"arn:aws:iam::{CONSUMER}:role/x"
LATER_VERSIONS = ["2", "3", "4"]
REGION = "us-east-1"


# --- helpers: everything goes through boto3 clients of the sandbox --------------------------


def set_version(mesh: MeshCatalog, version: str) -> None:
    """Read, merge, write (PutDataLakeSettings is authoritative)."""
    settings = mesh.lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    settings["Parameters"] = {**settings.get("Parameters", {}), "CROSS_ACCOUNT_VERSION": version}
    mesh.lf.put_data_lake_settings(CatalogId=MESH, DataLakeSettings=settings)


def version_setting(mesh: MeshCatalog) -> str | None:
    settings = mesh.lf.get_data_lake_settings(CatalogId=MESH)["DataLakeSettings"]
    value: str | None = settings.get("Parameters", {}).get("CROSS_ACCOUNT_VERSION")
    return value


def grant(mesh: MeshCatalog, who: str, resource: dict[str, Any], perms: list[str]) -> None:
    mesh.lf.grant_permissions(Principal=principal(who), Resource=resource, Permissions=perms)


def revoke(mesh: MeshCatalog, who: str, resource: dict[str, Any], perms: list[str]) -> None:
    mesh.lf.revoke_permissions(Principal=principal(who), Resource=resource, Permissions=perms)


def entry(ident: str, who: str, resource: dict[str, Any], perms: list[str]) -> dict[str, Any]:
    return {"Id": ident, "Principal": principal(who), "Resource": resource, "Permissions": perms}


def invitations(mesh: MeshCatalog, account: str = CONSUMER) -> list[dict[str, Any]]:
    ram = mesh.client(account, "ram")
    return list(ram.get_resource_share_invitations()["resourceShareInvitations"])


def statuses(mesh: MeshCatalog, account: str = CONSUMER) -> list[str]:
    return [i["status"] for i in invitations(mesh, account)]


def accept_all(mesh: MeshCatalog, account: str = CONSUMER) -> None:
    ram = mesh.client(account, "ram")
    for invitation in invitations(mesh, account):
        if invitation["status"] == "PENDING":
            ram.accept_resource_share_invitation(
                resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
            )


def active_shares(mesh: MeshCatalog) -> list[str]:
    """The ARNs of the grantor's ACTIVE resource shares."""
    found = mesh.client(MESH, "ram").get_resource_shares(resourceOwner="SELF")["resourceShares"]
    return [s["resourceShareArn"] for s in found if s["status"] == "ACTIVE"]


def shares_seen_by(mesh: MeshCatalog, account: str = CONSUMER) -> list[str]:
    ram = mesh.client(account, "ram")
    found = ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    return [s["resourceShareArn"] for s in found]


def share_resources(mesh: MeshCatalog, share_arn: str) -> set[str]:
    """The Glue ARNs the share carries (RAM resource associations)."""
    answer = mesh.client(MESH, "ram").get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=[share_arn]
    )
    return {a["associatedEntity"] for a in answer["resourceShareAssociations"]}


def glue_arn(resource: dict[str, Any]) -> str:
    """The Glue ARN RAM shares for a database or table resource of the mesh catalog."""
    if "Database" in resource:
        return f"arn:aws:glue:{REGION}:{MESH}:database/{DB}"
    body = resource.get("Table") or resource["TableWithColumns"]
    return f"arn:aws:glue:{REGION}:{MESH}:table/{DB}/{body['Name']}"


def shares_by_grant(mesh: MeshCatalog) -> dict[tuple[str, str], list[str]]:
    """(principal, Glue ARN) -> AdditionalDetails.ResourceShare, for every grant listed."""
    return {
        (g["Principal"]["DataLakePrincipalIdentifier"], glue_arn(g["Resource"])): g.get(
            "AdditionalDetails", {}
        ).get("ResourceShare", [])
        for g in list_all(mesh.lf, CatalogId=MESH)
    }


@pytest.fixture(autouse=True)
def _region(mesh: MeshCatalog) -> None:
    assert mesh.lf.meta.region_name == REGION  # glue_arn above relies on it


# --- version 1 -------------------------------------------------------------------------------


def test_version_1_is_the_default_and_gives_each_grant_its_own_share(mesh: MeshCatalog) -> None:
    """Version 1, named-resource method (the version of an account that never set one): each
    cross-account grant is mapped to a RAM resource share of its own, each with its own
    invitation [optimize-ram]."""
    assert version_setting(mesh) is None
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])

    shares = active_shares(mesh)
    assert len(shares) == 2
    assert sorted(i["resourceShareArn"] for i in invitations(mesh)) == sorted(shares)
    assert statuses(mesh) == ["PENDING", "PENDING"]
    by_grant = shares_by_grant(mesh)
    db_share = by_grant[(CONSUMER, glue_arn(database()))]
    orders_share = by_grant[(CONSUMER, glue_arn(table("orders")))]
    assert db_share != orders_share
    assert {*db_share, *orders_share} == set(shares)
    assert share_resources(mesh, db_share[0]) == {glue_arn(database())}
    assert share_resources(mesh, orders_share[0]) == {glue_arn(table("orders"))}


# --- version 2 and later: one share per account pair ------------------------------------------


@pytest.mark.parametrize("version", LATER_VERSIONS)
def test_version_2_and_later_carry_many_grants_in_one_share_per_account_pair(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 2 and later: one RAM resource share between the grantor and the grantee account
    carries many grants, so the grantee gets one invitation, and ListPermissions reports the
    same share for every grant it carries [optimize-ram; best-practices]."""
    set_version(mesh, version)
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])

    [share] = active_shares(mesh)
    [invitation] = invitations(mesh)
    assert (invitation["resourceShareArn"], invitation["status"]) == (share, "PENDING")
    assert shares_by_grant(mesh) == {
        (CONSUMER, glue_arn(database())): [share],
        (CONSUMER, glue_arn(table("orders"))): [share],
    }
    assert share_resources(mesh, share) == {glue_arn(database()), glue_arn(table("orders"))}


@pytest.mark.parametrize("version", LATER_VERSIONS)
def test_version_2_and_later_add_new_grants_to_an_accepted_share_without_a_new_invitation(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 2 and later: once the grantee accepted the account pair's share, resources
    granted later join that share; no new invitation, no new acceptance, and the grantee keeps
    seeing the share [optimize-ram]."""
    set_version(mesh, version)
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    accept_all(mesh)
    [share] = active_shares(mesh)

    grant(mesh, CONSUMER, table("customers"), ["SELECT"])

    assert statuses(mesh) == ["ACCEPTED"]
    assert shares_seen_by(mesh) == [share]
    assert active_shares(mesh) == [share]
    assert glue_arn(table("customers")) in share_resources(mesh, share)
    assert shares_by_grant(mesh)[(CONSUMER, glue_arn(table("customers")))] == [share]


@pytest.mark.parametrize("version", LATER_VERSIONS)
def test_version_2_and_later_give_each_grantee_account_its_own_share(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 2 and later: the share is per account pair; another grantee account gets a
    share (and an invitation) of its own [optimize-ram]."""
    set_version(mesh, version)
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    grant(mesh, PRODUCER, table("orders"), ["SELECT"])
    grant(mesh, PRODUCER, table("customers"), ["SELECT"])

    [to_consumer] = invitations(mesh, CONSUMER)
    [to_producer] = invitations(mesh, PRODUCER)
    assert to_consumer["resourceShareArn"] != to_producer["resourceShareArn"]
    assert sorted(active_shares(mesh)) == sorted(
        [to_consumer["resourceShareArn"], to_producer["resourceShareArn"]]
    )
    assert share_resources(mesh, to_producer["resourceShareArn"]) == {
        glue_arn(table("orders")),
        glue_arn(table("customers")),
    }


# --- revoking ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", LATER_VERSIONS)
def test_revoking_takes_a_resource_out_of_the_share_and_keeps_the_others(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 2 and later: a resource leaves the account pair's share when the grantee account
    holds no grant on it any more; the share stays, and stays accepted, for the other resources
    [optimize-ram]."""
    set_version(mesh, version)
    grant(mesh, CONSUMER, table("orders"), ["SELECT", "DESCRIBE"])
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    accept_all(mesh)
    [share] = active_shares(mesh)

    revoke(mesh, CONSUMER, table("orders"), ["SELECT"])  # DESCRIBE is still granted
    assert share_resources(mesh, share) == {glue_arn(table("orders")), glue_arn(table("customers"))}

    revoke(mesh, CONSUMER, table("orders"), ["DESCRIBE"])
    assert active_shares(mesh) == [share]
    assert share_resources(mesh, share) == {glue_arn(table("customers"))}
    assert shares_seen_by(mesh) == [share]
    assert statuses(mesh) == ["ACCEPTED"]
    assert shares_by_grant(mesh) == {(CONSUMER, glue_arn(table("customers"))): [share]}


def test_a_resource_stays_shared_while_any_principal_of_the_account_holds_a_grant(
    mesh: MeshCatalog,
) -> None:
    """Version 3 and later: a grant to the account and a grant to one of its roles on the same
    table ride on the pair's share; the table leaves it only when neither is left
    [optimize-ram]."""
    set_version(mesh, "4")
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    grant(mesh, ANALYST, table("orders"), ["SELECT"])
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    [share] = active_shares(mesh)

    revoke(mesh, CONSUMER, table("orders"), ["SELECT"])
    assert glue_arn(table("orders")) in share_resources(mesh, share)
    revoke(mesh, ANALYST, table("orders"), ["SELECT"])
    assert share_resources(mesh, share) == {glue_arn(table("customers"))}


@pytest.mark.parametrize("accepted", [False, True], ids=["pending", "accepted"])
def test_revoking_the_last_resource_deletes_the_share(mesh: MeshCatalog, accepted: bool) -> None:
    """Version 2 and later: when nothing is left in the account pair's share it is deleted; a
    pending invitation to it expires, and the grantee no longer sees it; a later grant starts a
    new share with a new invitation [optimize-ram]."""
    set_version(mesh, "4")
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    if accepted:
        accept_all(mesh)
    [share] = active_shares(mesh)

    revoke(mesh, CONSUMER, table("orders"), ["SELECT"])
    revoke(mesh, CONSUMER, table("customers"), ["SELECT"])

    assert active_shares(mesh) == []
    assert shares_seen_by(mesh) == []
    assert statuses(mesh) == ["ACCEPTED" if accepted else "EXPIRED"]
    assert list_all(mesh.lf, CatalogId=MESH) == []

    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    [new_share] = active_shares(mesh)
    assert new_share != share
    assert invitations(mesh)[-1]["resourceShareArn"] == new_share
    assert statuses(mesh)[-1] == "PENDING"


# --- changing the version ---------------------------------------------------------------------


def test_changing_the_version_keeps_what_recipients_already_hold(mesh: MeshCatalog) -> None:
    """Updating the cross-account version does not change the permissions recipients already
    hold: the version-1 share stays, still accepted and still reported for its grant; only new
    grants follow the new version (here 4: the pair's share) [optimize-ram]."""
    grant(mesh, CONSUMER, table("orders"), ["SELECT"])
    accept_all(mesh)
    [old] = active_shares(mesh)

    set_version(mesh, "4")
    grant(mesh, CONSUMER, table("orders"), ["DESCRIBE"])  # the same grant: stays on its share
    grant(mesh, CONSUMER, table("customers"), ["SELECT"])
    grant(mesh, CONSUMER, database(), ["DESCRIBE"])

    assert old in active_shares(mesh) and len(active_shares(mesh)) == 2
    [new] = [arn for arn in active_shares(mesh) if arn != old]
    assert share_resources(mesh, old) == {glue_arn(table("orders"))}
    assert share_resources(mesh, new) == {glue_arn(table("customers")), glue_arn(database())}
    assert shares_by_grant(mesh) == {
        (CONSUMER, glue_arn(table("orders"))): [old],
        (CONSUMER, glue_arn(table("customers"))): [new],
        (CONSUMER, glue_arn(database())): [new],
    }
    assert shares_seen_by(mesh) == [old]
    assert statuses(mesh) == ["ACCEPTED", "PENDING"]

    revoke(mesh, CONSUMER, table("orders"), ["SELECT", "DESCRIBE"])
    assert active_shares(mesh) == [new]


# --- grants to IAM principals of other accounts -----------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_versions_1_and_2_refuse_a_grant_to_another_accounts_iam_principal(
    mesh: MeshCatalog, version: str
) -> None:
    """Only version 3 and later allow cross-account grants to IAM principals (roles, users) of
    other accounts; earlier versions refuse them with InvalidInputException, nothing granted and
    nothing shared [optimize-ram; best-practices]."""
    set_version(mesh, version)
    with pytest.raises(ClientError) as err:
        grant(mesh, ANALYST, table("orders"), ["SELECT"])
    error = err.value.response["Error"]
    assert error["Code"] == "InvalidInputException"
    assert "IAM principals need cross-account version 3 or later" in error["Message"]
    assert list_all(mesh.lf, CatalogId=MESH) == []
    assert active_shares(mesh) == []
    assert invitations(mesh) == []


@pytest.mark.parametrize("version", ["1", "2"])
def test_versions_1_and_2_refuse_it_per_entry_in_batch_grant_permissions(
    mesh: MeshCatalog, version: str
) -> None:
    """In BatchGrantPermissions the refusal of a grant to another account's IAM principal
    (versions 1 and 2 [optimize-ram]) comes back for that entry in Failures; the entry granting
    to the account id succeeds."""
    set_version(mesh, version)
    answer = mesh.lf.batch_grant_permissions(
        CatalogId=MESH,
        Entries=[
            entry("role", ANALYST, table("orders"), ["SELECT"]),
            entry("account", CONSUMER, table("orders"), ["SELECT"]),
        ],
    )
    [failure] = answer["Failures"]
    assert failure["RequestEntry"]["Id"] == "role"
    assert failure["Error"]["ErrorCode"] == "InvalidInputException"
    assert "version 3 or later" in failure["Error"]["ErrorMessage"]
    granted = list_all(mesh.lf, CatalogId=MESH)
    assert [g["Principal"]["DataLakePrincipalIdentifier"] for g in granted] == [CONSUMER]
    assert len(invitations(mesh)) == 1


@pytest.mark.parametrize("version", ["1", "2", "3", "4"])
def test_grants_to_the_grantors_own_principals_are_never_refused(
    mesh: MeshCatalog, version: str
) -> None:
    """The cross-account version only governs sharing with other accounts: a grant to a role of
    the grantor's own account works in every version and shares nothing [optimize-ram]."""
    set_version(mesh, version)
    grant(mesh, f"arn:aws:iam::{MESH}:role/local", table("orders"), ["SELECT"])
    [granted] = list_all(mesh.lf, CatalogId=MESH)
    assert granted["Principal"]["DataLakePrincipalIdentifier"] == f"arn:aws:iam::{MESH}:role/local"
    assert "AdditionalDetails" not in granted
    assert active_shares(mesh) == []


@pytest.mark.parametrize("version", ["3", "4"])
def test_version_3_and_later_share_a_grant_to_another_accounts_iam_principal(
    mesh: MeshCatalog, version: str
) -> None:
    """Version 3 and later accept grants to IAM principals of other accounts: the grant is
    shared with the principal's account, which gets the invitation and accepts it as for an
    account grant; a user ARN works as a role ARN does [optimize-ram; best-practices]."""
    set_version(mesh, version)
    grant(mesh, ANALYST, table("orders"), ["SELECT"])
    grant(mesh, f"arn:aws:iam::{CONSUMER}:user/alice", database(), ["DESCRIBE"])

    [invitation] = invitations(mesh)
    assert (invitation["receiverAccountId"], invitation["status"]) == (CONSUMER, "PENDING")
    assert invitation["senderAccountId"] == MESH
    share = invitation["resourceShareArn"]
    assert active_shares(mesh) == [share]
    assert shares_by_grant(mesh) == {
        (ANALYST, glue_arn(table("orders"))): [share],
        (f"arn:aws:iam::{CONSUMER}:user/alice", glue_arn(database())): [share],
    }
    accept_all(mesh)
    assert shares_seen_by(mesh) == [share]


# --- the setting itself -----------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2", "3", "4"])
def test_put_data_lake_settings_keeps_a_version_from_1_to_4(
    mesh: MeshCatalog, version: str
) -> None:
    """CROSS_ACCOUNT_VERSION takes "1" to "4" [optimize-ram]; GetDataLakeSettings returns it."""
    set_version(mesh, version)
    assert version_setting(mesh) == version


@pytest.mark.parametrize("bad", ["5", "0", "v4"])
def test_put_data_lake_settings_refuses_a_version_outside_1_to_4(
    mesh: MeshCatalog, bad: str
) -> None:
    """PutDataLakeSettings refuses a CROSS_ACCOUNT_VERSION other than "1" to "4" with
    InvalidInputException and keeps the settings it had [optimize-ram]."""
    set_version(mesh, "4")
    with pytest.raises(ClientError) as err:
        set_version(mesh, bad)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert version_setting(mesh) == "4"
