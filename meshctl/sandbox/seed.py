"""Seed what a real producer already has before it joins the mesh: its source Glue database and
tables (realistic columns, partitions on time-based tables, an S3 location) and the S3 bucket; and
what a consumer's own IaC already made: the IAM roles and users its subscriptions name as
``principals`` (meshctl never creates those).

Used by ``meshctl sandbox up --seed FILE``, the demo and tests. Idempotent: seeding twice leaves
the same catalog. Nothing here touches the mesh account; meshctl itself builds the mesh.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from meshctl.spec.model import MeshSpec

SessionFor = Callable[[str], boto3.Session]

# Tables invented for a product that exposes every table of its database ("*").
DEFAULT_TABLES = ("customers", "events", "daily_metrics")

_Column = tuple[str, str]

# Column sets by a keyword of the table name; the first keyword found wins.
_SCHEMAS: tuple[tuple[str, tuple[_Column, ...]], ...] = (
    (
        "line",
        (
            ("order_id", "bigint"),
            ("line_no", "int"),
            ("product_id", "bigint"),
            ("quantity", "int"),
            ("unit_price", "decimal(10,2)"),
        ),
    ),
    (
        "shipment",
        (
            ("shipment_id", "bigint"),
            ("order_id", "bigint"),
            ("carrier_id", "bigint"),
            ("depot_id", "bigint"),
            ("shipped_at", "timestamp"),
            ("delivered_at", "timestamp"),
            ("status", "string"),
        ),
    ),
    (
        "carrier",
        (("carrier_id", "bigint"), ("name", "string"), ("country", "string"), ("email", "string")),
    ),
    (
        "depot",
        (
            ("depot_id", "bigint"),
            ("name", "string"),
            ("city", "string"),
            ("country", "string"),
            ("capacity", "int"),
        ),
    ),
    (
        "invoice",
        (
            ("invoice_id", "bigint"),
            ("customer_id", "bigint"),
            ("issued_on", "date"),
            ("due_on", "date"),
            ("amount", "decimal(12,2)"),
            ("currency", "string"),
            ("status", "string"),
        ),
    ),
    (
        "order",
        (
            ("order_id", "bigint"),
            ("customer_id", "bigint"),
            ("order_ts", "timestamp"),
            ("status", "string"),
            ("total_amount", "decimal(12,2)"),
            ("currency", "string"),
        ),
    ),
    (
        "customer",
        (
            ("customer_id", "bigint"),
            ("email", "string"),
            ("full_name", "string"),
            ("country", "string"),
            ("created_at", "timestamp"),
        ),
    ),
    (
        "product",
        (
            ("product_id", "bigint"),
            ("sku", "string"),
            ("name", "string"),
            ("category", "string"),
            ("list_price", "decimal(10,2)"),
        ),
    ),
    (
        "event",
        (
            ("event_id", "string"),
            ("user_id", "string"),
            ("event_type", "string"),
            ("event_ts", "timestamp"),
            ("properties", "map<string,string>"),
        ),
    ),
    (
        "campaign",
        (
            ("campaign_id", "bigint"),
            ("channel", "string"),
            ("budget", "decimal(12,2)"),
            ("starts_on", "date"),
            ("ends_on", "date"),
        ),
    ),
    (
        "metric",
        (
            ("metric_name", "string"),
            ("dimension", "string"),
            ("value", "double"),
            ("computed_at", "timestamp"),
        ),
    ),
)
_GENERIC: tuple[_Column, ...] = (
    ("id", "bigint"),
    ("name", "string"),
    ("description", "string"),
    ("updated_at", "timestamp"),
)
# Tables whose names suggest facts over time are partitioned by day, as producers usually do.
_TIME_WORDS = (
    "order",
    "line",
    "shipment",
    "invoice",
    "event",
    "metric",
    "daily",
    "click",
    "session",
    "payment",
    "transaction",
)


@dataclass(frozen=True)
class SeededTable:
    account_id: str
    database: str
    table: str
    location: str
    partition_keys: tuple[str, ...]


def bucket_name(account_name: str, account_id: str) -> str:
    """The producer's data bucket: lowercase, at most 63 characters, as S3 requires."""
    return f"{account_name}-data-{account_id}"[:63].rstrip("-")


def columns_for(table: str) -> tuple[_Column, ...]:
    lowered = table.lower()
    return next((cols for word, cols in _SCHEMAS if word in lowered), _GENERIC)


