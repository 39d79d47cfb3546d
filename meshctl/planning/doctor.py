"""``meshctl doctor``: what the mesh accounts hold that makes a plan or a share fail, as findings.

Pure: ``diagnose`` turns a frozen ``DoctorFacts`` snapshot (read by ``aws/doctor.py``) and the
spec into findings, one per (account, check, subject), each ``ok``, ``warn`` or ``fail`` with the
fix in one line. ``fail`` is for what breaks a share or leaves data ungoverned and that apply
cannot repair; ``warn`` for what apply repairs by itself or what only weakens the setup.
A fact that could not be read (``None``, or an error text) gives no finding of its own: the
account's ``credentials`` finding (or the read error) says why (docs/doctor.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from meshctl.planning.canonical import IAM_ALLOWED_PRINCIPALS, iam_principal, pathless
from meshctl.planning.doctor_facts import (
    AccountAccess,
    Check,
    DoctorFacts,
    Finding,
    IamAllowedGrant,
    LakeFacts,
    RegisteredLocation,
    SourceTable,
    Status,
)
from meshctl.planning.doctor_keys import key_findings
from meshctl.planning.kinds.catalog import location_arn
from meshctl.spec.model import PRINCIPALS_MIN_VERSION, MeshSpec


def diagnose(spec: MeshSpec, facts: DoctorFacts) -> tuple[Finding, ...]:
    """Every finding, account by account (mesh account first, then the file's order)."""
    found = [
        *_credentials(spec, facts),
        *_lake_formation(spec, facts),
        *_products(spec, facts),
        *_trail(facts),
        *_invitations(spec, facts),
    ]
    order = [spec.mesh.account_id, *(a.account_id for a in spec.accounts)]
    rank = {account: i for i, account in reversed(list(enumerate(order)))}
    return tuple(sorted(found, key=lambda f: rank.get(f.account_id, len(order))))


def failed(findings: tuple[Finding, ...]) -> bool:
    return any(f.status is Status.FAIL for f in findings)


def _credentials(spec: MeshSpec, facts: DoctorFacts) -> Iterator[Finding]:
    for access in facts.access:
        a = access.account_id
        if access.error:
            yield Finding(
                a,
                Check.CREDENTIALS,
                Status.FAIL,
                access.error,
                "let the identity running meshctl assume the account's role (mesh.role_arn or "
                "accounts.<name>.role_arn, default MeshctlDeployer), or fix --credentials-file",
            )
        elif access.identity_account != a:
            yield Finding(
                a,
                Check.CREDENTIALS,
                Status.FAIL,
                f"the credentials for {a} are {access.identity} of account "
                f"{access.identity_account}: plan would read and write the wrong account",
                f"give meshctl credentials of account {a} (the credentials file's section for it)",
            )
        else:
            yield Finding(a, Check.CREDENTIALS, Status.OK, f"reached as {access.identity}")
    for account, message in facts.read_errors:
        yield Finding(
            account,
            Check.CREDENTIALS,
            Status.FAIL,
            f"reached, but a read failed: {message}",
            "allow the deployer role the read actions of docs/doctor.md",
        )


def _mesh_access(facts: DoctorFacts) -> AccountAccess | None:
    return next((a for a in facts.access if a.account_id == facts.mesh_account_id), None)


def _lake_formation(spec: MeshSpec, facts: DoctorFacts) -> Iterator[Finding]:
    m = spec.mesh.account_id
    lake = facts.lake
    if lake is not None:
        yield _version(spec, lake)
        yield _admins(facts, lake)
        yield _defaults(m, lake)
    if facts.iam_allowed is not None:
        yield from _iam_allowed(m, facts.iam_allowed)


def _version(spec: MeshSpec, lake: LakeFacts) -> Finding:
    m, declared = spec.mesh.account_id, spec.mesh.cross_account_version
    needed = max(declared, PRINCIPALS_MIN_VERSION if _uses_principals(spec) else 1)
    live = lake.cross_account_version
    if live >= needed and live == declared:
        return Finding(m, Check.CROSS_ACCOUNT_VERSION, Status.OK, f"cross-account version {live}")
    if live < needed:
        why = f"the mesh declares {declared}"
        if needed > declared:
            why = f"subscriptions with principals need {PRINCIPALS_MIN_VERSION}"
        return Finding(
            m,
            Check.CROSS_ACCOUNT_VERSION,
            Status.WARN,
            f"cross-account version {live}, below what {why}: shares made now use version {live}",
            f"meshctl apply sets it to {declared} (mesh.cross_account_version)",
        )
    return Finding(
        m,
        Check.CROSS_ACCOUNT_VERSION,
        Status.WARN,
        f"cross-account version {live}, but the mesh declares {declared}: apply lowers it",
        f"set mesh.cross_account_version: {live} to keep it",
    )


def _uses_principals(spec: MeshSpec) -> bool:
    return any(s.principals for s in spec.subscriptions)


def _admins(facts: DoctorFacts, lake: LakeFacts) -> Finding:
    m = facts.mesh_account_id
    access = _mesh_access(facts)
    deployer = (iam_principal(access.identity) or access.identity) if access else ""
    admins = {pathless(a) for a in lake.admins}
    shown = ", ".join(sorted(lake.admins)) or "none"
    if deployer and pathless(deployer) in admins:
        return Finding(m, Check.DATA_LAKE_ADMINS, Status.OK, f"{deployer} is a data lake admin")
    who = deployer or "the identity meshctl runs as"
    return Finding(
        m,
        Check.DATA_LAKE_ADMINS,
        Status.WARN,
        f"{who} is not a data lake admin (admins: {shown}): it can grant only on what it "
        "creates: adopting a helper-library mesh and revoking grants others made are refused",
        f"add {who} to the data lake admins (Lake Formation console: Administrative roles and "
        "tasks; meshctl merges admins, never drops one)",
    )


def _defaults(m: str, lake: LakeFacts) -> Finding:
    open_to_all = [
        name
        for name, principals in (
            ("CreateDatabaseDefaultPermissions", lake.database_defaults),
            ("CreateTableDefaultPermissions", lake.table_defaults),
        )
        if IAM_ALLOWED_PRINCIPALS in principals
    ]
    if not open_to_all:
        return Finding(
            m,
            Check.DEFAULT_PERMISSIONS,
            Status.OK,
            "new databases and tables get no IAM_ALLOWED_PRINCIPALS grant",
        )
    return Finding(
        m,
        Check.DEFAULT_PERMISSIONS,
        Status.WARN,
        f"{' and '.join(open_to_all)} give IAM_ALLOWED_PRINCIPALS access to new databases and "
        "tables: Lake Formation permissions are not in effect on what is created",
        "meshctl apply empties them in the mesh account (its lake settings change)",
    )


def _iam_allowed(m: str, grants: tuple[IamAllowedGrant, ...]) -> Iterator[Finding]:
    if not grants:
        yield Finding(
            m,
            Check.IAM_ALLOWED_PRINCIPALS,
            Status.OK,
            "no IAM_ALLOWED_PRINCIPALS grant on a mesh database or table",
        )
    for g in grants:
        what = f"table {g.database}.{g.table}" if g.table else f"database {g.database}"
        resource = (
            f"Table={{DatabaseName={g.database},Name={g.table}}}"
            if g.table
            else f"Database={{Name={g.database}}}"
        )
        yield Finding(
            m,
            Check.IAM_ALLOWED_PRINCIPALS,
            Status.FAIL,
            f"IAM_ALLOWED_PRINCIPALS holds {', '.join(g.permissions)} on {what}: any IAM "
            "principal with Glue and S3 access reads it; Lake Formation permissions are not in "
            "effect (meshctl never revokes it)",
            "aws lakeformation revoke-permissions --principal "
            f"DataLakePrincipalIdentifier=IAM_ALLOWED_PRINCIPALS --resource '{resource}' "
            f"--permissions {' '.join(g.permissions)}",
            subject=what,
        )


# --- products: source tables, locations, buckets, keys ---------------------------------------


def _products(spec: MeshSpec, facts: DoctorFacts) -> Iterator[Finding]:
    m = spec.mesh.account_id
    by_db: dict[tuple[str, str], dict[str, SourceTable]] = {}
    for t in facts.source_tables:
        by_db.setdefault((t.account_id, t.database), {})[t.name] = t
    locations: dict[str, list[str]] = {}  # product -> its tables' location ARNs
    for product in spec.products:
        producer = spec.account(product.producer).account_id
        if producer not in facts.producers_read:
            continue
        tables = by_db.get((producer, product.source_database), {})
        wanted = sorted(tables) if product.all_tables else list(product.tables)
        missing = [name for name in wanted if name not in tables]
        if not tables or missing:
            what = (
                f"database {product.source_database} has no table"
                if not tables
                else f"{product.source_database} lacks {', '.join(missing)}"
            )
            yield Finding(
                producer,
                Check.SOURCE_TABLES,
                Status.FAIL,
                f"{what}: plan holds the product (nothing of it is shared)",
                f"create the tables in {producer}'s Glue catalog, or correct products."
                f"{product.name}.tables",
                subject=product.name,
            )
        else:
            yield Finding(
                producer,
                Check.SOURCE_TABLES,
                Status.OK,
                f"{len(wanted)} source table(s) in {product.source_database}",
                subject=product.name,
            )
        for name in wanted:
            table = tables.get(name)
            if table is not None and table.location.startswith("s3://"):
                locations.setdefault(product.name, []).append(location_arn(table.location))
    if facts.locations is not None:
        yield from _locations(m, facts.locations, locations)
    yield from _buckets(facts)
    yield from key_findings(facts)


def _locations(
    m: str, registered: tuple[RegisteredLocation, ...], wanted: dict[str, list[str]]
) -> Iterator[Finding]:
    """Per product: are its tables' locations registered, and is any in hybrid access mode."""
    for product, arns in sorted(wanted.items()):
        covering = {arn: next((r for r in registered if r.covers(arn)), None) for arn in arns}
        missing = sorted(arn for arn, r in covering.items() if r is None)
        if missing:
            yield Finding(
                m,
                Check.DATA_LOCATION,
                Status.WARN,
                f"{', '.join(missing)} not registered with Lake Formation: grants on those "
                "tables give no data access",
                "meshctl apply registers them (with Lake Formation's service-linked role)",
                subject=product,
            )
        else:
            yield Finding(
                m,
                Check.DATA_LOCATION,
                Status.OK,
                f"{len(arns)} table location(s) registered with Lake Formation",
                subject=product,
            )
        hybrid = sorted({r.resource_arn for r in covering.values() if r and r.hybrid_access})
        if not hybrid:
            if len(missing) < len(arns):
                yield Finding(
                    m,
                    Check.HYBRID_ACCESS,
                    Status.OK,
                    "its registered locations are in Lake Formation mode",
                    subject=product,
                )
            continue
        role = next(r.role_arn for r in covering.values() if r and r.hybrid_access)
        yield Finding(
            m,
            Check.HYBRID_ACCESS,
            Status.WARN,
            f"{', '.join(hybrid)} in hybrid access mode: IAM policies still reach the data for "
            "principals not opted in to Lake Formation",
            f"aws lakeformation update-resource --resource-arn {hybrid[0]} --role-arn {role} "
            "--no-hybrid-access-enabled (for each)",
            subject=product,
        )


def _buckets(facts: DoctorFacts) -> Iterator[Finding]:
    for b in facts.buckets:
        if b.exists is None:
            yield Finding(
                b.account_id,
                Check.BUCKET,
                Status.WARN,
                f"bucket {b.name}: cannot tell whether it exists ({b.error})",
                f"allow the deployer s3:GetEncryptionConfiguration on {b.name}",
                subject=b.name,
            )
        elif not b.exists:
            yield Finding(
                b.account_id,
                Check.BUCKET,
                Status.FAIL,
                f"bucket {b.name}, where source tables point, does not exist: queries find no data",
                f"create bucket {b.name}, or point the tables at their data",
                subject=b.name,
            )
        else:
            how = f"SSE-KMS with {b.kms_key}" if b.kms_key else "no customer key"
            yield Finding(
                b.account_id, Check.BUCKET, Status.OK, f"bucket {b.name} ({how})", subject=b.name
            )


def _trail(facts: DoctorFacts) -> Iterator[Finding]:
    if facts.trails is None:
        return
    m = facts.mesh_account_id
    logging = [t.name for t in facts.trails if t.logging]
    if logging:
        yield Finding(m, Check.CLOUDTRAIL, Status.OK, f"trail {logging[0]} is logging")
        return
    stopped = ", ".join(t.name for t in facts.trails)
    stopped = f" ({stopped} stopped)" if stopped else ""
    yield Finding(
        m,
        Check.CLOUDTRAIL,
        Status.WARN,
        f"no CloudTrail trail is logging in the mesh account{stopped}:"
        " grants and revokes leave no audit record",
        "aws cloudtrail create-trail --name mesh-audit --s3-bucket-name BUCKET "
        "--is-multi-region-trail && aws cloudtrail start-logging --name mesh-audit",
    )


def _invitations(spec: MeshSpec, facts: DoctorFacts) -> Iterator[Finding]:
    """Pending invitations from the mesh account: once applies keep the invitation journal, plan
    looks only where meshctl's own applies left one (docs/architecture.md, "Speed and cost")."""
    region = spec.mesh.region
    for account_id, pending in facts.invitations:
        if not pending:
            yield Finding(
                account_id,
                Check.INVITATIONS,
                Status.OK,
                "no RAM invitation from the mesh account is pending",
            )
            continue
        n = len(pending)
        yield Finding(
            account_id,
            Check.INVITATIONS,
            Status.WARN,
            f"{n} RAM invitation{'s' if n != 1 else ''} from the mesh account pending: "
            "what they share stays out of sight here until accepted",
            " && ".join(
                f"aws ram accept-resource-share-invitation --region {region} "
                f"--resource-share-invitation-arn {arn}"
                for arn in pending
            )
            + f" (in account {account_id})",
        )
