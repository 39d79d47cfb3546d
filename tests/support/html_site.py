"""Reading the catalog's pages as a browser parses them (``html.parser``), not as strings.

``parse(text)`` gives a small element tree; ``Site`` holds every page of a written (or rendered)
site and resolves a page's relative links the way a browser does from ``file://``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

VOID = {"meta", "link", "input", "br", "img", "hr", "source", "wbr", "area", "base", "col"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Element) -> None:
            for child in node.children:
                parts.append(child) if isinstance(child, str) else walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements of ``tag`` (any when None) whose attributes hold these values; ``class_``
        matches one class of the element."""
        found = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_has(node, key, value) for key, value in attrs.items()):
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'} {attrs}> in the page"
        return found[0]


def _has(node: Element, key: str, value: str) -> bool:
    if key == "class_":
        return value in node.attrs.get("class", "").split()
    return node.attrs.get(key.replace("_", "-")) == value


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    assert len(builder.stack) == 1, f"unclosed <{builder.stack[-1].tag}>"
    return builder.root


@dataclass
class Site:
    pages: Mapping[str, str]  # path relative to the site's root -> text

    @classmethod
    def read(cls, folder: Path) -> Site:
        return cls(
            {
                p.relative_to(folder).as_posix(): p.read_text("utf-8")
                for p in folder.rglob("*")
                if p.is_file()
            }
        )

    def page(self, path: str) -> Element:
        return parse(self.pages[path])

    def html_pages(self) -> list[str]:
        return sorted(p for p in self.pages if p.endswith(".html"))

    def links(self, path: str) -> list[tuple[str, str, str]]:
        """Every relative reference of a page as (href, target path, fragment): ``a``,
        ``link`` and ``script`` elements; absolute URLs (edit links) are left out."""
        found = []
        for node in self.page(path).iter():
            href = node.attrs.get("href") or node.attrs.get("src")
            if not href or node.tag not in ("a", "link", "script"):
                continue
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue
            assert not parts.path.startswith("/"), f"{path}: {href} is not relative"
            base = posixpath.dirname(path)
            target = (
                posixpath.normpath(posixpath.join(base, unquote(parts.path)))
                if (parts.path)
                else path
            )
            found.append((href, target, parts.fragment))
        return found
