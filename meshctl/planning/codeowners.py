"""CODEOWNERS from the mesh, and CODEOWNERS as GitHub reads it (pure: text in, text out).

``meshctl codeowners`` writes one line per mesh file that defines products: the file's path and
the owners of those products that GitHub can name (``@user``, ``@org/team``, an e-mail address;
ARNs and bare names are left out). The lines sit in a marked block, so the rest of a hand-written
CODEOWNERS stays as it is. ``meshctl approvals`` reads the CODEOWNERS of the pull request's base
(the one GitHub enforces) to learn whose review GitHub requires for a mesh file.

GitHub's rules kept here (docs.github.com, "About code owners"): the last matching pattern wins;
a pattern follows .gitignore rules (``/`` anchors at the root, a pattern without an inner ``/``
matches at any depth, ``*`` stays within a path segment, ``**`` crosses them, a directory owns
everything below it, a wildcard in the last segment matches that level only); a rule needs the
review of ONE of its owners, not of each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from meshctl.errors import MeshctlError
from meshctl.spec.model import MeshSpec

BEGIN_MARKER = "# BEGIN meshctl codeowners"
END_MARKER = "# END meshctl codeowners"
_BLOCK_HELP = "# Written by `meshctl codeowners --write`: edit the owners in the mesh files."

# Where GitHub looks for CODEOWNERS, in the order it uses the first one found.
CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_EMAIL = re.compile(r"^[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+$")

# An owner of a validated spec that starts with "@" is a GitHub user or team: the schema's
# ``$defs/owner`` pattern allows nothing else there, so only "/" tells them apart here.


def is_github_user(owner: str) -> bool:
    return owner.startswith("@") and "/" not in owner


def is_github_team(owner: str) -> bool:
    return owner.startswith("@") and "/" in owner


def is_email(owner: str) -> bool:
    return bool(_EMAIL.match(owner))


def codeowner_name(owner: str) -> bool:
    """Whether GitHub's CODEOWNERS can name this owner (an ARN or a bare name it cannot)."""
    return is_github_user(owner) or is_github_team(owner) or is_email(owner)


def same_owner(a: str, b: str) -> bool:
    """GitHub logins, team slugs and e-mail addresses compare without case."""
    return a.casefold() == b.casefold()


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedFile:
    """One generated line: a mesh file (its path from the repository root) and its owners."""

    path: str
    owners: tuple[str, ...]

    def line(self) -> str:
        escaped = "/" + self.path.replace("\\", "\\\\").replace(" ", "\\ ")
        return " ".join((escaped, *self.owners))


def product_files(spec: MeshSpec) -> dict[str, str]:
    """The file that defines each product (``spec.sources`` holds ``file:line``)."""
    where = dict(spec.sources)
    return {p.name: where[f"product.{p.name}"].rsplit(":", 1)[0] for p in spec.products}


def owned_files(spec: MeshSpec, repo_path: Mapping[str, str]) -> tuple[OwnedFile, ...]:
    """Per mesh file that defines products, those products' owners GitHub can name (sorted, one
    spelling per owner). One mesh file holding every product gets one line with every owner.
    ``repo_path`` maps a file as the spec names it to its path from the repository root."""
    files = product_files(spec)
    owners: dict[str, dict[str, str]] = {}
    for product in spec.products:
        found = owners.setdefault(repo_path[files[product.name]], {})
        for owner in product.owners:
            if codeowner_name(owner):
                found.setdefault(owner.casefold(), owner)
    return tuple(
        OwnedFile(path, tuple(sorted(found.values(), key=str.casefold)))
        for path, found in sorted(owners.items())
        if found
    )


def block(files: Iterable[OwnedFile]) -> list[str]:
    """The marked block of CODEOWNERS lines, markers included."""
    return [BEGIN_MARKER, _BLOCK_HELP, *(f.line() for f in files), END_MARKER]


def with_block(text: str, lines: Sequence[str], name: str) -> str:
    """``text`` (a CODEOWNERS file, maybe empty) with its meshctl block replaced by ``lines``;
    without a block, the block is appended: GitHub reads the last matching rule, so the mesh
    owners win over broader rules above them. ``name`` is for error messages."""
    existing = text.splitlines()
    begins = [i for i, line in enumerate(existing) if line.strip() == BEGIN_MARKER]
    ends = [i for i, line in enumerate(existing) if line.strip() == END_MARKER]
    if not begins and not ends:
        head = existing + ([""] if existing and existing[-1].strip() else [])
        return "\n".join([*head, *lines]) + "\n"
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        at = (begins + ends)[-1] + 1 if len(begins) + len(ends) > 1 else (begins + ends)[0] + 1
        raise MeshctlError(
            f"{name}:{at}: expected one '{BEGIN_MARKER}' line followed by one '{END_MARKER}' "
            f"line; found {len(begins)} and {len(ends)}: fix the markers by hand"
        )
    kept = existing[: begins[0]] + list(lines) + existing[ends[0] + 1 :]
    return "\n".join(kept) + "\n"


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: its pattern, owners and line number."""

    pattern: str
    owners: tuple[str, ...]
    line: int

    def matches(self, path: str) -> bool:
        return bool(_pattern_regex(self.pattern).match(path.lstrip("/")))


@dataclass(frozen=True)
class Codeowners:
    """A parsed CODEOWNERS file; ``name`` is where it was read, for messages."""

    name: str
    rules: tuple[Rule, ...]

    def rule_for(self, path: str) -> Rule | None:
        """The rule GitHub applies to ``path`` (from the repository root): the last match."""
        return next((r for r in reversed(self.rules) if r.matches(path)), None)


def parse_codeowners(text: str, name: str) -> Codeowners:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        words = _split_line(raw)
        if words:
            rules.append(Rule(words[0], tuple(words[1:]), number))
    return Codeowners(name, tuple(rules))


def _split_line(raw: str) -> list[str]:
    """The words of a line before any comment; ``\\ `` keeps a space within a pattern."""
    words: list[str] = []
    current = ""
    escaped = False
    for char in raw:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "#":
            break
        elif char.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += char
    if current:
        words.append(current)
    return words


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    directory = pattern.endswith("/")
    out = ""
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif body.startswith("**", i):
            out += ".*"
            i += 2
        elif body[i] == "*":
            out += "[^/]*"
            i += 1
        elif body[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(body[i])
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    # A name is a file or a directory, which owns everything below it; a wildcard in the last
    # segment matches at that level only (GitHub: "docs/*" does not own docs/a/b.md).
    last = body.rsplit("/", 1)[-1]
    suffix = "/.*" if directory else "" if "*" in last or "?" in last else "(?:/.*)?"
    return re.compile(f"^{prefix}{out}{suffix}$", re.DOTALL)
