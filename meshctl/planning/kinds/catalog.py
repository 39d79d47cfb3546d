"""Diffs of the mesh account's settings, the roles, and the products' catalog side.

Kinds: subscription table, lake settings, catalog policy, LF-tags, roles, IAM users, databases (mesh
databases and producer resource links; consumer links that are no longer wanted are found here
too), table copies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from meshctl.address import Address, database_address, link_address
from meshctl.codec import canonical_json
from meshctl.planning.desired import (
    DATA_PRODUCT_TAG,
    Desired,
    Seen,
    is_protected,
)
from meshctl.planning.kinds.changes import ChangeSet, changed_fields
from meshctl.planning.plan import Kind
from meshctl.spec.model import MeshSpec

SUBSCRIPTIONS_TABLE_ADDRESS = str(Address(Kind.SUBSCRIPTIONS_TABLE, "", ""))
LAKE_SETTINGS_ADDRESS = str(Address(Kind.LAKE_SETTINGS, "", ""))
CATALOG_POLICY_ADDRESS = str(Address(Kind.CATALOG_POLICY, "", ""))


def _canonical_policy(text: str) -> str:
    try:
        return canonical_json(json.loads(text))
    except ValueError:
        return text


def plan_mesh(spec: MeshSpec, seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    m = spec.mesh.account_id
    observed = seen.observed
    if not observed.subscriptions_table_exists:
        name = spec.mesh.subscriptions_table
        changes.create(
            Kind.SUBSCRIPTIONS_TABLE,
            SUBSCRIPTIONS_TABLE_ADDRESS,
            m,
            {"name": name},
            f"subscription table {name} does not exist",
        )

    live, want = observed.lake_settings, desired.lake_settings
    if live != want:
        why = []
        if missing := sorted(want.admins - live.admins):
            why.append("add data lake admin " + ", ".join(missing))
        if not live.create_table_default_permissions_empty:
            why.append("empty CreateTableDefaultPermissions")
        if not live.create_database_default_permissions_empty:
            why.append("empty CreateDatabaseDefaultPermissions")
        if live.cross_account_version != want.cross_account_version:
            why.append(
                f"cross-account sharing version {live.cross_account_version} -> "
                f"{want.cross_account_version} (mesh.cross_account_version in {changes.file})"
            )
        changes.update(Kind.LAKE_SETTINGS, LAKE_SETTINGS_ADDRESS, m, live, want, "; ".join(why))

    if not observed.catalog_policy:
        changes.create(
            Kind.CATALOG_POLICY,
            CATALOG_POLICY_ADDRESS,
            m,
            {"policy": desired.catalog_policy},
            "the mesh catalog has no resource policy letting RAM share it",
        )
    elif _canonical_policy(observed.catalog_policy) != desired.catalog_policy:
        changes.update(
            Kind.CATALOG_POLICY,
            CATALOG_POLICY_ADDRESS,
            m,
            # The hash read with the policy: apply writes only over that very policy.
            {"policy": observed.catalog_policy, "policy_hash": observed.catalog_policy_hash},
            {"policy": desired.catalog_policy},
            "add the statement letting RAM share the mesh catalog (other statements kept)",
        )

    for key, values in desired.lf_tags.items():
        address = str(Address(Kind.LF_TAG, "", key))
        after = {"key": key, "values": list(values)}
        current = seen.lf_tags.get(key)
        if current is None:
            changes.create(Kind.LF_TAG, address, m, after, f"LF-tag {key} does not exist")
        elif set(current) != set(values):
            before = {"key": key, "values": sorted(current)}
            added = ", ".join(sorted(set(values) - set(current)))
            changes.update(Kind.LF_TAG, address, m, before, after, f"add values {added}")


class _IamEntity(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def managed_by_meshctl(self) -> bool: ...


def plan_roles(seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    _plan_iam(Kind.ROLE, "role", desired.roles, seen.roles, changes)


def plan_iam_users(seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    """Users and groups beside the roles: wanted only with ``mesh.iam_users``; meshctl's own
    are deleted when the flag is turned off, the library's are left alone."""
    _plan_iam(Kind.IAM_USER, "user and group", desired.iam_users, seen.iam_users, changes)


def _plan_iam(
    kind: Kind,
    noun: str,
    wanted: Mapping[str, _IamEntity],
    live_by_address: Mapping[str, _IamEntity],
    changes: ChangeSet,
) -> None:
    for address, want in wanted.items():
        live = live_by_address.get(address)
        if live is None:
            changes.create(kind, address, want.account_id, want, f"{noun} {want.name} missing")
        elif live != want:
            fields = changed_fields(live, want)
            why = (
                f"adopt the helper library's {noun}"
                if fields == ["managed_by_meshctl"]
                else "differs: " + ", ".join(fields)
            )
            changes.update(kind, address, want.account_id, live, want, why)
    for address, live in live_by_address.items():
        if address in wanted:
            continue
        if live.managed_by_meshctl:
            why = f"{noun} no longer needed by {changes.file}"
            changes.orphan(kind, address, live.account_id, live, why)
        else:
            why = f"mesh {noun} not declared by {changes.file}"
            changes.unmanaged(kind, address, live.account_id, live, why)


