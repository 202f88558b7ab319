"""Messages written in Markdown: safe HTML for the thread, plain text for e-mails, mentions and evidence.

Pure functions, no database. Two independent layers keep what an author types from becoming markup:

1. markdown-it-py parses CommonMark with raw HTML switched off, so ``<script>`` typed in a message is
   text. A pass over its tokens then turns images into plain links (nothing is fetched from outside),
   unwraps links whose scheme is not http, https or mailto, and shifts headings down two levels (``#``
   is ``<h3>``) so that a message never out-ranks the page.
2. nh3 sanitises the result against a fixed allow-list of tags, attributes and URL schemes, and gives
   every link ``rel="noopener noreferrer nofollow"``.

Besides CommonMark, tables and ``~~strike~~`` are on. Single newlines are line breaks, as in chat and
e-mail; ``#`` needs a space to make a heading, so ``#E12`` at the start of a line stays a reference.

Relative links (``[the case](/cases/…/)``) are kept: evidence links are relative, and a relative URL
only leads within the portal. One that starts with two slashes, or a slash and a backslash in any
order (``//evil.example``, ``/\\evil.example``), is not relative: browsers read it as another site
with the page's scheme, so it is never a link (the token pass unwraps it, and the sanitiser drops
any such ``href`` that still reaches it). Bare ``http(s)://`` URLs become links. Nothing inside
code spans, code blocks or links is linked, mentioned or referenced.

Input is capped at ``MAX_SOURCE_LENGTH`` characters; control characters and lone surrogates are
dropped. markdown-it-py's work grows linearly with the input and with its nesting limit,
``MAX_NESTING``, which also bounds its recursion. It would silently drop what is nested deeper, so
such a message, like anything else the parser chokes on, is shown as escaped text: none of the
functions raises.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .message_text import html_as_text

logger = logging.getLogger(__name__)

MAX_SOURCE_LENGTH = 20_000
TRUNCATION_MARK = "…"
# Levels of blocks and inline links; a list item takes two (list and item). Bounds the parser's
# recursion.
MAX_NESTING = 20

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

_HEADING_SHIFT = 2
_CONTAINERS = frozenset({"blockquote_open", "list_item_open"})
# C0 and C1 controls but tab and newline, and lone surrogates, which cannot be handed to nh3.
_UNWANTED_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_TOKENS = re.compile(
    r"(?P<url>\b(?i:https?)://[^\s<>\"'`\x00-\x1f\x7f]+)"
    r"|(?<![\w@.+\-])@(?P<mention>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)(?![\w@])"
    r"|(?<![\w#&/])#E(?P<evidence>[0-9]{1,9})(?!\w)"
)
_URL_TRAILING = ".,:;!?'\"*_~"
_URL_OPENERS = {")": "(", "]": "[", "}": "{"}
_URL_IGNORED_CHARS = re.compile(r"[\s\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2060\ufeff]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# Two slashes or backslashes in any order: a network-path reference ("//host/…"), which the URL standard
# also reads from "/\\host" and "\\\\host" on http(s) pages.
_NETWORK_PATH = re.compile(r"[/\\]{2}")
_MAX_UNESCAPES = 4
_ALIGNMENT_STYLE = re.compile(r"text-align:(left|center|right)")


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
        tokens, _ = _parse(source, evidence_urls or {})
        md = _parser()
        body = md.renderer.render(tokens, md.options, {})
    except Exception:  # A message that breaks the parser is still shown, as escaped text.
        logger.warning("Markdown rendering failed; showing the message as escaped text", exc_info=True)
        body = _escaped_paragraphs(source)
    return _cleaner().clean(body).strip("\n")


def plain_text(text: str) -> str:
    """Markdown → plain text for e-mails and previews.

    No tags, entities unescaped, links as ``text (url)`` (the URL alone when it is the text; relative
    links keep only their text), list items as ``- item`` / ``1. item``, quotes as ``> line``, code
    blocks indented four spaces. The result is text, not HTML: whatever the author typed, ``<b>``
    included, comes back literally, so it must be escaped wherever it goes into HTML.
    """
    source = _prepare(text)
    try:
        return html_as_text(render_markdown(source))
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
    return _UNWANTED_CHARS.sub(_replace_unwanted, text)


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


# Parsing


class _Parser(MarkdownIt):
    def validateLink(self, url: str) -> bool:  # noqa: N802 (markdown-it's name)
        # markdown-it leaves a link it finds invalid as Markdown source; this module unwraps it
        # instead, so that the reader sees its text (_rewrite_inline).
        return True


@functools.cache
def _parser() -> MarkdownIt:
    # Each parse keeps its state in its own env and tokens, so one instance serves all threads once
    # its rule chains, compiled on first use, are built.
    options = {"html": False, "breaks": True, "xhtmlOut": False, "maxNesting": MAX_NESTING}
    md = _Parser("commonmark", options).enable(["table", "strikethrough"])
    md.parse("*x*")
    return md


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
        attribute_filter=_kept_attribute,
    )


def _kept_attribute(element: str, attribute: str, value: str) -> str | None:
    """The sanitiser's second look at every link target: it passes "//host" on as relative."""
    if attribute == "href" and not _is_allowed_url(value):
        return None
    return value


@dataclass
class _Findings:
    # Dicts as ordered sets.
    mentions: dict[str, None] = field(default_factory=dict)
    evidence: dict[int, None] = field(default_factory=dict)


