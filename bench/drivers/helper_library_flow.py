"""Runs INSIDE the helper library's own virtualenv (aws-data-mesh-utils 1.0.16, boto3 1.20).

The library's side of bench/vs_helper_library.py: the library's documented workflow, through its
own classes, against the sandbox server. Usage:
    python helper_library_flow.py WORKLOAD.json
WORKLOAD names the endpoint, region, role to act as, mesh account, producers and consumers
(account ids), products (producer, source database, tables) and subscriptions (consumer, product
index, permissions). The phases, in order:

- setup:         DataMeshAdmin.initialize_mesh_account, then DataMeshMacros.bootstrap_account for
                 every producer and consumer (initialize the member account, enable it in the mesh)
- products:      DataMeshProducer.create_data_products, one per product (all its tables)
- subscriptions: for each subscription DataMeshConsumer.request_access_to_product,
                 DataMeshProducer.approve_access_request, DataMeshConsumer.finalize_subscription
- check:         per subscription, what a user of the library must call to know it is live:
                 get_subscription (the record), then Lake Formation ListPermissions on the mesh
                 database and on each table, compared with the record's PermittedGrants

Before the phases (not measured): sts:AssumeRole into each account, and each member account's
acting identity made a data lake admin (the library asserts that the caller already is one).

One library defect is worked around, without changing which calls it makes: it writes the Glue
catalog policy's Statement as one object (initialize_mesh_account) and appends a list of
statements as one element (approve_access_request), then iterates Statement expecting a flat list
of objects, so the second approval fails (AttributeError). ``flat_statements`` flattens the
policy the library reads back, as a policy grammar would have it.

Protocol: after the prerequisites and after each phase one JSON line on stdout
({"phase", "seconds", "slept", ...}), then the driver waits for a line on stdin, so the caller can
read the server's request counter between phases. "seconds" is the phase's wall time in this
process; "slept" the part of it spent in the library's own time.sleep calls (waits for AWS to
propagate). Library logging is silenced (ERROR).
"""

import json
import os
import sys
import time

import boto3
import boto3.session

with open(sys.argv[1], encoding="utf-8") as workload_file:
    WORKLOAD = json.load(workload_file)
ENDPOINT, REGION = WORKLOAD["endpoint"], WORKLOAD["region"]
MESH, ROLE = WORKLOAD["mesh"], WORKLOAD["role"]
LOG = "ERROR"

# The endpoint shim tests/compat uses (boto3 1.20 does not read AWS_ENDPOINT_URL).
sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "compat")
)
from boto3_endpoint import route_boto3_to  # noqa: E402

route_boto3_to(ENDPOINT)

# The library sleeps while AWS propagates (e.g. one second per table of a new product); the
# sleeps are kept, and their total is reported beside the wall time.
SLEPT = [0.0]
_sleep = time.sleep


def _counted_sleep(seconds):
    SLEPT[0] += seconds
    _sleep(seconds)


time.sleep = _counted_sleep

from data_mesh_util import DataMeshAdmin, DataMeshConsumer, DataMeshMacros, DataMeshProducer  # noqa: E402
from data_mesh_util.lib import utils  # noqa: E402
from data_mesh_util.lib.ApiAutomator import ApiAutomator  # noqa: E402

_get_current_glue_policy = ApiAutomator.get_current_glue_policy


def _flatten(statement):
    if isinstance(statement, list):
        return [s for item in statement for s in _flatten(item)]
    return [statement]


def flat_statements(self):
    """ApiAutomator.get_current_glue_policy (one glue:GetResourcePolicy), Statement flattened."""
    policy, policy_hash = _get_current_glue_policy(self)
    if policy is not None:
        policy["Statement"] = _flatten(policy.get("Statement", []))
    return policy, policy_hash


ApiAutomator.get_current_glue_policy = flat_statements


def credentials(account_id):
    """sts:AssumeRole into the account: the library's own credentials dict."""
    sts = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("sts")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="helper-library"
    )["Credentials"]
    return {
        "AccountId": account_id,
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
    }


def make_data_lake_admin(creds):
    """The library's precondition for initializing a member account: its caller is an admin."""
    session = utils.create_session(credentials=creds, region=REGION)
    arn = session.client("sts").get_caller_identity()["Arn"]
    session.client("lakeformation").put_data_lake_settings(
        DataLakeSettings={"DataLakeAdmins": [{"DataLakePrincipalIdentifier": arn}]}
    )


def report(phase, started, slept_before, **extra):
    line = {
        "phase": phase,
        "seconds": time.perf_counter() - started,
        "slept": SLEPT[0] - slept_before,
        **extra,
    }
    print(json.dumps(line), flush=True)
    if not sys.stdin.readline():  # the caller went away
        sys.exit(1)


