"""Lake Formation and RAM by hand, in the mesh account: grants (compact or exactly as Lake
Formation lists them), revokes, data lake settings, LF-tag values, and RAM invitations.

A grant to another account sends it a RAM invitation, as in AWS; ``accept_invitations`` is the
account accepting them (the helper library does before it makes a link). A pending invitation is
made as it happens in AWS: the mesh account revokes one of the account's grants and grants it
again, which shares it anew.
"""

from __future__ import annotations

from typing import Any

from meshctl.observed import Grant, LakeSettings, LfResource, ResourceType
from meshctl.planning.canonical import canonical_grants

from ._live import Console, lf_entries

# IAM_ALLOWED_PRINCIPALS' default permission on new tables/databases (what "not empty" means).
DEFAULT_PERMISSIONS = [
    {"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}, "Permissions": ["ALL"]}
]


def api_resource(r: LfResource) -> dict[str, Any]:
    """The ``Resource`` argument a person writes for ``r`` (named tables, no column lists)."""
    match r.type:
        case ResourceType.CATALOG:
            return {"Catalog": {}}
        case ResourceType.DATABASE:
            return {"Database": {"CatalogId": r.catalog_id, "Name": r.database}}
        case ResourceType.TABLE_WILDCARD:
            body = {"CatalogId": r.catalog_id, "DatabaseName": r.database, "TableWildcard": {}}
            return {"Table": body}
        case ResourceType.TABLE:
            return {
                "Table": {"CatalogId": r.catalog_id, "DatabaseName": r.database, "Name": r.table}
            }
        case ResourceType.DATA_LOCATION:
            return {"DataLocation": {"CatalogId": r.catalog_id, "ResourceArn": r.table}}


def grant(console: Console, g: Grant) -> None:
    grant_raw(
        console,
        {
            "Principal": {"DataLakePrincipalIdentifier": g.principal},
            "Resource": api_resource(g.resource),
            "Permissions": sorted(g.permissions),
            "PermissionsWithGrantOption": sorted(g.grantable),
        },
    )


def grant_raw(console: Console, entry: dict[str, Any]) -> None:
    console.client(console.mesh, "lakeformation").grant_permissions(
        CatalogId=console.mesh, **_call(entry)
    )


def revoke_raw(console: Console, entry: dict[str, Any]) -> None:
    console.client(console.mesh, "lakeformation").revoke_permissions(
        CatalogId=console.mesh, **_call(entry)
    )


def revoke_address(console: Console, address: str) -> None:
    """Revoke every listed entry that makes up the grant at ``address``, as listed."""
    entries = [e for e in lf_entries(console) if _address(console, e) == address]
    assert entries, f"no grant listed at {address}"
    for entry in entries:
        revoke_raw(console, entry)


def _call(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "Principal": entry["Principal"],
        "Resource": entry["Resource"],
        "Permissions": entry["Permissions"],
        "PermissionsWithGrantOption": entry.get("PermissionsWithGrantOption", []),
    }


def _address(console: Console, entry: dict[str, Any]) -> str:
    grants = canonical_grants([entry], console.mesh)
    return grants[0].address if grants else ""


def invite_again(console: Console, account_id: str) -> None:
    """Revoke the account's grants and grant them again: a new share, a new invitation (with
    cross-account version 2 and later one share carries them all, and leaves with the last)."""
    mine = [
        e
        for e in lf_entries(console)
        if e["Principal"]["DataLakePrincipalIdentifier"] == account_id
        and "Catalog" not in e["Resource"]
    ]
    assert mine, f"account {account_id} holds no grant to share again"
    for entry in mine:
        revoke_raw(console, entry)
    for entry in mine:
        grant_raw(console, entry)
    ram = console.client(account_id, "ram")
    invitations = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert any(i["status"] == "PENDING" for i in invitations), invitations


def accept_invitations(console: Console, account_id: str) -> None:
    """The account accepts the mesh's pending invitations (the library does before linking)."""
    ram = console.client(account_id, "ram")
    for invitation in ram.get_resource_share_invitations()["resourceShareInvitations"]:
        if invitation["status"] == "PENDING" and invitation["senderAccountId"] == console.mesh:
            arn = invitation["resourceShareInvitationArn"]
            ram.accept_resource_share_invitation(resourceShareInvitationArn=arn)


def add_admins(console: Console, admins: list[str]) -> None:
    lf = console.client(console.mesh, "lakeformation")
    settings = lf.get_data_lake_settings(CatalogId=console.mesh)["DataLakeSettings"]
    live = [a["DataLakePrincipalIdentifier"] for a in settings.get("DataLakeAdmins", [])]
    wanted = live + [a for a in admins if a not in live]
    settings["DataLakeAdmins"] = [{"DataLakePrincipalIdentifier": a} for a in wanted]
    lf.put_data_lake_settings(CatalogId=console.mesh, DataLakeSettings=settings)


def put_lake_settings(console: Console, wanted: LakeSettings) -> None:
    lf = console.client(console.mesh, "lakeformation")
    settings = lf.get_data_lake_settings(CatalogId=console.mesh)["DataLakeSettings"]
    settings["DataLakeAdmins"] = [{"DataLakePrincipalIdentifier": a} for a in sorted(wanted.admins)]
    for key, empty in (
        ("CreateTableDefaultPermissions", wanted.create_table_default_permissions_empty),
        ("CreateDatabaseDefaultPermissions", wanted.create_database_default_permissions_empty),
    ):
        settings[key] = [] if empty else DEFAULT_PERMISSIONS
    lf.put_data_lake_settings(CatalogId=console.mesh, DataLakeSettings=settings)


def set_lf_tag(console: Console, key: str, values: list[str]) -> None:
    """The tag holds exactly ``values`` afterwards (values are removed by hand, too)."""
    lf = console.client(console.mesh, "lakeformation")
    live = {
        t["TagKey"]: set(t["TagValues"]) for t in lf.list_lf_tags(CatalogId=console.mesh)["LFTags"]
    }
    if key not in live:
        lf.create_lf_tag(CatalogId=console.mesh, TagKey=key, TagValues=sorted(values))
        return
    change: dict[str, list[str]] = {}
    if added := sorted(set(values) - live[key]):
        change["TagValuesToAdd"] = added
    if dropped := sorted(live[key] - set(values)):
        change["TagValuesToDelete"] = dropped
    lf.update_lf_tag(CatalogId=console.mesh, TagKey=key, **change)
