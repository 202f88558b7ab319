"""The sanitised HTML of a message written as plain text, for e-mails, previews and reports.

Pure, no database. The input is what cases.markdown.render_markdown returns (a closed, well-formed set of
allowed tags); links become ``text (url)``, list items ``- item`` / ``1. item``, quotes ``> line``, code
blocks are indented four spaces.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser

_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")


def html_as_text(sanitised_html: str) -> str:
    writer = _PlainTextWriter()
    writer.feed(sanitised_html)
    writer.close()
    return writer.text()


@dataclass
class _Capture:
    """Text of an element written whole when it ends: a link, a quote, a code block."""

    tag: str
    href: str | None = None
    parts: list[str] = field(default_factory=list)


class _PlainTextWriter(HTMLParser):
    """Writes the sanitised HTML (a closed, well-formed set of tags) as plain text."""

    _BLOCKS = frozenset({"p", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote", "hr"})
    _CAPTURED = frozenset({"a", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._captures = [_Capture("")]
        self._lists: list[list[int]] = []  # [number of the next item], 0 for bullets
        self._pre = 0
        self._tables = 0
        self._cells = 0
        self._in_cell = False

    def text(self) -> str:
        while len(self._captures) > 1:  # Unclosed: keep the text.
            self._write("".join(self._captures.pop().parts))
        lines = (line.rstrip() for line in "".join(self._captures[0].parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            if not self._lists:
                self._break(2)
            elif tag not in {"ul", "ol"} and not self._at_item_start():
                self._break(1)
        if tag in {"ul", "ol"}:
            self._break(1)
            self._lists.append([1 if tag == "ol" else 0])
        elif tag == "li":
            self._break(1)
            counter = self._lists[-1] if self._lists else [0]
            self._write("  " * max(len(self._lists) - 1, 0) + (f"{counter[0]}. " if counter[0] else "- "))
            if counter[0]:
                counter[0] += 1
        elif tag == "br":
            self._write("\n")
        elif tag == "hr":
            self._write("----")
        elif tag == "table":
            self._tables += 1
        elif tag == "tr":
            self._break(1)
            self._cells = 0
        elif tag in {"td", "th"}:
            self._write(" | " if self._cells else "")
            self._cells += 1
            self._in_cell = True
        if tag in self._CAPTURED:
            self._pre += tag == "pre"
            self._captures.append(_Capture(tag, href=dict(attrs).get("href") if tag == "a" else None))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._CAPTURED and self._captures[-1].tag == tag:
            capture = self._captures.pop()
            content = "".join(capture.parts)
            if tag == "a":
                self._write(_link_as_text(content, capture.href))
            elif tag == "blockquote":
                quoted = re.sub(r"\n{3,}", "\n\n", content.strip("\n"))
                self._write("\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))
            else:
                self._pre = max(self._pre - 1, 0)
                self._write("\n".join(f"    {line}".rstrip() for line in content.strip("\n").split("\n")))
        elif tag in {"ul", "ol"} and self._lists:
            self._lists.pop()
        elif tag == "table":
            self._tables = max(self._tables - 1, 0)
        elif tag in {"td", "th"}:
            self._in_cell = False
        if tag in self._BLOCKS and not self._lists:
            self._break(2)
        elif tag in {"li", "table"}:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._tables and not self._in_cell:
            return  # Layout whitespace between rows and cells.
        if not self._pre:
            data = re.sub(r"[ \t\n\r\f]+", " ", data)
            if self._at_line_start():
                data = data.lstrip(" ")
        self._write(data)

    def _write(self, text: str) -> None:
        if text:
            self._captures[-1].parts.append(text)

    def _tail(self) -> str:
        return "".join(self._captures[-1].parts[-3:])

    def _at_line_start(self) -> bool:
        tail = self._tail()
        return not tail or tail.endswith("\n") or self._at_item_start()

    def _at_item_start(self) -> bool:
        line = self._tail().rsplit("\n", 1)[-1]
        return re.fullmatch(r" *(?:-|[0-9]+\.) ", line) is not None

    def _break(self, newlines: int) -> None:
        parts = self._captures[-1].parts
        if not parts:
            return
        tail = self._tail()
        present = len(tail) - len(tail.rstrip("\n"))
        if present < newlines:
            parts.append("\n" * (newlines - present))


def _link_as_text(text: str, href: str | None) -> str:
    text = text.strip()
    if not href or _SCHEME.match(href.lower()) is None:
        return text
    address = href.removeprefix("mailto:") if href.lower().startswith("mailto:") else href
    if not text or text in {href, address}:
        return address
    if text == urllib.parse.unquote(address):  # "<http://x.org/ü>": markdown-it encoded the URL only.
        return text
    return f"{text} ({href})"
