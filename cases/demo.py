"""A living picture for `make run`: about 30 cases from both demo authorities in every state.

Built only through actions, so the demo record (audit chain included) is what real use would leave.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from html import escape

from django.db import transaction

from accounts.models import Organization, User

from .actions.cases import assign_case, create_case, resolve_case, submit_case, transition_case
from .actions.deadlines import answer_proposal, propose_deadline
from .actions.evidence import add_evidence, record_evidence_access
from .actions.items import set_item_outcomes
from .actions.reports import generate_report, request_report
from .actions.thread import post_message
from .choices import TLP, Outcome, Priority, RequestType, Transition
from .item_lists import parse_text
from .models import Case, Category, Evidence
from .report_rendering import html_to_pdf, renderer_unavailable

ID_CHANNELS = [
    "https://t.me/s/seruan_jihad_nusantara", "t.me/kabar_daulah_id", "https://telegram.me/Ansharul_Media",
    "@dakwah_khilafah_baru", "https://t.me/rekrutmen_mujahid/1042", "https://t.me/+Qx7bH2kLmNoPq",
    "https://t.me/judi_slot_gacor88", "https://t.me/togel_online_resmi", "https://t.me/pinjol_cepat_cair",
    "https://t.me/investasi_bodong_99", "https://t.me/hoaks_pemilu_2026", "https://t.me/s/berita_palsu_terkini",
    "https://t.me/doxing_pejabat", "https://t.me/jual_data_ktp", "https://t.me/casino_vip_indo",
]
MY_CHANNELS = [
    "https://t.me/scam_crypto_my", "https://t.me/judi_bola_malaysia", "@fake_bank_my_support",
    "https://t.me/seruan_jihad_nusantara", "https://t.me/hate_group_my/88", "https://t.me/kabar_daulah_id",
]

# (authority, title, category, state, tlp, priority, threat_to_life)
PLAN = [
    ("id", "Saluran propaganda ISIS berbahasa Indonesia", "terrorism", "submitted", TLP.AMBER, "", False),
    ("id", "Ajakan serangan terhadap tempat ibadah", "terrorism", "in_progress", TLP.AMBER, "", True),
    ("id", "Rekrutmen kelompok teror melalui grup", "terrorism", "awaiting_information", TLP.AMBER, "", False),
    ("id", "Jaringan judi slot daring", "illegal-gambling", "in_progress", TLP.GREEN, "", False),
    ("id", "Situs togel ilegal — gelombang kedua", "illegal-gambling", "resolved", TLP.GREEN, "", False),
    ("id", "Penipuan pinjaman daring", "fraud", "closed", TLP.GREEN, "", False),
    ("id", "Investasi bodong berkedok koperasi", "fraud", "submitted", TLP.CLEAR, "", False),
    ("id", "Hoaks pemilu daerah", "disinformation", "resolved", TLP.GREEN, "", False),
    ("id", "Penyebaran data pribadi pejabat", "privacy", "in_progress", TLP.AMBER, Priority.HIGH, False),
    ("id", "Penjualan data KTP", "privacy", "draft", TLP.AMBER, "", False),
    ("id", "Ujaran kebencian terhadap kelompok etnis", "hate-speech", "withdrawn", TLP.GREEN, "", False),
    ("id", "Operasi rahasia: jaringan pendanaan teror", "terrorism", "in_progress", TLP.RED, "", False),
    ("id", "Kasino daring tanpa izin", "illegal-gambling", "draft", TLP.GREEN, "", False),
    ("id", "Materi eksploitasi anak — laporan mendesak", "csam", "in_progress", TLP.AMBER, "", False),
    ("id", "Saluran hoaks kesehatan", "disinformation", "awaiting_information", TLP.GREEN, "", False),
    ("id", "Propaganda ekstremis — arsip lama", "terrorism", "closed", TLP.AMBER, "", False),
    ("id", "Penipuan undian berhadiah", "fraud", "resolved", TLP.CLEAR, "", False),
    ("id", "Kampanye pelecehan terhadap jurnalis", "hate-speech", "submitted", TLP.AMBER, Priority.HIGH, False),
    ("my", "Crypto investment scam channels", "fraud", "submitted", TLP.GREEN, "", False),
    ("my", "Football betting syndicate", "illegal-gambling", "in_progress", TLP.GREEN, "", False),
    ("my", "Extremist recruitment channel (cross-border)", "terrorism", "in_progress", TLP.AMBER, "", False),
    ("my", "Impersonation of bank support", "fraud", "resolved", TLP.GREEN, "", False),
    ("my", "Hate group targeting migrants", "hate-speech", "awaiting_information", TLP.AMBER, "", False),
    ("my", "Counterfeit goods marketplace", "intellectual-property", "closed", TLP.CLEAR, "", False),
    ("my", "Election disinformation network", "disinformation", "draft", TLP.GREEN, "", False),
    ("my", "Leaked medical records", "privacy", "withdrawn", TLP.AMBER, "", False),
    ("my", "Threats against a public official", "other", "submitted", TLP.AMBER, "", True),
    ("my", "Illegal online casino advertisements", "illegal-gambling", "resolved", TLP.GREEN, "", False),
    ("my", "Scam job offers", "fraud", "in_progress", TLP.GREEN, Priority.HIGH, False),
    ("my", "Violent extremist videos", "terrorism", "closed", TLP.AMBER, "", False),
]

ROUTE = {
    "draft": [],
    "submitted": [Transition.SUBMIT],
    "in_progress": [Transition.SUBMIT, Transition.ACKNOWLEDGE],
    "awaiting_information": [Transition.SUBMIT, Transition.ACKNOWLEDGE, Transition.REQUEST_INFORMATION],
    "resolved": [Transition.SUBMIT, Transition.ACKNOWLEDGE, Transition.RESOLVE],
    "closed": [Transition.SUBMIT, Transition.ACKNOWLEDGE, Transition.RESOLVE, Transition.CLOSE],
    "withdrawn": [Transition.SUBMIT, Transition.WITHDRAW],
}

NOTES = {
    Transition.REQUEST_INFORMATION: "Please send the legal order and screenshots for items 2 and 3.",
    Transition.WITHDRAW: "Handled through another channel; withdrawn by the authority.",
}

DECISIONS = [
    (Outcome.REMOVED, ""),
    (Outcome.RESTRICTED, "Restricted in the requesting country under local law."),
    (Outcome.NO_ACTION_NOT_FOUND, "The channel no longer exists."),
    (Outcome.NO_ACTION_NOT_ILLEGAL, "Satire; does not violate local law or our terms."),
]


def seed_cases(people: dict[str, User], platform: Organization) -> int:
    """Create the demo cases once; returns how many were created now."""
    if Case.objects.filter(title=PLAN[0][1]).exists():
        return 0
    rng = random.Random(2026)  # noqa: S311 (demo data, not security)
    categories = {c.slug: c for c in Category.objects.all()}
    created = 0
    for index, (side, title, category, state, tlp, priority, ttl) in enumerate(PLAN):
        liaison = people["liaison@ministry-id.example" if side == "id" else "liaison@ministry-my.example"]
        pool = ID_CHANNELS if side == "id" else MY_CHANNELS
        targets = rng.sample(pool, k=min(len(pool), rng.randint(3, 6)))
        with transaction.atomic():
            case = create_case(
                actor=liaison, title=title, category=categories[category], responding_org=platform,
                request_type=RequestType.REMOVAL if index % 5 else RequestType.GEO_RESTRICTION,
                legal_basis=("Undang-Undang No. 11 Tahun 2008 tentang ITE jo. UU No. 1 Tahun 2024"
                             if side == "id" else "Communications and Multimedia Act 1998"),
                legal_article="Pasal 40 ayat (2b)" if side == "id" else "Section 233",
                priority=priority, threat_to_life=ttl, tlp=tlp,
                items=parse_text("\n".join(targets)).accepted,
            )
            _walk(case, state, people, side)
        created += 1
    return created


def _walk(case: Case, state: str, people: dict[str, User], side: str) -> None:
    liaison = case.created_by
    moderator = people["moderator@platform.example" if side == "id" else "moderator-en@platform.example"]
    manager = people["manager@platform.example"]
    for transition in ROUTE[state]:
        if transition == Transition.SUBMIT:
            case = submit_case(case=case, actor=liaison)
            continue
        worker = manager if case.tlp == TLP.RED else moderator
        if transition == Transition.ACKNOWLEDGE:
            assign_case(actor=manager, case=case, assignee=worker)
        if transition == Transition.RESOLVE:
            items = list(case.items.order_by("position"))
            for number, item in enumerate(items):
                outcome, reason = DECISIONS[number % len(DECISIONS)]
                set_item_outcomes(actor=worker, case=case, item_ids=[item.pk], outcome=outcome,
                                          reason=reason)
            case = resolve_case(case=case, actor=worker,
                                        outcome_summary="Most reported channels were removed; see each item.")
            continue
        actor = liaison if transition in (Transition.WITHDRAW, Transition.CLOSE) else worker
        case = transition_case(case=case, transition=transition, actor=actor,
                                       note=NOTES.get(transition, ""))
    if state == "in_progress":
        first = case.items.order_by("position").first()
        worker = manager if case.tlp == TLP.RED else moderator
        if first is not None:
            set_item_outcomes(actor=worker, case=case, item_ids=[first.pk], outcome=Outcome.REMOVED)


# --- Evidence -------------------------------------------------------------------------------------

SCREENSHOT_PROPAGANDA = "tangkapan-layar-saluran-propaganda.png"
SCREENSHOT_GAMBLING = "tangkapan-layar-grup-judi-slot.png"
LETTER = "surat-permohonan-pemutusan-akses.pdf"
CHAT_EXPORT = "ekspor-obrolan-grup.txt"

CHAT_LINES = """Ekspor obrolan grup "Kajian Pemuda Nusantara" (data demo, bukan percakapan nyata)
Diekspor oleh Kementerian Komunikasi (Demo) pada 12/03/2026 09:40 WIB

