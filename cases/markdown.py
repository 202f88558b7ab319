"""Messages written in Markdown: safe HTML for the thread, plain text for e-mails, mentions and evidence.

Pure functions, no database. Two independent layers keep what an author types from becoming markup:

1. Python-Markdown runs with raw HTML switched off (the ``html_block`` preprocessor and the ``html``
   inline pattern are removed), so ``<script>`` typed in a message is text. A pass over its tree
   then turns images into plain links (nothing is fetched from outside), unwraps links whose scheme
   is not http, https or mailto, and shifts headings down two levels (``#`` is ``<h3>``) so that a
   message never out-ranks the page.
2. nh3 sanitises the result against a fixed allow-list of tags, attributes and URL schemes, and gives
   every link ``rel="noopener noreferrer nofollow"``.

Of Python-Markdown's "extra" only ``fenced_code`` and ``tables`` are used: the rest (``md_in_html``,
``attr_list``, ``abbr``, ``footnotes``, ``def_list``) pass raw HTML through or produce attributes and
tags the allow-list strips. Single newlines are line breaks (``nl2br``), as in chat and e-mail;
``~~text~~`` is struck through; ``#`` needs a space to make a heading, so ``#E12`` at the start of a
line stays a reference.

Relative links (``[the case](/cases/…/)``) are kept: evidence links are relative, and a relative URL
only leads within the portal. Bare ``http(s)://`` URLs become links. Nothing inside code spans, code
blocks or links is linked, mentioned or referenced.

Input is capped at ``MAX_SOURCE_LENGTH`` characters; control characters and lone surrogates are
dropped; quote and list markers nested on one line are capped; the parts of Python-Markdown that are
quadratic on hostile input (bracket scanning, re-testing a long block after each line is taken off
it) are bounded. Anything the parser still chokes on is shown as escaped text, so none of the
functions raises.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import threading
import xml.etree.ElementTree as etree
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

# Python-Markdown ships no type information (no py.typed marker): to mypy its names are Any.
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
MENTION_CLASS = "mention"
ALLOWED_CLASSES: Mapping[str, frozenset[str]] = {"strong": frozenset({MENTION_CLASS})}
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Should they ever reach the sanitiser, these go with their content; other unknown tags are
# unwrapped and their text kept.
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "textarea", "select", "title",
})

# Deeper nesting than this on one line ("> > > …", "- - - …") is flattened: nobody reads it, and
# each level costs recursion in Python-Markdown and time in the sanitiser.
MAX_MARKER_DEPTH = 16
# Python-Markdown looks for the "]" closing a link text and the ")" closing its URL with Python
# loops from every "[", so "[[[[…" takes minutes. Look this far, and this much in all per message;
# past the budget the remaining brackets are text.
LINK_TEXT_WINDOW = 1_000
LINK_TARGET_WINDOW = 4_096
LINK_SCAN_BUDGET = 200_000

_HEADING_SHIFT = 2
_INERT_TAGS = frozenset({"a", "code", "pre"})
# C0 and C1 controls but tab and newline (STX and ETX would forge Python-Markdown's placeholders),
# and lone surrogates, which cannot be handed to nh3.
_UNWANTED_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_MARKER = r"[ \t]*(?:>|[-+*][ \t]|[0-9]{1,9}[.)][ \t])"
_DEEP_MARKERS = re.compile(rf"^(?P<kept>(?:{_MARKER}){{{MAX_MARKER_DEPTH}}})(?:{_MARKER})+", re.MULTILINE)
_TOKENS = re.compile(
    r"(?P<url>\b(?i:https?)://[^\s<>\"'`\x00-\x1f\x7f]+)"
    r"|(?<![\w@.+\-])@(?P<mention>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)(?![\w@])"
    r"|(?<![\w#&/])#E(?P<evidence>[0-9]{1,9})(?!\w)"
)
_URL_TRAILING = ".,:;!?'\"*_~"
_URL_OPENERS = {")": "(", "]": "[", "}": "{"}
_URL_IGNORED_CHARS = re.compile(r"[\s\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2060\ufeff]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_MAX_UNESCAPES = 4
_TAIL_SEARCH_MIN_LENGTH = 1_000
_TABLE_SEPARATOR_CHARS = frozenset("|:- ")


def render_markdown(text: str, *, evidence_urls: Mapping[int, str] | None = None) -> str:
    """Markdown → a safe subset of HTML, as a plain str for the caller to ``mark_safe``.

    ``#E123`` becomes a link when 123 is a key of ``evidence_urls`` (pass the evidence of the
    message's own case only) and stays text otherwise. ``@someone@example.org`` becomes
    ``<strong class="mention">``, the one class the sanitiser lets through.
    """
    source = _prepare(text)
    if not source.strip():
        return ""
    try:
        body, _ = _convert(source, evidence_urls or {})
    except Exception:  # A message that breaks the parser is still shown, as escaped text.
        logger.warning("Markdown rendering failed; showing the message as escaped text", exc_info=True)
        body = _escaped_paragraphs(source)
    return _cleaner().clean(body)


def plain_text(text: str) -> str:
    """Markdown → plain text for e-mails and previews.

    No tags, entities unescaped, links as ``text (url)`` (the URL alone when it is the text; relative
    links keep only their text), list items as ``- item`` / ``1. item``, quotes as ``> line``, code
    blocks indented four spaces. The result is text, not HTML: whatever the author typed, ``<b>``
    included, comes back literally, so it must be escaped wherever it goes into HTML.
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
    return list(_findings(text).mentions)


