"""`meshctl sandbox up --seed`, plain boto3 against it, then `down`: run as a user would."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest

from ._procs import clean_env, dead_pid, free_port, meshctl, wait_exited
from ._support import CONSUMER, MESH

REPO = Path(__file__).resolve().parents[2]
PRODUCER = "111111111111"

# Used when examples/mesh.yaml is absent: the smallest mesh with one product.
MINIMAL_MESH = """\
version: 1
mesh:
  account_id: "555555555555"
  region: us-east-1
accounts:
  sales:
    account_id: "111111111111"
    roles: [producer]
  marketing:
    account_id: "999999999999"
    roles: [consumer]
products:
  sales.orders:
    producer: sales
    source_database: sales
    tables: [orders, order_lines]
    owners: [sales-data-owners@example.com]
"""


def _mesh_file(tmp_path: Path) -> Path:
    target = tmp_path / "mesh.yaml"
    example = REPO / "examples" / "mesh.yaml"
    if example.exists():
        shutil.copy(example, target)
    else:
        target.write_text(MINIMAL_MESH)
    return target


def _exports(stdout: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in stdout.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def _session(env: dict[str, str], account_id: str) -> boto3.Session:
    """Plain boto3: the exported endpoint and credentials, then sts:AssumeRole."""
    sts = boto3.client(
        "sts",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/MeshctlDeployer", RoleSessionName="test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def _client(session: boto3.Session, env: dict[str, str], service: str) -> Any:
    return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])


def _stale_state(cwd: Path) -> None:
    state = cwd / ".meshctl" / "sandbox.json"
    state.parent.mkdir(exist_ok=True)
    state.write_text(
        json.dumps(
            {
                "pid": dead_pid(),
                "port": 1,
                "endpoint": "http://127.0.0.1:1",
                "log": "x",
                "started_at": "then",
            }
        )
    )


@pytest.mark.slow
def test_up_seed_use_with_boto3_and_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    env, port = clean_env(), free_port()
    _stale_state(tmp_path)  # left behind by a sandbox that died

    up = meshctl(
        "sandbox",
        "up",
        "--port",
        str(port),
        "--seed",
        str(_mesh_file(tmp_path)),
        cwd=tmp_path,
        env=env,
    )
    assert up.returncode == 0, up.stderr
    assert "removed a stale sandbox state file" in up.stderr
    exported = _exports(up.stdout)
    assert exported["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert exported["AWS_ACCESS_KEY_ID"] == exported["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert exported["AWS_DEFAULT_REGION"] == "us-east-1"
    pid = json.loads((tmp_path / ".meshctl" / "sandbox.json").read_text())["pid"]

    try:
        producer = _session(exported, PRODUCER)
        seeded = _client(producer, exported, "glue").get_tables(DatabaseName="sales")
        assert {t["Name"] for t in seeded["TableList"]} >= {"orders", "order_lines"}

        mesh = _session(exported, MESH)
        glue, lf = _client(mesh, exported, "glue"), _client(mesh, exported, "lakeformation")
        glue.create_database(DatabaseInput={"Name": "sales-111111111111"})
        glue.create_table(DatabaseName="sales-111111111111", TableInput={"Name": "orders"})
        lf.grant_permissions(
            Principal={"DataLakePrincipalIdentifier": CONSUMER},
            Resource={"Table": {"DatabaseName": "sales-111111111111", "Name": "orders"}},
            Permissions=["SELECT"],
        )

        ram = _client(_session(exported, CONSUMER), exported, "ram")
        [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
        assert (invitation["senderAccountId"], invitation["status"]) == (MESH, "PENDING")
        accepted = ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
        assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"

        status = meshctl("sandbox", "status", cwd=tmp_path, env=env)
        assert status.returncode == 0
        assert f"running at http://127.0.0.1:{port} (pid {pid}" in status.stdout

        again = meshctl("sandbox", "up", "--port", str(free_port()), cwd=tmp_path, env=env)
        assert again.returncode == 1
        assert "Error: a sandbox is already running" in again.stderr
    finally:
        down = meshctl("sandbox", "down", cwd=tmp_path, env=env)

    assert down.returncode == 0, down.stderr
    assert f"sandbox stopped (pid {pid}" in down.stdout
    assert wait_exited(pid), f"sandbox pid {pid} still running"
    assert not (tmp_path / ".meshctl" / "sandbox.json").exists()

    after = meshctl("sandbox", "down", cwd=tmp_path, env=env)
    assert after.returncode == 1
    assert "Error: no sandbox is running" in after.stderr
    assert "Traceback" not in after.stderr
    status = meshctl("sandbox", "status", cwd=tmp_path, env=env)
    assert (status.returncode, status.stdout.strip()) == (1, "sandbox: not running")


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        up = meshctl("sandbox", "up", "--port", str(port), cwd=tmp_path, env=clean_env())
    assert up.returncode == 1
    assert f"Error: port {port} on 127.0.0.1 is busy" in up.stderr
    assert "Traceback" not in up.stderr
    assert not (tmp_path / ".meshctl" / "sandbox.json").exists()


def test_invalid_seed_file_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "mesh.yaml"
    bad.write_text("version: 1\nmesh: {}\n")
    up = meshctl(
        "sandbox",
        "up",
        "--port",
        str(free_port()),
        "--seed",
        str(bad),
        cwd=tmp_path,
        env=clean_env(),
    )
    assert up.returncode == 1
    assert "Error:" in up.stderr
    assert "Traceback" not in up.stderr
    assert not (tmp_path / ".meshctl" / "sandbox.json").exists()


def test_stale_state_is_reported_by_status_and_down(tmp_path: Path) -> None:
    state = tmp_path / ".meshctl" / "sandbox.json"
    _stale_state(tmp_path)
    status = meshctl("sandbox", "status", cwd=tmp_path, env=clean_env())
    assert status.returncode == 1
    assert "removed the stale state file" in status.stdout
    assert not state.exists()

    _stale_state(tmp_path)
    down = meshctl("sandbox", "down", cwd=tmp_path, env=clean_env())
    assert down.returncode == 1
    assert "Error: no sandbox is running: pid" in down.stderr
    assert "Traceback" not in down.stderr
    assert not state.exists()


STAR_MESH = """\
version: 1
mesh:
  account_id: "555555555555"
  region: us-east-1
