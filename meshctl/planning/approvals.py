"""Which changes of a pull request widen access, and whether an owner approved each (pure).

What widens access is ``widenings.py``.

``check_approvals`` then decides, per change, whether one of the product's owners approved the
pull request: a ``@user`` owner by their latest review (``reviews.py``); an ``@org/team`` or e-mail
owner through CODEOWNERS, when the base's CODEOWNERS makes GitHub require a review from one of the
product's owners for the file that holds the change. The owners are the base's (an owner added in
the same pull request cannot approve it); a product new in the pull request has only its head's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from meshctl.planning.codeowners import (
    Codeowners,
    is_email,
    is_github_team,
    is_github_user,
)
from meshctl.planning.reviews import Review, ReviewState, latest_reviews
from meshctl.planning.widenings import AccessChange, owns, widenings
from meshctl.spec.model import (
    MeshSpec,
)


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
            if r.state is ReviewState.APPROVED and not owns(changed_owners, f"@{r.login}")
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
    strangers = [o for o in rule.owners if not owns(owners, o)]
    if strangers:
        notes.append(
            f"{codeowners.name}:{rule.line} lets {', '.join(strangers)} approve {path}, "
            f"who do not own '{product}'"
        )
        return None
    if not any(owns(rule.owners, o) for o in indirect):
        return None
    return _Required(rule.line, rule.owners)


@dataclass(frozen=True)
class _Required:
    line: int
    owners: tuple[str, ...]