def find_evidence_refs(text: str) -> list[int]:
    """Evidence ids referred to as ``#E123`` outside code and links: unique, in order."""
    return list(_findings(text).evidence)


# The source


def _prepare(text: object) -> str:
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = "" if text is None else _as_str(text)
    if len(text) > MAX_SOURCE_LENGTH:
        text = text[: MAX_SOURCE_LENGTH - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNWANTED_CHARS.sub(_replace_unwanted, text)
    return _DEEP_MARKERS.sub(r"\g<kept>", text)


def _as_str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # Not text and not even printable: nothing to show.
        return ""


def _replace_unwanted(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def _escaped_paragraphs(source: str) -> str:
    paragraphs = (part.strip() for part in re.split(r"\n[ \t]*\n", source))
    return "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs if part)


# Converting


@dataclass
class _Findings:
    # Dicts as ordered sets.
    mentions: dict[str, None] = field(default_factory=dict)
    evidence: dict[int, None] = field(default_factory=dict)


def _findings(text: str) -> _Findings:
    source = _prepare(text)
    try:
        _, findings = _convert(source, {})
    except Exception:  # The same tokens, looked for in the raw text.
        logger.warning("Markdown parsing failed; scanning the raw text", exc_info=True)
        findings = _Findings()
        for match in _TOKENS.finditer(source):
            if match.group("mention"):
                findings.mentions[match.group("mention").lower()] = None
            elif match.group("evidence"):
                findings.evidence[int(match.group("evidence"))] = None
    return findings


_instances = threading.local()


def _convert(source: str, evidence_urls: Mapping[int, str]) -> tuple[str, _Findings]:
    # Building a Markdown instance costs more than most conversions, so each thread keeps one and
    # resets it; one that failed half-way is thrown away.
    instance: tuple[Markdown, _MessageExtension] | None = getattr(_instances, "markdown", None)
    if instance is None:
        extension = _MessageExtension()
        md = Markdown(
            extensions=[
                FencedCodeExtension(),
                TableExtension(use_align_attribute=True),
                Nl2BrExtension(),
                SaneListExtension(),
                extension,
            ],
            output_format="html",
        )
        instance = (md, extension)
    _instances.markdown = None
    md, extension = instance
    md.reset()
    findings = extension.start(evidence_urls)
    body = md.convert(source)
    extension.start({})
    _instances.markdown = instance
    return body, findings


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in names.items()}
            for tag, names in ALLOWED_ATTRIBUTE_VALUES.items()
        },
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
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


class _MessageExtension(Extension):  # type: ignore[misc]  # untyped base class
    def __init__(self) -> None:
        super().__init__()
        self.evidence_urls: Mapping[int, str] = {}
        self.findings = _Findings()
        self.budget = _ScanBudget()

    def start(self, evidence_urls: Mapping[int, str]) -> _Findings:
        """Get ready for the next message."""
        self.evidence_urls = evidence_urls
        self.findings = _Findings()
        self.budget.remaining = LINK_SCAN_BUDGET
        return self.findings

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")

        blocks = md.parser.blockprocessors
        blocks.register(_TableProcessor(md.parser, blocks["table"].config), "table", 75)
        blocks.register(_HashHeadingProcessor(md.parser), "hashheader", 70)
        blocks.register(_SetextHeadingProcessor(md.parser), "setextheader", 60)
        blocks.register(_RuleProcessor(md.parser), "hr", 50)
        blocks.register(_QuoteProcessor(md.parser), "quote", 20)

        bounded = (
            (_BoundedReference, REFERENCE_RE, "reference", 170),
            (_BoundedLink, LINK_RE, "link", 160),
            (_BoundedImage, IMAGE_LINK_RE, "image_link", 150),
            (_BoundedImageReference, IMAGE_REFERENCE_RE, "image_reference", 140),
            (_BoundedShortReference, REFERENCE_RE, "short_reference", 130),
            (_BoundedShortImageReference, IMAGE_REFERENCE_RE, "short_image_ref", 125),
        )
        for cls, pattern, name, priority in bounded:
            md.inlinePatterns.register(cls(pattern, md, self.budget), name, priority)
        md.inlinePatterns.register(
            SimpleTagInlineProcessor(r"(~~)([^~\n]{1,1000}?)~~", "del"), "strikethrough", 65
        )
        # After Python-Markdown's own "unescape" (priority 0): text and attributes are final.
        md.treeprocessors.register(_MessageTreeprocessor(md, self), "liaison_message", -10)


