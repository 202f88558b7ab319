"""Addresses reversed once per process: `reverse(name, args=…)` as a pattern with slots for its arguments.

The case page writes a dozen addresses of the case (its forms' actions), and a row's address per evidence file or
message: each `reverse` walks the URLconf's candidates and quotes its arguments, 20 to 40 µs. What it gives depends
only on the URLconf (the resolver Django builds from it and keeps until its URLs change: it is part of the key), the
site's address prefix (`SCRIPT_NAME`), the active language and the name; the arguments fill slots in it. So the
address is made once per process for each of these keys with stand-ins in the slots, and each later call writes its
arguments in, when they are of a kind that every route of this project takes and writes unchanged:

- a whole number of up to 18 digits, written as `str(n)` by the converters `<id:>`, `<int:>` and `<str:>`;
- a word of letters, digits, `-` and `_` with at least one letter (a case's reference, a transition's name): taken
  as it is by `<str:>` and `<slug:>`, refused by `<id:>` and `<int:>` alike, and never quoted.

Anything else (another kind of value, a route with another converter, an application included twice, so that the
page's current application could choose between two addresses) goes through `reverse` as before.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter
from django.utils.translation import get_language

from liaison.input_policy import IdConverter

_WORD = re.compile(r"[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*")
_TAKEN = (IdConverter, IntConverter, StringConverter, SlugConverter, PathConverter)
_ID_LIMIT = 10**18
# Patterns by (resolver, prefix, language, name, shape of each argument): the text between the slots, or None when
# the name is reversed each time. Bounded: the names of the project's routes times the shapes they are given.
_PATTERNS: dict[tuple[Any, ...], tuple[str, ...] | None] = {}
_LIMIT = 1024


def address(name: str, *args: object) -> str:
    """`reverse(name, args=args)`, the same text, without reversing again what this process has reversed."""
    shapes = tuple(_shape(arg) for arg in args)
    if None in shapes:
        return reverse(name, args=args)
    shape = cast(tuple[str, ...], shapes)
    urlconf = get_urlconf()
    key = (get_resolver(urlconf), get_script_prefix(), get_language(), name, shape)
    pieces = _PATTERNS.get(key, ())
    if pieces == ():
        if len(_PATTERNS) >= _LIMIT:
            _PATTERNS.clear()
        pieces = _PATTERNS[key] = _pattern(key[0], urlconf, name, shape)
    if pieces is None:
        return reverse(name, args=args)
    parts = [pieces[0]]
    for arg, piece in zip(args, pieces[1:], strict=True):
        parts += (str(arg), piece)
    return "".join(parts)


def _shape(arg: object) -> str | None:
    if type(arg) is int:
        return "number" if 0 <= arg < _ID_LIMIT else None
    if isinstance(arg, str):
        if arg.isascii() and arg.isdigit() and len(arg) <= 18:
            return "number"
        return "word" if _WORD.fullmatch(arg) else None
    return None


def _stand_in(index: int, shape: str) -> str:
    # A number of 17 digits, or a word, that occurs nowhere else in an address.
    return str(90_817_263_545_362_700 + index) if shape == "number" else f"zqSlot{index}qz"


def _pattern(resolver: Any, urlconf: str | None, name: str, shape: tuple[str, ...]) -> tuple[str, ...] | None:
    namespace, _, view = name.rpartition(":")
    if ":" in namespace or len(resolver.app_dict.get(namespace, ())) > 1:
        return None  # nested, or an application with two instances: the current one could choose
    if namespace and namespace not in resolver.namespace_dict:
        return None
    routes = (resolver.namespace_dict[namespace][1] if namespace else resolver).reverse_dict.getlist(view)
    # Routes written with path(): each parameter has a converter, and every converter is one of the above (re_path's
    # parameters have none: their own patterns could tell two words apart).
    if not routes or any(set(params) != set(converters) or not all(isinstance(c, _TAKEN) for c in converters.values())
                         for possibilities, _regex, _defaults, converters in routes
                         for _result, params in possibilities):
        return None
    stand_ins = [_stand_in(i, kind) for i, kind in enumerate(shape)]
    try:
        text = reverse(name, args=stand_ins, urlconf=urlconf)
    except NoReverseMatch:  # reversed each time, and the page says so as before
        return None
    pieces: list[str] = []
    for stand_in in stand_ins:
        before, found, text = text.partition(stand_in)
        if not found or any(s in before for s in stand_ins):
            return None
        pieces.append(before)
    if any(s in text for s in stand_ins):
        return None
    return (*pieces, text)