[11/03/2026 21:02] Admin: Pengumuman untuk anggota baru: baca pesan yang disematkan.
[11/03/2026 21:04] Anggota_17: Sudah dibaca, admin.
[11/03/2026 21:06] Admin: Yang siap ikut "aksi" hari Jumat di depan rumah ibadah itu, kirim pesan pribadi.
[11/03/2026 21:07] Anggota_42: Lokasinya di mana? Jam berapa?
[11/03/2026 21:09] Admin: Jangan tulis di sini. Pindah ke saluran cadangan: t.me/+Qx7bH2kLmNoPq
[11/03/2026 21:15] Anggota_17: Siap, sudah bergabung.
"""


def _png(width: int, height: int, background: tuple[int, int, int], bar: tuple[int, int, int],
         bubbles: list[tuple[int, int, int, int, tuple[int, int, int]]]) -> bytes:
    """A small valid PNG drawn by hand: a title bar and message bubbles, like a chat screenshot."""
    rows = []
    for y in range(height):
        row = bytearray(bytes(bar if y < 36 else background) * width)
        for x0, y0, x1, y1, colour in bubbles:
            if y0 <= y < y1:
                row[x0 * 3:x1 * 3] = bytes(colour) * (x1 - x0)
        rows.append(b"\x00" + bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def _screenshot(accent: tuple[int, int, int]) -> bytes:
    grey, white = (226, 230, 236), (255, 255, 255)
    bubbles = [(16, 52, 300, 88, grey), (16, 100, 250, 128, grey), (180, 142, 464, 190, accent),
               (16, 204, 330, 232, grey), (300, 244, 464, 262, white)]
    return _png(480, 270, (240, 242, 245), (32, 56, 92), bubbles)


def _letter(case: Case) -> bytes:
    """The ministry's letter, set in the report fonts shipped with the code (a host may have no fonts at all)."""
    items = "".join(f"<li>{escape(item.target)}</li>" for item in case.items.order_by("position"))
    html = f"""<html><head><meta charset="utf-8"><style>
      @page {{ size: A4; margin: 2.2cm; }} body {{ font-family: "Liaison Sans", "Liaison Symbols"; font-size: 10.5pt; line-height: 1.45; }}
      .kop {{ text-align: center; border-bottom: 2px solid #20385c; padding-bottom: 6px; margin-bottom: 18px; }}
      .kop h1 {{ font-size: 14pt; margin: 0; }} .demo {{ color: #a00; font-size: 9pt; }}
      table td {{ padding: 0 8px 0 0; vertical-align: top; }} .ttd {{ margin-top: 36px; }}</style></head><body>
      <div class="kop"><h1>KEMENTERIAN KOMUNIKASI (DEMO)</h1>
        <div>Direktorat Pengendalian Konten Digital · Jakarta</div>
        <div class="demo">Contoh untuk demonstrasi Liaison — bukan dokumen resmi</div></div>
      <table><tr><td>Nomor</td><td>: B-{case.pk:04d}/DEMO/KOM/03/2026</td></tr>
        <tr><td>Perihal</td><td>: Permohonan pemutusan akses konten ({escape(case.reference)})</td></tr></table>
      <p>Kepada Yth.<br>Tim Trust &amp; Safety<br>{escape(case.responding_org.name)}</p>
      <p>Berdasarkan {escape(case.legal_basis)}, {escape(case.legal_article)}, kami meminta agar akses ke
        saluran dan pesan berikut diputus karena memuat propaganda terorisme:</p>
      <ol>{items}</ol>
      <p>Tangkapan layar terlampir pada kasus {escape(case.reference)} di Liaison. Mohon konfirmasi tindak
        lanjut dalam waktu yang disepakati.</p>
      <p class="ttd">Hormat kami,<br><br><br>{escape(case.created_by.full_name)}<br>Liaison</p>
    </body></html>"""
    return html_to_pdf(html)


