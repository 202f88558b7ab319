"""docs/api.md's worked example in Python runs, as written there, against a live test server: a case from a CSV of
links, a screenshot, the submission; the ministry's endpoint hears of the issued report (a real delivery to a
receiver on loopback, its signature checked by the example with standardwebhooks); then the report downloaded and
verified."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cases.actions.cases import acknowledge_case, resolve_case
from cases.actions.reports import generate_report, request_report
from cases.case_events import CaseEvent
from cases.choices import Status
from cases.models import Case, Evidence
from tests.cases.conftest import decide_all
from tests.cases.test_reports import png
from tests.factories import build_world
from tests.webhooks.conftest import Receiver, subscribe
from tests.webhooks.conftest import receiver as receiver  # noqa: F401 (the loopback receiver, a fixture)
from webhooks.models import Delivery

from .conftest import token_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
LINKS = """url,note
https://t.me/recruitment_channel_01,pinned post calls for attacks
t.me/s/recruitment_channel_02,
@recruitment_group_03,linked from channel 01
"""


def examples() -> dict[str, str]:
    found = dict(re.findall(r"<!-- example: (\w+) -->\n```python\n(.*?)```", DOC.read_text(), re.DOTALL))
    assert set(found) == {"submit", "webhook", "report"}
    return found


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_python_example_of_the_api_documentation_runs(live_server: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str],
                                                          receiver: Receiver) -> None:
    world = build_world()
    # The ministry's lead adds its endpoint (Organisation → Webhooks) and hands the secret, shown once, to the script.
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.REPORT_ISSUED])
    monkeypatch.setenv("LIAISON_WEBHOOK_SECRET", endpoint.secret)
    monkeypatch.setenv("LIAISON_URL", live_server.url)
    monkeypatch.setenv("LIAISON_TOKEN", token_for(world.liaison, name="Intake script"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "links.csv").write_text(LINKS)
    (tmp_path / "screenshot.png").write_bytes(png((180, 20, 20)))
    code = examples()
    namespace: dict[str, Any] = {"__name__": "example"}

    exec(compile(code["submit"], "docs/api.md (submit)", "exec"), namespace)  # noqa: S102 (the documented example)

    case = Case.objects.get(reference=namespace["reference"])
    assert case.status == Status.SUBMITTED and case.created_by == world.liaison
    assert case.items.count() == 3
    assert Evidence.objects.filter(case=case, item__position=1).count() == 1
    printed = capsys.readouterr().out
    assert f"{case.reference} submitted" in printed

    # The platform works the case and issues its report, as on its pages.
    case = acknowledge_case(case=case, actor=world.manager)
    decide_all(case, world.manager)
    case = resolve_case(case=case, actor=world.manager, outcome_summary="All three removed.")
    report = request_report(actor=world.manager, case=case, language="en", include_thread=False, enqueue=False)
    generate_report(report_id=report.pk)

    # Liaison posts the signed event to the ministry's receiver; the example's function checks what arrived.
    exec(compile(code["webhook"], "docs/api.md (webhook)", "exec"), namespace)  # noqa: S102 (the documented example)
    [delivered] = receiver.requests
    assert Delivery.objects.get(endpoint=endpoint).status == Delivery.Status.DELIVERED
    assert namespace["report_issued"](delivered.body.encode(), delivered.headers) is True
    forged = delivered.body.replace(case.reference, case.reference + "9")
    with pytest.raises(PermissionError, match="not from Liaison"):
        namespace["report_issued"](forged.encode(), delivered.headers)

    exec(compile(code["report"], "docs/api.md (report)", "exec"), namespace)  # noqa: S102 (the documented example)

    printed = capsys.readouterr().out
    assert "genuine" in printed and f"version 1 of {case.reference}" in printed
    assert (tmp_path / f"{case.reference}-v1.pdf").is_file()