def setup(creds):
    macros = DataMeshMacros.DataMeshMacros(MESH, region_name=REGION, log_level=LOG)
    admin = DataMeshAdmin.DataMeshAdmin(MESH, REGION, LOG, use_credentials=creds[MESH])
    admin.initialize_mesh_account()
    for account_id in WORKLOAD["producers"]:
        macros.bootstrap_account("Producer", creds[MESH], creds[account_id])
    for account_id in WORKLOAD["consumers"]:
        macros.bootstrap_account("Consumer", creds[MESH], creds[account_id])


def producers(creds):
    return {
        p: DataMeshProducer.DataMeshProducer(MESH, REGION, LOG, use_credentials=creds[p])
        for p in WORKLOAD["producers"]
    }


def consumers(creds):
    return {
        c: DataMeshConsumer.DataMeshConsumer(MESH, REGION, LOG, use_credentials=creds[c])
        for c in WORKLOAD["consumers"]
    }


def create_products(by_producer):
    for product in WORKLOAD["products"]:
        by_producer[product["producer"]].create_data_products(
            source_database_name=product["source_database"]
        )


def subscribe(by_producer, by_consumer):
    """Request, approve, finalize each subscription; returns the SubscriptionIds."""
    ids = []
    for sub in WORKLOAD["subscriptions"]:
        product = WORKLOAD["products"][sub["product"]]
        consumer = by_consumer[sub["consumer"]]
        producer = by_producer[product["producer"]]
        request = consumer.request_access_to_product(
            owner_account_id=product["producer"],
            database_name=product["mesh_database"],
            tables=product["tables"],
            request_permissions=sub["permissions"],
        )
        sub_id = request["SubscriptionId"]
        producer.approve_access_request(sub_id, grant_permissions=sub["permissions"])
        consumer.finalize_subscription(sub_id)
        ids.append(sub_id)
    return ids


def live_permissions(lf, resource, principal):
    """Lake Formation's grants to ``principal`` on ``resource`` (every page)."""
    found, kwargs = set(), {"CatalogId": MESH, "Resource": resource}
    while True:
        page = lf.list_permissions(**kwargs)
        for p in page.get("PrincipalResourcePermissions", []):
            if p["Principal"]["DataLakePrincipalIdentifier"] == principal:
                found |= set(p["Permissions"])
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def check_one(consumer, lf, sub_id):
    """Is this subscription live: Active, imported, and granted as its record says?"""
    record = consumer.get_subscription(sub_id)
    if not record or record.get("Status") != "Active" or not record.get("ImportedToConsumer"):
        return False
    who, database = record["SubscriberPrincipal"], record["DatabaseName"]
    db = {"Database": {"CatalogId": MESH, "Name": database}}
    if "DESCRIBE" not in live_permissions(lf, db, who):
        return False
    wanted = set(record.get("PermittedGrants") or [])
    for table in record["TableName"]:
        resource = {"Table": {"CatalogId": MESH, "DatabaseName": database, "Name": table}}
        if not wanted <= live_permissions(lf, resource, who):
            return False
    return True


def check(by_producer, by_consumer, ids):
    live = 0
    for sub, sub_id in zip(WORKLOAD["subscriptions"], ids, strict=True):
        product = WORKLOAD["products"][sub["product"]]
        producer = by_producer[product["producer"]]
        lf = producer._data_mesh_session.client("lakeformation")  # the producer's mesh role
        live += check_one(by_consumer[sub["consumer"]], lf, sub_id)
    return live


def main():
    accounts = [MESH, *WORKLOAD["producers"], *WORKLOAD["consumers"]]
    creds = {a: credentials(a) for a in accounts}
    for account_id in accounts[1:]:
        make_data_lake_admin(creds[account_id])
    # DataMeshAdmin reads the ambient credentials too (botocore's default session).
    os.environ["AWS_ACCESS_KEY_ID"] = creds[MESH]["AccessKeyId"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = creds[MESH]["SecretAccessKey"]
    os.environ["AWS_SESSION_TOKEN"] = creds[MESH]["SessionToken"]
    report("ready", time.perf_counter(), SLEPT[0])

    started, slept = time.perf_counter(), SLEPT[0]
    setup(creds)
    report("setup", started, slept)

    started, slept = time.perf_counter(), SLEPT[0]
    by_producer = producers(creds)
    create_products(by_producer)
    report("products", started, slept)

    started, slept = time.perf_counter(), SLEPT[0]
    by_consumer = consumers(creds)
    ids = subscribe(by_producer, by_consumer)
    report("subscriptions", started, slept, subscriptions=len(ids))

    started, slept = time.perf_counter(), SLEPT[0]
    live = check(by_producer, by_consumer, ids)
    report("check", started, slept, live=live, checked=len(ids))


if __name__ == "__main__":
    main()
