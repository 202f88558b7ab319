"""Links in an e-mail body (issue 11, part 1 and 3): tg:// app links, bare name.t.me and look-alike hosts are
found and reach the normaliser, so they become items (with their warning) or are counted as rejected;
e-mail addresses and ordinary words with a dot are never taken for links."""

from __future__ import annotations

import time

import pytest

from cases.email_items import find_candidates, items_and_files
from cases.email_parsing import ParsedEmail

LETTER = """Yth. tim platform,

mohon blokir kanal berikut: tg://resolve?domain=kabar_daulah_id, juga tg://resolve?domain=kabar_daulah_id&post=5
dan undangan tg:join?invite=Qx7bH2kLmNoPq. Pesan privat: tg://privatepost?channel=1234567890&post=789.
Kanal cadangan: seruan_nusantara.t.me (juga https://seruan_nusantara.t.me/12).
Kanal palsu t.\u043c\u0435/kabar_daulah_id meniru kanal asli; situs \u0430pple.com/id/login juga palsu.
Instant View: https://t.me/iv?url=https://example.com/a
"""


def test_telegram_app_links_bare_subdomains_and_look_alikes_are_found_in_order() -> None:
    assert find_candidates(LETTER) == [
        "tg://resolve?domain=kabar_daulah_id",
        "tg://resolve?domain=kabar_daulah_id&post=5",
        "tg:join?invite=Qx7bH2kLmNoPq",
        "tg://privatepost?channel=1234567890&post=789",
        "seruan_nusantara.t.me",
        "https://seruan_nusantara.t.me/12",
        "t.\u043c\u0435/kabar_daulah_id",
        "\u0430pple.com/id/login",
        "https://t.me/iv?url=https://example.com/a",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Hubungi ivan.petrov@ministry.test untuk info.",
        "Tulis ke kanal_baru@t.me atau admin@kanal_resmi.t.me.",
        "Alamat palsu: \u0456van.petr\u043ev@example.com dan x@t.\u043c\u0435",
        "Lihat e.g. laporan.pdf, versi 1.2.3, dan Halo.Apa kabar?",
        "Situs resmi \u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/\u043f\u0443\u0442\u044c dan example.com/page.",
        "Nomor @12345 bukan akun.",
    ],
)
def test_addresses_and_ordinary_words_are_not_candidates(text: str) -> None:
    assert find_candidates(text) == []


def test_an_emailed_letter_becomes_items_with_the_look_alike_flagged() -> None:
    parsed = ParsedEmail(sender="dewi@ministry.test", text=LETTER + "Sama: @kabar_daulah_id, kabar_daulah_id.t.me\n")
    items, files = items_and_files(parsed)
    assert [(row.key, row.kind) for row in items.rows] == [
        ("t.me/kabar_daulah_id", "channel"),
        ("t.me/kabar_daulah_id/5", "message"),
        ("t.me/+Qx7bH2kLmNoPq", "group"),
        ("t.me/c/1234567890/789", "message"),
        ("t.me/seruan_nusantara", "channel"),
        ("t.me/seruan_nusantara/12", "message"),
        ("t.xn--e1an/kabar_daulah_id", "account"),
        ("xn--pple-43d.com/id/login", "post"),
    ]
    warned = [row.target for row in items.rows if row.warning]
    assert warned == ["t.\u043c\u0435/kabar_daulah_id", "\u0430pple.com/id/login"]
    assert items.rejected == 1  # the Instant View link: reported, not silently dropped
    assert files == []


def test_a_hostile_body_of_dotted_words_is_read_in_linear_time() -> None:
    started = time.monotonic()
    assert find_candidates("a." * 200_000 + "a@x.example " + "ab-cd." * 50_000 + "@") == []
    assert time.monotonic() - started < 2  # quadratic backtracking would take minutes
