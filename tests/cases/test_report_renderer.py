"""What the PDF renderer does to be fast, and that none of it changes a report: HarfBuzz's font subsetter gives
the same PDF as fontTools' (same text, same embedded fonts), the garbage collector's window returns every object
to the collector, and `check --deploy` warns on a host without the fast subsetter."""

from __future__ import annotations

import gc
import io
import sys
import threading

import pytest
from django.core.checks import run_checks
from pypdf import PdfReader

from cases import report_rendering

from .test_reports import pdf_fonts

pytestmark = pytest.mark.usefixtures("pdf_renderer")

TYPED = "Saluran → @kanal_contoh ✓ · Ελληνικά · Кириллица · العربية · <b>bold</b> <code>SHA-256 0f3a</code>"
HTML = ("<style>body { font-family: 'Liaison Serif', 'Liaison Symbols' } b { font-family: 'Liaison Sans' }"
        " code { font-family: 'Liaison Mono' }</style>" + "".join(f"<p>{n}. {TYPED}</p>" for n in range(40)))


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def without_harfbuzz_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host without libharfbuzz-subset0, as WeasyPrint sees it."""
    import weasyprint.pdf.fonts
    import weasyprint.text.ffi

    monkeypatch.setattr(weasyprint.text.ffi, "harfbuzz_subset", None)
    monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)


def test_either_subsetter_embeds_the_same_fonts_and_text(monkeypatch):
    fast = report_rendering.html_to_pdf(HTML)
    without_harfbuzz_subset(monkeypatch)
    assert report_rendering.font_subsetter() == "fontTools"
    slow = report_rendering.html_to_pdf(HTML)
    assert text_of(fast) == text_of(slow)
    assert "Кириллица" in text_of(fast)[0]
    assert pdf_fonts(fast) == pdf_fonts(slow)
    assert all(pdf_fonts(fast).values())


def test_making_a_pdf_leaves_every_object_to_the_garbage_collector():
    assert gc.get_freeze_count() == 0
    report_rendering.html_to_pdf(HTML)
    assert gc.get_freeze_count() == 0


def test_pdfs_made_in_several_threads_at_once_leave_every_object_to_the_collector():
    pdfs: list[bytes] = []
    started = threading.Barrier(3)

    def make() -> None:
        started.wait()
        pdfs.append(report_rendering.html_to_pdf(HTML))

    threads = [threading.Thread(target=make) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pdfs) == 3 and len({tuple(text_of(pdf)) for pdf in pdfs}) == 1
    assert gc.get_freeze_count() == 0


def test_older_objects_are_out_of_the_collectors_sight_only_while_a_pdf_is_made():
    with report_rendering._collector_ignores_older_objects():
        assert gc.get_freeze_count() > 0
        with report_rendering._collector_ignores_older_objects():
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0  # the outer PDF is still being made
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError), report_rendering._collector_ignores_older_objects():
        raise ValueError("the layout failed")
    assert gc.get_freeze_count() == 0


def test_objects_the_process_froze_itself_stay_frozen(monkeypatch):
    # Not the freeze count before and after: a frozen object the render lets go of (its last reference dropped) leaves
    # the permanent generation by itself. What must not happen is the render freezing or unfreezing anything.
    unfreeze, calls = gc.unfreeze, []
    gc.freeze()
    try:
        monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
        monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
        report_rendering.html_to_pdf(HTML)
        assert calls == []
        assert gc.get_freeze_count() > 0
    finally:
        monkeypatch.undo()
        unfreeze()


def test_deploy_check_warns_without_harfbuzz_subset(monkeypatch):
    if report_rendering.font_subsetter() == "HarfBuzz":  # CI installs it (.ci/run)
        assert "cases.W001" not in {message.id for message in run_checks(include_deployment_checks=True)}
    without_harfbuzz_subset(monkeypatch)
    warnings = [message for message in run_checks(include_deployment_checks=True) if message.id == "cases.W001"]
    assert len(warnings) == 1
    assert "libharfbuzz-subset0" in (warnings[0].hint or "")


def test_a_worker_loads_the_pdf_libraries_as_it_starts():
    from celery.signals import worker_init

    from cases import tasks

    assert tasks.load_report_libraries in worker_init._live_receivers(None)
    tasks.load_report_libraries()
    assert {"weasyprint.document", "weasyprint.pdf", "pyhanko.sign.signers"} <= set(sys.modules)
