"""Which changes of a pull request widen access, and whether an owner approved each (pure).

``widenings(base, head)`` compares the mesh at the pull request's base with its head and lists
every change that gives more access than the base did: a subscription that becomes approved, or
an approved one that gains permissions, grantable permissions, tables, columns, rows, principals
or time (a later or removed ``expires``), and a product that gains owners (who may then approve).
Narrowing, denying and removing never appear: they take access away.

``check_approvals`` then decides, per change, whether one of the product's owners approved the
pull request: a ``@user`` owner by their latest review (``reviews.py``); an ``@org/team`` or e-mail
owner through CODEOWNERS, when the base's CODEOWNERS makes GitHub require a review from one of the
product's owners for the file that holds the change. The owners are the base's (an owner added in
the same pull request cannot approve it); a product new in the pull request has only its head's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from meshctl.planning.codeowners import (
    Codeowners,
    is_email,
    is_github_team,
    is_github_user,
    same_owner,
)
from meshctl.planning.reviews import Review, ReviewState, latest_reviews
from meshctl.spec.model import (
    ALL_TABLES,
    TABLE_PERMISSIONS,
    MeshSpec,
    Product,
    Subscription,
    SubscriptionStatus,
    TableRestriction,
)


class Widening(StrEnum):
    APPROVED = "approved"  # a subscription becomes approved (new, or was pending or denied)
    PERMISSIONS = "permissions"
    GRANTABLE = "grantable"
    TABLES = "tables"
    COLUMNS = "columns"
    ROWS = "rows"
    PRINCIPALS = "principals"
    EXPIRES = "expires"
    OWNERS = "owners"  # a product gains owners: more people may approve access to it


WHOLE_ACCOUNT = "*"  # in ``added`` of a principals change: the grant goes to the account


@dataclass(frozen=True)
class AccessChange:
    """One change that widens access. ``added`` holds what is gained (permissions, tables,
    columns, principals, owners); ``before``/``after`` the values when a set does not say it
    (a row filter, an expiry, a column shape). Plain data: the renderers build the sentences."""

    kind: Widening
    subject: str  # the subscription's key ("consumer/product"), or the product's name
    product: str
    file: str
    line: int
    table: str = ""  # for columns and rows
    added: tuple[str, ...] = ()
    before: str = ""
    after: str = ""


class Verdict(StrEnum):
    APPROVED = "approved"  # an owner's latest review approves the pull request
    CODEOWNERS = "codeowners"  # GitHub requires the review of one of the product's owners
    MISSING = "missing"


@dataclass(frozen=True)
class Approval:
    """Whether one change has an owner's approval. ``notes`` say, for people, why reviews that
    might look like approvals do not count; nothing reads them to decide."""

    verdict: Verdict
    owners: tuple[str, ...]
    approved_by: tuple[str, ...] = ()
    codeowners: str = ""  # the CODEOWNERS file and line whose rule requires the owners' review
    codeowners_line: int = 0
    codeowners_owners: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalItem:
    change: AccessChange
    approval: Approval


@dataclass(frozen=True)
class ApprovalsReport:
    items: tuple[ApprovalItem, ...]
    codeowners: str = ""  # the CODEOWNERS file read ("" when none was given or found)
    head_sha: str = ""
    # Approvals on the pull request by reviewers who own none of the changed products.
    other_approvals: tuple[str, ...] = field(default=())

    @property
    def unverified(self) -> tuple[ApprovalItem, ...]:
        return tuple(i for i in self.items if i.approval.verdict is Verdict.MISSING)

    @property
    def ok(self) -> bool:
        return not self.unverified


# --- what widens access ----------------------------------------------------------------------


def widenings(base: MeshSpec, head: MeshSpec) -> tuple[AccessChange, ...]:
    """Every change from ``base`` to ``head`` that gives more access, in the head's file order."""
    base_subs = {s.key: s for s in base.subscriptions}
    base_products = {p.name: p for p in base.products}
    head_products = {p.name: p for p in head.products}
    where = dict(head.sources)
    changes: list[AccessChange] = []
    for product in head.products:
        before = base_products.get(product.name)
        if before is None:
            continue
        gained = tuple(o for o in product.owners if not _owns(before.owners, o))
        if gained:
            file, line = _location(where[f"product.{product.name}"])
            changes.append(
                AccessChange(Widening.OWNERS, product.name, product.name, file, line, added=gained)
            )
    for sub in head.subscriptions:
        if sub.status is not SubscriptionStatus.APPROVED:
            continue
        file, line = _location(where[f"subscription.{sub.key}"])
        found = partial(AccessChange, subject=sub.key, product=sub.product, file=file, line=line)
        old = base_subs.get(sub.key)
        if (
            old is None
            or old.status is not SubscriptionStatus.APPROVED
            or old.product not in base_products
        ):
            changes.append(found(Widening.APPROVED))
            continue
        changes += _subscription_widenings(
            old, base_products[sub.product], sub, head_products[sub.product], found
        )
    return tuple(sorted(changes, key=lambda c: (c.file, c.line, list(Widening).index(c.kind))))