def seed_evidence(people: dict[str, User]) -> int:
    """Attach a few sample files to Indonesian demo cases, once; one is downloaded by the ID moderator so the
    chain of custody has something to show. Returns how many files were stored now."""
    if Evidence.objects.filter(original_name=LETTER, case__requesting_org__country="ID").exists():
        return 0
    liaison = people["liaison@ministry-id.example"]
    moderator = people["moderator@platform.example"]
    org = liaison.membership.organization

    def demo_case(title: str) -> Case | None:
        return Case.objects.filter(title=title, requesting_org=org).order_by("pk").first()

    propaganda = demo_case("Saluran propaganda ISIS berbahasa Indonesia")
    attack = demo_case("Ajakan serangan terhadap tempat ibadah")
    gambling = demo_case("Jaringan judi slot daring")
    plan = []
    if propaganda is not None:
        plan += [(propaganda, SCREENSHOT_PROPAGANDA, _screenshot((200, 40, 40)),
                  "Pesan yang disematkan di saluran, berisi ajakan bergabung."),
                 ]
        if renderer_unavailable() is None:  # the letter is a PDF: a host without Pango gets the other files
            plan.append((propaganda, LETTER, _letter(propaganda), "Surat permohonan resmi (contoh)."))
    if attack is not None:
        plan.append((attack, CHAT_EXPORT, CHAT_LINES.encode(), "Ekspor obrolan grup yang memuat ajakan aksi."))
    if gambling is not None:
        plan.append((gambling, SCREENSHOT_GAMBLING, _screenshot((236, 168, 24)),
                     "Iklan slot daring dengan tautan deposit."))
    stored = 0
    for case, name, data, description in plan:
        first = case.items.order_by("position").first()
        item = first if name.endswith(".png") else None
        url = item.target if item is not None and item.target.startswith("https://") else ""
        result = add_evidence(actor=liaison, case=case, source=io.BytesIO(data), original_name=name,
                                      item=item, description=description, documents_url=url)
        stored += int(result.created)
        if name == LETTER:
            record_evidence_access(actor=moderator, evidence=result.evidence, action="evidence.downloaded")
    return stored


DEMO_INBOUND_MESSAGE_ID = "<demo-forwarded-list-1@gmail.example>"


def seed_inbound(people: dict[str, User]) -> int:
    """One e-mail from an unknown sender (a forwarded list), so the quarantine has something to review.

    Idempotent: the fixed Message-ID makes a second run a duplicate delivery. Returns 1 if ingested now.
    """
    from email.message import EmailMessage
    from email.utils import format_datetime

    from django.utils import timezone

    from .actions.inbound import ingest
    from .models import InboundEmail

    if InboundEmail.objects.filter(message_id=DEMO_INBOUND_MESSAGE_ID).exists():
        return 0
    liaison = people.get("liaison@ministry-id.example")
    original = EmailMessage()
    original["From"] = f"{liaison.full_name if liaison else 'Dewi Lestari'} <liaison@ministry-id.example>"
    original["To"] = "someone@gmail.example"
    original["Subject"] = "Daftar kanal propaganda terorisme — Maret 2026"
    original["Date"] = format_datetime(timezone.now())
    original.set_content(
        "Yth. Bapak/Ibu,\n\nBerikut daftar kanal yang menyebarkan propaganda terorisme:\n\n"
        + "\n".join(f"{n}. {target}" for n, target in enumerate(ID_CHANNELS[:5], start=1))
        + "\n\nHormat kami,\nDewi\n"
    )
    message = EmailMessage()
    message["From"] = "Someone <someone@gmail.example>"
    message["To"] = "laporan@reply.liaison.localhost"
    message["Subject"] = "Fwd: Daftar kanal propaganda terorisme — Maret 2026"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = DEMO_INBOUND_MESSAGE_ID
    message.set_content("Tolong diproses, ini dari kementerian.\n")
    message.add_attachment(original)
    ingest(message.as_bytes())
    return 1


