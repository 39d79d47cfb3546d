"""The patched sandbox through moto's server: same behaviour over HTTP, emptied between tests."""

from __future__ import annotations

from support.sandbox import ServerSandbox

from ._support import CONSUMER, DB, MESH, principal, table


def test_cross_account_grant_and_invitation_over_http(sandbox_server: ServerSandbox) -> None:
    mesh = sandbox_server.session(MESH)
    glue, lf = mesh.client("glue"), mesh.client("lakeformation")
    glue.create_database(DatabaseInput={"Name": DB})
    glue.create_table(DatabaseName=DB, TableInput={"Name": "orders"})
    lf.batch_grant_permissions(
        Entries=[
            {
                "Id": "1",
                "Principal": principal(CONSUMER),
                "Resource": table("orders"),
                "Permissions": ["SELECT"],
                "PermissionsWithGrantOption": ["SELECT"],
            }
        ]
    )
    [grant] = lf.list_permissions(MaxResults=10)["PrincipalResourcePermissions"]
    assert grant["PermissionsWithGrantOption"] == ["SELECT"]

    ram = sandbox_server.session(CONSUMER).client("ram")
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert grant["AdditionalDetails"]["ResourceShare"] == [invitation["resourceShareArn"]]
    ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    shares = ram.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [s["resourceShareArn"] for s in shares] == [invitation["resourceShareArn"]]
    assert [t["Name"] for t in glue.search_tables()["TableList"]] == ["orders"]


def test_reset_empties_every_account(sandbox_server: ServerSandbox) -> None:
    glue = sandbox_server.session(MESH).client("glue")
    glue.create_database(DatabaseInput={"Name": DB})
    sandbox_server.reset()
    assert glue.get_databases()["DatabaseList"] == []


def test_accounts_are_separate(sandbox_server: ServerSandbox) -> None:
    sandbox_server.session(MESH).client("glue").create_database(DatabaseInput={"Name": DB})
    other = sandbox_server.session(CONSUMER).client("glue")
    assert other.get_databases()["DatabaseList"] == []
    identity = sandbox_server.session(CONSUMER).client("sts").get_caller_identity()
    assert identity["Account"] == CONSUMER


def test_subprocess_env_points_at_the_server_without_a_profile(
    sandbox_server: ServerSandbox,
) -> None:
    env = sandbox_server.env
    assert env["AWS_ENDPOINT_URL"] == sandbox_server.endpoint
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in env
    assert "MOTO_ACCOUNT_ID" not in env
