"""Reaching sandbox accounts over HTTP, and the environment that points AWS tools at a sandbox.

Accounts are reached exactly as in production: sts:AssumeRole into
``arn:aws:iam::<account id>:role/<role>``; moto scopes the returned credentials to that account.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.configprovider import ConstantProvider

from meshctl.sandbox import REGION as REGION  # re-exported for tests and benchmarks

DEPLOYER_ROLE = "MeshctlDeployer"
DUMMY_KEY = "testing"

# Variables that would send a subprocess to a real account or pin every request to one account.
_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID")


def sandbox_variables(endpoint: str, region: str = REGION) -> dict[str, str]:
    """What a shell needs to talk to the sandbox (printed by ``meshctl sandbox up``)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": region,
    }


def subprocess_env(base: Mapping[str, str], endpoint: str, region: str = REGION) -> dict[str, str]:
    """``base`` (usually os.environ) pointed at the sandbox, without profiles or fixed accounts."""
    env = {k: v for k, v in base.items() if k not in _DROPPED}
    env.update(sandbox_variables(endpoint, region))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@functools.cache
def _shared_loader() -> Any:
    """One botocore data loader for every sandbox session: a fresh Session would otherwise
    parse each service's JSON model again (~0.1 s per client), which dominates test time."""
    return botocore.loaders.create_loader()


def botocore_session(*, ignore_profile: bool = False) -> Any:
    """A botocore session reusing the shared loader; optionally blind to AWS_PROFILE."""
    session = botocore.session.Session()
    session.register_component("data_loader", _shared_loader())
    if ignore_profile:
        # Credentials and region are explicit for the sandbox: AWS_PROFILE may name a real
        # account's profile, or one that does not exist on this machine.
        session.get_component("config_store").set_config_provider("profile", ConstantProvider(None))
    return session


class EndpointSession(boto3.Session):  # type: ignore[misc]
    """A boto3 Session whose clients and resources all use one endpoint URL."""

    def __init__(self, endpoint_url: str, **kwargs: Any) -> None:
        super().__init__(botocore_session=botocore_session(ignore_profile=True), **kwargs)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(*args, **kwargs)


def assume_role_session(
    endpoint: str, account_id: str, role: str = DEPLOYER_ROLE, region: str = REGION
) -> EndpointSession:
    """A session inside ``account_id`` of the sandbox at ``endpoint``, by sts:AssumeRole."""
    base = EndpointSession(
        endpoint, aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY, region_name=region
    )
    creds = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="meshctl-sandbox"
    )["Credentials"]
    return EndpointSession(
        endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )
