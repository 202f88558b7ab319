"""Outcome reports rendered: the case's record laid out as a PDF by WeasyPrint from templates/reports/.

`render_outcome_report(case, ...) -> bytes` reads the case (timeline, deadlines, items, shared evidence and
thread; never internal notes) and returns an unsigned PDF. Times are exact, in the requesting authority's
zone with their UTC offset. Nothing is fetched from outside and nothing is written to the database.

`html_to_pdf` (also used for the signature block) sets every report in the fonts shipped in report_fonts/,
registered with WeasyPrint once per process and thread, so a report looks the same from any host and embeds
every glyph it uses.

What a 1,000-item report's time goes to (tests/perf/test_report_speed.py): cutting the embedded fonts down to the
glyphs used took half of it with fontTools 4.68, WeasyPrint's pure-Python fallback, and nothing measurable with
HarfBuzz's subsetter (libharfbuzz-subset0, a host package: `font_subsetter`, and `check --deploy` warns
`cases.W001` without it); the cyclic garbage collector walking the process's older objects again and again while
the report's boxes were made, a quarter of the rest (`_collector_ignores_older_objects`); the rest is WeasyPrint's
style computation, layout and drawing.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import shutil
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from .report_context import report_context

if TYPE_CHECKING:
    from accounts.models import User

    from .models import AuditCheckpoint, Case

FONT_DIR = Path(__file__).resolve().parent / "report_fonts"
# The report's fonts, shipped in FONT_DIR (see its README) under names no host font has: (family, weight, file).
REPORT_FONTS = (
    ("Liaison Sans", "normal", "NotoSans-Regular.ttf"),
    ("Liaison Sans", "bold", "NotoSans-Bold.ttf"),
    ("Liaison Serif", "normal", "NotoSerif-Regular.ttf"),
    ("Liaison Serif", "bold", "NotoSerif-Bold.ttf"),
    ("Liaison Mono", "normal", "DejaVuSansMono.ttf"),
    ("Liaison Symbols", "normal", "DejaVuSans.ttf"),
    ("Liaison Symbols", "bold", "DejaVuSans-Bold.ttf"),
)
_FONT_URL = "liaison-font:"
_local = threading.local()


@dataclass(eq=False)
class _Renderer:
    """WeasyPrint's font configuration with the report fonts registered, and the stylesheet declaring them."""

    font_config: Any
    fonts: Any  # weasyprint.CSS of the @font-face rules
    fetcher: Any
    pid: int


_renderers: weakref.WeakSet[_Renderer] = weakref.WeakSet()


@atexit.register
def _remove_font_copies() -> None:
    """WeasyPrint copies @font-face files into a temporary folder that the font configuration's finaliser removes,
    which fails once the interpreter is shutting down; remove this process's copies while it still works."""
    for renderer in list(_renderers):
        folder = getattr(renderer.font_config, "_folder", None)
        if renderer.pid == os.getpid() and folder:
            shutil.rmtree(folder, ignore_errors=True)
            renderer.font_config._folder = None


def _make_renderer() -> _Renderer:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    files = {name for _family, _weight, name in REPORT_FONTS}

    class ReportFetcher(URLFetcher):
        """Reports load nothing from outside (no remote images or styles, no local files): only their fonts."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            name = url.removeprefix(_FONT_URL)
            if not url.startswith(_FONT_URL) or name not in files:
                raise ValueError(f"Outcome reports load nothing from outside: {url}")
            return URLFetcherResponse(url, body=(FONT_DIR / name).read_bytes(), headers={"Content-Type": "font/ttf"})

    fetcher = ReportFetcher(allowed_protocols=set(), fail_on_errors=False)
    font_config = FontConfiguration()
    rules = "\n".join(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{_FONT_URL}{name}"); }}'
                      for family, weight, name in REPORT_FONTS)
    renderer = _Renderer(font_config=font_config, fonts=CSS(string=rules, font_config=font_config, url_fetcher=fetcher),
                         fetcher=fetcher, pid=os.getpid())
    _renderers.add(renderer)
    return renderer


def _renderer() -> _Renderer:
    """One per thread, kept for the life of the process: the font files are read and registered with fontconfig
    once, not for every report. Nothing in it depends on a report; the fonts change only with a deploy.
    Per thread, because Pango's font map must not be shared between threads; per process, because a forked
    worker must not share the parent's temporary font folder."""
    renderer = getattr(_local, "renderer", None)
    if renderer is None or renderer.pid != os.getpid():
        renderer = _local.renderer = _make_renderer()
    return renderer


class RendererUnavailable(RuntimeError):
    """WeasyPrint cannot load the system libraries it lays text out with (Pango, HarfBuzz, fontconfig)."""


# Said wherever a PDF could not be made for this reason (logs, a failed report, the demo's seeding).
RENDERER_MISSING = ("PDF rendering is unavailable on this host: WeasyPrint needs Pango "
                    "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)")


