"""A case's hand edits, made in the sandbox with plain boto3 calls, as a person or the helper
library makes them in AWS: revoke or grant in Lake Formation, delete or retag a role, put an item
in the library's attribute layout, add a column, put data lake settings, and so on.

Edits name what they touch by plan address (``grant.…``, ``role.…``, ``database.…``, ``table.…``,
``iam_user.…``, ``mesh.subscriptions_table``) or, for records, ``subscription:<id>``. ``edit``
gives new field values of the live value at an address; only fields a person can change by hand
are accepted, anything else fails the test naming the field.

Lake Formation and RAM edits are in _hand_lf.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from support.planner_cases import compact_grant, source_table

from meshctl import codec
from meshctl.observed import (
    Database,
    IamUser,
    LakeSettings,
    ObservedMesh,
    Role,
    SubscriptionRecord,
    Table,
)
from meshctl.spec.model import MeshSpec

from . import _hand_lf as lf
from ._live import Console, create_table, table_input

MANAGED_TAG = {"Key": "ManagedBy", "Value": "meshctl"}
LiveValue = Role | IamUser | Database | Table  # what a plain address names


@dataclasses.dataclass
class Hand:
    """A person at the console, who finds what an address names by reading the live mesh."""

    console: Console
    read: Callable[[], ObservedMesh]

    @property
    def spec(self) -> MeshSpec:
        return self.console.spec

    @property
    def mesh(self) -> str:
        return self.console.mesh

    def client(self, account_id: str, service: str) -> Any:
        return self.console.client(account_id, service)

    def live_value(self, address: str) -> LiveValue:
        observed = self.read()
        values: tuple[LiveValue, ...] = (
            *observed.roles,
            *observed.iam_users,
            *observed.databases,
            *observed.tables,
        )
        found = [v for v in values if v.address == address]
        assert found, f"nothing live at {address}"
        return found[0]


def make_edits(hand: Hand, observed: dict[str, Any]) -> None:
    for address in observed.get("remove", ()):
        remove(hand, address)
    for address, fields in observed.get("edit", {}).items():
        edit(hand, address, fields)
    add(hand, observed.get("add", {}))
    console = hand.console
    for entry in observed.get("raw_grants", ()):
        lf.grant_raw(console, entry)
    for account_id in observed.get("accept_invitations", ()):
        lf.accept_invitations(console, account_id)
    for account_id, _arn in observed.get("add", {}).get("pending_invitations", ()):
        lf.invite_again(console, account_id)
    if admins := observed.get("add", {}).get("admins"):
        lf.add_admins(console, admins)
    if "lake_settings" in observed:
        lf.put_lake_settings(console, codec.from_json(LakeSettings, observed["lake_settings"]))
    if "catalog_policy" in observed:
        glue = hand.client(hand.mesh, "glue")
        glue.put_resource_policy(PolicyInJson=json.dumps(observed["catalog_policy"]))
    for key, values in observed.get("lf_tags", {}).items():
        lf.set_lf_tag(console, key, values)


# --- remove ---------------------------------------------------------------------------------------


def remove(hand: Hand, address: str) -> None:
    if address.startswith("subscription:"):
        key = {"SubscriptionId": {"S": address.removeprefix("subscription:")}}
        ddb = hand.client(hand.mesh, "dynamodb")
        ddb.delete_item(TableName=hand.spec.mesh.subscriptions_table, Key=key)
    elif address == "mesh.subscriptions_table":
        ddb = hand.client(hand.mesh, "dynamodb")
        ddb.delete_table(TableName=hand.spec.mesh.subscriptions_table)
    elif address.startswith("grant."):
        lf.revoke_address(hand.console, address)
    else:
        _delete(hand, hand.live_value(address))


def _delete(hand: Hand, value: LiveValue) -> None:
    match value:
        case Database():
            hand.client(value.account_id, "glue").delete_database(Name=value.name)
        case Table():
            glue = hand.client(value.account_id, "glue")
            glue.delete_table(DatabaseName=value.database, Name=value.name)
        case Role():
            iam = hand.client(value.account_id, "iam")
            if value.policy_name:
                iam.delete_role_policy(RoleName=value.name, PolicyName=value.policy_name)
            iam.delete_role(RoleName=value.name)
        case IamUser():
            edit_iam_user(hand, value, dataclasses.replace(value, in_group=False, policy_name=""))
            iam = hand.client(value.account_id, "iam")
            iam.delete_group(GroupName=value.group_name)
            iam.delete_user(UserName=value.name)


# --- edit -----------------------------------------------------------------------------------------


def edit(hand: Hand, address: str, fields: dict[str, Any]) -> None:
    if address.startswith("subscription:"):
        edit_record(hand, address.removeprefix("subscription:"), fields)
        return
    before = hand.live_value(address)
    unknown = set(fields) - {f.name for f in dataclasses.fields(before)}
    assert not unknown, f"unknown fields {unknown}"
    after: LiveValue = codec.from_json(type(before), {**codec.to_json(before), **fields})
    assert after.address == address, "an edit may not move a value to another address"
    match before, after:
        case Role(), Role():
            edit_role(hand, before, after)
        case IamUser(), IamUser():
            edit_iam_user(hand, before, after)
        case Database(), Database():
            _by_hand(before, after, {"description"})
            edit_database_description(hand, after)
        case Table(), Table():
            glue = hand.client(after.account_id, "glue")
            glue.update_table(DatabaseName=after.database, TableInput=table_input(after))


def _by_hand(before: Any, after: Any, allowed: set[str]) -> None:
    changed = {
        f.name
        for f in dataclasses.fields(before)
        if getattr(before, f.name) != getattr(after, f.name)
    }
    assert changed <= allowed, f"no hand edit of {sorted(changed - allowed)} here"


def edit_role(hand: Hand, before: Role, after: Role) -> None:
    _by_hand(before, after, {"trust_policy", "policy_name", "policy", "managed_by_meshctl"})
    iam, name = hand.client(after.account_id, "iam"), after.name
    if after.trust_policy != before.trust_policy:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=after.trust_policy)
    if (after.policy_name, after.policy) != (before.policy_name, before.policy):
        if after.policy_name:
            iam.put_role_policy(
                RoleName=name, PolicyName=after.policy_name, PolicyDocument=after.policy
            )
        if before.policy_name and before.policy_name != after.policy_name:
            iam.delete_role_policy(RoleName=name, PolicyName=before.policy_name)
    if after.managed_by_meshctl and not before.managed_by_meshctl:
        iam.tag_role(RoleName=name, Tags=[MANAGED_TAG])
    if before.managed_by_meshctl and not after.managed_by_meshctl:
        iam.untag_role(RoleName=name, TagKeys=[MANAGED_TAG["Key"]])


def edit_iam_user(hand: Hand, before: IamUser, after: IamUser) -> None:
    allowed = {"in_group", "group_exists", "policy_name", "policy", "managed_by_meshctl"}
    _by_hand(before, after, allowed)
    iam, user, group = hand.client(after.account_id, "iam"), after.name, after.group_name
    if before.in_group and not after.in_group:
        iam.remove_user_from_group(GroupName=group, UserName=user)
    policy_changed = (after.policy_name, after.policy) != (before.policy_name, before.policy)
    if before.policy_name and policy_changed:
        iam.delete_group_policy(GroupName=group, PolicyName=before.policy_name)
    if before.group_exists and not after.group_exists:
        iam.delete_group(GroupName=group)
    if not before.group_exists and after.group_exists:
        iam.create_group(GroupName=group, Path=after.path)
    if after.in_group and not before.in_group:
        iam.add_user_to_group(GroupName=group, UserName=user)
    if after.policy_name and policy_changed:
        iam.put_group_policy(
            GroupName=group, PolicyName=after.policy_name, PolicyDocument=after.policy
        )
    if before.managed_by_meshctl != after.managed_by_meshctl:
        if after.managed_by_meshctl:
            iam.tag_user(UserName=user, Tags=[MANAGED_TAG])
        else:
            iam.untag_user(UserName=user, TagKeys=[MANAGED_TAG["Key"]])


def edit_database_description(hand: Hand, after: Database) -> None:
    glue = hand.client(after.account_id, "glue")
    live = glue.get_database(Name=after.name)["Database"]
    database_input = {
        k: live[k] for k in ("Name", "Parameters", "LocationUri", "TargetDatabase") if k in live
    }
    glue.update_database(
        Name=after.name, DatabaseInput={**database_input, "Description": after.description}
    )


# --- records, in the helper library's attribute layout -----------------------------------------

# Record field → item attribute: the library's attributes, then meshctl's own (on its items).
ATTRIBUTES = {
    "owner": "OwnerPrincipal",
    "subscriber": "SubscriberPrincipal",
    "status": "Status",
    "database": "DatabaseName",
    "tables": "TableName",
    "requested": "RequestedGrants",
    "permitted": "PermittedGrants",
    "grantable": "GrantableGrants",
    "granted_table_arns": "GrantedTableARNs",
    "notes": "Notes",
    "imported": "ImportedToConsumer",
    "created_at": "CreationDate",
    "created_by": "CreatedBy",
    "updated_at": "UpdatedDate",
    "updated_by": "UpdatedBy",
    # meshctl's
    "managed": "ManagedBy",
    "version": "Version",
    "product": "ProductName",
    "approved_by": "ApprovedBy",
    "purpose": "Purpose",
    "expires": "Expires",
    "last_plan_id": "LastPlanId",
}


def attribute_value(field: str, value: Any) -> Any:
    """The DynamoDB (typed) value of a record field; None when the item leaves it out."""
    if field == "managed":
        value = "meshctl" if value else ""
    if field == "notes":
        return {"SS": sorted(value)} if value else None
    match value:
        case bool():
            return {"BOOL": value}
        case int():
            return {"N": str(value)} if value else None
        case list():
            return {"L": [{"S": str(v)} for v in value]}
        case str():
            return {"S": value} if value else None
    raise AssertionError(f"no item attribute for {field}={value!r}")


def put_record(hand: Hand, raw: dict[str, Any]) -> None:
    record = codec.to_json(codec.from_json(SubscriptionRecord, raw))
    assert not record["ram_shares"], "RamShares are not written by hand"
    item = {"SubscriptionId": {"S": record["subscription_id"]}}
    for field, name in ATTRIBUTES.items():
        if (value := attribute_value(field, record[field])) is not None:
            item[name] = value
    ddb = hand.client(hand.mesh, "dynamodb")
    ddb.put_item(TableName=hand.spec.mesh.subscriptions_table, Item=item)


def edit_record(hand: Hand, subscription_id: str, fields: dict[str, Any]) -> None:
    sets, removes, names, values = [], [], {}, {}
    for i, (field, raw) in enumerate(sorted(fields.items())):
        names[f"#a{i}"] = ATTRIBUTES[field]
        value = attribute_value(field, raw)
        if value is None:
            removes.append(f"#a{i}")
        else:
            sets.append(f"#a{i} = :v{i}")
            values[f":v{i}"] = value
    expression = " ".join(
        f"{verb} {', '.join(parts)}"
        for verb, parts in (("SET", sets), ("REMOVE", removes))
        if parts
    )
    ddb = hand.client(hand.mesh, "dynamodb")
    ddb.update_item(
        TableName=hand.spec.mesh.subscriptions_table,
        Key={"SubscriptionId": {"S": subscription_id}},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        **({"ExpressionAttributeValues": values} if values else {}),
    )


# --- add ------------------------------------------------------------------------------------------


def add(hand: Hand, added: dict[str, Any]) -> None:
    """In dependency order: a grant needs its database, a record needs the table."""
    for raw in added.get("databases", ()):
        create_database(hand, codec.from_json(Database, raw))
    for raw in added.get("tables", ()):
        create_table(hand.console, source_table(raw))
    for raw in added.get("roles", ()):
        create_role(hand, codec.from_json(Role, raw))
    for raw in added.get("iam_users", ()):
        create_iam_user(hand, codec.from_json(IamUser, raw))
    for raw in added.get("records", ()):
        put_record(hand, raw)
    for raw in added.get("grants", ()):
        lf.grant(hand.console, compact_grant(raw))


def create_database(hand: Hand, db: Database) -> None:
    assert not db.tags, "LF-tags set by hand are not read (meshctl reads its own parameter)"
    database_input: dict[str, Any] = {"Name": db.name, "Description": db.description}
    if db.target_account_id:
        target = {"CatalogId": db.target_account_id, "DatabaseName": db.target_database}
        database_input["TargetDatabase"] = target
    parameters = {"ManagedBy": "meshctl"} if db.managed_by_meshctl else {}
    if db.protected:
        parameters["MeshctlProtect"] = "true"
    if parameters:
        database_input["Parameters"] = parameters
    hand.client(db.account_id, "glue").create_database(DatabaseInput=database_input)


def create_role(hand: Hand, role: Role) -> None:
    iam = hand.client(role.account_id, "iam")
    tags = [MANAGED_TAG] if role.managed_by_meshctl else []
    iam.create_role(
        RoleName=role.name,
        Path=role.path,
        AssumeRolePolicyDocument=role.trust_policy,
        Tags=tags,
    )
    if role.policy_name:
        iam.put_role_policy(
            RoleName=role.name, PolicyName=role.policy_name, PolicyDocument=role.policy
        )


def create_iam_user(hand: Hand, user: IamUser) -> None:
    iam = hand.client(user.account_id, "iam")
    assert user.user_exists, "a user that does not exist is not added"
    tags = [MANAGED_TAG] if user.managed_by_meshctl else []
    iam.create_user(UserName=user.name, Path=user.path, Tags=tags)
    if user.group_exists:
        iam.create_group(GroupName=user.group_name, Path=user.path)
    if user.in_group:
        iam.add_user_to_group(GroupName=user.group_name, UserName=user.name)
    if user.policy_name:
        iam.put_group_policy(
            GroupName=user.group_name, PolicyName=user.policy_name, PolicyDocument=user.policy
        )
