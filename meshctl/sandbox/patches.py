"""Patches to moto 5.2.5 that restore AWS behaviour meshctl relies on.

Each patch module replaces methods of moto's own backend and response classes (never the HTTP
layer), so the sandbox behaves the same in-process (``mock_aws``) and through moto's server.
Every module's docstring lists the AWS behaviour it restores; each behaviour has a test in
tests/sandbox/ that fails on plain moto.

- patch_lakeformation: indexed grants (O(1) grant and revoke, 20,000 grants in seconds), revoke
  after repeated grants, batch grant options and per-entry Failures, resource validation,
  ListPermissions pagination and Table filters, cross-account grants shared through RAM.
- patch_lf_filters: data cells filters (create, get, update, delete, list in pages), grants on
  them, and column-level grants validated (SELECT only, columns the table has).
- patch_lf_resources: LF-tags on resources, RegisterResource with the service-linked role and in
  hybrid access mode (HybridAccessEnabled in ListResources).
- patch_ram: invitations (get, accept, reject), DisassociateResourceShare, shares from others.
- patch_glue: GetTables/GetDatabases pagination, SearchTables, GetResourcePolicy not found,
  permissions dropped with deleted tables.
- patch_dynamodb: TransactWriteItems rolls back the items it touched, not a copy of every table.
- patch_kms: CreateGrant with a Name and identical parameters returns the existing grant.
- patch_iam: DeleteUser/DeleteGroup DeleteConflict while members, keys, logins, policies remain;
  CreateRole/UpdateAssumeRolePolicy refuse a trust policy naming a role or user that does not exist.
- patch_authorization: (when a test turns moto's IAM authorization on) requests authorized against
  the resources they name, TransactWriteItems per item, what Lake Formation does as the caller,
  AccessDeniedException in each JSON service's protocol; ``recording()`` of the pairs checked.
"""

from __future__ import annotations

import threading

import moto

from meshctl.errors import SandboxError

EXPECTED_MOTO = "5.2.5"

_lock = threading.Lock()
_applied = False


def apply_patches() -> None:
    """Apply every patch once; later calls do nothing. Safe to call from any thread."""
    global _applied
    with _lock:
        if _applied:
            return
        if moto.__version__ != EXPECTED_MOTO:
            # The patches replace moto internals by name; another version may have moved them.
            raise SandboxError(
                f"meshctl's sandbox patches target moto {EXPECTED_MOTO}, found {moto.__version__}"
            )
        from meshctl.sandbox import (
            patch_authorization,
            patch_dynamodb,
            patch_glue,
            patch_iam,
            patch_kms,
            patch_lakeformation,
            patch_lf_filters,
            patch_lf_resources,
            patch_ram,
        )

        patch_ram.install()
        patch_lakeformation.install()
        patch_lf_resources.install()
        patch_lf_filters.install()
        patch_glue.install()
        patch_iam.install()
        patch_dynamodb.install()
        patch_kms.install()
        patch_authorization.install()
        _applied = True


def patches_applied() -> bool:
    return _applied
