"""Message text written in Markdown: safe HTML for the thread, plain text for e-mails, mentions and evidence.

Pure functions, no database. Two independent layers keep what an author types from becoming markup:

1. Python-Markdown runs with raw HTML switched off (the ``html_block`` preprocessor and the ``html``
   inline pattern are removed), so ``<script>`` typed in a message is text, and a tree pass turns
   images into plain links, drops links whose scheme is not http, https or mailto, and shifts
   headings down two levels (``#`` is ``<h3>``) so a message never out-ranks the page.
2. nh3 then sanitises the result against a fixed allow-list of tags, attributes and URL schemes,
   and gives every link ``rel="noopener noreferrer nofollow"``.

Of Python-Markdown's "extra" only ``fenced_code`` and ``tables`` are used: the rest (``md_in_html``,
``attr_list``, ``abbr``, ``footnotes``, ``def_list``) pass raw HTML or produce attributes and tags the
allow-list would strip anyway. Single newlines are line breaks (``nl2br``), as in chat and e-mail,
and ``~~text~~`` is struck through.

Relative links (``[case](/cases/ID-2024-000001/)``) are kept: evidence links are relative too, and
a relative URL can only lead to this portal. Bare ``http(s)://`` URLs become links; text inside
code, ``<pre>`` and links is never linked, mentioned or referenced.

Input is capped at ``MAX_SOURCE_LENGTH`` characters, control characters and lone surrogates are
dropped, nesting of quotes and list markers on one line is capped, and the link scanner has a work
budget, so no input makes rendering slow; anything Python-Markdown still chokes on is shown as
escaped text. None of the functions raises.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as etree
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

# Python-Markdown ships no type information (no py.typed); its classes are Any to mypy.
from markdown import Markdown  # type: ignore[import-untyped]
from markdown.blockparser import BlockParser  # type: ignore[import-untyped]
from markdown.blockprocessors import (  # type: ignore[import-untyped]
    BlockQuoteProcessor,
    HashHeaderProcessor,
    HRProcessor,
    SetextHeaderProcessor,
)
from markdown.extensions import Extension  # type: ignore[import-untyped]
from markdown.extensions.fenced_code import FencedCodeExtension  # type: ignore[import-untyped]
from markdown.extensions.nl2br import Nl2BrExtension  # type: ignore[import-untyped]
from markdown.extensions.sane_lists import SaneListExtension  # type: ignore[import-untyped]
from markdown.extensions.tables import TableExtension, TableProcessor  # type: ignore[import-untyped]
from markdown.inlinepatterns import (  # type: ignore[import-untyped]
    IMAGE_LINK_RE,
    IMAGE_REFERENCE_RE,
    LINK_RE,
    REFERENCE_RE,
    ImageInlineProcessor,
    ImageReferenceInlineProcessor,
    LinkInlineProcessor,
    ReferenceInlineProcessor,
    ShortImageReferenceInlineProcessor,
    ShortReferenceInlineProcessor,
    SimpleTagInlineProcessor,
)
from markdown.treeprocessors import Treeprocessor  # type: ignore[import-untyped]
from markdown.util import nearing_recursion_limit  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

MAX_SOURCE_LENGTH = 20_000
TRUNCATION_MARK = "…"

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del", "sup", "sub",
})
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {"a": frozenset({"href", "title"})}
ALLOWED_ATTRIBUTE_VALUES: Mapping[str, Mapping[str, frozenset[str]]] = {
    "th": {"align": frozenset({"left", "center", "right"})},
    "td": {"align": frozenset({"left", "center", "right"})},
}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
MENTION_CLASS = "mention"
# Dropped with their content should they ever reach the sanitiser; every other unknown tag is
# unwrapped and its text kept.
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "textarea", "select", "title",
})

# Deeper quoting than this ("> > > …" or "- - - …" on one line) is flattened: nobody reads it,
# and each level costs recursion in Python-Markdown and time in the sanitiser.
MAX_MARKER_DEPTH = 16
# How far Python-Markdown may look for the "]" closing a link text and the ")" closing its URL, and
# how much looking one message may do in all. Its scanners are Python loops from every "[", which
# turns "[[[[…" into minutes; past the budget the remaining brackets are text.
LINK_TEXT_WINDOW = 1_000
LINK_TARGET_WINDOW = 4_096
LINK_SCAN_BUDGET = 200_000

_HEADING_SHIFT = 2
_INERT_TAGS = frozenset({"a", "code", "pre"})
# C0/C1 controls but tab and newline (STX/ETX would forge Python-Markdown's placeholders), and
# lone surrogates, which cannot be encoded for nh3.
_UNWANTED_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_MARKER = r"[ \t]*(?:>|[-+*][ \t]|[0-9]{1,9}[.)][ \t])"
_DEEP_MARKERS = re.compile(rf"^(?P<kept>(?:{_MARKER}){{{MAX_MARKER_DEPTH}}})(?:{_MARKER})+", re.MULTILINE)
_TOKENS = re.compile(
    r"(?P<url>\b(?i:https?)://[^\s<>\"'`\x00-\x1f\x7f]+)"
    r"|(?<![\w@.+\-])@(?P<mention>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)(?![\w@])"
    r"|(?<![\w#&/])#E(?P<evidence>[0-9]{1,9})(?!\w)"
)
_TAIL_SEARCH_MIN_LENGTH = 1_000
_TABLE_SEPARATOR_CHARS = frozenset("|:- ")
_URL_TRAILING = ".,:;!?'\"*_~"
_URL_IGNORED_CHARS = re.compile(r"[\s\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2060\ufeff]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_MAX_UNESCAPES = 4


def render_markdown(text: str, *, evidence_urls: Mapping[int, str] | None = None) -> str:
    """Markdown → a safe subset of HTML, as a plain str for the caller to ``mark_safe``.

    ``#E123`` becomes a link when 123 is a key of ``evidence_urls`` (give only the evidence of the
    message's own case), and stays text otherwise. ``@someone@example.org`` is wrapped in
    ``<strong class="mention">``, the one class the sanitiser lets through.
    """
    source = _prepare(text)
    if not source.strip():
        return ""
    try:
        body, _ = _convert(source, evidence_urls or {})
    except Exception:  # A message that breaks the parser is still shown, escaped.
        logger.warning("Markdown rendering failed; showing the message as escaped text", exc_info=True)
        body = _escaped_paragraphs(source)
    return _sanitise(body)


def plain_text(text: str) -> str:
    """Markdown → plain text for e-mails and previews.

    No tags, entities unescaped, links written as ``text (url)`` (just the URL when the text is
    the URL; relative links keep only their text). The result is text, not HTML: anything the author
    typed, ``<b>`` included, comes back literally, so escape it wherever it goes into HTML.
    """
    source = _prepare(text)
    try:
        writer = _PlainTextWriter()
        writer.feed(render_markdown(source))
        writer.close()
        return writer.text()
    except Exception:  # The source is the next best plain text.
        logger.warning("Markdown to plain text failed; returning the source", exc_info=True)
        return source.strip()


def find_mentions(text: str) -> list[str]:
    """E-mail addresses mentioned as ``@someone@example.org``: lower-cased, unique, in order.

    Addresses in code spans, code blocks and link texts, and addresses written without the leading
    ``@``, are not mentions.
    """
    return _findings(text).mentions


def find_evidence_refs(text: str) -> list[int]:
    """Evidence ids referred to as ``#E123`` outside code and links: unique, in order."""
    return _findings(text).evidence