def partition_keys_for(table: str) -> tuple[str, ...]:
    lowered = table.lower()
    if any(word in lowered for word in _TIME_WORDS):
        return ("dt",)
    # A deterministic share of the other tables gets a region partition, so both shapes exist.
    return ("region",) if zlib.crc32(lowered.encode()) % 3 == 0 else ()


def table_input(table: str, location: str) -> dict[str, Any]:
    """A producer's source table as the seed makes it (columns by name, parquet)."""
    parquet = "org.apache.hadoop.hive.ql.io.parquet"
    return {
        "Name": table,
        "Description": f"{table.replace('_', ' ')} (seeded by meshctl sandbox)",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in partition_keys_for(table)],
        "StorageDescriptor": {
            "Columns": [{"Name": name, "Type": kind} for name, kind in columns_for(table)],
            "Location": location,
            "InputFormat": f"{parquet}.MapredParquetInputFormat",
            "OutputFormat": f"{parquet}.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": f"{parquet}.serde.ParquetHiveSerDe"},
            "Compressed": False,
        },
    }


_EXISTS = ("AlreadyExistsException", "BucketAlreadyOwnedByYou", "EntityAlreadyExists")


def _create(call: Callable[..., Any], **kwargs: Any) -> None:
    """Call a create operation; an "already exists" answer means a previous seed made it."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _EXISTS:
            raise


def _plan(spec: MeshSpec) -> dict[tuple[str, str, str], list[str]]:
    """(account name, account id, database) -> tables, in declaration order, without repeats."""
    wanted: dict[tuple[str, str, str], list[str]] = {}
    for product in spec.products:
        account = spec.account(product.producer)
        tables = DEFAULT_TABLES if product.all_tables else product.tables
        slot = wanted.setdefault((account.name, account.account_id, product.source_database), [])
        slot.extend(t for t in tables if t not in slot)
    return wanted


def seed_producers(spec: MeshSpec, session_for_account: SessionFor) -> list[SeededTable]:
    """Create each product's source database, tables and bucket in its producer account."""
    seeded: list[SeededTable] = []
    for (name, account_id, database), tables in _plan(spec).items():
        session = session_for_account(account_id)
        bucket = bucket_name(name, account_id)
        _create_bucket(session, bucket, spec.mesh.region)
        glue = session.client("glue", region_name=spec.mesh.region)
        db_input = {"Name": database, "LocationUri": f"s3://{bucket}/{database}/"}
        _create(glue.create_database, DatabaseInput=db_input)
        for table in tables:
            location = f"s3://{bucket}/{database}/{table}/"
            _create(
                glue.create_table, DatabaseName=database, TableInput=table_input(table, location)
            )
            keys = partition_keys_for(table)
            _seed_partitions(glue, database, table, keys, location)
            seeded.append(SeededTable(account_id, database, table, location, keys))
    seed_principals(spec, session_for_account)
    return seeded


def seed_principals(spec: MeshSpec, session_for_account: SessionFor) -> list[str]:
    """Create the IAM roles and users the subscriptions name as principals (trusting their own
    account), as the consumer's IaC would have; returns their ARNs."""
    made: list[str] = []
    for arn in sorted({p for s in spec.subscriptions for p in s.principals}):
        account_id, resource = arn.split(":")[4], arn.split(":", 5)[5]
        kind, _, rest = resource.partition("/")
        path, _, name = rest.rpartition("/")
        path = f"/{path}/" if path else "/"
        iam = session_for_account(account_id).client("iam")
        if kind == "role":
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
            _create(
                iam.create_role,
                RoleName=name,
                Path=path,
                AssumeRolePolicyDocument=json.dumps(trust),
            )
        else:
            _create(iam.create_user, UserName=name, Path=path)
        made.append(arn)
    return made


def _create_bucket(session: boto3.Session, bucket: str, region: str) -> None:
    s3 = session.client("s3", region_name=region)
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    _create(s3.create_bucket, **kwargs)


def _seed_partitions(
    glue: Any, database: str, table: str, keys: tuple[str, ...], location: str
) -> None:
    """Two partitions per partitioned table, so partition copying has something to copy."""
    if not keys:
        return
    values = ("2026-01-01", "2026-01-02") if keys == ("dt",) else ("eu", "us")
    for value in values:
        partition = {
            "Values": [value],
            "StorageDescriptor": {"Location": f"{location}{keys[0]}={value}/"},
        }
        _create(
            glue.create_partition, DatabaseName=database, TableName=table, PartitionInput=partition
        )