# --- Outcome reports ---------------------------------------------------------------------------------------------

# (authority, case title, language, include the shared thread)
DEMO_REPORTS = [
    ("id", "Situs togel ilegal — gelombang kedua", "id", True),
    ("my", "Impersonation of bank support", "en", False),
]


def seed_reports(people: dict[str, User]) -> int:
    """Issue a signed outcome report for resolved demo cases, once each (creating the development signing
    identity first if there is none). Rendered and signed here, not by the worker. Returns how many were issued."""
    from pathlib import Path

    from django.conf import settings

    from .models import OutcomeReport
    from .signing_identity import create_signing_identity

    if renderer_unavailable() is not None:
        return 0  # no PDFs on this host (seed_demo says why); the rest of the demo works
    if not Path(settings.LIAISON_SIGNING_P12).exists():
        create_signing_identity()
    manager = people["manager@platform.example"]
    issued = 0
    for side, title, language, include_thread in DEMO_REPORTS:
        liaison = people["liaison@ministry-id.example" if side == "id" else "liaison@ministry-my.example"]
        case = Case.objects.filter(title=title, requesting_org=liaison.membership.organization).order_by("pk").first()
        if case is None or case.reports.filter(status=OutcomeReport.Status.READY).exists():
            continue
        if case.reports.filter(status__in=[OutcomeReport.Status.QUEUED, OutcomeReport.Status.RENDERING,
                                           OutcomeReport.Status.SIGNING]).exists():
            continue
        if include_thread and not case.messages.filter(kind="shared").exists():
            post_message(actor=liaison, case=case, body="Terima kasih atas tindak lanjutnya. Mohon laporan "
                                 "hasil resmi untuk arsip kami.")
        report = request_report(actor=manager, case=case, language=language, include_thread=include_thread,
                                        enqueue=False)
        result = generate_report(report_id=report.pk)
        issued += int(result is not None and result.status == OutcomeReport.Status.READY)
    return issued


# --- Threads ------------------------------------------------------------------------------------------------------

