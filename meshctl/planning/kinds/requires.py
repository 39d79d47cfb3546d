"""What each change requires, kind by kind: the rules of order (architecture.md "Order").

A change states what it ``provides`` (its address, and the facts other changes look it up by)
and what it ``requires``; ``requirements`` joins the two over the changes that execute. Plain
data in, plain data out: nothing here changes an entry, and the planner orders by the result.

Creates and updates: a role after the user its trust names (``mesh.iam_users``), the read-only role
after every member role, an admin role after the member role it trusts; the lake settings after the
manager role; a mesh database after the lake settings and its LF-tags, a producer link after the
mesh database; a KMS grant after the locations this plan registers and its mesh database (which
records the key), and a mesh database forgets a key only after the KMS grants on it are revoked;
a table after its database; a data cells filter after its table; a grant after
its database, table, filter and mesh role; a
consumer link after its database and the grants that make the invitation (to the account or its
principals); a principal's grant on a consumer link after that link; a record after the table, its
link and grants, and the revokes that narrow it (it then runs with the deletes).
Deletes: a record after its revokes; a resource link after the revokes on it; a data cells filter
after the revokes on it; a table after the revokes on it and its filters; a mesh database after
its tables, the revokes on it, the links to it and the KMS grants on its keys; a role
after the revokes to it, a mesh admin role after the member role it trusts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from meshctl.address import Address
from meshctl.observed import Database, Grant, KmsGrant, ResourceType, Role, SubscriptionRecord
from meshctl.planning import policies
from meshctl.planning.canonical import principal_account, table_name
from meshctl.planning.kinds.changes import Entry
from meshctl.planning.plan import Action, Kind

# A fact a change is found by: ("address", address) or a named fact with its values.
Need = tuple[str, ...]


def requirements(entries: Iterable[Entry], m: str) -> dict[str, set[str]]:
    """For each change that executes, the addresses of the executing changes it requires."""
    executed = [e for e in entries if e.action is not Action.NOOP]
    providers: dict[Need, list[Entry]] = {}
    for e in executed:
        for need in provides(e, m):
            providers.setdefault(need, []).append(e)
    out: dict[str, set[str]] = {}
    for e in executed:
        found = (p for need in requires(e, m) for p in providers.get(need, ()))
        out[e.address] = {p.address for p in found if _may_wait(e, p)} - {e.address}
    return out


def _may_wait(e: Entry, required: Entry) -> bool:
    """What a create or update requires must exist, so it never waits for a delete (a role update
    that stops naming a user runs before that user's delete); a record's write is the exception:
    it waits for the revokes that narrow it."""
    growing = e.action is not Action.DELETE
    if e.kind is Kind.DATABASE and required.kind is Kind.KMS_GRANT:
        return True  # a mesh database forgets a key only once its grants on it are revoked
    return not growing or e.kind is Kind.SUBSCRIPTION or required.action is not Action.DELETE


def narrows_access(entry: Entry, required: Iterable[Entry]) -> bool:
    """A record written while grants of its subscription are revoked: it runs with the deletes,
    once the access is gone, so a record never says more than the grants allow."""
    return (
        entry.kind is Kind.SUBSCRIPTION
        and entry.action in (Action.CREATE, Action.UPDATE)
        and any(r.kind is Kind.GRANT and r.action is Action.DELETE for r in required)
    )


def provides(e: Entry, m: str) -> Iterator[Need]:
    yield ("address", e.address)
    deleting = e.action is Action.DELETE
    match e.kind:
        case Kind.GRANT:
            grant: Grant = e.before if deleting else e.after
            db = grant.resource.database
            if grant.resource.catalog_id != m:  # on a consumer's resource link
                if deleting:
                    yield ("revoke_on_link", grant.resource.catalog_id, db)
                return
            # A subscription's principal stands for its account: the link and the record wait
            # for the principals' grants (and revokes) as they wait for the account's.
            grantees = {grant.principal, principal_account(grant.principal)}
            if not deleting:
                yield from (("grant", g, db) for g in grantees)
                return
            yield from (("revoke", g, db) for g in grantees)
            yield ("revoke_to", grant.principal)
            if db:
                yield ("revoke_on_db", db)
                yield ("revoke_on_table", db, table_name(grant.resource))
            if grant.resource.type is ResourceType.DATA_CELLS_FILTER:
                yield ("revoke_on_filter", db, grant.resource.table)
        case Kind.KMS_GRANT if deleting:
            yield ("kms_grant_delete", e.before.key_arn)
        case Kind.DATA_LOCATION if not deleting:
            yield ("location_registered",)
        case Kind.TABLE if deleting:
            yield ("table_delete", e.before.database)
        case Kind.DATA_FILTER if deleting:
            yield ("filter_delete", e.before.database, e.before.table)
        case Kind.DATABASE | Kind.RESOURCE_LINK if deleting and e.before.account_id != m:
            yield ("link_delete", e.before.target_database)
        case Kind.ROLE:
            role: Role = e.before if deleting else e.after
            if not deleting and e.account_id != m:
                yield ("member_role",)
            if e.account_id == m:
                yield ("principal", policies.role_arn(m, role.name))
            # The mesh admin role of a member account trusts that account's member role.
            if role.name == policies.PRODUCER_ROLE:
                yield ("trusted_by", policies.admin_producer_role(e.account_id))
            elif role.name == policies.CONSUMER_ROLE:
                yield ("trusted_by", policies.admin_consumer_role(e.account_id))


def requires(e: Entry, m: str) -> set[Need]:
    if e.action is Action.DELETE:
        return _delete_requires(e, m)
    return _grow_requires(e, m)


def _address(kind: Kind, account: str, name: str) -> Need:
    return ("address", str(Address(kind, account, name)))


def _delete_requires(e: Entry, m: str) -> set[Need]:
    value = e.before
    match e.kind:
        case Kind.SUBSCRIPTION:
            record: SubscriptionRecord = value
            return {("revoke", record.subscriber, record.database)}
        case Kind.TABLE:
            return {
                ("revoke_on_table", value.database, value.name),
                ("filter_delete", value.database, value.name),
            }
        case Kind.DATA_FILTER:  # the grants on it first: the subscriber's access goes with them
            return {("revoke_on_filter", value.database, f"{value.table}#{value.name}")}
        case Kind.DATABASE if value.account_id == m:
            name = value.name
            keys = {("kms_grant_delete", k) for k in value.kms_keys}
            return {("table_delete", name), ("revoke_on_db", name), ("link_delete", name), *keys}
        case Kind.DATABASE | Kind.RESOURCE_LINK:  # a link: its principals' DESCRIBE goes first
            return {("revoke_on_link", value.account_id, value.name)}
        case Kind.ROLE:
            role: Role = value
            arn = f"arn:aws:iam::{role.account_id}:role{role.path}{role.name}"
            found: set[Need] = {("revoke_to", arn)}
            if e.account_id == m:
                found.add(("trusted_by", role.name))
            return found
    return set()


def _grow_requires(e: Entry, m: str) -> set[Need]:
    value = e.after
    match e.kind:
        case Kind.ROLE:
            name = value.name
            # with mesh.iam_users the trust names the user of the role's name
            found = {_address(Kind.IAM_USER, e.account_id, name)}
            if e.account_id != m:
                return found
            if name == policies.READ_ONLY_ROLE:
                return found | {("member_role",)}
            return found | {("trusted_by", name)}
        case Kind.LAKE_SETTINGS:
            return {_address(Kind.ROLE, m, policies.MANAGER_ROLE)}
        case Kind.DATABASE:
            db: Database = value
            if db.account_id == m:
                tags = {_address(Kind.LF_TAG, "", k) for k, _ in db.tags}
                before: Database | None = e.before if e.action is Action.UPDATE else None
                forgotten = set(before.kms_keys) - set(db.kms_keys) if before else set()
                keys = {("kms_grant_delete", k) for k in forgotten}
                return {_address(Kind.LAKE_SETTINGS, "", ""), *tags, *keys}
            return {_address(Kind.DATABASE, m, db.target_database)}
        case Kind.TABLE:
            return {_address(Kind.DATABASE, m, value.database)}
        case Kind.DATA_FILTER:
            return {_address(Kind.TABLE, m, f"{value.database}.{value.table}")}
        case Kind.GRANT:
            return _grant_requires(value, m)
        case Kind.KMS_GRANT:
            kms_grant: KmsGrant = value
            return {("location_registered",), _address(Kind.DATABASE, m, kms_grant.database)}
        case Kind.RESOURCE_LINK:
            link: Database = value
            return {
                _address(Kind.DATABASE, m, link.target_database),
                ("grant", link.account_id, link.target_database),
            }
        case Kind.SUBSCRIPTION:
            record: SubscriptionRecord = value
            key = (record.subscriber, record.database)
            return {
                _address(Kind.SUBSCRIPTIONS_TABLE, "", ""),
                _address(Kind.RESOURCE_LINK, record.subscriber, record.database),
                ("grant", *key),
                ("revoke", *key),
            }
    return set()


def _grant_requires(grant: Grant, m: str) -> set[Need]:
    found: set[Need] = {("principal", grant.principal)}
    resource = grant.resource
    if resource.catalog_id != m:  # DESCRIBE on a consumer's resource link: after the link
        return found | {_address(Kind.RESOURCE_LINK, resource.catalog_id, resource.database)}
    if resource.database:
        found.add(_address(Kind.DATABASE, m, resource.database))
    if resource.type in (ResourceType.TABLE, ResourceType.DATA_CELLS_FILTER):
        found.add(_address(Kind.TABLE, m, f"{resource.database}.{table_name(resource)}"))
    if resource.type is ResourceType.DATA_CELLS_FILTER:
        found.add(_address(Kind.DATA_FILTER, m, f"{resource.database}.{resource.table}"))
    return found
