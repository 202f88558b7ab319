"""Templates compiled once per language, with their fixed translations already in them.

Django's cached loader compiles each template once per process; its `{% translate "…" %}` tags still look their
words up on every render (a lazy string made, resolved through the thread's active catalogue, localised, escaped):
about 10 µs each, 62 of them on the inbox, more on the case page. A tag whose words are written in the template
(a literal, with no filter, no `as`, and a literal context if any) says the same thing on every render in one
language, because Django loads a language's catalogue once per process and keeps it. So this loader keeps one
compiled copy of each template per language and, when it compiles one, renders each such tag once, under that
language, and leaves its text in its place. A tag with a variable, a filter or `as` is left as it is, and so is
`{% blocktranslate %}`. `makemessages` reads the templates themselves, which do not change.
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Template
from django.template.base import FilterExpression
from django.template.loaders import cached
from django.templatetags.i18n import TranslateNode
from django.utils import translation


class Loader(cached.Loader):
    """Django's cached loader (`loaders` inside it, as for that one), one compiled copy per active language."""

    def cache_key(self, template_name: str, skip: Any = None) -> str:
        return f"{super().cache_key(template_name, skip)}|{translation.get_language() or ''}"

    def get_template(self, template_name: str, skip: Any = None) -> Template:
        compiled = self.cache_key(template_name, skip) in self.get_template_cache
        template: Template = super().get_template(template_name, skip)
        if not compiled:  # compiled just now, for this language: its fixed words are written in once
            write_fixed_translations(template)
        return template


class FixedTranslation(TranslateNode):
    """A `{% translate "…" %}` of words written in the template, rendered when its template was compiled for the
    active language (its `text`)."""

    text: str

    def render(self, context: Context) -> str:
        return self.text


def write_fixed_translations(template: Template) -> None:
    """Each of the template's `{% translate %}` tags whose output is fixed for the active language (see above)
    rendered once now, and kept as its text."""
    for node in template.nodelist.get_nodes_by_type(TranslateNode):
        if type(node) is TranslateNode and _fixed(node):
            text = node.render(Context(autoescape=template.engine.autoescape))
            node.__class__ = FixedTranslation
            node.text = text  # type: ignore[attr-defined]  # now a FixedTranslation


def _fixed(node: TranslateNode) -> bool:
    return not node.asvar and _literal(node.filter_expression) and (
        node.message_context is None or _literal(node.message_context))


def _literal(expression: FilterExpression) -> bool:
    """Written in the template, with no filter: a string constant (its value, or a Variable of a quoted literal)."""
    return not expression.filters and (isinstance(expression.var, str)
                                       or isinstance(getattr(expression.var, "literal", None), str))
