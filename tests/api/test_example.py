"""docs/api.md's worked example in Python runs, as written there, against a live test server: a case from a CSV of
links, a screenshot, the submission; then, once the platform resolved it and issued the report, the report
downloaded and verified."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cases.actions.cases import acknowledge_case, resolve_case
from cases.actions.reports import generate_report, request_report
from cases.choices import Status
from cases.models import Case, Evidence
from tests.cases.conftest import decide_all
from tests.cases.test_reports import png
from tests.factories import build_world

from .conftest import token_for

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
LINKS = """url,note
https://t.me/recruitment_channel_01,pinned post calls for attacks
t.me/s/recruitment_channel_02,
@recruitment_group_03,linked from channel 01
"""


def examples() -> dict[str, str]:
    found = dict(re.findall(r"<!-- example: (\w+) -->\n```python\n(.*?)```", DOC.read_text(), re.DOTALL))
    assert set(found) == {"submit", "report"}
    return found


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_python_example_of_the_api_documentation_runs(live_server: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    world = build_world()
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

    exec(compile(code["report"], "docs/api.md (report)", "exec"), namespace)  # noqa: S102 (the documented example)

    printed = capsys.readouterr().out
    assert "genuine" in printed and f"version 1 of {case.reference}" in printed
    assert (tmp_path / f"{case.reference}-v1.pdf").is_file()
