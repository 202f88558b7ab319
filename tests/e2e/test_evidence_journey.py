"""Evidence keeps its fingerprint end to end: what the liaison uploads is byte for byte what the moderator
downloads, and the page shows the SHA-256 both sides can check with `sha256sum`."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from cases.models import Evidence

pytestmark = [pytest.mark.e2e]

LIAISON = "liaison@ministry-id.example"
MODERATOR = "moderator@platform.example"
CASE_TITLE = "Investasi bodong berkedok koperasi"


def write_png(path: Path, colour: tuple[int, int, int], width: int = 64, height: int = 40) -> Path:
    """A small valid RGB PNG of one colour with a darker top bar."""
    bar = tuple(c // 2 for c in colour)
    raw = b"".join(b"\x00" + bytes(bar if y < 8 else colour) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if shutil.which("sha256sum"):
        assert subprocess.run(["sha256sum", str(path)], capture_output=True, text=True,
                              check=True).stdout.split()[0] == digest
    return digest


def test_uploaded_screenshots_download_with_the_same_sha256(demo: None, live_server: Any, sign_in: Any,
                                                            assert_accessible: Any, tmp_path: Path) -> None:
    first = write_png(tmp_path / "iklan-investasi-1.png", (200, 40, 40))
    second = write_png(tmp_path / "iklan-investasi-2.png", (40, 120, 200))
    expected = {first.name: sha256_of(first), second.name: sha256_of(second)}
    assert len(set(expected.values())) == 2

    liaison = sign_in(LIAISON, language="en")
    liaison.goto(f"{live_server.url}/cases/")
    liaison.locator("tbody tr", has_text=CASE_TITLE).get_by_role("link").first.click()
    expect(liaison.get_by_role("heading", level=1)).to_contain_text(CASE_TITLE)
    reference = liaison.get_by_test_id("reference").inner_text().strip()

    uploads: list[Any] = []
    liaison.on("request", lambda r: uploads.append(r) if r.url.endswith("/evidence/upload/") else None)
    evidence = liaison.locator("#evidence")
    evidence.locator("input[type=file][name=files]").set_input_files([first, second])
    evidence.get_by_test_id("upload-evidence").click()
    # One request per file, each with its own progress bar; the page reloads once both are stored.
    table = liaison.get_by_test_id("evidence-table")
    for name, digest in expected.items():
        row = table.locator("tbody tr", has_text=name)
        expect(row).to_have_count(1, timeout=30_000)
        expect(row.get_by_test_id("sha256")).to_have_text(digest)
    assert [(r.method, r.headers.get("accept")) for r in uploads] == [("POST", "application/json")] * 2
    assert_accessible(liaison, "the case page with evidence")
    liaison.context.close()

    moderator = sign_in(MODERATOR, language="en")
    moderator.goto(f"{live_server.url}/cases/{reference}/")
    row = moderator.get_by_test_id("evidence-table").locator("tbody tr", has_text=second.name)
    shown = row.get_by_test_id("sha256").inner_text().strip()
    assert shown == expected[second.name]
    stored = Evidence.objects.get(case__reference=reference, original_name=second.name)
    with moderator.expect_download() as download_info:
        row.get_by_test_id(f"download-{stored.pk}").click()
    download = download_info.value
    assert download.suggested_filename == second.name
    saved = tmp_path / "downloaded" / download.suggested_filename
    download.save_as(saved)
    assert saved.read_bytes() == second.read_bytes()
    assert sha256_of(saved) == expected[second.name] == shown

    # The evidence page shows the same fingerprint, and the chain of custody records the download.
    row.get_by_role("link", name=second.name, exact=True).click()
    expect(moderator.get_by_role("heading", level=1)).to_have_text(second.name)
    expect(moderator.get_by_test_id("sha256")).to_have_text(expected[second.name])
    custody = moderator.get_by_test_id("custody-log").locator("li")
    expect(custody.filter(has_text="Dewi Lestari").filter(has_text="uploaded")).to_have_count(1)
    expect(custody.filter(has_text="Rizky Pratama").filter(has_text="downloaded")).to_have_count(1)