def _location(text: str) -> tuple[str, int]:
    file, _, line = text.rpartition(":")
    return file, int(line)


def _owns(owners: Sequence[str], who: str) -> bool:
    return any(same_owner(o, who) for o in owners)


def _subscription_widenings(
    old: Subscription,
    old_product: Product,
    new: Subscription,
    new_product: Product,
    found: partial[AccessChange],
) -> list[AccessChange]:
    changes: list[AccessChange] = []
    for kind, had, has in (
        (Widening.PERMISSIONS, old.permissions, new.permissions),
        (Widening.GRANTABLE, old.grantable, new.grantable),
    ):
        gained = _permissions(has) - _permissions(had)
        if gained:
            shown = ("ALL",) if "ALL" in has and "ALL" not in had else tuple(sorted(gained))
            changes.append(found(kind, added=shown))
    old_tables, new_tables = _tables(old, old_product), _tables(new, new_product)
    if new_tables is None and old_tables is not None:
        changes.append(found(Widening.TABLES, added=(ALL_TABLES,)))
    elif new_tables is not None and old_tables is not None and new_tables - old_tables:
        changes.append(found(Widening.TABLES, added=tuple(sorted(new_tables - old_tables))))
    restricted = {r.table for r in (*old.restrictions, *new.restrictions)}
    for table in sorted(restricted):
        if _has(old_tables, table) and _has(new_tables, table):
            changes += _restriction_widenings(
                table, old.restriction(table), new.restriction(table), found
            )
    # No principals is the whole consumer account: wider than any list of its roles and users.
    if old.principals and not new.principals:
        changes.append(found(Widening.PRINCIPALS, added=(WHOLE_ACCOUNT,)))
    elif old.principals and set(new.principals) - set(old.principals):
        more = tuple(sorted(set(new.principals) - set(old.principals)))
        changes.append(found(Widening.PRINCIPALS, added=more))
    if old.expires is not None and (new.expires is None or new.expires > old.expires):
        after = new.expires.isoformat() if new.expires else ""
        changes.append(found(Widening.EXPIRES, before=old.expires.isoformat(), after=after))
    return changes


def _permissions(names: frozenset[str]) -> frozenset[str]:
    """What a permission set allows: ``ALL`` is every table permission."""
    return frozenset(TABLE_PERMISSIONS) if "ALL" in names else names


def _tables(sub: Subscription, product: Product) -> frozenset[str] | None:
    """The tables a subscription reaches; None for every table of the source database."""
    names = sub.tables or product.tables
    return None if ALL_TABLES in names else frozenset(names)


def _has(tables: frozenset[str] | None, table: str) -> bool:
    return tables is None or table in tables


def _restriction_widenings(
    table: str,
    old: TableRestriction | None,
    new: TableRestriction | None,
    found: partial[AccessChange],
) -> list[AccessChange]:
    old = old or TableRestriction(table)
    new = new or TableRestriction(table)
    changes = []
    gained = _columns_gained(old, new)
    if gained is not None:
        changes.append(
            found(
                Widening.COLUMNS,
                table=table,
                added=gained,
                before=_columns_shown(old),
                after=_columns_shown(new),
            )
        )
    if old.row_filter and not narrower_filter(old.row_filter, new.row_filter):
        changes.append(
            found(Widening.ROWS, table=table, before=old.row_filter, after=new.row_filter)
        )
    return changes


def _columns_gained(old: TableRestriction, new: TableRestriction) -> tuple[str, ...] | None:
    """The columns ``new`` shows that ``old`` hid (() when they cannot be named: the table's
    columns are not in the file); None when ``new`` shows no column ``old`` hid."""
    if not old.columns and not old.excluded:
        return None  # every column already
    if old.columns:
        if new.columns:
            extra = tuple(sorted(set(new.columns) - set(old.columns)))
            return extra or None
        return ()  # "every column" or "every column but some": more than a named list
    if new.columns:
        extra = tuple(sorted(set(new.columns) & set(old.excluded)))
    else:
        extra = tuple(sorted(set(old.excluded) - set(new.excluded)))
    return extra or None


def _columns_shown(restriction: TableRestriction) -> str:
    if restriction.columns:
        return f"columns ({', '.join(restriction.columns)})"
    if restriction.excluded:
        return f"every column except ({', '.join(restriction.excluded)})"
    return "every column"


_OR = re.compile(r"\bor\b", re.IGNORECASE)


def narrower_filter(before: str, after: str) -> bool:
    """Whether row filter ``after`` can only keep rows ``before`` keeps: the same text, or
    ``before`` AND more conditions. Anything else (another expression, no filter at all) may
    show more rows, so it needs an owner: meshctl does not reason about SQL beyond this."""
    before, after = " ".join(before.split()), " ".join(after.split())
    if not after:
        return not before
    if not before or after == before:
        return True
    kept = (f"({before})", *(() if _OR.search(before) else (before,)))
    for form in kept:
        for rest in _rest_of_conjunction(after, form):
            if not _OR.search(rest) or (rest.startswith("(") and rest.endswith(")")):
                return True
    return False


