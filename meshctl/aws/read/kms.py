"""KMS reads for products whose data is encrypted with a customer-managed key (docs/kms.md).

Only products that use a key cost anything: one ``GetBucketEncryption`` per source bucket of a
``kms_key_arn: bucket`` product (in the producer account), and one ``ListGrants`` page per 100
grants of each key (in the key's account). A mesh without KMS makes none of these calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshctl.aws.api import AccountApi
from meshctl.observed import KmsGrant
from meshctl.planning.kms import GRANT_PREFIX

GRANTS_PAGE = 100  # ListGrants' largest Limit
# GetBucketEncryption of a bucket without default encryption (before S3 encrypted every bucket
# with SSE-S3 by default, and still in some emulators), or of a bucket that does not exist (a
# missing source is the held product's message, not a reason to fail the plan).
_NO_ENCRYPTION = frozenset({"ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"})


def read_bucket_key(api: AccountApi, bucket: str) -> str:
    """The KMSMasterKeyID of the bucket's default SSE-KMS encryption; "" for SSE-S3 or none."""
    answer = api.call("s3", "get_bucket_encryption", ok_codes=_NO_ENCRYPTION, Bucket=bucket)
    return default_kms_key(answer or {}) or ""


def default_kms_key(answer: Mapping[str, Any]) -> str | None:
    """From a GetBucketEncryption answer: the KMSMasterKeyID of an SSE-KMS default encryption
    ("" when it names none: the AWS managed key aws/s3); None when the default is not SSE-KMS."""
    rules: list[dict[str, Any]] = answer.get("ServerSideEncryptionConfiguration", {}).get(
        "Rules", []
    )
    found = None
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
            found = str(default.get("KMSMasterKeyID", ""))
    return found


def read_kms_grants(api: AccountApi, key_arn: str) -> tuple[KmsGrant, ...]:
    """meshctl's grants on the key (named ``meshctl-…``); others' grants are not read into the
    snapshot. A key that does not exist (any more) has none."""
    found: list[KmsGrant] = []
    for page in api.pages("kms", "list_grants", page_size=GRANTS_PAGE, absent=True, KeyId=key_arn):
        for raw in page.get("Grants", []):
            name = str(raw.get("Name", ""))
            if not name.startswith(GRANT_PREFIX):
                continue
            found.append(
                KmsGrant(
                    key_arn=key_arn,
                    name=name,
                    grantee=str(raw.get("GranteePrincipal", "")),
                    operations=tuple(sorted(str(op) for op in raw.get("Operations", []))),
                    grant_id=str(raw.get("GrantId", "")),
                )
            )
    return tuple(found)