# (authority, case title, [(author e-mail, internal?, text)]): ministry liaisons and platform moderators talking in
# English and Indonesian, with internal notes on both sides. Posted through the real action, in order.
DEMO_THREADS = [
    ("id", "Ajakan serangan terhadap tempat ibadah", [
        ("liaison@ministry-id.example", False,
         "Selamat pagi. Kasus ini **mendesak**: grup tersebut merencanakan aksi hari Jumat di depan rumah ibadah. "
         "Mohon prioritaskan kanal utama dan kanal cadangannya."),
        ("moderator@platform.example", False,
         "Selamat pagi, Bu Dewi. Laporan sudah kami terima dan sedang ditinjau. Kanal utama sudah kami hapus; "
         "untuk kanal cadangan kami perlu memastikan isinya terlebih dahulu."),
        ("legal@platform.example", True,
         "Checked with legal: a credible threat to life, so we act under our Terms of Service without waiting for "
         "a court order. Preserve the admin's account data for 90 days."),
        ("lead@ministry-id.example", True,
         "Catatan internal: Densus 88 sudah diberi tahu. Jangan sebut nama penyidik di utas bersama."),
        ("liaison@ministry-id.example", False,
         "Terima kasih. Mohon konfirmasi penghapusan kanal cadangan hari ini; kami mengusulkan tenggat di panel "
         "tenggat waktu."),
    ]),
    ("id", "Rekrutmen kelompok teror melalui grup", [
        ("moderator@platform.example", False,
         "Bu Dewi, untuk item 2 dan 3 kami belum menemukan konten yang melanggar. Mohon kirimkan tangkapan layar "
         "dan surat perintahnya; sementara itu jam penyelesaian kami hentikan."),
        ("lead@ministry-id.example", True,
         "Catatan internal: surat perintah masih menunggu tanda tangan direktur, perkiraan besok siang."),
        ("liaison@ministry-id.example", False,
         "Baik, surat perintah sedang diproses. Kami kirimkan besok paling lambat pukul 12.00 WIB."),
        ("moderator@platform.example", True,
         "Checked with legal: without the order, items 2 and 3 stay pending. The resolve clock is paused meanwhile."),
    ]),
    ("id", "Jaringan judi slot daring", [
        ("liaison@ministry-id.example", False, "Mohon informasi perkembangan, laporan ini sudah tiga hari."),
        ("moderator@platform.example", True,
         "Checked with legal: online gambling is lawful where we are based, so we restrict these channels in "
         "Indonesia instead of removing them."),
        ("moderator@platform.example", False,
         "Kanal pertama sudah kami batasi untuk pengguna di Indonesia; sisanya sedang ditinjau tim kami hari ini."),
    ]),
    ("my", "Extremist recruitment channel (cross-border)", [
        ("liaison@ministry-my.example", False,
         "Good morning. This channel recruits in Malay and Indonesian, and we understand it was reported in "
         "Indonesia too. Could you handle both reports together?"),
        ("moderator-en@platform.example", False,
         "Thanks, Aisyah. We see the overlap and are handling both together; we expect to remove the channel "
         "today and will confirm here."),
        ("moderator-en@platform.example", True,
         "Checked with legal: one decision for both requests. Keep the other authority's reference out of the "
         "shared thread."),
    ]),
    ("my", "Hate group targeting migrants", [
        ("moderator-en@platform.example", False,
         "Could you point us to the specific posts? The group has thousands of messages and the pinned ones do "
         "not violate our terms."),
        ("liaison@ministry-my.example", False,
         "Understood. We will send the timestamps and screenshots of the posts by tomorrow."),
    ]),
]
DEMO_AGREED_TITLE = "Konfirmasi penghapusan kanal cadangan"


def seed_threads(people: dict[str, User]) -> int:
    """Conversations on a few demo cases, once each (a case whose first message is there is skipped), plus a
    deadline agreed in the thread that falls due soon. Returns how many messages were posted now."""
    from datetime import timedelta

    from django.utils import timezone

    from .models import DeadlineProposal, Message

    posted = 0
    for side, title, script in DEMO_THREADS:
        liaison = people["liaison@ministry-id.example" if side == "id" else "liaison@ministry-my.example"]
        case = Case.objects.filter(title=title, requesting_org=liaison.membership.organization).order_by("pk").first()
        if case is None or Message.objects.filter(case=case, body=script[0][2]).exists():
            continue
        with transaction.atomic():
            for email, internal, text in script:
                post_message(actor=people[email], case=case, body=text, internal=internal)
                posted += 1
            if title == DEMO_THREADS[0][1] and not case.deadline_proposals.exists():
                # Agreed in the thread: the platform confirms within 90 minutes (due soon on the deadline panel).
                proposal = propose_deadline(
                    actor=liaison, case=case, kind=DeadlineProposal.Kind.NEW_CUSTOM, title=DEMO_AGREED_TITLE,
                    owner_side="platform", due_at=timezone.now() + timedelta(minutes=90),
                    reason="Kanal cadangan dipakai untuk koordinasi aksi hari Jumat.")
                answer_proposal(actor=people["manager@platform.example"], proposal=proposal, accept=True,
                                        note="Agreed; we confirm in the thread.")
    return posted
