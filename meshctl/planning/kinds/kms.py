"""KMS grants for products whose data is encrypted with a customer-managed key (docs/kms.md).

Each product with a key its producer's or the mesh account holds gets one grant per role that
registered one of its S3 locations (``meshctl-<product>``, operations ``Decrypt`` and
``DescribeKey``). The key policy is never edited: a key in any other account gets a warning with
the statement its owner must add, and nothing is written for it.

The mesh database keeps the keys its products hold grants on (``Database.kms_keys``), written
before a grant is created and dropped only after it is revoked, so the next plan still reads a
key whose product left the file. A live grant named ``meshctl-…`` on a key read that no declared
product wants is revoked (an access removal: it counts toward ``--max-revokes``).
"""

from __future__ import annotations

import dataclasses

from meshctl.address import database_address
from meshctl.observed import KmsGrant
from meshctl.planning import kms
from meshctl.planning.desired import Desired, Seen
from meshctl.planning.kinds.catalog import location_arn
from meshctl.planning.kinds.changes import ChangeSet
from meshctl.planning.plan import Kind
from meshctl.spec.model import MeshSpec

Grants = dict[str, KmsGrant]


def desire_kms_grants(spec: MeshSpec, seen: Seen, desired: Desired) -> Grants:
    """The grants every product's keys need; records their keys on the mesh databases, and the
    warnings for keys meshctl cannot reach."""
    observed = seen.observed
    m = spec.mesh.account_id
    roles = dict(observed.location_roles)
    live_by_name: dict[str, list[KmsGrant]] = {}
    for grant in observed.kms_grants:
        live_by_name.setdefault(grant.name, []).append(grant)
    wanted: Grants = {}
    found = kms.product_keys(spec, dict(observed.bucket_keys), observed.tables)
    for name, keys in sorted(found.items()):
        product = spec.product(name)
        view = desired.products.get(name)
        desired.warnings.extend(keys.notes)
        producer = spec.account(product.producer).account_id
        tables = kms.source_tables(product, producer, observed.tables)
        grantees = sorted({registering_role(location_arn(t.location), roles, m) for t in tables})
        if not grantees:  # no source table read: meshctl will register with its own role
            grantees = [kms.service_linked_role(m)]
        for arn in keys.unreachable:
            desired.warnings.append(
                f"product {name}: its data is encrypted with KMS key {arn} in account "
                f"{kms.key_account(arn)}, which meshctl does not reach (not the producer's or the "
                "mesh account): nothing is granted on it; the key's owner must add this statement "
                f"to the key policy: {kms.key_policy_statement(name, grantees)}"
            )
        live_db = database_address(m, product.mesh_database) in seen.databases
        if view is None or (view.held and not live_db):
            continue
        if view.held:  # keep what is live, add nothing (plan.Held)
            for grant in live_by_name.get(kms.grant_name(name), ()):
                wanted[grant.address] = grant
            continue
        for arn in keys.keys:
            for grantee in grantees:
                grant = KmsGrant(
                    key_arn=arn,
                    name=kms.grant_name(name),
                    grantee=grantee,
                    operations=kms.GRANT_OPERATIONS,
                    database=product.mesh_database,
                )
                wanted[grant.address] = grant
    # The keys are recorded on the mesh database before a grant is made (requires.py).
    for grant in wanted.values():
        address = database_address(m, grant.database)
        db = desired.databases.get(address)
        if db is not None and grant.key_arn not in db.kms_keys:
            keys_now = tuple(sorted({*db.kms_keys, grant.key_arn}))
            desired.databases[address] = dataclasses.replace(db, kms_keys=keys_now)
    return wanted


def registering_role(arn: str, roles: dict[str, str], m: str) -> str:
    """The role that registered the longest registered location holding ``arn``; Lake
    Formation's service-linked role when it names none (or when meshctl registers it now)."""
    covering = [r for r in roles if arn == r or arn.startswith(r.rstrip("/") + "/")]
    if covering:
        return roles[max(covering, key=len)] or kms.service_linked_role(m)
    return kms.service_linked_role(m)


def plan_kms_grants(seen: Seen, wanted: Grants, changes: ChangeSet) -> None:
    live: Grants = {}
    extra: list[KmsGrant] = []
    for grant in sorted(seen.observed.kms_grants, key=lambda g: g.grant_id):
        # KMS allows several grants of one name; the first is meshctl's, any other a duplicate.
        if grant.address in live:
            extra.append(grant)
        else:
            live[grant.address] = grant
    for address, want in sorted(wanted.items()):
        have = live.get(address)
        if have is None:
            changes.create(
                Kind.KMS_GRANT,
                address,
                want.key_account,
                want,
                f"let {want.grantee.rpartition('/')[2]}, which registered the data's location "
                f"with Lake Formation, decrypt with key {want.key_arn}",
            )
        elif not have.same_grant(want):
            # Apply creates the new grant, then revokes this one (``before.grant_id``).
            changes.update(
                Kind.KMS_GRANT,
                address,
                want.key_account,
                have,
                want,
                f"grant operations {', '.join(have.operations)} -> {', '.join(want.operations)}",
            )
    for address, have in sorted(live.items()):
        if address not in wanted:
            changes.orphan(
                Kind.KMS_GRANT,
                address,
                have.key_account,
                have,
                f"no product in {changes.file} needs {have.grantee.rpartition('/')[2]} to decrypt "
                f"with key {have.key_arn} any more",
            )
    for have in extra:
        address = f"{have.address}#{have.grant_id}"
        changes.orphan(
            Kind.KMS_GRANT, address, have.key_account, have, "a second grant of the same name"
        )
