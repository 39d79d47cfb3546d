"""Runs INSIDE a separate virtualenv holding aws-data-mesh-utils 1.0.16 (boto3 1.20).

Drives the helper library's SubscriberTracker against the sandbox server and prints JSON, so the
compatibility test can check that what meshctl writes reads back through the library, and that
what the library writes is seen by meshctl. Usage:
    python drive_helper_library.py ENDPOINT MESH COMMAND [-- COMMAND ...]
with COMMAND one of
    list SUBSCRIBER_ACCOUNT_ID
    list-owner OWNER_ACCOUNT_ID STATUS
    get SUBSCRIPTION_ID [force]
    request OWNER SUBSCRIBER DB TABLE[,TABLE] PERM...
    configure-iam ROLE POLICY TEMPLATE   (in the mesh account: the library's role, its policy,
                                          and the user and group beside it)

Every call goes through the library's own code (list_subscriptions, get_subscription,
create_subscription_request), as its CLI and its producer/consumer classes would call it. Output:
one line of JSON per command, in order (sets as sorted lists, DynamoDB numbers as strings).
Several commands share one process: starting boto3 1.20 and the tracker costs about a second.
"""

import json
import sys

import boto3
import boto3.session

ENDPOINT, MESH = sys.argv[1], sys.argv[2]
REGION = "us-east-1"

from boto3_endpoint import route_boto3_to  # noqa: E402  (this script's folder)

route_boto3_to(ENDPOINT)

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


def run(command, args):
    if command == "list":
        return tracker.list_subscriptions(principal_id=args[0])
    if command == "list-owner":
        # The producer's view (e.g. pending requests to approve): a query on the Owner index,
        # whose sort key is Status.
        return tracker.list_subscriptions(owner_id=args[0], request_status=args[1])
    if command == "get":
        # Without force the library hides Deleted (archived) records, as its CLI does.
        return tracker.get_subscription(subscription_id=args[0], force=args[1:] == ["force"])
    if command == "request":
        owner, subscriber, db, tables, *perms = args
        return tracker.create_subscription_request(
            owner_account_id=owner,
            principal=subscriber,
            request_grants=perms,
            database_name=db,
            tables=tables.split(","),
            suppress_object_validation=True,
        )
    if command == "configure-iam":
        # The library's own IAM layout code (DataMeshAdmin.initialize_mesh_account calls it for
        # DataMeshAdminReadOnly, then DataMeshManager).
        from data_mesh_util.lib.ApiAutomator import ApiAutomator

        role, policy, template = args
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )
        automator = ApiAutomator(target_account=MESH, session=session, log_level="ERROR")
        role_arn, user_arn, group_arn = automator.configure_iam(
            policy_name=policy,
            policy_desc=f"{policy} (compatibility test)",
            policy_template=template,
            role_name=role,
            role_desc=f"{role} (compatibility test)",
            account_id=MESH,
            data_mesh_account_id=MESH,
            config={"data_mesh_account_id": MESH},
        )
        return {"role": role_arn, "user": user_arn, "group": group_arn}
    raise SystemExit(f"unknown command {command}")


commands = [[]]
for arg in sys.argv[3:]:
    if arg == "--":
        commands.append([])
    else:
        commands[-1].append(arg)
for command, *args in filter(None, commands):
    out = run(command, args)
    print(json.dumps(out, default=lambda v: sorted(v) if isinstance(v, set) else str(v)))