@functools.cache
def renderer_unavailable() -> str | None:
    """None when PDFs can be made here; otherwise why not (RENDERER_MISSING and the loader's own words). Asked once
    per process: a host's libraries do not change while it runs, and every PDF asks."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        return f"{RENDERER_MISSING}. {exc}".strip()
    return None


def font_subsetter() -> str:
    """Which library cuts a report's embedded fonts down to the glyphs it uses: "HarfBuzz" where the host has
    libharfbuzz-subset0 (4.1 or later), else "fontTools", WeasyPrint's pure-Python fallback: the same PDF, pixel
    for pixel, but since fontTools 4.68 it decodes each font's layout tables before dropping them (0.09-0.17 CPU s
    a font, 0.02-0.05 s with 4.67): 0.95 of the 2.0 CPU seconds of a 1,000-item report and 0.55 s of signing it
    (the signature block is a PDF too) on the development machine, against nothing measurable with HarfBuzz."""
    missing = renderer_unavailable()
    if missing:
        raise RendererUnavailable(missing)
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "HarfBuzz"
    return "fontTools"


_collector_lock = threading.Lock()
_collector_users = 0
_collector_froze = False


@contextlib.contextmanager
def _collector_ignores_older_objects() -> Iterator[None]:
    """While a PDF is made, the cyclic garbage collector looks only at the objects made meanwhile. WeasyPrint makes
    hundreds of thousands (boxes, styles, text runs), and the collections they set off walked every older object
    of the process (Django, the modules, the fonts) again: 0.2-0.35 s of a 1,000-item report (counted with
    gc.callbacks), 0.02-0.05 s with them frozen. Frozen objects are only skipped by the collector, and they all
    return to it when the last PDF being made in the process is done (renders in several threads share one
    window). Just before, one collection of the objects made meanwhile frees the PDF's own reference cycles (the
    document is no longer referenced then): left for later, they were frozen with the rest during the next report
    and the process held two reports' boxes at once (peak RSS 337 MiB against 270 MiB). A process that keeps
    objects frozen of its own accord (gc.freeze() after a fork) is left as it is: unfreezing would undo it."""
    global _collector_users, _collector_froze
    with _collector_lock:
        if _collector_users == 0:
            _collector_froze = gc.get_freeze_count() == 0
            if _collector_froze:
                gc.freeze()
        _collector_users += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_users -= 1
            if _collector_users == 0 and _collector_froze:
                gc.collect()
                gc.unfreeze()


def load_libraries() -> None:
    """Imports what PDFs are made with, for a worker to call once at its start (cases/tasks.py): WeasyPrint's
    bindings parse their C declarations on import, most of the 0.4 s it takes, which a worker's first report paid.
    Called before the pool's processes are forked, the processes replaced after --max-tasks-per-child inherit them
    too. Nothing is set up that a forked process must not share: the fonts are registered in each process and
    thread at its first PDF (`_renderer`)."""
    if renderer_unavailable() is None:
        import weasyprint.document  # noqa: F401
        import weasyprint.pdf  # noqa: F401


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """A PDF from report HTML: set in the report fonts (embedded), fetching nothing from outside. Raises
    RendererUnavailable on a host without the libraries WeasyPrint needs."""
    missing = renderer_unavailable()
    if missing:
        raise RendererUnavailable(missing)
    with _collector_ignores_older_objects():
        return _write_pdf(html, base_url=base_url)


def _write_pdf(html: str, *, base_url: str | None) -> bytes:
    from weasyprint import HTML

    renderer = _renderer()
    document = HTML(string=html, base_url=base_url, url_fetcher=renderer.fetcher)
    return document.write_pdf(stylesheets=[renderer.fonts], font_config=renderer.font_config)


def outcome_report_html(case: Case, *, language: str, include_thread: bool, approver: User, version: int,
                        issued_at: datetime, checkpoint: AuditCheckpoint | None = None) -> str:
    """The outcome report's HTML, in its language, before layout (what `html_to_pdf` lays out)."""
    with translation.override(language):
        context = report_context(case, language=language, include_thread=include_thread, approver=approver,
                                 version=version, issued_at=issued_at, checkpoint=checkpoint)
        return render_to_string("reports/outcome_report.html", context)


def report_base_url() -> str:
    return settings.SITE_URL + "/"


def render_outcome_report(case: Case, *, language: str, include_thread: bool, approver: User, version: int,
                          issued_at: datetime, checkpoint: AuditCheckpoint | None = None) -> bytes:
    """The outcome report as an unsigned PDF (fonts embedded, text extractable)."""
    html = outcome_report_html(case, language=language, include_thread=include_thread, approver=approver,
                               version=version, issued_at=issued_at, checkpoint=checkpoint)
    return html_to_pdf(html, base_url=report_base_url())
