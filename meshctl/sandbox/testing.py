"""Test support shared by meshctl's tests and benchmarks: an in-process patched sandbox.

Owned by the sandbox work; this first version only starts moto in-process with dummy
credentials. Patches are applied by ``meshctl.sandbox.patches.apply_patches``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from moto import mock_aws

from meshctl.sandbox.patches import apply_patches

REGION = "us-east-1"


class _Env(Protocol):
    def setenv(self, name: str, value: str) -> None: ...
    def delenv(self, name: str, raising: bool = ...) -> None: ...


@dataclass
class InProcessSandbox:
    region: str = REGION

    def session(self, account_id: str, role: str = "MeshctlDeployer") -> boto3.Session:
        """A session inside ``account_id``, reached by sts:AssumeRole as in production."""
        sts = boto3.client("sts", region_name=self.region)
        creds: Any = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="meshctl-test"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
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
