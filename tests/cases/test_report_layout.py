"""A report lays out the same whichever fonts the host has: the same outcome report, rendered in separate processes
under different fontconfig set-ups (no system fonts at all, the host's own, a host whose system fonts are Noto and
DejaVu under their usual names), has the same pages with the same text on each, set in the same embedded fonts.

It runs `cases.report_rendering.html_to_pdf` in a subprocess because fontconfig reads FONTCONFIG_FILE once per
process. Nothing here needs a host tool: pypdf reads the PDFs."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader

from cases.actions.thread import post_message
from cases.report_rendering import FONT_DIR, outcome_report_html, report_base_url
from tests.factories import World

from .test_reports import full_case

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# Renders the HTML file argv[1] to the PDF file argv[2]; prints how many system fonts fontconfig offered it.
RENDER = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "liaison.settings"
import django
django.setup()
from weasyprint.text.ffi import ffi, fontconfig
from cases.report_rendering import html_to_pdf
with open(sys.argv[1], encoding="utf-8") as source:
    pdf = html_to_pdf(source.read(), base_url=sys.argv[3])
with open(sys.argv[2], "wb") as target:
    target.write(pdf)
system = fontconfig.FcConfigGetFonts(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcSetSystem)
print(json.dumps({"system_fonts": system.nfont if system != ffi.NULL else 0}))
"""
# Text people type in every script the shipped fonts carry, with the arrows and ticks the report draws.
TYPED = "Saluran → @kanal_contoh ✓ · Ελληνικά · Кириллица · العربية · Ünïcödé «quotes» – dash"


def fontconfig_file(directory: Path, *font_dirs: Path) -> Path:
    """A fontconfig configuration offering only the fonts in `font_dirs` (none at all when empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    dirs = "".join(f"<dir>{d}</dir>" for d in font_dirs)
    path = directory / "fonts.conf"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                    f"<fontconfig>{dirs}<cachedir>{directory / 'cache'}</cachedir></fontconfig>\n")
    return path


def render_in_a_process(html: Path, pdf: Path, fontconfig: Path | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FONTCONFIG", "DJANGO_SETTINGS"))}
    env["DEBUG"] = "true"  # development settings: no production secrets needed to lay out a page
    if fontconfig is not None:
        env["FONTCONFIG_FILE"] = str(fontconfig)
    result = subprocess.run([sys.executable, "-c", RENDER, str(html), str(pdf), report_base_url()], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def layout(pdf: bytes) -> list[dict[str, Any]]:
    """Per page: its text and the embedded fonts it uses (subset tags dropped)."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        names = sorted({re.sub(r"^[A-Z]{6}\+", "", str(font.get_object()["/BaseFont"]).lstrip("/"))
                        for font in fonts.values()})
        pages.append({"text": page.extract_text(), "fonts": names})
    return pages


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_report_lays_out_the_same_on_hosts_with_different_fonts(world: World, tmp_path: Path, language: str,
                                                                pdf_renderer: None):
    case = full_case(world, items=60)
    post_message(actor=world.liaison, case=case, body=TYPED)
    html = tmp_path / "report.html"
    html.write_text(outcome_report_html(case, language=language, include_thread=True, approver=world.manager,
                                        version=1, issued_at=timezone.now()), encoding="utf-8")
    hosts = {
        "no system fonts": fontconfig_file(tmp_path / "bare"),
        "this host's fonts": None,
        "Noto and DejaVu as system fonts": fontconfig_file(tmp_path / "noto", FONT_DIR),
    }
    seen, layouts = {}, {}
    for name, config in hosts.items():
        pdf = tmp_path / f"{len(layouts)}.pdf"
        seen[name] = render_in_a_process(html, pdf, config)["system_fonts"]
        layouts[name] = layout(pdf.read_bytes())
    # The set-ups really differ: none, the host's own, and the shipped families under their usual names.
    assert seen["no system fonts"] == 0 and seen["Noto and DejaVu as system fonts"] >= 7, seen

    reference = layouts["no system fonts"]
    assert len(reference) >= 3  # several pages, so a shifted line would move text between them
    fonts = set().union(*(set(page["fonts"]) for page in reference))
    assert fonts <= {"Liaison-Sans", "Liaison-Sans-Bold", "Liaison-Serif", "Liaison-Serif-Bold", "Liaison-Mono",
                     "Liaison-Symbols", "Liaison-Symbols-Bold"}, fonts
    text = " ".join(page["text"] for page in reference)
    assert case.reference in text and "Кириллица" in text
    for name, pages in layouts.items():
        assert len(pages) == len(reference), (name, len(pages), len(reference))
        for number, (page, expected) in enumerate(zip(pages, reference, strict=True), start=1):
            assert page == expected, f"page {number} differs with {name}"