# Block processors: Python-Markdown's, minus their quadratic corners


class _TailSearch:
    """``pattern.search(block)``, cheap for a block that is the tail of the one searched before.

    Python-Markdown takes lines off the front of a long block one at a time (headings, rules, link
    definitions) and asks the other processors about the rest again; searching all of the rest each
    time is quadratic in lines. Where a match can start in a tail is where it can in the whole block,
    so those places are listed once and looked up.
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
        # A match on the tail's first line may start at the newline before it.
        at = bisect_left(self.starts, offset - 1)
        if at == len(self.starts):
            return None
        return self.pattern.search(block, max(self.starts[at] - offset, 0))

    def _starts(self, block: str) -> list[int]:
        starts: list[int] = []
        match = self.pattern.search(block)
        while match is not None:  # Overlapping starts too: one match may hide the next.
            starts.append(match.start())
            match = self.pattern.search(block, match.start() + 1)
        return starts


class _HashHeadingProcessor(HashHeaderProcessor):  # type: ignore[misc]  # untyped base class
    """``# Title`` needs the space, as in CommonMark: ``#E12 is the screenshot`` is not a heading."""

    RE = re.compile(
        r"(?:^|\n)(?P<level>#{1,6})(?=[ \t]|\n|$)(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)"
    )

    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.search(block) is not None


class _SetextHeadingProcessor(SetextHeaderProcessor):  # type: ignore[misc]  # untyped base class
    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        # Python-Markdown splits the whole block to take two lines off it.
        lines = blocks.pop(0).split("\n", 2)
        heading = etree.SubElement(parent, "h1" if lines[1].startswith("=") else "h2")
        heading.text = lines[0].strip()
        if len(lines) > 2:
            blocks.insert(0, lines[2])


class _RuleProcessor(HRProcessor):  # type: ignore[misc]  # untyped base class
    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.SEARCH_RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        self.match = self.search(block)  # Python-Markdown's run() takes the match from here.
        return self.match is not None


class _QuoteProcessor(BlockQuoteProcessor):  # type: ignore[misc]  # untyped base class
    def __init__(self, parser: BlockParser) -> None:
        super().__init__(parser)
        self.search = _TailSearch(self.RE)

    def test(self, parent: etree.Element, block: str) -> bool:
        return self.search(block) is not None and not nearing_recursion_limit()


class _TableProcessor(TableProcessor):  # type: ignore[misc]  # untyped base class
    def test(self, parent: etree.Element, block: str) -> bool:
        # Python-Markdown splits every row to look at the first two; only a one-column table needs
        # all of them checked.
        head = block.split("\n", 2)
        if len(head) < 2 or "|" not in head[0] or not set(head[1].strip(" ")) <= _TABLE_SEPARATOR_CHARS:
            return False
        if not super().test(parent, "\n".join(head[:2])):
            return False
        return len(self.separator) > 1 or bool(super().test(parent, block))


# Inline processors: links and images, bounded


class _ScanBudget:
    def __init__(self) -> None:
        self.remaining = LINK_SCAN_BUDGET


class _BoundedLink(LinkInlineProcessor):  # type: ignore[misc]  # untyped base class
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
        # On '[a](b "(' Python-Markdown reports an end before the start; that is no link.
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


# The tree: headings, images, link schemes, bare URLs, mentions, evidence


@dataclass
class _TextSlot:
    """The text of ``element`` (``tail`` false), or the text after it in ``parent`` (``tail`` true)."""

    element: etree.Element
    parent: etree.Element | None
    tail: bool


