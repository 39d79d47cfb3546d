"""The self-service edits of a mesh (a file or a ``mesh.d/`` directory): request, approve, deny
and revoke a subscription, the helper library's tasks as changes of the mesh file.

Each returns a ``FileEdit`` (the one file it changes, before and after) and writes nothing: the
CLI writes it, or prints its diff. Before anything is returned, the mesh as it would be after the
edit passes the whole validation (``load_spec``: schema and rules), so a file is never written
into an invalid mesh. The mesh must be valid before the edit too: its problems are reported as
they are, first.

Where: a new subscription goes to the file that defines its product; a decision or a revoke edits
the file that holds the subscription.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from meshctl.errors import ValidationError
from meshctl.spec.document import show_name
from meshctl.spec.edit import (
    EditError,
    InvalidEdit,
    NewSubscription,
    append_subscription,
    decide,
    remove_subscription,
    show_key,
)
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec, Subscription, SubscriptionStatus
from meshctl.spec.rules import did_you_mean, show_value
from meshctl.spec.sources import MeshSource, mesh_files, read_source


@dataclass(frozen=True)
class FileEdit:
    """One file of the mesh, before and after an edit (``after == before``: nothing to do)."""

    file: Path
    before: str
    after: str
    subscription: str  # CONSUMER/PRODUCT, for messages
    owners: tuple[str, ...] = ()  # the product's owners: who decides

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff, as ``git diff`` shows it (``a/FILE``, ``b/FILE`` for a relative path)."""
        a, b = ("", "") if self.file.is_absolute() else ("a/", "b/")
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{a}{self.file}",
            tofile=f"{b}{self.file}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def request(path: Path, new: NewSubscription) -> FileEdit:
    """``new`` appended to the subscriptions of the file that defines its product."""
    mesh = _Mesh.read(path)
    key = show_key(new.consumer, new.product)
    if new.consumer not in {a.name for a in mesh.spec.accounts}:
        raise EditError(_unknown("--consumer", "account", new.consumer, mesh.account_names))
    if new.product not in {p.name for p in mesh.spec.products}:
        raise EditError(_unknown("--product", "product", new.product, mesh.product_names))
    found = mesh.find(new.consumer, new.product)
    if found is not None:
        index, sub = found
        raise EditError(
            f"{key} is already in the mesh ({mesh.source.where(('subscriptions', index))}, "
            f"{sub.status.value}); nothing was written. Approve, deny or revoke that one."
        )
    file = mesh.file(mesh.source.entry_owner[("products", new.product)].file)
    before = _read(file)
    after = append_subscription(before, new)
    owners = mesh.spec.product(new.product).owners
    return mesh.checked(FileEdit(file, before, after, key, owners), "request")


def approve(path: Path, key: str, by: str) -> FileEdit:
    """Subscription ``key`` set to ``status: approved`` and ``approved_by: by`` (an owner)."""
    mesh = _Mesh.read(path)
    index, sub = mesh.require(key)
    owners = mesh.spec.product(sub.product).owners
    if by not in owners:
        listed = ", ".join(owners) if owners else "none: add `owners` to the product first"
        raise EditError(
            f"--by {show_value(by)} is not an owner of '{sub.product}' (owners: "
            f"{show_name(listed, 400)}); nothing was written"
        )
    return mesh.decision(index, sub, SubscriptionStatus.APPROVED, by)


def deny(path: Path, key: str) -> FileEdit:
    """Subscription ``key`` set to ``status: denied``, without ``approved_by``."""
    mesh = _Mesh.read(path)
    index, sub = mesh.require(key)
    return mesh.decision(index, sub, SubscriptionStatus.DENIED, None)


def revoke(path: Path, key: str) -> FileEdit:
    """Subscription ``key`` removed from its file: the next apply archives it."""
    mesh = _Mesh.read(path)
    index, sub = mesh.require(key)
    doc, local = mesh.source.locate(("subscriptions", index))
    file = mesh.file(doc.file)
    before = _read(file)
    after = remove_subscription(before, int(local[1]))
    return mesh.checked(FileEdit(file, before, after, sub.key), "revoke")


def parse_key(text: str) -> tuple[str, str]:
    """``CONSUMER/PRODUCT`` → (consumer, product)."""
    consumer, slash, product = text.partition("/")
    if not slash or not consumer or not product or "/" in product:
        raise EditError(
            f"{show_value(text)} is not CONSUMER/PRODUCT (like marketing/sales.orders); "
            "nothing was written"
        )
    return consumer, product


@dataclass(frozen=True)
class _Mesh:
    path: Path
    spec: MeshSpec
    source: MeshSource
    files: dict[str, Path]  # as the source names them → the path to read and write

    @classmethod
    def read(cls, path: Path) -> _Mesh:
        spec = load_spec(path)  # a mesh invalid before the edit: its own problems, first
        files = {str(p): p for p in mesh_files(path)}
        return cls(path, spec, read_source(path), files)

    @property
    def account_names(self) -> list[str]:
        return [a.name for a in self.spec.accounts]

    @property
    def product_names(self) -> list[str]:
        return [p.name for p in self.spec.products]

    def file(self, name: str) -> Path:
        return self.files[name]

    def find(self, consumer: str, product: str) -> tuple[int, Subscription] | None:
        return next(
            (
                (i, s)
                for i, s in enumerate(self.spec.subscriptions)
                if (s.consumer, s.product) == (consumer, product)
            ),
            None,
        )

    def require(self, key: str) -> tuple[int, Subscription]:
        consumer, product = parse_key(key)
        found = self.find(consumer, product)
        if found is None:
            known = [s.key for s in self.spec.subscriptions]
            raise EditError(_unknown("", "subscription", key, known))
        return found

    def decision(
        self, index: int, sub: Subscription, status: SubscriptionStatus, by: str | None
    ) -> FileEdit:
        doc, local = self.source.locate(("subscriptions", index))
        file = self.file(doc.file)
        before = _read(file)
        if sub.status is status and sub.approved_by == by:
            return FileEdit(file, before, before, sub.key)  # already so: nothing to write
        after = decide(before, int(local[1]), status, by)
        verb = "approve" if status is SubscriptionStatus.APPROVED else "deny"
        return self.checked(FileEdit(file, before, after, sub.key), verb)

    def checked(self, edit: FileEdit, verb: str) -> FileEdit:
        """``edit`` once the whole mesh with it passes validation."""
        try:
            load_spec(self.path, {edit.file: edit.after.encode("utf-8")})
        except ValidationError as exc:
            problems = "\n".join(f"  {p}" for p in exc.problems)
            raise InvalidEdit(
                f"{verb} {edit.subscription} would make the mesh invalid; nothing was written "
                f"(lines as in the edited file; --dry-run prints it):\n{problems}",
                edit.diff(),
            ) from None
        return edit


def _read(file: Path) -> str:
    # newline="" keeps \r\n as it is: the edit writes the file's own line endings back
    with file.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _unknown(option: str, kind: str, name: str, known: list[str]) -> str:
    hint = show_name(did_you_mean(name, known), 400)
    where = f"{option}: " if option else ""
    return f"{where}unknown {kind} {show_value(name)} ({hint}); nothing was written"
