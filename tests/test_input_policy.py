"""The input policy of liaison/input_policy.py: numbers read from requests stay inside what the database holds, in
every form of ours and in every query parameter read by hand."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django import forms
from django.urls import resolve
from django.urls.exceptions import Resolver404

from liaison.input_policy import (
    MAX_ID,
    MAX_PAGE,
    BoundedIntegerField,
    column_range,
    has_unstorable,
    id_param,
    id_params,
    int_param,
    page_number,
)

PACKAGES = ("accounts", "cases", "liaison")
NOT_IMPORTED = ("migrations", "liaison.wsgi", "liaison.asgi")
BIGINT = (-(2**63), 2**63 - 1)


def our_forms() -> list[type[forms.BaseForm]]:
    """Every form class defined in our packages (each module imported, so none is missed)."""
    for package in PACKAGES:
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not any(part in module.name for part in NOT_IMPORTED):
                importlib.import_module(module.name)
    found: list[type[forms.BaseForm]] = []
    pending: list[type[forms.BaseForm]] = [forms.BaseForm]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] in PACKAGES:
                found.append(subclass)
    return found


def test_every_integer_field_of_our_forms_has_bounds_a_column_holds() -> None:
    """An IntegerField without max_value lets any number reach the database, where a bigint overflows: use
    BoundedIntegerField (bounds from the column it fills) or give both bounds."""
    forms_found = our_forms()
    assert any(form.__name__ == "SLADurationsForm" for form in forms_found)
    unbounded = []
    for form in forms_found:
        for name, field in form.base_fields.items():
            if not isinstance(field, forms.IntegerField) or isinstance(field, forms.FloatField | forms.DecimalField):
                continue
            low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
            if low is None or high is None or low < BIGINT[0] or high > BIGINT[1]:
                unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert unbounded == []


def test_a_bounded_field_takes_its_bounds_from_the_column() -> None:
    from cases.models import SLAPolicy

    field = BoundedIntegerField(model_field=SLAPolicy._meta.get_field("resolve_minutes"), min_value=1)
    assert (field.min_value, field.max_value) == (1, 2**31 - 1)
    assert field.clean("2147483647") == 2**31 - 1
    with pytest.raises(forms.ValidationError):
        field.clean("2147483648")
    with pytest.raises(forms.ValidationError):
        field.clean("9" * 5000)
    assert column_range() == (-(2**31), 2**31 - 1)
    narrowed = BoundedIntegerField(min_value=-(2**40), max_value=2**40)
    assert (narrowed.min_value, narrowed.max_value) == (-(2**31), 2**31 - 1)


@pytest.mark.parametrize(("raw", "expected"), [
    (None, 1), ("", 1), ("3", 3), (" 3 ", 3), ("007", 7), ("0", 1), ("-4", 1), ("x", 1), ("3.5", 1), ("1e3", 1),
    ("²", 1), ("٣", 1), ("999999999999999999999", MAX_PAGE), ("9" * 5000, MAX_PAGE), ("-" + "9" * 50, 1),
    (str(MAX_PAGE + 1), MAX_PAGE),
])
def test_page_numbers_are_clamped(raw: str | None, expected: int) -> None:
    assert page_number(raw) == expected


def test_int_param_clamps_to_any_range() -> None:
    assert int_param("-20", default=0, minimum=-10, maximum=10) == -10
    assert int_param("20", default=0, minimum=-10, maximum=10) == 10
    assert int_param("-5", default=0, minimum=-10, maximum=10) == -5
    assert int_param("+5", default=0, minimum=-10, maximum=10) == 5
    assert int_param("five", default=7, minimum=-10, maximum=10) == 7


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", 1), (" 42 ", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("9" * 19, None), ("9" * 20, None),
    ("0", None), ("-1", None), ("+1", None), ("²", None), ("1.0", None), ("", None), (None, None), ("0x10", None),
])
def test_ids_from_posts_are_ids_or_nothing(raw: str | None, expected: int | None) -> None:
    assert id_param(raw) == expected


def test_id_lists_keep_only_ids() -> None:
    assert id_params(["3", "x", "²", "99999999999999999999", "4"]) == [3, 4]


def test_paths_take_only_ids_a_bigint_holds() -> None:
    assert resolve("/cases/ID-2026-000001/evidence/999999999999999999/").kwargs["evidence_id"] == 10**18 - 1
    for number in ("9" * 19, "9" * 30):
        with pytest.raises(Resolver404):
            resolve(f"/cases/ID-2026-000001/evidence/{number}/")


def test_text_postgresql_cannot_store() -> None:
    assert has_unstorable("a\x00b")
    assert has_unstorable("\ud800")
    assert not has_unstorable("ordinary text, ✓, \t tabs and\nnewlines, emoji 🙂")


def test_a_body_nothing_read_is_read_before_the_answer() -> None:
    """A streamed upload refused before its form is parsed (a sign-in redirect): its body is read to the end before
    the answer, so the server keeps the connection and the proxy passes the answer on, not a 502."""
    import io

    from django.http import HttpResponseRedirect
    from django.test import RequestFactory

    from liaison.input_policy import ReadWholeBodyMiddleware

    body = b"x" * (3 * 1024 * 1024 + 17)
    request = RequestFactory().generic("POST", "/cases/ID-2026-000001/evidence/upload/", data=body,
                                       content_type="application/octet-stream")
    sent = io.BytesIO(body)
    request.environ["wsgi.input"] = sent
    request._stream = type(request._stream)(sent, len(body))  # type: ignore[attr-defined]  # as Django's handler makes it
    response = ReadWholeBodyMiddleware(lambda request: HttpResponseRedirect("/accounts/login/"))(request)
    assert response.status_code == 302
    assert sent.tell() == len(body)


def test_a_body_a_view_read_is_left_as_it_was_read() -> None:
    import io

    from django.http import HttpResponse
    from django.test import RequestFactory

    from liaison.input_policy import ReadWholeBodyMiddleware

    sent = io.BytesIO(b"a=1&b=2")
    request = RequestFactory().post("/x/", data="a=1&b=2", content_type="application/x-www-form-urlencoded")
    request._stream = type(request._stream)(sent, 7)  # type: ignore[attr-defined]

    def view(request: Any) -> HttpResponse:
        return HttpResponse(request.POST["b"])

    assert ReadWholeBodyMiddleware(view)(request).content == b"2"
    assert sent.tell() == 7
