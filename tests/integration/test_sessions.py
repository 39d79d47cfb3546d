"""Sessions per account (architecture.md), call statistics, and error messages, against moto."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from support.sandbox import InProcessSandbox, server_sandbox

from meshctl.aws.errors import describe
from meshctl.aws.sessions import AccountSessions, load_credentials_file
from meshctl.errors import AwsError
from meshctl.spec.model import Account, AccountRole, MeshSettings

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
MOTO_DEFAULT = "123456789012"  # moto's account for unknown (ambient) access keys


def _accounts(**role_arns: str) -> tuple[Account, ...]:
    return (
        Account("sales", PRODUCER, frozenset({AccountRole.PRODUCER}), role_arns.get("sales")),
        Account("marketing", CONSUMER, frozenset({AccountRole.CONSUMER}), role_arns.get("mkt")),
    )


def _identity(sessions: AccountSessions, account_id: str) -> dict[str, str]:
    answer = sessions.client(account_id, "sts").get_caller_identity()
    return {"Account": answer["Account"], "Arn": answer["Arn"]}


def test_each_account_is_entered_by_assuming_the_deployer_role(sandbox: InProcessSandbox) -> None:
    sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
    for account_id in (MESH, PRODUCER, CONSUMER):
        identity = _identity(sessions, account_id)
        assert identity["Account"] == account_id
        assert ":assumed-role/MeshctlDeployer/" in identity["Arn"]
        assert sessions.acting_as(account_id) == f"arn:aws:iam::{account_id}:role/MeshctlDeployer"
    # One role assumption per account, however many clients and calls follow.
    sessions.client(PRODUCER, "glue").get_databases()
    sessions.client(PRODUCER, "glue").get_databases()
    assert sessions.stats.calls(account_id=PRODUCER, operation="AssumeRole") == 1
    assert sessions.stats.calls(account_id=PRODUCER, service="glue") == 2


def test_role_arn_from_the_mesh_file_wins(sandbox: InProcessSandbox) -> None:
    custom = f"arn:aws:iam::{PRODUCER}:role/PlatformDeployer"
    mesh_role = f"arn:aws:iam::{MESH}:role/MeshAdmin"
    sessions = AccountSessions(
        MeshSettings(MESH, "us-east-1", role_arn=mesh_role), _accounts(sales=custom)
    )
    assert ":assumed-role/PlatformDeployer/" in _identity(sessions, PRODUCER)["Arn"]
    assert ":assumed-role/MeshAdmin/" in _identity(sessions, MESH)["Arn"]
    assert sessions.acting_as(PRODUCER) == custom


def test_callers_own_account_uses_its_credentials_without_assuming(
    sandbox: InProcessSandbox,
) -> None:
    sessions = AccountSessions(MeshSettings(MOTO_DEFAULT, "us-east-1"), _accounts())
    identity = _identity(sessions, MOTO_DEFAULT)
    assert identity["Account"] == MOTO_DEFAULT
    assert sessions.stats.calls(account_id=MOTO_DEFAULT, operation="AssumeRole") == 0
    assert sessions.acting_as(MOTO_DEFAULT) == identity["Arn"]
    assert sessions.caller_arn() == identity["Arn"]


def test_credentials_file_in_the_helper_library_format(
    sandbox: InProcessSandbox, tmp_path: Path
) -> None:
    keys = sandbox.session(PRODUCER).get_credentials().get_frozen_credentials()
    path = tmp_path / "creds.json"
    section = {
        "AccountId": PRODUCER,
        "AccessKeyId": keys.access_key,
        "SecretAccessKey": keys.secret_key,
        "SessionToken": keys.token,
    }
    empty = {"AccountId": "", "AccessKeyId": "", "SecretAccessKey": ""}
    path.write_text(
        json.dumps(
            {
                "AWS_REGION": "us-east-1",
                "Mesh": empty,
                "Producer": section,
                "ProducerAdmin": section,
                "Consumer": empty,
                "ConsumerAdmin": empty,
            }
        )
    )
    static = load_credentials_file(path)
    assert set(static) == {PRODUCER}
    assert static[PRODUCER].section == "ProducerAdmin"  # admin identity preferred
    assert keys.secret_key not in repr(static[PRODUCER])

    sessions = AccountSessions(
        MeshSettings(MESH, "us-east-1"), _accounts(), static_credentials=static
    )
    assert _identity(sessions, PRODUCER)["Account"] == PRODUCER
    assert sessions.stats.calls(account_id=PRODUCER, operation="AssumeRole") == 0
    assert "ProducerAdmin" in sessions.acting_as(PRODUCER)
    assert keys.access_key not in sessions.acting_as(PRODUCER)


def test_unreadable_credentials_file_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text("{not json")
    with pytest.raises(AwsError, match="not JSON"):
        load_credentials_file(path)
    path.write_text(json.dumps({"Mesh": {"AccountId": MESH, "AccessKeyId": "AKIA"}}))
    with pytest.raises(AwsError, match="Mesh needs AccessKeyId and SecretAccessKey"):
        load_credentials_file(path)


def test_clients_are_created_once_per_account_and_service_across_threads(
    sandbox: InProcessSandbox,
) -> None:
    sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
    clients: list[object] = []

    def grab() -> None:
        clients.append(sessions.client(CONSUMER, "glue"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in clients}) == 1
    assert sessions.stats.calls(account_id=CONSUMER, operation="AssumeRole") == 1


def test_stats_render_counts_per_account_service_and_operation(sandbox: InProcessSandbox) -> None:
    sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
    glue = sessions.client(MESH, "glue")
    for _ in range(3):
        glue.get_databases()
    sessions.client(MESH, "glue").create_database(DatabaseInput={"Name": "db"})
    assert sessions.stats.calls(account_id=MESH, operation="GetDatabases") == 3
    assert sessions.stats.writes == 1
    assert (MESH, "glue", "GetDatabases", 3) in sessions.stats.rows()
    text = sessions.stats.render()
    assert "GetDatabases" in text and "CreateDatabase" in text
    assert "writes 1" in text


def test_aws_endpoint_url_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real HTTP endpoint (moto's server): boto3 1.44 reads AWS_ENDPOINT_URL by itself.
    with server_sandbox() as server:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
        glue = sessions.client(PRODUCER, "glue")
        assert glue.meta.endpoint_url == server.endpoint
        glue.create_database(DatabaseInput={"Name": "through_the_server"})
        names = [
            d["Name"]
            for d in server.session(PRODUCER).client("glue").get_databases()["DatabaseList"]
        ]
        assert names == ["through_the_server"]


def test_unreachable_endpoint_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts(), max_attempts=1)
    with pytest.raises(AwsError, match=r"cannot reach http://127\.0\.0\.1:9") as err:
        sessions.client(MESH, "glue")
    assert "testing" not in str(err.value)


def test_missing_credentials_say_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    sessions = AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
    with pytest.raises(AwsError, match=r"no AWS credentials found.*aws sso login"):
        sessions.client(MESH, "glue")


def test_access_denied_names_account_role_and_action() -> None:
    exc = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
        "GetDatabases",
    )
    role = f"arn:aws:iam::{PRODUCER}:role/MeshctlDeployer"
    text = describe(exc, account_id=PRODUCER, acting_as=role, service="glue")
    assert PRODUCER in text and role in text and "glue:GetDatabases" in text

    expired = ClientError({"Error": {"Code": "ExpiredTokenException", "Message": "x"}}, "Scan")
    assert "aws sso login" in describe(expired, account_id=MESH, acting_as=role)

    down = EndpointConnectionError(endpoint_url="https://glue.us-east-1.amazonaws.com/")
    assert "https://glue.us-east-1.amazonaws.com/" in describe(
        down, account_id=MESH, acting_as=role
    )


def test_unknown_profile_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AwsError, match="no-such-profile"):
        AccountSessions(MeshSettings(MESH, "us-east-1"), _accounts())
