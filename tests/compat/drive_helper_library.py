"""Runs INSIDE a separate virtualenv holding aws-data-mesh-utils 1.0.16 (boto3 1.20).

Drives the helper library's SubscriberTracker against the sandbox server and prints JSON, so the
compatibility test can check that what meshctl writes reads back through the library, and that
what the library writes is seen by meshctl. Usage:
    python drive_helper_library.py ENDPOINT MESH list SUBSCRIBER_ACCOUNT_ID
    python drive_helper_library.py ENDPOINT MESH get SUBSCRIPTION_ID
    python drive_helper_library.py ENDPOINT MESH request OWNER SUBSCRIBER DB TABLE PERM...
"""

import json
import sys

import boto3
import boto3.session

ENDPOINT, MESH = sys.argv[1], sys.argv[2]
REGION = "us-east-1"

# boto3 1.20 does not read AWS_ENDPOINT_URL: give every client and resource the endpoint.
_client, _resource = boto3.session.Session.client, boto3.session.Session.resource


def _with_endpoint(original):
    def wrapped(self, *args, **kwargs):
        kwargs.setdefault("endpoint_url", ENDPOINT)
        return original(self, *args, **kwargs)

    return wrapped


boto3.session.Session.client = _with_endpoint(_client)
boto3.session.Session.resource = _with_endpoint(_resource)

from data_mesh_util.lib.SubscriberTracker import SubscriberTracker  # noqa: E402

sts = boto3.session.Session(region_name=REGION).client("sts")
creds = sts.assume_role(
    RoleArn=f"arn:aws:iam::{MESH}:role/MeshctlDeployer", RoleSessionName="helper-library"
)["Credentials"]
tracker = SubscriberTracker(
    credentials={
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
    },
    data_mesh_account_id=MESH,
    region_name=REGION,
    log_level="ERROR",
)

command = sys.argv[3]
if command == "list":
    out = tracker.list_subscriptions(principal_id=sys.argv[4])
elif command == "get":
    out = tracker.get_subscription(subscription_id=sys.argv[4])
elif command == "request":
    owner, subscriber, db, table, *perms = sys.argv[4:]
    out = tracker.create_subscription_request(
        owner_account_id=owner,
        principal=subscriber,
        request_grants=perms,
        database_name=db,
        tables=[table],
        suppress_object_validation=True,
    )
else:
    raise SystemExit(f"unknown command {command}")
print(json.dumps(out, default=lambda v: sorted(v) if isinstance(v, set) else str(v)))
