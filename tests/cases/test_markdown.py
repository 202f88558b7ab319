"""Messages in Markdown: what a reader sees, what can never get through, what e-mails say."""

from __future__ import annotations

import random
import re
import threading
import time
from html.parser import HTMLParser
from typing import cast

import pytest

from cases.markdown import (
    MAX_SOURCE_LENGTH,
    find_evidence_refs,
    find_mentions,
    plain_text,
    render_markdown,
)

# The policy, restated here rather than imported, so a change to it has to be made twice.
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "del", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "rel"}, "th": {"align"}, "td": {"align"}, "strong": {"class"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
REL = "noopener noreferrer nofollow"


class Page(HTMLParser):
    """What a browser would build from rendered HTML: tags, attributes, visible text, and oddities."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.oddities: list[str] = []
        self._text: list[str] = []
        self.feed(markup)
        self.close()

    @property
    def text(self) -> str:
        return "".join(self._text)

    def links(self) -> list[tuple[str | None, str]]:
        return [(value, name) for tag, name, value in self.attributes if tag == "a" and name == "href"]

    def hrefs(self) -> list[str | None]:
        return [value for value, _ in self.links()]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_comment(self, data: str) -> None:
        self.oddities.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.oddities.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.oddities.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.oddities.append(f"unknown declaration {data!r}")


def scheme_of(url: str) -> str | None:
    cleaned = re.sub(r"[\s\x00-\x20\x7f-\x9f]+", "", url).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", cleaned)
    return match.group(1) if match else None


def assert_inert(markup: str) -> Page:
    page = Page(markup)
    assert not page.oddities
    assert set(page.tags) <= ALLOWED_TAGS, set(page.tags) - ALLOWED_TAGS
    assert "img" not in page.tags
    for tag, name, value in page.attributes:
        assert not name.startswith("on"), (tag, name, value)
        assert name in ALLOWED_ATTRIBUTES.get(tag, set()), (tag, name, value)
        if name == "class":
            assert value == "mention"
        if name == "href":
            assert value is not None
            assert scheme_of(value) in ALLOWED_SCHEMES | {None}, value
        if name == "rel":
            assert value == REL
    return page


def render(text: str, **kwargs: object) -> Page:
    return assert_inert(render_markdown(text, **kwargs))  # type: ignore[arg-type]


# Hostile input: after the OWASP XSS filter evasion cheat sheet, plus Markdown's own ways in.

XSS_PAYLOADS = [
    # Raw HTML
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`javascript:alert(1)`>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit value=go></form>',
    '<isindex action=javascript:alert(1) type=submit>',
    '<div style="background-image: url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>@import 'http://evil.example/x.css';</style>",
    '<link rel=stylesheet href="http://evil.example/x.css">',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<video><source onerror="alert(1)"></video>',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#14;javascript:alert(1)">x</a>',
    '<a href="#" onclick="alert(1)">x</a>',
    "<!--><script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?xml-stylesheet href=x?><script>alert(1)</script>",
    "＜script＞alert(1)＜/script＞",
    # Markdown links
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav\tascript:alert(1))",
    "[x](java\nscript:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](&#0000106avascript:alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&amp;#106;avascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    '[x](javascript:alert(1) "title")',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "[x](\u200bjavascript:alert(1))",
    "<javascript:alert(1)>",
    "<javascript://%0Aalert(1)>",
    "<JAVASCRIPT://example.org/%0Aalert(1)>",
    "[x][evil]\n\n[evil]: javascript:alert(1)",
    "[evil]\n\n[evil]: <javascript:alert(1)>",
    "[x][evil]\n\n[evil]: data:text/html,<script>alert(1)</script>",
    '[x](http://example.org "title\\"><script>alert(1)</script>")',
    "[x](http://example.org 'a\" onmouseover=\"alert(1)')",
    '[x](http://example.org/" onclick="alert(1))',
    "[<img src=x onerror=alert(1)>](http://example.org)",
    "[x](http://example.org)<script>alert(1)</script>",
    # Markdown images
    "![x](http://evil.example/x.png)",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](http://evil.example/x.png)',
    "![x][evil]\n\n[evil]: javascript:alert(1)",
    "[![x](http://evil.example/x.png)](http://example.org)",
    # Markdown structure around payloads
    "> [x](javascript:alert(1))\n> <script>alert(1)</script>",
    "| a |\n|---|\n| [x](javascript:alert(1)) <script>alert(1)</script> |",
    "- [x](javascript:alert(1))\n- <img src=x onerror=alert(1)>",
    "# <script>alert(1)</script>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "```{ .x onclick=alert(1) }\ncode\n```",
    'x {: onclick="alert(1)" style="color:red" }',
    "*[x]: <script>alert(1)</script>",
    # Bare URLs and mentions
    "https://example.org/\"onmouseover=\"alert(1)",
    "https://example.org/<script>alert(1)</script>",
    "@evil@example.org\"><script>alert(1)</script>",
    "\x02wzxhzdk:0\x03<script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_hostile_payload_renders_inert(payload: str) -> None:
    render(payload)


@pytest.mark.parametrize(
    ("payload", "visible"),
    [
        ("[x](javascript:alert(1))", "x"),
        ("[x][evil]\n\n[evil]: javascript:alert(1)", "x"),
        ("![x](javascript:alert(1))", "x"),
        ("[<img src=x onerror=alert(1)>](http://example.org)", "<img src=x onerror=alert(1)>"),
        ("# <script>alert(1)</script>", "<script>alert(1)</script>"),
        ("`<script>alert(1)</script>`", "<script>alert(1)</script>"),
        ("```\n<script>alert(1)</script>\n```", "<script>alert(1)</script>"),
        ("<!--><script>alert(1)</script>-->", "<!--><script>alert(1)</script>-->"),
    ],
)
def test_hostile_markdown_shows_its_text_and_nothing_more(payload: str, visible: str) -> None:
    assert render(payload).text.strip() == visible


def test_quotes_in_a_link_title_cannot_break_out_of_the_attribute() -> None:
    page = render('[x](http://example.org "t\\"><script>alert(1)</script>")')

    assert page.tags == ["p", "a"]
    # CommonMark takes the backslash as the escape of the quote, so the title holds a quote.
    assert ("a", "title", 't"><script>alert(1)</script>') in page.attributes
    assert page.text == "x"


def test_corpus_is_large_enough() -> None:
    assert len(XSS_PAYLOADS) >= 40


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=\"//evil.example\"></iframe>",
        "<!-- a comment -->",
        "＜script＞alert(1)＜/script＞",
    ],
)
def test_html_typed_in_a_message_is_shown_as_text(typed: str) -> None:
    page = render(typed)

    assert page.text.strip() == typed
    assert page.tags == ["p"]


def test_escaped_markup_stays_escaped_after_rendering() -> None:
    markup = render_markdown("<script>alert(1)</script>")

    assert "&lt;script&gt;" in markup
    assert "<script" not in markup


def test_link_with_a_forbidden_scheme_keeps_its_text_but_not_the_link() -> None:
    page = render("See [the report](javascript:alert(1)) please")

    assert page.text == "See the report please"
    assert page.hrefs() == []


def test_markdown_image_becomes_a_link_and_nothing_is_fetched() -> None:
    page = render('![screenshot of the post](https://cdn.example/post.png "Post")')

    assert "img" not in page.tags
    assert page.hrefs() == ["https://cdn.example/post.png"]
    assert page.text == "screenshot of the post"


def test_image_inside_a_link_becomes_its_alt_text() -> None:
    page = render("[![badge](https://cdn.example/b.png)](https://example.org)")

    assert page.hrefs() == ["https://example.org"]
    assert page.text == "badge"


def test_evidence_url_with_a_forbidden_scheme_is_not_linked() -> None:
    page = render("See #E1", evidence_urls={1: "javascript:alert(1)"})

    assert page.hrefs() == []
    assert page.text == "See #E1"


# Everyday formatting


def test_bold_italic_and_strikethrough_render() -> None:
    markup = render_markdown("**tebal** *miring* _juga miring_ ~~dicoret~~")

    assert markup == (
        "<p><strong>tebal</strong> <em>miring</em> <em>juga miring</em> <del>dicoret</del></p>"
    )


def test_lists_render_nested() -> None:
    page = render("- satu\n- dua\n    1. dua a\n    2. dua b\n- tiga")

    assert page.tags == ["ul", "li", "li", "ol", "li", "li", "li"]
    assert "dua a" in page.text


def test_quotes_render_and_keep_their_line_breaks() -> None:
    markup = render_markdown("> Pasal 28 ayat (2)\n> UU ITE")

    assert markup == "<blockquote>\n<p>Pasal 28 ayat (2)<br>\nUU ITE</p>\n</blockquote>"


def test_code_blocks_render_escaped_and_untouched() -> None:
    fenced = render("```\n<b>@a@b.org</b> https://t.me/x #E1\n```", evidence_urls={1: "/e/1/"})
    indented = render("Log:\n\n    **not bold** https://t.me/x")
    span = render("Run `rm -rf <dir>` now")

    assert fenced.tags == ["pre", "code"]
    assert fenced.text.strip() == "<b>@a@b.org</b> https://t.me/x #E1"
    assert indented.tags == ["p", "pre", "code"]
    assert "**not bold** https://t.me/x" in indented.text
    assert span.tags == ["p", "code"]
    assert span.text == "Run rm -rf <dir> now"


def test_tables_render_with_alignment() -> None:
    page = render("| Kanal | Status |\n|:--|--:|\n| t.me/a | aktif |")

    assert page.tags == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]
    assert [value for tag, name, value in page.attributes if name == "align"] == ["left", "right"] * 2


def test_single_newlines_are_line_breaks() -> None:
    assert render_markdown("Baris satu\nBaris dua") == "<p>Baris satu<br>\nBaris dua</p>"


def test_links_get_rel_noopener_noreferrer_nofollow() -> None:
    markup = render_markdown('[laporan](https://kominfo.go.id/laporan?id=1&x=2 "Laporan")')

    assert markup == (
        '<p><a href="https://kominfo.go.id/laporan?id=1&amp;x=2" title="Laporan" '
        'rel="noopener noreferrer nofollow">laporan</a></p>'
    )


def test_relative_links_are_kept() -> None:
    assert render("[the case](/cases/ID-2024-000001/)").hrefs() == ["/cases/ID-2024-000001/"]


def leads_to_another_site(href: str) -> bool:
    """What a browser makes of a scheme-less href on an https page: tabs and newlines dropped, backslashes read
    as slashes, and "//" starting another host."""
    return re.sub(r"[\t\n\r]", "", href).lstrip(" ").replace("\\", "/").startswith("//")


NETWORK_PATHS = [
    # What an author types (Markdown reads a doubled backslash as one).
    "//evil.example", "//evil.example/cases/", "/\\evil.example", "\\\\/evil.example", "/%5Cevil.example",
    "%2F%2Fevil.example", "/%09/evil.example", "&#47;&#47;evil.example", "/&#92;evil.example",
    "&amp;#47;/evil.example", "<//evil.example>", "<\\\\\\\\evil.example>", "<%2f%5cevil.example>",
]


@pytest.mark.parametrize("url", NETWORK_PATHS)
def test_protocol_relative_and_backslash_urls_are_not_links(url: str) -> None:
    for source in (f"[the case]({url})", f"![screenshot]({url})", f"[the case][r]\n\n[r]: {url}",
                   f'[the case]({url} "title")'):
        page = render(source)
        assert page.hrefs() == [], source
        assert "the case" in page.text or "screenshot" in page.text


def test_paths_that_only_look_alike_stay_links() -> None:
    page = render("[a](/cases//x/) [b](/evidence/1/) [c](./x//y) [d](?q=//x) [e](#//x)")
    assert page.hrefs() == ["/cases//x/", "/evidence/1/", "./x//y", "?q=//x", "#//x"]
    assert not any(leads_to_another_site(href or "") for href in page.hrefs())


def test_the_sanitiser_drops_network_path_hrefs_that_reach_it() -> None:
    """A second layer: nh3 reads "//host" as relative, so its attribute filter drops such an href itself."""
    from cases.markdown import _cleaner

    cleaned = _cleaner().clean('<a href="//evil.example">x</a> <a href="/\\evil.example">y</a> <a href="/ok/">z</a>')
    assert Page(cleaned).hrefs() == ["/ok/"]


def test_angle_bracket_autolinks_and_addresses_become_links() -> None:
    page = render("<https://example.org/a> and <budi@kominfo.go.id>")

    assert page.hrefs() == ["https://example.org/a", "mailto:budi@kominfo.go.id"]
    assert page.text == "https://example.org/a and budi@kominfo.go.id"


def test_bare_urls_become_links_without_the_sentence_around_them() -> None:
    page = render(
        "Kanal https://t.me/foo, lalu (https://example.org/a_(b)) dan HTTPS://Example.org/x. "
        "Selesai: https://t.me/bar!"
    )

    assert page.hrefs() == [
        "https://t.me/foo", "https://example.org/a_(b)", "HTTPS://Example.org/x", "https://t.me/bar",
    ]
    assert page.text == (
        "Kanal https://t.me/foo, lalu (https://example.org/a_(b)) dan HTTPS://Example.org/x. "
        "Selesai: https://t.me/bar!"
    )
    assert all(rel == REL for tag, name, rel in page.attributes if name == "rel")


def test_bare_urls_in_code_and_link_texts_are_not_linked() -> None:
    page = render("`https://t.me/a` [https://t.me/b](https://example.org)\n\n    https://t.me/c")

    assert page.hrefs() == ["https://example.org"]


def test_only_http_urls_are_linked_bare() -> None:
    assert render("ftp://example.org/x javascript://example.org/%0aalert(1) t.me/foo").hrefs() == []


def test_headings_are_shifted_down_two_levels() -> None:
    page = render("# Satu\n\n## Dua\n\n### Tiga\n\n#### Empat\n\n###### Enam\n\nSetext\n======\n\nSub\n---")

    assert page.tags == ["h3", "h4", "h5", "h6", "h6", "h3", "h4"]


def test_hash_without_a_space_is_not_a_heading() -> None:
    page = render("#E12 is the screenshot\n#hashtag stays text")

    assert page.tags == ["p", "br"]
    assert page.text == "#E12 is the screenshot\n#hashtag stays text"


def test_indonesian_and_other_non_ascii_text_survives() -> None:
    text = (
        "Mohon segera ditindaklanjuti — konten “ujaran kebencian” senilai Rp 1.000.000,- "
        "di kanal Telegram. Terima kasih 🙏 ꦲꦏ꧀ꦱꦫꦗꦮ, café, naïve, 日本語."
    )

    page = render(text)

    assert page.text == text
    assert plain_text(text) == text


# Mentions


def test_mentions_are_found_lower_cased_unique_and_in_order() -> None:
    text = "Halo @Budi@Kominfo.go.id dan @siti.aminah+legal@platform.example, cc @budi@kominfo.go.id."

    assert find_mentions(text) == ["budi@kominfo.go.id", "siti.aminah+legal@platform.example"]


def test_addresses_in_code_links_or_without_the_at_sign_are_not_mentions() -> None:
    text = (
        "Tulis ke budi@kominfo.go.id atau x@y@z.org.\n\n"
        "`@code@example.org` [@link@example.org](mailto:link@example.org)\n\n"
        "```\n@fenced@example.org\n```\n\n"
        "    @indented@example.org\n\n"
        "https://example.org/@url@example.org"
    )

    assert find_mentions(text) == []


def test_mentions_render_as_bold_with_the_mention_class() -> None:
    markup = render_markdown("cc @Budi@Kominfo.go.id.")

    assert markup == '<p>cc <strong class="mention">@Budi@Kominfo.go.id</strong>.</p>'


# Evidence references


def test_evidence_refs_are_found_unique_and_in_order() -> None:
    text = "Lihat #E12, #E3 dan lagi #E12; bukan E4, #e5, #E6a, abc#E7, `#E8`."

    assert find_evidence_refs(text) == [12, 3]


def test_evidence_refs_link_only_to_evidence_of_the_case() -> None:
    page = render("Lihat #E12 dan #E99.", evidence_urls={12: "/cases/ID-2024-000001/evidence/12/"})

    assert page.links() == [("/cases/ID-2024-000001/evidence/12/", "href")]
    assert page.text == "Lihat #E12 dan #E99."


def test_evidence_refs_stay_text_without_urls() -> None:
    assert render("Lihat #E12").hrefs() == []


# Plain text


def test_plain_text_for_an_email() -> None:
    text = (
        "# Permintaan penurunan\n\n"
        "Yth. @Budi@Kominfo.go.id, kanal https://t.me/contoh (lihat #E12).\n\n"
        "1. Konten **ujaran kebencian**\n"
        "2. [Laporan](https://kominfo.go.id/laporan?id=1&x=2) dan [kasus](/cases/ID-1/)\n\n"
        "- butir\n"
        "    - sub butir\n\n"
        "> Pasal 28\n> UU ITE\n\n"
        "```\ncurl https://t.me/x\n```\n\n"
        "| Kanal | Status |\n|---|---|\n| t.me/a | aktif |\n\n"
        "AT&amp;T &lt;3 <b>ditulis</b>\n\n"
        "---\n\n"
        "Salam, <budi@kominfo.go.id>"
    )

    assert plain_text(text) == (
        "Permintaan penurunan\n\n"
        "Yth. @Budi@Kominfo.go.id, kanal https://t.me/contoh (lihat #E12).\n\n"
        "1. Konten ujaran kebencian\n"
        "2. Laporan (https://kominfo.go.id/laporan?id=1&x=2) dan kasus\n\n"
        "- butir\n"
        "  - sub butir\n\n"
        "> Pasal 28\n> UU ITE\n\n"
        "    curl https://t.me/x\n\n"
        "Kanal | Status\n"
        "t.me/a | aktif\n\n"
        "AT&T <3 <b>ditulis</b>\n\n"
        "----\n\n"
        "Salam, budi@kominfo.go.id"
    )


def test_plain_text_drops_links_it_would_not_render() -> None:
    assert plain_text("[klik](javascript:alert(1)) ![gambar](https://cdn.example/a.png)") == (
        "klik gambar (https://cdn.example/a.png)"
    )


def test_plain_text_of_nothing_is_empty() -> None:
    assert plain_text("") == ""
    assert plain_text("   \n\n ") == ""


# Limits and robustness


def test_empty_input_renders_nothing() -> None:
    assert render_markdown("") == ""
    assert render_markdown(" \n\t\n") == ""


def test_input_is_capped_with_an_ellipsis() -> None:
    page = render("a" * (MAX_SOURCE_LENGTH + 5_000))

    assert len(page.text) == MAX_SOURCE_LENGTH
    assert page.text.endswith("a…")
    assert plain_text("b" * 30_000) == "b" * (MAX_SOURCE_LENGTH - 1) + "…"


def test_control_characters_are_dropped() -> None:
    page = render("a\x00b\x1bc\x7fd\x85e \x02wzxhzdk:0\x03")

    assert page.text == "abcde wzxhzdk:0"


HOSTILE_INPUTS = {
    "binary garbage": bytes(range(256)).decode("latin-1") * 40,
    "random bytes as surrogates": bytes(random.Random(7).getrandbits(8) for _ in range(5_000)).decode(
        "utf-8", errors="surrogateescape"
    ),
    "lone surrogates": "\ud800a\udfff" * 100,
    "a megabyte": "Lorem ipsum **dolor** " * 50_000,
    "deep quotes": ">" * 20_000 + " x",
    "deep quote lines": "\n".join(">" * depth + " x" for depth in range(1, 300)),
    "deep lists": "\n".join("    " * depth + "- x" for depth in range(150)),
    "deep mixed markers": "- > 1. " * 3_000,
    "unbalanced brackets": "[" * 20_000,
    "unclosed links": "[a](b " * 3_000,
    "unclosed titles": '[a](b "(' * 2_000,
    "nested brackets": "[" * 5_000 + "a" + "](x)" * 3_000,
    "unbalanced emphasis": "*a **b _c __d " * 1_000,
    "backticks": "`" * 20_000,
    "angle brackets": "<" * 20_000,
    "entities": "&#" * 10_000,
    "fences": "```\n" * 5_000,
    "setext lines": "a\n=\n" * 5_000,
    "heading lines": "# a\nb\n" * 3_000,
    "link definitions": "[a]: b\nx\n" * 2_000,
    "table pipes": "|\n" * 10_000,
    "many mentions": "@a@b.org " * 2_000,
    "many urls": "https://t.me/x " * 1_400,
}


@pytest.mark.parametrize("text", HOSTILE_INPUTS.values(), ids=HOSTILE_INPUTS.keys())
def test_hostile_input_never_raises_and_stays_quick(text: str) -> None:
    started = time.perf_counter()

    assert_inert(render_markdown(text, evidence_urls={1: "/e/1/"}))
    plain_text(text)
    find_mentions(text)
    find_evidence_refs(text)

    assert time.perf_counter() - started < 10


def test_input_of_the_wrong_type_never_raises() -> None:
    assert render_markdown(cast(str, b"**bytes** \xff")) == "<p><strong>bytes</strong> \ufffd</p>"
    assert render_markdown(cast(str, None)) == ""
    assert plain_text(cast(str, 42)) == "42"
    assert find_mentions(cast(str, None)) == []


def test_output_is_deterministic() -> None:
    text = "# T\n\n@a@b.org #E1 https://t.me/x <c@d.org> [x](https://e.org) ![i](https://f.org/i.png)"
    results: list[str] = []

    def work() -> None:
        results.append(render_markdown(text, evidence_urls={1: "/e/1/"}))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    work()

    assert len(set(results)) == 1


def test_nothing_carries_over_from_one_message_to_the_next() -> None:
    render_markdown("[ref]: https://example.org/secret\n\n#E1", evidence_urls={1: "/e/1/"})
    render_markdown("[" * 20_000)  # Spends the link-scanning budget.

    page = render("[ref] #E1 [ok](https://ok.example)")

    assert page.hrefs() == ["https://ok.example"]
    assert page.text == "[ref] #E1 ok"