def _rest_of_conjunction(expression: str, part: str) -> list[str]:
    """The other side of ``part AND x`` / ``x AND part`` (AND in any case)."""
    rests = []
    head = re.match(re.escape(part) + r"\s+and\s+(.+)$", expression, re.IGNORECASE | re.DOTALL)
    if head:
        rests.append(head.group(1).strip())
    tail = re.match(r"(.+?)\s+and\s+" + re.escape(part) + "$", expression, re.I | re.DOTALL)
    if tail:
        rests.append(tail.group(1).strip())
    return rests


# --- who approved ----------------------------------------------------------------------------


def check_approvals(
    base: MeshSpec,
    head: MeshSpec,
    reviews: Sequence[Review],
    *,
    repo_path: Mapping[str, str],
    codeowners: Codeowners | None = None,
    head_sha: str = "",
) -> ApprovalsReport:
    """Each widening change with its approval. ``repo_path`` maps a head file as the spec names
    it to its path from the repository root (what CODEOWNERS patterns match); ``head_sha``, when
    given, makes an approval of an earlier commit stale: it approved other content."""
    latest = latest_reviews(reviews)
    owners_of = {p.name: p.owners for p in head.products} | {
        p.name: p.owners for p in base.products
    }
    items = tuple(
        ApprovalItem(
            change,
            _approval(
                owners_of[change.product],
                change.product,
                repo_path.get(change.file, change.file),
                latest,
                codeowners,
                head_sha,
            ),
        )
        for change in widenings(base, head)
    )
    changed_owners = [o for i in items for o in owners_of[i.change.product]]
    others = tuple(
        sorted(
            f"@{r.login}"
            for r in latest.values()
            if r.state is ReviewState.APPROVED and not _owns(changed_owners, f"@{r.login}")
        )
    )
    name = codeowners.name if codeowners else ""
    return ApprovalsReport(items, name, head_sha, others if items else ())


def _approval(
    owners: tuple[str, ...],
    product: str,
    path: str,
    latest: Mapping[str, Review],
    codeowners: Codeowners | None,
    head_sha: str,
) -> Approval:
    notes: list[str] = []
    approved: list[str] = []
    for owner in owners:
        if not is_github_user(owner):
            continue
        review = latest.get(owner[1:].casefold())
        if review is None:
            continue
        if review.state is ReviewState.DISMISSED:
            notes.append(f"{owner}'s review was dismissed")
        elif review.state is ReviewState.CHANGES_REQUESTED:
            notes.append(f"{owner} requested changes")
        elif head_sha and review.commit_id != head_sha:
            commit = review.commit_id[:7]
            notes.append(f"{owner} approved an earlier commit ({commit}), not the head")
        else:
            approved.append(owner)
    if approved:
        return Approval(Verdict.APPROVED, owners, approved_by=tuple(approved), notes=tuple(notes))
    required = _required_by_codeowners(owners, product, path, codeowners, notes)
    if required is not None:
        return Approval(
            Verdict.CODEOWNERS,
            owners,
            codeowners=codeowners.name if codeowners else "",
            codeowners_line=required.line,
            codeowners_owners=required.owners,
            notes=tuple(notes),
        )
    if not owners:
        notes.append(f"'{product}' has no owners")
    return Approval(Verdict.MISSING, owners, notes=tuple(notes))


def _required_by_codeowners(
    owners: tuple[str, ...],
    product: str,
    path: str,
    codeowners: Codeowners | None,
    notes: list[str],
) -> _Required | None:
    """The CODEOWNERS rule by which GitHub requires one of the product's team or e-mail owners
    to approve before merging; None (and a note why) when there is none. GitHub takes the review
    of any ONE owner a rule names, so a rule naming someone who is not an owner of the product
    proves nothing about the product's owners."""
    indirect = [o for o in owners if is_github_team(o) or is_email(o)]
    if not indirect:
        return None
    if codeowners is None:
        notes.append(f"no CODEOWNERS was given to verify {', '.join(indirect)}")
        return None
    rule = codeowners.rule_for(path)
    if rule is None or not rule.owners:
        notes.append(f"{codeowners.name} requires no review for {path}")
        return None
    strangers = [o for o in rule.owners if not _owns(owners, o)]
    if strangers:
        notes.append(
            f"{codeowners.name}:{rule.line} lets {', '.join(strangers)} approve {path}, "
            f"who do not own '{product}'"
        )
        return None
    if not any(_owns(rule.owners, o) for o in indirect):
        return None
    return _Required(rule.line, rule.owners)


@dataclass(frozen=True)
class _Required:
    line: int
    owners: tuple[str, ...]
