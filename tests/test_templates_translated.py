"""Every word our templates show a reader goes through the catalogue: outside `{% translate %}`,
`{% blocktranslate %}` and variables, a template holds markup, punctuation and the few names that are the same in
every language (the product, file formats, a command line to copy). So an Indonesian reader never meets an English
sentence that the catalogue does not know."""

from __future__ import annotations

import re
from pathlib import Path

from django.template import engines
from django.template.base import NodeList, TextNode

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Shown as they are in every language.
SAME_IN_EVERY_LANGUAGE = {
    "Liaison", "SHA", "PDF", "CSV", "XLSX", "JSON", "UTC", "API", "TLP", "RED", "AMBER", "GREEN", "CLEAR",
    "English", "Bahasa", "Indonesia",  # each language offered under its own name
}
# A command line a reader copies (cases/audit_checkpoints.html).
COMMAND_LINE = re.compile(r"openssl cms .*|-CAfile .*")
READER_FACING_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt|data-confirm)\s*=\s*"([^"]*)"')
WORD = re.compile(r"[A-Za-z]{3,}")


def _text_with_holes(nodelist: NodeList, out: list[str]) -> None:
    """The template's literal text in order, with a hole (NUL) wherever a tag or variable renders something."""
    for node in nodelist:
        if isinstance(node, TextNode):
            out.append(node.s)
            continue
        out.append("\x00")
        if hasattr(node, "conditions_nodelists"):  # {% if %}: each branch (its `nodelist` runs them together)
            children: list[NodeList] = [branch for _condition, branch in node.conditions_nodelists]
        else:
            children = [getattr(node, name) for name in getattr(node, "child_nodelists", ()) if getattr(node, name, None)]
        for child in children:
            _text_with_holes(child, out)
            out.append("\x00")


def untranslated_words(template_name: str) -> list[str]:
    out: list[str] = []
    nodelist = engines["django"].engine.get_template(template_name).nodelist  # type: ignore[attr-defined]
    _text_with_holes(nodelist, out)
    text = re.sub(r"<!--.*?-->", " ", "".join(out), flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    pieces: list[str] = []
    if template_name.endswith(".html"):
        for tag in re.findall(r"<[^>]*>", text, flags=re.S):
            pieces += READER_FACING_ATTRIBUTES.findall(tag)
        text = re.sub(r"<[^>]*>", "\x00", text, flags=re.S)
    text = re.sub(r"&\w+;|&#\d+;", " ", text)
    pieces += text.split("\x00")
    found = []
    for piece in pieces:
        piece = " ".join(piece.split())
        if COMMAND_LINE.fullmatch(piece):
            continue
        words = [w for w in WORD.findall(piece) if w not in SAME_IN_EVERY_LANGUAGE]
        if words:
            found.append(piece)
    return found


def test_no_template_shows_a_word_outside_the_catalogue() -> None:
    names = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*")
                   if p.suffix in {".html", ".txt"} and p.is_file())
    assert len(names) > 50
    found = {name: words for name in names if (words := untranslated_words(name))}
    assert found == {}


def test_the_check_sees_english_outside_a_translate_tag(tmp_path: Path, settings) -> None:
    """The check itself: a sentence written straight into a template, or into a title attribute, is found; the
    same words inside translate tags are not."""
    (tmp_path / "probe.html").write_text(
        '{% load i18n %}<p>Case closed</p><a title="Open the case">{% translate "Open" %}</a>'
        '<p>{% translate "All good" %} · {{ value }}</p>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path), *settings.TEMPLATES[0]["DIRS"]]}]
    assert sorted(untranslated_words("probe.html")) == ["Case closed", "Open the case"]


TRANSLATION_CALL_IN_FSTRING = re.compile(r"\{[^{}]*\b(?:_|gettext|ngettext|pgettext|npgettext|gettext_lazy)\(")


def test_no_translation_call_inside_an_f_string() -> None:
    """`makemessages` (xgettext) does not read calls inside an f-string's braces: a sentence translated there drops
    out of the catalogue at the next `make messages`, and Indonesian readers get it in English. The pages built in
    Python translate their words first and put the result in the f-string."""
    import tokenize

    root = TEMPLATES.parent
    found = []
    skipped = {".venv", ".git", "var", "tests", "node_modules", "static", "locale", "templates"}
    packages = [top for top in root.iterdir() if top.is_dir() and top.name not in skipped]
    for path in sorted(path for top in packages for path in top.rglob("*.py")):
        if "migrations" in path.relative_to(root).parts:
            continue
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.STRING and re.match(r"[rbuRBU]*[fF]", token.string) \
                        and TRANSLATION_CALL_IN_FSTRING.search(token.string):
                    found.append(f"{path.relative_to(root)}:{token.start[0]}")
    assert not found, found
