"""Lake Formation LF-tags on resources and data-location registration, as AWS behaves.

- GetResourceLFTags on a resource without tags returns no tags (moto raised KeyError).
- AddLFTagsToResource adds to a resource's tags, replacing only the value of a key it names
  (moto replaced the whole list); unknown keys or values come back as per-tag Failures.
- RemoveLFTagsFromResource of a tag the resource does not carry is a no-op (moto raised).
- RegisterResource with UseServiceLinkedRole=True creates the account's
  AWSServiceRoleForLakeFormationDataAccess role, as AWS does (the helper library waits for it).
- RegisterResource keeps HybridAccessEnabled, and ListResources/DescribeResource return it in
  each ResourceInfo (false unless registered in hybrid access mode), as AWS does; moto dropped it
  ("Hybrid access mode", Lake Formation developer guide).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from moto.iam.models import iam_backends
from moto.lakeformation.models import LakeFormationBackend, Resource
from moto.lakeformation.responses import LakeFormationResponse
from moto.utilities.utils import get_partition

SLR_NAME = "AWSServiceRoleForLakeFormationDataAccess"
SLR_SERVICE = "lakeformation.amazonaws.com"

# AWS creates the service-linked role once however many RegisterResource calls race for it; moto
# handles requests on several threads, so the check and the create happen under one lock.
_SLR_LOCK = threading.Lock()

_Slot = tuple[dict[Any, list[dict[str, Any]]], tuple[str, ...]]


def _slots(backend: Any, catalog_id: str, resource: dict[str, Any]) -> Iterator[_Slot]:
    """Where moto keeps the tags of ``resource``: (store, key) per database, table or column."""
    if "Database" in resource:
        db = resource["Database"]
        yield backend.lf_database_tags, (db.get("CatalogId") or catalog_id, db["Name"])
    if "Table" in resource and resource["Table"].get("Name"):
        t = resource["Table"]
        yield (
            backend.lf_table_tags,
            (t.get("CatalogId") or catalog_id, t["DatabaseName"], t["Name"]),
        )
    if "TableWithColumns" in resource:
        t = resource["TableWithColumns"]
        for column in t.get("ColumnNames") or []:
            key = (t.get("CatalogId") or catalog_id, t["DatabaseName"], t["Name"], column)
            yield backend.lf_columns_tags, key


def add_lf_tags_to_resource(
    self: Any, catalog_id: str, resource: dict[str, Any], tags: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    failures = []
    for tag in tags:
        tag.setdefault("CatalogId", catalog_id)
        allowed = self.list_lf_tags(tag["CatalogId"]).get(tag["TagKey"])
        if allowed is None or not set(tag.get("TagValues") or []) <= set(allowed):
            failures.append(
                {
                    "LFTag": tag,
                    "Error": {
                        "ErrorCode": "EntityNotFoundException",
                        "ErrorMessage": "Tag or tag value does not exist.",
                    },
                }
            )
    if failures:
        return failures
    for store, key in _slots(self, catalog_id, resource):
        named = {tag["TagKey"] for tag in tags}
        kept = [t for t in store.get(key, []) if t["TagKey"] not in named]
        store[key] = kept + [dict(tag) for tag in tags]
    return []


def get_resource_lf_tags(
    self: Any, catalog_id: str, resource: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    database: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    columns: list[dict[str, Any]] = []
    for store, key in _slots(self, catalog_id, resource):
        found = store.get(key, [])
        if store is self.lf_database_tags:
            database = found
        elif store is self.lf_table_tags:
            table = found
        elif found:
            columns.append({"Name": key[-1], "LFTags": found})
    return database, table, columns


def remove_lf_tags_from_resource(
    self: Any, catalog_id: str, resource: dict[str, Any], tags: list[dict[str, Any]]
) -> None:
    named = {tag["TagKey"] for tag in tags}
    for store, key in _slots(self, catalog_id, resource):
        if key in store:
            store[key] = [t for t in store[key] if t["TagKey"] not in named]


def ensure_service_linked_role(account_id: str, region: str) -> str:
    with _SLR_LOCK:
        return _ensure_service_linked_role(account_id, region)


def _ensure_service_linked_role(account_id: str, region: str) -> str:
    iam = iam_backends[account_id][get_partition(region)]
    for role in iam.get_roles():
        if role.name == SLR_NAME:
            return str(role.arn)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SLR_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(
        SLR_NAME,
        json.dumps(trust),
        f"/aws-service-role/{SLR_SERVICE}/",
        permissions_boundary=None,
        description="Service-linked role for Lake Formation data access",
        tags=[],
        max_session_duration="3600",
        linked_service=SLR_SERVICE,
    )
    return str(role.arn)


def _wrap_register(original: Any) -> Any:
    def register_resource(
        self: Any,
        resource_arn: str,
        role_arn: str | None,
        use_service_linked_role: bool = False,
        hybrid_access_enabled: bool = False,
    ) -> None:
        if use_service_linked_role and not role_arn:
            role_arn = ensure_service_linked_role(self.account_id, self.region_name)
        original(self, resource_arn, role_arn)
        self.resources[resource_arn].hybrid_access_enabled = hybrid_access_enabled

    return register_resource


def _resource_info(self: Any) -> dict[str, Any]:
    return {
        "ResourceArn": self.arn,
        "RoleArn": self.role_arn,
        "HybridAccessEnabled": bool(getattr(self, "hybrid_access_enabled", False)),
    }


def _r_register_resource(self: Any) -> str:
    self.lakeformation_backend.register_resource(
        resource_arn=self._get_param("ResourceArn"),
        role_arn=self._get_param("RoleArn"),
        use_service_linked_role=bool(self._get_param("UseServiceLinkedRole")),
        hybrid_access_enabled=bool(self._get_param("HybridAccessEnabled")),
    )
    return "{}"


def install() -> None:
    backend: Any = LakeFormationBackend
    backend.add_lf_tags_to_resource = add_lf_tags_to_resource
    backend.get_resource_lf_tags = get_resource_lf_tags
    backend.remove_lf_tags_from_resource = remove_lf_tags_from_resource
    backend.register_resource = _wrap_register(backend.register_resource)
    resource: Any = Resource
    resource.to_dict = _resource_info

    response: Any = LakeFormationResponse
    response.register_resource = _r_register_resource
