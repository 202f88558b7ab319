"""Addresses and labels the case page keeps per process: each is what Django gives when asked again."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix
from django.utils import translation

from cases.addresses import address
from cases.choices import Outcome, Status, choice_label
from cases.views.items_panel import RowLabels

ARGUMENTS = [
    ("cases:list",), ("cases:detail", "ID-2026-000123"), ("cases:assign", "ID-2026-000123"),
    ("cases:transition", "ID-2026-000123", "resolve"), ("cases:evidence", "ID-2026-000123", 42),
    ("cases:evidence", "ID-2026-000123", "42"), ("cases:answer_proposal", "ID-2026-000123", 10**18 - 1),
    ("cases:detail", "123"), ("cases:detail", 123), ("cases:detail", "x y"), ("cases:detail", "a/b"),
    ("cases:detail", "é"), ("cases:evidence", "ID-2026-000123", "abc"), ("cases:evidence", "ID-2026-000123", 10**18),
    ("cases:evidence", "ID-2026-000123", -1), ("cases:evidence", "ID-2026-000123", True),
    ("cases:evidence", "ID-2026-000123", 4.0), ("cases:detail",), ("cases:nothing", "ID-2026-000123"), ("home",),
]


def _reversed(name: str, *args: object) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return "NoReverseMatch"


def _address(name: str, *args: object) -> str:
    try:
        return address(name, *args)
    except NoReverseMatch:
        return "NoReverseMatch"


@pytest.mark.parametrize("arguments", ARGUMENTS, ids=repr)
def test_an_address_is_what_reverse_gives(arguments: tuple[object, ...]) -> None:
    for _ in range(2):  # made, then kept
        assert _address(*arguments) == _reversed(*arguments)


def test_an_address_follows_the_prefix_and_the_urlconf() -> None:
    reference = "ID-2026-000123"
    plain = address("cases:assign", reference)
    try:
        set_script_prefix("/portal/")
        assert address("cases:assign", reference) == reverse("cases:assign", args=[reference]) == "/portal" + plain
    finally:
        set_script_prefix("/")
    assert address("cases:assign", reference) == plain
    with override_settings(ROOT_URLCONF="tests.perf.bench_urls"):
        assert address("cases:assign", reference) == reverse("cases:assign", args=[reference])


def test_labels_kept_per_language_are_each_languages_own() -> None:
    for language in ("en", "id", "en", "id"):
        with translation.override(language):
            labels = RowLabels.prepare(translation.get_language())
            assert labels.outcomes == {value: str(label) for value, label in Outcome.choices}
            assert labels.all == translation.gettext("All")
            assert labels.no_action == translation.gettext("No action")
            assert choice_label(Status, Status.IN_PROGRESS) == str(Status.IN_PROGRESS.label)
    with translation.override("id"):
        indonesian = choice_label(Status, "in_progress")
    with translation.override("en"):
        assert choice_label(Status, "in_progress") == "In progress" != indonesian