# Preparing the source


def _prepare(text: object) -> str:
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    if len(text) > MAX_SOURCE_LENGTH:
        text = text[: MAX_SOURCE_LENGTH - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNWANTED_CHARS.sub(_replace_unwanted, text)
    return _DEEP_MARKERS.sub(r"\g<kept>", text)


def _replace_unwanted(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def _escaped_paragraphs(source: str) -> str:
    paragraphs = (part.strip() for part in re.split(r"\n[ \t]*\n", source))
    return "".join(
        "<p>" + html.escape(part).replace("\n", "<br>") + "</p>" for part in paragraphs if part
    )


# Converting


@dataclass
class _Findings:
    mentions: list[str] = field(default_factory=list)
    evidence: list[int] = field(default_factory=list)

    def add_mention(self, address: str) -> None:
        address = address.lower()
        if address not in self.mentions:
            self.mentions.append(address)

    def add_evidence(self, number: int) -> None:
        if number not in self.evidence:
            self.evidence.append(number)


def _findings(text: str) -> _Findings:
    source = _prepare(text)
    try:
        _, findings = _convert(source, {})
    except Exception:  # Same tokens, found in the raw text.
        logger.warning("Markdown parsing failed; scanning the raw text", exc_info=True)
        findings = _Findings()
        for match in _TOKENS.finditer(source):
            if match.group("mention"):
                findings.add_mention(match.group("mention"))
            elif match.group("evidence"):
                findings.add_evidence(int(match.group("evidence")))
    return findings


def _convert(source: str, evidence_urls: Mapping[int, str]) -> tuple[str, _Findings]:
    findings = _Findings()
    md = Markdown(
        extensions=[
            FencedCodeExtension(),
            TableExtension(use_align_attribute=True),
            Nl2BrExtension(),
            SaneListExtension(),
            _MessageExtension(evidence_urls=evidence_urls, findings=findings),
        ],
        output_format="html",
    )
    return md.convert(source), findings


def _sanitise(body: str) -> str:
    return nh3.clean(
        body,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in names.items()}
            for tag, names in ALLOWED_ATTRIBUTE_VALUES.items()
        },
        allowed_classes={"strong": {MENTION_CLASS}},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _is_allowed_url(url: str) -> bool:
    """True for http, https, mailto and relative URLs, however the scheme is disguised."""
    for _ in range(_MAX_UNESCAPES):  # Until stable: "&amp;#106;" must not hide a "j".
        unescaped = html.unescape(url)
        if unescaped == url:
            break
        url = unescaped
    else:
        return False  # Still changing: entities nested on purpose.
    match = _SCHEME.match(_URL_IGNORED_CHARS.sub("", url).lower())
    return match is None or match.group(1) in ALLOWED_SCHEMES


class _MessageExtension(Extension):  # type: ignore[misc]  # Extension is Any (untyped package)
    def __init__(self, *, evidence_urls: Mapping[int, str], findings: _Findings) -> None:
        super().__init__()
        self.evidence_urls = evidence_urls
        self.findings = findings

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        blockprocessors = md.parser.blockprocessors
        blockprocessors.register(_HashHeadingProcessor(md.parser), "hashheader", 70)
        blockprocessors.register(_SetextHeadingProcessor(md.parser), "setextheader", 60)
        blockprocessors.register(_RuleProcessor(md.parser), "hr", 50)
        blockprocessors.register(_QuoteProcessor(md.parser), "quote", 20)
        table = blockprocessors["table"]
        blockprocessors.register(_TableProcessor(md.parser, table.config), "table", 75)
        budget = _ScanBudget(LINK_SCAN_BUDGET)
        bounded = (
            (_BoundedReference, REFERENCE_RE, "reference", 170),
            (_BoundedLink, LINK_RE, "link", 160),
            (_BoundedImage, IMAGE_LINK_RE, "image_link", 150),
            (_BoundedImageReference, IMAGE_REFERENCE_RE, "image_reference", 140),
            (_BoundedShortReference, REFERENCE_RE, "short_reference", 130),
            (_BoundedShortImageReference, IMAGE_REFERENCE_RE, "short_image_ref", 125),
        )
        for cls, pattern, name, priority in bounded:
            md.inlinePatterns.register(cls(pattern, md, budget), name, priority)
        md.inlinePatterns.register(
            SimpleTagInlineProcessor(r"(~~)([^~\n]{1,1000}?)~~", "del"), "strikethrough", 65
        )
        # After Python-Markdown's own "unescape" (priority 0), so text and attributes are final.
        md.treeprocessors.register(
            _MessageTreeprocessor(md, evidence_urls=self.evidence_urls, findings=self.findings),
            "liaison_message",
            -10,
        )


class _HashHeadingProcessor(HashHeaderProcessor):  # type: ignore[misc]  # untyped base
    """``# Title`` needs the space, as in CommonMark: ``#E12 is the screenshot`` is not a heading."""

    RE = re.compile(
        r"(?:^|\n)(?P<level>#{1,6})(?=[ \t]|\n|$)(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)"
    )

    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.search(block) is not None


class _RuleProcessor(HRProcessor):  # type: ignore[misc]  # untyped base
    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.SEARCH_RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        self.match = self.search(block)  # Python-Markdown's run() takes the match from here.
        return self.match is not None


class _QuoteProcessor(BlockQuoteProcessor):  # type: ignore[misc]  # untyped base
    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.search(block) is not None and not nearing_recursion_limit()


class _TailSearch:
    """``pattern.search(block)``, made cheap for blocks that are the tail of the block searched before.

    Python-Markdown takes lines off the front of a long block one at a time (headings, rules, link
    definitions) and asks the other processors about the rest again; searching all of the rest each
    time is quadratic in lines. The places where a match can start in a tail are those of the whole
    block that lie in it, so they are listed once and looked up.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.block = ""
        self.starts: list[int] = []

    def __call__(self, block: str) -> re.Match[str] | None:
        if len(block) < _TAIL_SEARCH_MIN_LENGTH:
            return self.pattern.search(block)
        offset = len(self.block) - len(block)
        # Tails begin at a line start, so "^" and "\n" anchors mean the same in tail and block.
        is_tail = offset >= 0 and (offset == 0 or self.block[offset - 1] == "\n") and self.block.endswith(block)
        if not is_tail:
            self.block, self.starts, offset = block, self._starts(block), 0
        # A match at the tail's first line may start at the newline before it.
        at = bisect_left(self.starts, offset - 1)
        if at == len(self.starts):
            return None
        return self.pattern.search(block, max(self.starts[at] - offset, 0))

    def _starts(self, block: str) -> list[int]:
        starts: list[int] = []
        match = self.pattern.search(block)
        while match is not None:  # Every start, overlapping ones too: a match may hide the next.
            starts.append(match.start())
            match = self.pattern.search(block, match.start() + 1)
        return starts


class _SetextHeadingProcessor(SetextHeaderProcessor):  # type: ignore[misc]  # untyped base
    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        # Python-Markdown splits the whole block to take two lines off it: quadratic in lines.
        lines = blocks.pop(0).split("\n", 2)
        level = 1 if lines[1].startswith("=") else 2
        heading = etree.SubElement(parent, f"h{level}")
        heading.text = lines[0].strip()
        if len(lines) > 2:
            blocks.insert(0, lines[2])


class _TableProcessor(TableProcessor):  # type: ignore[misc]  # untyped base
    def test(self, parent: etree.Element, block: str) -> bool:
        # Python-Markdown splits the whole block to look at its first two rows; it is asked again
        # each time a heading or rule takes a line off a long block. Look at two rows; only a
        # one-column table needs every row checked.
        head = block.split("\n", 2)
        if len(head) < 2 or "|" not in head[0] or not set(head[1].strip(" ")) <= _TABLE_SEPARATOR_CHARS:
            return False
        if not super().test(parent, "\n".join(head[:2])):
            return False
        return len(self.separator) > 1 or bool(super().test(parent, block))


class _ScanBudget:
    def __init__(self, remaining: int) -> None:
        self.remaining = remaining


class _BoundedLink(LinkInlineProcessor):  # type: ignore[misc]  # untyped base
    """Python-Markdown's link scanners, confined to a window and a per-message budget."""

    def __init__(self, pattern: str, md: Markdown, budget: _ScanBudget) -> None:
        super().__init__(pattern, md)
        self.budget = budget

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802
        window = data[index : index + max(0, min(LINK_TEXT_WINDOW, self.budget.remaining))]
        if "]" not in window:
            return "", index, False
        text, end, handled = super().getText(window, 0)
        self.budget.remaining -= end
        return text, index + end, handled

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        window = data[index : index + max(0, min(LINK_TARGET_WINDOW, self.budget.remaining))]
        if ")" not in window:
            return "", None, index, False
        href, title, end, handled = super().getLink(window, 0)
        # Python-Markdown can report an end before the start on '[a](b "(' input; refuse it.
        handled = handled and end > 0
        self.budget.remaining -= end if handled else len(window)
        return href, title, index + end, handled


class _BoundedImage(_BoundedLink, ImageInlineProcessor):  # type: ignore[misc]
    pass


class _BoundedReference(_BoundedLink, ReferenceInlineProcessor):  # type: ignore[misc]
    pass


class _BoundedShortReference(_BoundedLink, ShortReferenceInlineProcessor):  # type: ignore[misc]
    pass


class _BoundedImageReference(_BoundedLink, ImageReferenceInlineProcessor):  # type: ignore[misc]
    pass


class _BoundedShortImageReference(_BoundedLink, ShortImageReferenceInlineProcessor):  # type: ignore[misc]
    pass


@dataclass
class _TextSlot:
    """The text of ``element`` (``tail`` false) or the text after it in ``parent`` (``tail`` true)."""

    element: etree.Element
    parent: etree.Element | None
    tail: bool


@dataclass
class _Frame:
    element: etree.Element
    parent: etree.Element | None
    children: Iterator[etree.Element]
    inert: bool  # Inside code or a link: no links, mentions or references made here.
    in_link: bool


class _MessageTreeprocessor(Treeprocessor):  # type: ignore[misc]  # untyped base
    def __init__(self, md: Markdown, *, evidence_urls: Mapping[int, str], findings: _Findings) -> None:
        super().__init__(md)
        self.evidence_urls = evidence_urls
        self.findings = findings

    def run(self, root: etree.Element) -> None:
        for slot in self._live_text_slots(root):
            self._link_text(slot)

    def _live_text_slots(self, root: etree.Element) -> list[_TextSlot]:
        """Fix elements up and list, in document order, the text outside code and links.

        Iterative, so nesting costs no recursion.
        """
        slots = [_TextSlot(root, None, tail=False)]
        stack = [_Frame(root, None, iter(list(root)), inert=False, in_link=False)]
        while stack:
            frame = stack[-1]
            child = next(frame.children, None)
            if child is None:
                stack.pop()
                if frame.parent is not None and not stack[-1].inert:
                    slots.append(_TextSlot(frame.element, frame.parent, tail=True))
                continue
            _fix_element(child, inside_link=frame.in_link)
            inert = frame.inert or child.tag in _INERT_TAGS
            if not inert:
                slots.append(_TextSlot(child, frame.element, tail=False))
            in_link = frame.in_link or child.tag == "a"
            stack.append(_Frame(child, frame.element, iter(list(child)), inert=inert, in_link=in_link))
        return slots

    def _link_text(self, slot: _TextSlot) -> None:
        text = slot.element.tail if slot.tail else slot.element.text
        if not text:
            return
        pieces: list[str | etree.Element] = []
        position = 0
        for match in _TOKENS.finditer(text):
            element, end = self._element_for(match)
            if element is None:
                continue
            pieces.append(text[position : match.start()])
            pieces.append(element)
            position = end
        if not pieces:
            return
        pieces.append(text[position:])
        head, *rest = pieces
        assert isinstance(head, str)
        new_elements: list[etree.Element] = []
        for piece in rest:
            if isinstance(piece, str):
                new_elements[-1].tail = (new_elements[-1].tail or "") + piece or None
            else:
                new_elements.append(piece)
        if slot.tail:
            assert slot.parent is not None
            slot.element.tail = head or None
            at = list(slot.parent).index(slot.element) + 1
            container = slot.parent
        else:
            slot.element.text = head or None
            at = 0
            container = slot.element
        for offset, new in enumerate(new_elements):
            container.insert(at + offset, new)

    def _element_for(self, match: re.Match[str]) -> tuple[etree.Element | None, int]:
        if match.group("url"):
            url = _trim_url(match.group("url"))
            if not url or not _is_allowed_url(url):
                return None, match.end()
            link = etree.Element("a", {"href": url})
            link.text = url
            return link, match.start() + len(url)
        if match.group("mention"):
            self.findings.add_mention(match.group("mention"))
            mention = etree.Element("strong", {"class": MENTION_CLASS})
            mention.text = match.group()
            return mention, match.end()
        number = int(match.group("evidence"))
        self.findings.add_evidence(number)
        url = self.evidence_urls.get(number)
        if not isinstance(url, str) or not _is_allowed_url(url):
            return None, match.end()
        link = etree.Element("a", {"href": url})
        link.text = match.group()
        return link, match.end()


def _fix_element(element: etree.Element, *, inside_link: bool) -> None:
    """Shift headings, make images links (or text inside links), unwrap links to unsafe URLs."""
    tag = element.tag
    if isinstance(tag, str) and len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
        element.tag = f"h{min(int(tag[1]) + _HEADING_SHIFT, 6)}"
    elif tag == "img":
        src, alt, title = element.get("src", ""), element.get("alt", ""), element.get("title")
        element.attrib.clear()
        if inside_link or not src or not _is_allowed_url(src):
            element.tag = "span"  # Not allowed: the sanitiser unwraps it and keeps the text.
            element.text = alt or None
        else:
            element.tag = "a"
            element.set("href", src)
            if title:
                element.set("title", title)
            element.text = alt or src
    elif tag == "a":
        href = element.get("href")
        if href is not None and not _is_allowed_url(href):
            element.tag = "span"
            element.attrib.clear()


def _trim_url(url: str) -> str:
    """Drop the sentence around a bare URL: trailing punctuation and unbalanced closing brackets."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING:
            url = url[:-1]
        elif last in ")]}" and url.count(last) > url.count({")": "(", "]": "[", "}": "{"}[last]):
            url = url[:-1]
        else:
            break
    return url if "://" in url and not url.endswith("://") else ""


# Plain text


class _PlainTextWriter(HTMLParser):
    """Walks the sanitised HTML (so a closed, well-formed set of tags) and writes text."""

    _BLOCKS = frozenset({"p", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Text is written to the innermost frame; links, quotes and code blocks are captured whole
        # and written to their parent when they end.
        self._frames: list[list[str]] = [[]]
        self._hrefs: list[str | None] = []
        self._lists: list[list[int]] = []  # [number of the next item, 0 for bullets]
        self._pre = 0
        self._cells = 0
        self._tables = 0
        self._in_cell = False

    def text(self) -> str:
        while len(self._frames) > 1:  # Unclosed capture: keep its text.
            self._write("".join(self._frames.pop()))
        lines = (line.rstrip() for line in "".join(self._frames[0]).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS and not self._lists:
            self._break(2)
        if tag in {"ul", "ol"}:
            if self._lists:
                self._break(1)
            self._lists.append([1 if tag == "ol" else 0])
        elif tag == "li":
            self._break(1)
            counter = self._lists[-1] if self._lists else [0]
            marker = f"{counter[0]}. " if counter[0] else "- "
            if counter[0]:
                counter[0] += 1
            self._write("  " * max(len(self._lists) - 1, 0) + marker)
        elif tag in {"p", "pre", "blockquote", "table", "h3", "h4", "h5", "h6"} and self._lists:
            if not self._current_line_is_marker():
                self._break(1)
        if tag == "br":
            self._write("\n")
        elif tag == "hr":
            self._write("----")
            self._break(2)
        elif tag == "table":
            self._tables += 1
        elif tag == "tr":
            self._break(1)
            self._cells = 0
        elif tag in {"td", "th"}:
            if self._cells:
                self._write(" | ")
            self._cells += 1
            self._in_cell = True
        elif tag == "a":
            self._hrefs.append(dict(attrs).get("href"))
            self._frames.append([])
        elif tag in {"blockquote", "pre"}:
            self._pre += tag == "pre"
            self._frames.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._hrefs and len(self._frames) > 1:
            self._write(_link_as_text(self._normalised("".join(self._frames.pop())), self._hrefs.pop()))
        elif tag == "blockquote" and len(self._frames) > 1:
            quoted = "".join(self._frames.pop()).strip("\n")
            quoted = re.sub(r"\n{3,}", "\n\n", quoted)
            self._write("\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))
        elif tag == "pre" and len(self._frames) > 1:
            self._pre = max(self._pre - 1, 0)
            code = "".join(self._frames.pop()).strip("\n")
            self._write("\n".join(f"    {line}".rstrip() for line in code.split("\n")))
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
            data = self._normalised(data)
            if self._at_line_start():
                data = data.lstrip(" ")
        self._write(data)

    def _normalised(self, data: str) -> str:
        return data if self._pre else re.sub(r"[ \t\n\r\f]+", " ", data)

    def _write(self, text: str) -> None:
        if text:
            self._frames[-1].append(text)

    def _tail(self) -> str:
        return "".join(self._frames[-1][-3:])

    def _at_line_start(self) -> bool:
        tail = self._tail()
        return not tail or tail.endswith("\n") or self._current_line_is_marker()

    def _current_line_is_marker(self) -> bool:
        line = self._tail().rsplit("\n", 1)[-1]
        return re.fullmatch(r" *(?:-|[0-9]+\.) ", line) is not None

    def _break(self, newlines: int) -> None:
        frame = self._frames[-1]
        if not frame:
            return
        tail = self._tail()
        present = len(tail) - len(tail.rstrip("\n"))
        if present < newlines:
            frame.append("\n" * (newlines - present))


def _link_as_text(text: str, href: str | None) -> str:
    text = text.strip()
    if not href or _SCHEME.match(href.lower()) is None:
        return text
    if not text or text in {href, href.removeprefix("mailto:")}:
        return href.removeprefix("mailto:") if href.startswith("mailto:") else href
    return f"{text} ({href})"
