from typing import Any
import pytest
from .conftest import axe_violations, format_violations
pytestmark = [pytest.mark.e2e]

def test_inspect(demo: None, live_server: Any, sign_in: Any) -> None:
    for email, lang in [("liaison@ministry-id.example", None), ("moderator-en@platform.example", None)]:
        p = sign_in(email, language=lang)
        for path in ["/cases/", "/cases/new/" if "liaison" in email else "/cases/?status=open"]:
            p.goto(live_server.url + path)
            print("\n==", email, path, format_violations(axe_violations(p)))
        p.goto(live_server.url + "/cases/")
        links = p.locator("tbody tr td:first-child a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        for h in hrefs[:40]:
            p.goto(live_server.url + h)
            v = axe_violations(p)
            print("\n==", email, h, p.locator("main .lx-status").first.inner_text(), format_violations(v))
            if p.get_by_test_id("deadline-panel").count():
                print("   DEADLINES:", p.get_by_test_id("deadline-panel").inner_text().replace("\n", " | "))
        p.context.close()
