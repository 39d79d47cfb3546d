"""Test support shared by meshctl's tests and benchmarks: the patched sandbox, in-process and as
a server.

- ``in_process_sandbox``: moto's ``mock_aws`` with the patches; fastest, no network.
- ``server_sandbox``: one moto server (``ThreadedMotoServer``) on 127.0.0.1 and a free port, with
  the patches, for code that must talk HTTP (the CLI run as a subprocess). ``reset()`` empties it.

Both reach accounts by sts:AssumeRole, never by ``MOTO_ACCOUNT_ID``. ``run_meshctl`` runs the
installed console script as a user would, for tests that check exit codes and output.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
from moto import mock_aws
from moto.server import ThreadedMotoServer

from meshctl.sandbox.patches import apply_patches
from meshctl.sandbox.sessions import (
    REGION,
    EndpointSession,
    assume_role_session,
    botocore_session,
    sandbox_variables,
    subprocess_env,
)

MESHCTL = Path(sys.executable).parent / "meshctl"  # the console script of this environment


def run_meshctl(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``meshctl ARGS``, output captured, exit code kept, no terminal on stdin (as in CI)."""
    return subprocess.run(
        [str(MESHCTL), *args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class _Env(Protocol):
    def setenv(self, name: str, value: str) -> None: ...
    def delenv(self, name: str, raising: bool = ...) -> None: ...


class ProcessEnv:
    """``setenv``/``delenv`` over os.environ, restored by ``restore()``: what
    ``in_process_sandbox`` needs of pytest's monkeypatch, for code outside pytest (benchmarks)."""

    def __init__(self) -> None:
        self.saved = dict(os.environ)

    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value

    def delenv(self, name: str, raising: bool = True) -> None:
        os.environ.pop(name, None)

    def restore(self) -> None:
        os.environ.clear()
        os.environ.update(self.saved)


@dataclass
class InProcessSandbox:
    region: str = REGION

    def session(self, account_id: str, role: str = "MeshctlDeployer") -> boto3.Session:
        """A session inside ``account_id``, reached by sts:AssumeRole as in production."""
        base = boto3.Session(botocore_session=botocore_session(), region_name=self.region)
        creds: Any = base.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="meshctl-test"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
            botocore_session=botocore_session(),
        )


@contextmanager
def in_process_sandbox(env: _Env) -> Iterator[InProcessSandbox]:
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        env.delenv(name, raising=False)
    apply_patches()
    with mock_aws():
        yield InProcessSandbox()


@dataclass
class ServerSandbox:
    """A running patched moto server. ``env`` is a full environment for subprocesses."""

    endpoint: str
    port: int
    region: str = REGION
    env: dict[str, str] = field(default_factory=dict)

    def session(self, account_id: str, role: str = "MeshctlDeployer") -> EndpointSession:
        """A session inside ``account_id`` of this server, by sts:AssumeRole."""
        return assume_role_session(self.endpoint, account_id, role, self.region)

    @property
    def variables(self) -> dict[str, str]:
        """Only the AWS variables (endpoint, dummy credentials, region)."""
        return sandbox_variables(self.endpoint, self.region)

    def reset(self) -> None:
        """Empty every account and region, through moto's reset API."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise RuntimeError(f"moto reset answered {response.status}")


@contextmanager
def server_sandbox(region: str = REGION) -> Iterator[ServerSandbox]:
    """Start a patched moto server on 127.0.0.1 and a free port; stop it on exit."""
    apply_patches()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        yield ServerSandbox(endpoint, port, region, subprocess_env(os.environ, endpoint, region))
    finally:
        server.stop()
