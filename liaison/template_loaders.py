"""Templates compiled once per language, with their fixed translations already in them.

Django's cached loader compiles each template once per process; its `{% translate "…" %}` tags still look their
words up on every render (a lazy string made, resolved through the thread's active catalogue, localised, escaped):
about 10 µs each, 62 of them on the inbox, more on the case page. A tag whose words are written in the template
(a literal, with no filter, no `as`, and a literal context if any) says the same thing on every render in one
language, because Django loads a language's catalogue once per process and keeps it. So this loader keeps one
compiled copy of each template per language and, when it compiles one, renders each such tag once, under that
language, and leaves its text in its place. A tag with a variable, a filter or `as` is left as it is, and so is
`{% blocktranslate %}`. `makemessages` reads the templates themselves, which do not change.

The same holds for a `{% url "name" %}` with no arguments and no `as`: its address is fixed for the URLconf and the
site's address prefix (`SCRIPT_NAME`), which the copy is also keyed by, as long as no application's URLs are
included twice under two instance names (then the page's current application could choose between them, and the
tag is left as it is), and as long as the address needs no escaping.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.template import Context, Template
from django.template.base import FilterExpression, Node
from django.template.defaulttags import URLNode
from django.template.loaders import cached
from django.templatetags.i18n import TranslateNode
from django.urls import NoReverseMatch, URLResolver, get_resolver, get_script_prefix, get_urlconf
from django.utils import translation
from django.utils.html import conditional_escape


class Loader(cached.Loader):
    """Django's cached loader (`loaders` inside it, as for that one), one compiled copy per active language, URLconf
    and address prefix."""

    def cache_key(self, template_name: str, skip: Any = None) -> str:
        return "|".join((super().cache_key(template_name, skip), translation.get_language() or "",
                         str(get_urlconf() or ""), get_script_prefix()))

    def get_template(self, template_name: str, skip: Any = None) -> Template:
        compiled = self.cache_key(template_name, skip) in self.get_template_cache
        template: Template = super().get_template(template_name, skip)
        if not compiled:  # compiled just now, for this language and site: its fixed words and addresses written in
            _write_fixed(template, TranslateNode, FixedTranslation, _fixed_translation)
            if _one_instance_each(get_urlconf() or settings.ROOT_URLCONF):
                _write_fixed(template, URLNode, FixedURL, _fixed_url)
        return template


class _Fixed:
    """A tag rendered once, when its template was compiled (its `text`)."""

    text: str

    def render(self, context: Context) -> str:
        return self.text


class FixedTranslation(_Fixed, TranslateNode):
    """A `{% translate "…" %}` of words written in the template, for the active language."""


class FixedURL(_Fixed, URLNode):
    """A `{% url "name" %}` with no arguments, for the URLconf and the address prefix."""


def _write_fixed(template: Template, kind: type[Node], fixed: type[_Fixed],
                 text_of: Callable[[Any, Context], str | None]) -> None:
    """Each of the template's tags of exactly `kind` whose output is fixed (`text_of` gives it, else None) rendered
    once now, and kept as its text (a `fixed`)."""
    context = Context(autoescape=template.engine.autoescape)
    for node in template.nodelist.get_nodes_by_type(kind):
        if type(node) is kind:
            text = text_of(node, context)
            if text is not None:
                node.__class__ = fixed  # type: ignore[assignment]  # a `fixed` is also a `kind`
                node.text = text  # type: ignore[attr-defined]  # now a `fixed`


def _fixed_translation(node: TranslateNode, context: Context) -> str | None:
    if node.asvar or not _literal(node.filter_expression) or (
            node.message_context is not None and not _literal(node.message_context)):
        return None
    return node.render(context)


def _fixed_url(node: URLNode, context: Context) -> str | None:
    if node.args or node.kwargs or node.asvar or not _literal(node.view_name):
        return None
    try:
        text = node.render(context)
    except NoReverseMatch:
        return None  # as before: the page that renders it says so
    return text if str(conditional_escape(text)) == text else None


def _literal(expression: FilterExpression) -> bool:
    """Written in the template, with no filter: a string constant (its value, or a Variable of a quoted literal)."""
    return not expression.filters and (isinstance(expression.var, str)
                                       or isinstance(getattr(expression.var, "literal", None), str))


@lru_cache(maxsize=8)
def _one_instance_each(urlconf: str) -> bool:
    """Whether every application namespace of the URLconf has one instance (the page's current application then
    chooses nothing)."""
    def single(resolver: URLResolver) -> bool:
        return all(len(instances) <= 1 for instances in resolver.app_dict.values()) and all(
            single(inner) for _prefix, inner in resolver.namespace_dict.values())

    return single(get_resolver(urlconf))