def plan_databases(seen: Seen, desired: Desired, changes: ChangeSet) -> list[str]:
    """Mesh databases and producer links; returns the protected databases it would delete."""
    m = desired.mesh_account_id
    for address, want in desired.databases.items():
        live = seen.databases.get(address)
        what = "mesh database" if want.account_id == m else "producer resource link"
        if live is None:
            reason = desired.reasons.get(address, what)
            changes.create(Kind.DATABASE, address, want.account_id, want, reason)
        elif live != want:
            fields = changed_fields(live, want)
            changes.update(
                Kind.DATABASE,
                address,
                want.account_id,
                live,
                want,
                f"{what} differs: " + ", ".join(fields),
            )

    protected: list[str] = []
    for live in seen.observed.databases:
        if live.address in desired.databases:
            continue
        if live.account_id == m:
            if live.target_account_id:
                continue  # a resource link in the mesh account: not a mesh database
            if live.managed_by_meshctl:
                if is_protected(live):
                    product = dict(live.tags).get(DATA_PRODUCT_TAG, "")
                    protected.append(f"{live.name} (product {product})" if product else live.name)
                changes.orphan(
                    Kind.DATABASE, live.address, m, live, f"product removed from {changes.file}"
                )
            else:
                changes.unmanaged(
                    Kind.DATABASE, live.address, m, live, "mesh database not declared"
                )
        elif live.target_account_id == m:
            if link_address(live.account_id, live.name) in desired.links:
                continue  # a wanted consumer link: plan_links compares it
            producer = desired.producer_of.get(live.target_database)
            if producer == live.account_id or (
                producer is None and live.account_id in _table_owners(seen, m, live.name)
            ):
                kind, address, what = Kind.DATABASE, live.address, "producer resource link"
            else:
                kind = Kind.RESOURCE_LINK
                address = link_address(live.account_id, live.name)
                what = "consumer resource link"
            if live.managed_by_meshctl:
                changes.orphan(kind, address, live.account_id, live, f"{what} no longer needed")
            else:
                changes.unmanaged(kind, address, live.account_id, live, f"{what} not declared")
    return sorted(protected)


def _table_owners(seen: Seen, m: str, database: str) -> set[str]:
    return {t.owner for t in seen.tables_by_db.get((m, database), ())}


def plan_tables(seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    m = desired.mesh_account_id
    for address, want in desired.tables.items():
        live = seen.tables.get(address)
        if live is None:
            changes.create(Kind.TABLE, address, m, want, desired.reasons.get(address, ""))
        elif live != want:
            fields = changed_fields(live, want)
            changes.update(
                Kind.TABLE,
                address,
                m,
                live,
                want,
                "differs from its source table: " + ", ".join(fields),
            )
    for live in seen.observed.tables:
        if live.account_id != m or live.address in desired.tables:
            continue
        db = seen.databases.get(database_address(m, live.database))
        if db is None:
            continue
        managed = db.managed_by_meshctl
        kept = desired.kept_tables.get(live.database)
        if kept is not None:  # a declared mesh database
            if live.name in kept:
                continue  # declared, source unreadable: keep the last copy
            if managed:
                changes.orphan(
                    Kind.TABLE, live.address, m, live, "no longer a table of its product"
                )
            else:
                changes.unmanaged(
                    Kind.TABLE, live.address, m, live, "table not declared by its product"
                )
        elif managed:
            why = f"product removed from {changes.file}"
            changes.orphan(Kind.TABLE, live.address, m, live, why)
        elif changes.prune:
            changes.unmanaged(
                Kind.TABLE, live.address, m, live, "table of an undeclared mesh database"
            )


def location_arn(location: str) -> str:
    """The Lake Formation resource ARN of an S3 location (``s3://bucket/prefix/``)."""
    return "arn:aws:s3:::" + location.removeprefix("s3://").rstrip("/")


def plan_locations(seen: Seen, desired: Desired, changes: ChangeSet) -> None:
    """Register the S3 location of every mesh table copy, as the helper library does when it
    creates a data product. Registrations are never removed: another product or a team outside
    the mesh may rely on the same location."""
    registered = set(seen.observed.registered_locations)
    wanted: dict[str, str] = {}
    for table in desired.tables.values():
        if table.location.startswith("s3://"):
            wanted.setdefault(location_arn(table.location), table.address)
    for arn, table_address in sorted(wanted.items()):
        if arn not in registered:
            changes.create(
                Kind.DATA_LOCATION,
                f"data_location.{arn}",
                desired.mesh_account_id,
                {"resource_arn": arn},
                f"register the S3 location of {table_address} with Lake Formation",
            )