@dataclass
class _Frame:
    element: etree.Element
    parent: etree.Element | None
    children: Iterator[etree.Element]
    inert: bool  # Inside code or a link: nothing is linked, mentioned or referenced here.
    in_link: bool


class _MessageTreeprocessor(Treeprocessor):  # type: ignore[misc]  # untyped base class
    def __init__(self, md: Markdown, extension: _MessageExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, root: etree.Element) -> None:
        for slot in self._live_text_slots(root):
            self._link_text(slot)

    def _live_text_slots(self, root: etree.Element) -> list[_TextSlot]:
        """Fix elements up and list, in document order, the text outside code and links.

        Iterative, so nesting costs no recursion.
        """
        slots = [_TextSlot(root, None, tail=False)] if _may_hold_tokens(root.text) else []
        stack = [_Frame(root, None, iter(list(root)), inert=False, in_link=False)]
        while stack:
            frame = stack[-1]
            child = next(frame.children, None)
            if child is None:
                stack.pop()
                if frame.parent is not None and not stack[-1].inert and _may_hold_tokens(frame.element.tail):
                    slots.append(_TextSlot(frame.element, frame.parent, tail=True))
                continue
            _fix_element(child, inside_link=frame.in_link)
            inert = frame.inert or child.tag in _INERT_TAGS
            if not inert and _may_hold_tokens(child.text):
                slots.append(_TextSlot(child, frame.element, tail=False))
            if len(child):
                in_link = frame.in_link or child.tag == "a"
                stack.append(_Frame(child, frame.element, iter(list(child)), inert=inert, in_link=in_link))
            elif not frame.inert and _may_hold_tokens(child.tail):
                slots.append(_TextSlot(child, frame.element, tail=True))
        return slots

    def _link_text(self, slot: _TextSlot) -> None:
        text = slot.element.tail if slot.tail else slot.element.text
        if not text:
            return
        head: str | None = None
        made: list[etree.Element] = []
        position = 0
        for match in _TOKENS.finditer(text):
            element, end = self._element_for(match)
            if element is None:
                continue
            before = text[position : match.start()]
            if made:
                made[-1].tail = before or None
            else:
                head = before
            made.append(element)
            position = end
        if not made:
            return
        made[-1].tail = text[position:] or None
        if slot.tail:
            assert slot.parent is not None
            slot.element.tail = head or None
            container, at = slot.parent, list(slot.parent).index(slot.element) + 1
        else:
            slot.element.text = head or None
            container, at = slot.element, 0
        for offset, element in enumerate(made):
            container.insert(at + offset, element)

    def _element_for(self, match: re.Match[str]) -> tuple[etree.Element | None, int]:
        findings = self.extension.findings
        if match.group("url"):
            url = _trim_url(match.group("url"))
            if not url or not _is_allowed_url(url):
                return None, match.end()
            link = etree.Element("a", {"href": url})
            link.text = url
            return link, match.start() + len(url)
        if match.group("mention"):
            findings.mentions[match.group("mention").lower()] = None
            mention = etree.Element("strong", {"class": MENTION_CLASS})
            mention.text = match.group()
            return mention, match.end()
        number = int(match.group("evidence"))
        findings.evidence[number] = None
        target = self.extension.evidence_urls.get(number)
        if not isinstance(target, str) or not _is_allowed_url(target):
            return None, match.end()
        link = etree.Element("a", {"href": target})
        link.text = match.group()
        return link, match.end()


def _may_hold_tokens(text: str | None) -> bool:
    """A quick look that spares the token search most text: a URL, a mention or a reference."""
    if not text:
        return False
    return "://" in text or "@" in text or "#E" in text


def _fix_element(element: etree.Element, *, inside_link: bool) -> None:
    """Shift a heading, make an image a link (its text, inside a link), unwrap a link to a bad URL."""
    tag = element.tag
    if isinstance(tag, str) and len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
        element.tag = f"h{min(int(tag[1]) + _HEADING_SHIFT, 6)}"
    elif tag == "img":
        src, alt, title = element.get("src", ""), element.get("alt", ""), element.get("title")
        element.attrib.clear()
        if inside_link or not src or not _is_allowed_url(src):
            element.tag = "span"  # Not allowed: the sanitiser unwraps it, keeping the text.
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
    """Leave the sentence out of a bare URL: trailing punctuation, unbalanced closing brackets."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING:
            url = url[:-1]
        elif last in _URL_OPENERS and url.count(last) > url.count(_URL_OPENERS[last]):
            url = url[:-1]
        else:
            break
    return url if not url.endswith("://") else ""


# Plain text


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
    return f"{text} ({href})"
