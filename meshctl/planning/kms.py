"""Which KMS key encrypts a product's data, who must decrypt it, and what its owner must allow.

Pure (docs/kms.md). A product's key is the one it declares (``kms_key_arn``), or with
``kms_key_arn: bucket`` the key of its source bucket's default encryption as read
(``ObservedMesh.bucket_keys``). Lake Formation reads the data of a registered location as the role
that registered it, so that role is the grantee: the ``RoleArn`` ListResources shows, or Lake
Formation's service-linked role (the one meshctl registers locations with).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from meshctl.observed import Table
from meshctl.spec.model import BUCKET_KEY, MeshSpec, Product

# What Lake Formation's registration role needs on the key to read: Decrypt for the data keys of
# the objects, DescribeKey as in the key policy of the Lake Formation guide ("Registering an
# encrypted Amazon S3 location across AWS accounts").
GRANT_OPERATIONS = ("Decrypt", "DescribeKey")
GRANT_PREFIX = "meshctl-"
LF_SERVICE_LINKED_ROLE = (
    "role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess"
)


def grant_name(product: str) -> str:
    """The grant's name: recognisably meshctl's, one per product (KMS allows 256 characters)."""
    return f"{GRANT_PREFIX}{product}"[:256]


def service_linked_role(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:{LF_SERVICE_LINKED_ROLE}"


def bucket_of(location: str) -> str:
    """``s3://bucket/prefix/`` → ``bucket``; "" for what is not an S3 location."""
    if not location.startswith("s3://"):
        return ""
    return location.removeprefix("s3://").split("/", 1)[0]


def key_arn(key_id: str, region: str, account_id: str) -> str:
    """A bucket's KMSMasterKeyID as a key ARN: a key ARN as it is, a bare key id in the bucket
    owner's account; "" for an alias (a grant needs the key itself: declare ``kms_key_arn``)."""
    if key_id.startswith("arn:"):
        return key_id if ":key/" in key_id else ""
    if key_id.startswith("alias/") or not key_id:
        return ""
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def key_account(arn: str) -> str:
    return arn.split(":")[4]


@dataclass(frozen=True)
class ProductKeys:
    """The keys of one product's data, and what a plan must say about them."""

    keys: tuple[str, ...] = ()  # key ARNs meshctl can reach (the producer's or the mesh account)
    unreachable: tuple[str, ...] = ()  # key ARNs in any other account: only a warning
    notes: tuple[str, ...] = ()  # why a ``bucket`` product has no key (warnings)


def source_tables(
    product: Product, producer_id: str, observed_tables: Iterable[Table]
) -> list[Table]:
    """The product's source tables as read (``*``: every table of its source database)."""
    wanted = None if product.all_tables else set(product.tables)
    return [
        t
        for t in observed_tables
        if (t.account_id, t.database) == (producer_id, product.source_database)
        and (wanted is None or t.name in wanted)
    ]


def buckets_needed(spec: MeshSpec, account_id: str, tables: Iterable[Table]) -> list[str]:
    """Buckets whose default encryption a producer's read must look at: those of the source
    tables of its ``kms_key_arn: bucket`` products only (no read for any other mesh)."""
    found: set[str] = set()
    tables = list(tables)
    for product in spec.products:
        if product.kms_key_arn != BUCKET_KEY:
            continue
        if spec.account(product.producer).account_id != account_id:
            continue
        found.update(bucket_of(t.location) for t in source_tables(product, account_id, tables))
    return sorted(found - {""})


def product_keys(
    spec: MeshSpec, bucket_keys: Mapping[str, str], observed_tables: Iterable[Table]
) -> dict[str, ProductKeys]:
    """Every product that uses a key → its keys (declared, or of its buckets as read)."""
    m, region = spec.mesh.account_id, spec.mesh.region
    observed_tables = list(observed_tables)
    out: dict[str, ProductKeys] = {}
    for product in spec.products:
        if not product.kms_key_arn:
            continue
        producer = spec.account(product.producer).account_id
        notes: list[str] = []
        if product.kms_key_arn == BUCKET_KEY:
            arns: set[str] = set()
            tables = source_tables(product, producer, observed_tables)
            for bucket in sorted({bucket_of(t.location) for t in tables} - {""}):
                raw = bucket_keys.get(bucket, "")
                arn = key_arn(raw, region, producer)
                if arn:
                    arns.add(arn)
                elif raw:
                    notes.append(
                        f"product {product.name}: bucket {bucket} is encrypted with {raw}, an "
                        "alias: set kms_key_arn to the key's ARN so meshctl can grant on it"
                    )
                else:
                    notes.append(
                        f"product {product.name}: bucket {bucket} has no SSE-KMS default "
                        "encryption: no KMS grant is needed"
                    )
        else:
            arns = {product.kms_key_arn}
        reachable = {a for a in arns if key_account(a) in (producer, m)}
        out[product.name] = ProductKeys(
            tuple(sorted(reachable)), tuple(sorted(arns - reachable)), tuple(notes)
        )
    return out


def key_policy_statement(product: str, grantees: Iterable[str]) -> str:
    """The key-policy statement the owner of a key meshctl cannot reach must add (compact JSON)."""
    statement = {
        "Sid": f"LakeFormationRead{''.join(c for c in product if c.isalnum())}"[:128],
        "Effect": "Allow",
        "Principal": {"AWS": sorted(grantees)},
        "Action": [f"kms:{op}" for op in GRANT_OPERATIONS],
        "Resource": "*",
    }
    return json.dumps(statement, separators=(",", ":"))
