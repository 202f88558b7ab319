"""Templates are compiled once per language and site with their fixed translations and addresses written in
(liaison/template_loaders.py): a page says exactly what Django's own rendering says, in each reader's language and under
each address prefix, whichever came first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.template.backends.django import DjangoTemplates
from django.utils import translation

from liaison.template_loaders import FixedTranslation, FixedURL

SOURCE = """{% load i18n %}<p title="{% translate 'Search' %}">{% translate "Cases" %}</p>
<p>{% translate "d" context "duration unit: days" %} {% translate "Cases" noop %} {% translate word %}</p>
<p>{% translate "Cases" as saved %}{{ saved|upper }} {% translate "Cases"|lower %}</p>
{% if show %}<b>{% translate "Overview" %}</b>{% else %}{% translate "Organisation" %}{% endif %}
{% for n in numbers %}{% translate "Next" %}{% blocktranslate count counter=n %}{{ counter }} case{% plural %}{{ counter }} cases{% endblocktranslate %}{% endfor %}
{% autoescape off %}{% translate "Reset" %}{% endautoescape %}"""
URLS = """{% url 'home' %} {% url "cases:list" %} {% url 'cases:detail' 'ID-2026-000001' %} {% url 'home' as h %}[{{ h }}]
{% url name %}"""


@pytest.fixture
def engine(tmp_path: Path) -> DjangoTemplates:
    """An engine with the project's loaders over two templates: `page.html` (SOURCE) and `links.html` (URLS)."""
    (tmp_path / "page.html").write_text(SOURCE)
    (tmp_path / "links.html").write_text(URLS)
    project = engines["django"].engine
    return DjangoTemplates({"NAME": "fixed", "DIRS": [tmp_path], "APP_DIRS": False, "OPTIONS": {
        "loaders": project.loaders, "context_processors": []}})


def django_render(engine: DjangoTemplates, context: dict[str, Any]) -> str:
    """The same source parsed afresh (no loader, so no tag is fixed): what Django alone renders."""
    return engine.from_string(SOURCE).render(context)


@pytest.mark.parametrize("first", ["en", "id"])
def test_a_template_says_what_django_says_in_each_language(engine: DjangoTemplates, first: str) -> None:
    context = {"word": "Apply", "show": True, "numbers": [1, 2]}
    languages = [first, "id" if first == "en" else "en"]
    for language in [*languages, *languages]:  # each language's copy compiled once, then read again
        with translation.override(language):
            assert engine.get_template("page.html").render(context) == django_render(engine, context)
    with translation.override("id"):
        indonesian = engine.get_template("page.html").render(context)
    assert "Kasus" in indonesian and 'title="Cari"' in indonesian and "Berikutnya" in indonesian


def test_only_tags_with_written_words_are_fixed(engine: DjangoTemplates) -> None:
    with translation.override("en"):
        template = engine.get_template("page.html").template
    nodes = template.nodelist.get_nodes_by_type(FixedTranslation)
    # 'Search', 'Cases', the context's 'd', the noop 'Cases', 'Overview', 'Organisation', 'Next', 'Reset'; not the
    # variable, the `as` or the filtered one.
    assert sorted(node.text for node in nodes) == sorted(
        ["Search", "Cases", "d", "Cases", "Overview", "Organisation", "Next", "Reset"])


def test_addresses_follow_the_sites_prefix(engine: DjangoTemplates) -> None:
    """A site served under a prefix (SCRIPT_NAME) gets its own copy: each address is what Django reverses there."""
    from django.urls import get_script_prefix, set_script_prefix

    context = {"name": "cases:list"}
    before = get_script_prefix()
    try:
        for prefix in ["/", "/liaison/", "/", "/liaison/"]:
            set_script_prefix(prefix)
            rendered = engine.get_template("links.html").render(context)
            assert rendered == engine.from_string(URLS).render(context)
            assert f'{prefix}cases/ID-2026-000001/' in rendered and rendered.startswith(f"{prefix} {prefix}cases/")
        fixed = engine.get_template("links.html").template.nodelist.get_nodes_by_type(FixedURL)
        assert sorted(node.text for node in fixed) == ["/liaison/", "/liaison/cases/"]  # not with arguments, `as` or a variable
    finally:
        set_script_prefix(before)