def _findings(text: str) -> _Findings:
    source = _prepare(text)
    try:
        _, findings = _parse(source, {})
    except Exception:  # The same tokens, looked for in the raw text.
        logger.warning("Markdown parsing failed; scanning the raw text", exc_info=True)
        findings = _Findings()
        for match in _TOKENS.finditer(source):
            if match.group("mention"):
                findings.mentions[match.group("mention").lower()] = None
            elif match.group("evidence"):
                findings.evidence[int(match.group("evidence"))] = None
    return findings


def _parse(source: str, evidence_urls: Mapping[int, str]) -> tuple[list[Token], _Findings]:
    """Tokens ready to render, and the mentions and references found in them."""
    tokens = _parser().parse(source)  # A fresh env: link definitions do not carry over.
    # markdown-it skips, rather than keeps as text, what is inside a quote or list item opened at the
    # last level.
    if any(token.type in _CONTAINERS and token.level >= MAX_NESTING - 1 for token in tokens):
        raise ValueError(f"blocks nested more than {MAX_NESTING} levels deep")
    findings = _Findings()
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = f"h{min(int(token.tag[1]) + _HEADING_SHIFT, 6)}"
        elif token.type in {"th_open", "td_open"}:
            # markdown-it aligns cells with a style, which the allow-list does not take.
            alignment = _ALIGNMENT_STYLE.fullmatch(str(token.attrs.pop("style", "")))
            if alignment:
                token.attrs["align"] = alignment.group(1)
        elif token.type == "inline" and token.children:
            token.children = _rewrite_inline(token.children, evidence_urls, findings)
    return tokens, findings


def _rewrite_inline(tokens: list[Token], evidence_urls: Mapping[int, str], findings: _Findings) -> list[Token]:
    """Images as links, links to bad URLs unwrapped, ``<del>`` for strikes; URLs, mentions and
    references marked up in text outside links (code spans are tokens of their own)."""
    rewritten: list[Token] = []
    links_kept: list[bool] = []  # For each link open here: whether its tags are kept.
    for token in tokens:
        in_link = any(links_kept)
        if token.type == "link_open":
            links_kept.append(_is_allowed_url(str(token.attrs.get("href", ""))))
            if links_kept[-1]:
                rewritten.append(token)
        elif token.type == "link_close":
            if not links_kept or links_kept.pop():
                rewritten.append(token)
        elif token.type == "image":
            rewritten.extend(_image_as_link(token, in_link=in_link))
        elif token.type in {"s_open", "s_close"}:
            token.tag = "del"
            rewritten.append(token)
        elif token.type == "text" and not in_link and _may_hold_tokens(token.content):
            rewritten.extend(_marked_up_text(token.content, evidence_urls, findings))
        else:
            rewritten.append(token)
    return rewritten


def _image_as_link(image: Token, *, in_link: bool) -> list[Token]:
    """A link to the image (its text, inside a link or when the URL is not allowed)."""
    alt = _alt_text(image.children or [])
    src = str(image.attrs.get("src", ""))
    if in_link or not src or not _is_allowed_url(src):
        return [_text(alt)] if alt else []
    title = image.attrs.get("title")
    return _link(src, alt or src, title=str(title) if title else None)


def _alt_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type in {"text", "code_inline"}:
            parts.append(token.content)
        elif token.type == "image":
            parts.append(_alt_text(token.children or []))
        elif token.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
    return "".join(parts)


def _marked_up_text(text: str, evidence_urls: Mapping[int, str], findings: _Findings) -> list[Token]:
    made: list[Token] = []
    position = 0
    for match in _TOKENS.finditer(text):
        if match.group("url"):
            url = _trim_url(match.group("url"))
            if not url or not _is_allowed_url(url):
                continue
            markup, end = _link(url, url), match.start() + len(url)
        elif match.group("mention"):
            findings.mentions[match.group("mention").lower()] = None
            markup, end = _mention(match.group()), match.end()
        else:
            number = int(match.group("evidence"))
            findings.evidence[number] = None
            target = evidence_urls.get(number)
            if not isinstance(target, str) or not _is_allowed_url(target):
                continue
            markup, end = _link(target, match.group()), match.end()
        if match.start() > position:
            made.append(_text(text[position : match.start()]))
        made.extend(markup)
        position = end
    if position < len(text):
        made.append(_text(text[position:]))
    return made


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _link(href: str, text: str, *, title: str | None = None) -> list[Token]:
    opening = Token("link_open", "a", 1, attrs={"href": href})
    if title:
        opening.attrSet("title", title)
    return [opening, _text(text), Token("link_close", "a", -1)]


def _mention(text: str) -> list[Token]:
    opening = Token("strong_open", "strong", 1, attrs={"class": MENTION_CLASS})
    return [opening, _text(text), Token("strong_close", "strong", -1)]


def _may_hold_tokens(text: str) -> bool:
    """A quick look that spares the token search most text: a URL, a mention or a reference."""
    return "://" in text or "@" in text or "#E" in text


def _is_allowed_url(url: str) -> bool:
    """True for http, https, mailto and relative URLs (not network-path ones: "//host"), however the scheme
    or the slashes are disguised."""
    for _ in range(_MAX_UNESCAPES):  # Until stable: "&amp;#106;" must not hide a "j".
        unescaped = html.unescape(url)
        if unescaped == url:
            break
        url = unescaped
    else:
        return False  # Still changing: entities nested on purpose.
    # markdown-it percent-encodes what a link's URL should not hold ("jav%09ascript:").
    plain = _URL_IGNORED_CHARS.sub("", urllib.parse.unquote(url)).lower()
    if _NETWORK_PATH.match(plain):
        return False
    match = _SCHEME.match(plain)
    return match is None or match.group(1) in ALLOWED_SCHEMES


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