accounts:
  sales:
    account_id: "111111111111"
    roles: [producer]
products:
  sales.returns:
    producer: sales
    source_database: returns
    tables: ["*"]
    owners: [sales-data-owners@example.com]
"""


@pytest.mark.slow
def test_status_down_and_seed_find_the_sandbox_from_a_subfolder_and_by_port(
    tmp_path: Path,
) -> None:
    env = clean_env()
    port, other = free_port(), free_port()
    up = meshctl("sandbox", "up", "--port", str(port), cwd=tmp_path, env=env)
    assert up.returncode == 0, up.stderr
    deep = tmp_path / "teams" / "sales"
    deep.mkdir(parents=True)
    try:
        status = meshctl("sandbox", "status", cwd=deep, env=env)
        assert status.returncode == 0 and f"running at http://127.0.0.1:{port}" in status.stdout
        by_port = meshctl("sandbox", "status", "--port", str(port), cwd=deep, env=env)
        assert by_port.returncode == 0
        wrong = meshctl("sandbox", "status", "--port", str(other), cwd=deep, env=env)
        assert wrong.returncode == 1
        assert wrong.stdout.strip() == (
            f"sandbox: not running on port {other} (one runs on port {port})"
        )

        (deep / "returns.yaml").write_text(STAR_MESH)
        seeded = meshctl("sandbox", "seed", "returns.yaml", cwd=deep, env=env)
        assert seeded.returncode == 0, seeded.stderr
        assert 'product sales.returns (tables: ["*"]): ' in seeded.stderr
        exports = _exports(status.stdout)
        glue = _client(_session(exports, PRODUCER), exports, "glue")
        tables = sorted(t["Name"] for t in glue.get_tables(DatabaseName="returns")["TableList"])
        assert seeded.stderr.rstrip().endswith(", ".join(tables))  # every table it made, named

        refused = meshctl("sandbox", "down", "--port", str(other), cwd=deep, env=env)
        assert refused.returncode == 1
        assert f"no sandbox is running on port {other}; the running one is on port {port}" in (
            refused.stderr
        )
    finally:
        down = meshctl("sandbox", "down", "--port", str(port), cwd=deep, env=env)
    assert down.returncode == 0, down.stderr
    assert "its state is gone" in down.stdout
