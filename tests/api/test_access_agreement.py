"""The API and the pages refuse the same people the same way: for each API row of the access matrix
(tests/access/table.py) and the row of the page doing the same thing, every persona is refused alike (404 where
the thing is not theirs to see, 403 where it is but the act is not theirs) or allowed alike, and whoever the page
sends to sign in, the API answers 401. The matrix test replays both rows over real requests; this holds the two
rows to each other, so the table cannot say one thing for the API and another for the pages."""

from __future__ import annotations

import pytest

from tests.access.table import PERSONAS, ROWS, Row

A, C = "/api/v1/cases/{case}", "/cases/{case}"
R = "/cases/{resolved}"
W = "/api/v1/webhooks/endpoints/"
TWINS = [
    (("GET", A + "/", ""), ("GET", C + "/", None)),
    (("GET", "/api/v1/cases/{red}/", "TLP:RED"), ("GET", "/cases/{red}/", None)),
    (("POST", A + "/request-information/", ""), ("POST", C + "/do/request_information/", None)),
    (("POST", A + "/withdraw/", ""), ("POST", C + "/do/withdraw/", None)),
    (("POST", "/api/v1" + R + "/close/", ""), ("POST", R + "/do/close/", None)),
    (("POST", A + "/items/", ""), ("POST", C + "/items/add/", None)),
    (("POST", A + "/items/outcomes/", ""), ("POST", C + "/items/decide/", None)),
    (("GET", A + "/messages/", ""), ("GET", C + "/thread/", None)),
    (("POST", A + "/evidence/", None), ("POST", C + "/evidence/upload/", None)),
    (("GET", A + "/evidence/{evidence}/download/", ""), ("GET", C + "/evidence/{evidence}/download/", None)),
    (("GET", A + "/evidence/{platform_evidence}/download/", None),
     ("GET", C + "/evidence/{platform_evidence}/download/", None)),
    (("POST", A + "/deadlines/proposals/", ""), ("POST", C + "/deadlines/propose/", None)),
    (("POST", A + "/deadlines/proposals/{proposal}/reject/", None),
     ("POST", C + "/deadlines/proposals/{proposal}/answer/", None)),
    (("GET", "/api/v1" + R + "/reports/", ""), ("GET", R + "/reports/", None)),
    (("POST", "/api/v1" + R + "/reports/", ""), ("POST", R + "/reports/request/", None)),
    (("GET", "/api/v1" + R + "/reports/{report}/download/", ""), ("GET", R + "/reports/{report}/download/", None)),
    (("GET", "/api/v1/audit/checkpoints/", ""), ("GET", "/cases/audit/checkpoints/", None)),
    (("GET", "/api/v1/audit/checkpoints/{checkpoint}/", ""), ("GET", "/cases/audit/checkpoints/{checkpoint}/", None)),
    (("GET", W, None), ("GET", "/organisation/webhooks/", None)),
    (("POST", W, None), ("POST", "/organisation/webhooks/add/", None)),
    (("GET", W + "{webhook}/", None), ("GET", "/organisation/webhooks/{webhook}/", None)),
    (("PATCH", W + "{webhook}/", "disable"), ("POST", "/organisation/webhooks/{webhook}/disable/", None)),
    (("DELETE", W + "{webhook}/", None), ("POST", "/organisation/webhooks/{webhook}/delete/", None)),
    (("POST", W + "{webhook}/rotate-secret/", None), ("POST", "/organisation/webhooks/{webhook}/rotate/", None)),
    (("GET", W + "{webhook}/deliveries/", None), ("GET", "/organisation/webhooks/{webhook}/", None)),
    (("POST", W + "{webhook}/deliveries/{webhook_delivery}/redeliver/", None),
     ("POST", "/organisation/webhooks/{webhook}/deliveries/{webhook_delivery}/redeliver/", None)),
]


def row(method: str, path: str, note: str | None) -> Row:
    """The first row of the table for this request (with this note, unless None)."""
    found = [r for r in ROWS if r.method == method and r.path == path and (note is None or r.note == note)]
    assert found, f"no row {method} {path} ({note}) in tests/access/table.py"
    return found[0]


def refusal(status: str) -> str:
    """What a cell says of the person: refused as not signed in, refused as not theirs (404), refused the act
    (403), or let through (whatever the page or the API then answers: a redirect, a page, 2xx, 400, 409)."""
    if status in ("L", "401"):
        return "not signed in"
    if status in ("403", "404"):
        return status
    return "let through"


@pytest.mark.parametrize(("api", "page"), TWINS, ids=[f"{a[0]} {a[1]}" for a, _ in TWINS])
def test_the_api_and_the_page_refuse_the_same_people(api: tuple[str, str, str | None],
                                                    page: tuple[str, str, str | None]) -> None:
    api_row, page_row = row(*api), row(*page)
    api_cells, page_cells = api_row.expected(), page_row.expected()
    differ = {persona: (page_cells[persona], api_cells[persona]) for persona in PERSONAS
              if refusal(api_cells[persona]) != refusal(page_cells[persona])}
    assert differ == {}, f"{api_row.id} and {page_row.id} disagree (page, API): {differ}"
