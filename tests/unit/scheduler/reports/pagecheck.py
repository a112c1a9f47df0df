"""Checks that an HTML page is self-contained and well-formed (used by the unit and the
integration tests): balanced tags, no script, nothing fetched from elsewhere, and each
inline ``<svg>`` a well-formed XML document of its own."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
SVG_NS = "{http://www.w3.org/2000/svg}"


@dataclass
class Page:
    tags: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    svgs: list[ET.Element] = field(default_factory=list)
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[str] = []
        self.chunks: list[str] = []

    def _attrs(self, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset") and value:
                self.page.refs.append(value)
            if name.startswith("on"):
                self.page.errors.append(f"event handler attribute {name}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append(tag)
        self._attrs(attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append(tag)
        self._attrs(attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.page.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def check_page(html: str) -> Page:
    """Parse ``html``; raise AssertionError unless it is well-formed and self-contained."""
    page = Page()
    parser = _Parser(page)
    parser.feed(html)
    parser.close()
    page.text = "".join(parser.chunks)
    assert html.startswith("<!DOCTYPE html>")
    assert not page.errors, page.errors
    assert not parser.stack, f"unclosed: {parser.stack}"
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert not page.refs, f"external references: {page.refs}"
    assert "url(" not in html and "@import" not in html
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.DOTALL):
        root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
        assert root.tag == f"{SVG_NS}svg"
        page.svgs.append(root)
    assert len(page.svgs) == page.tags.count("svg")
    return page
