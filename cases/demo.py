"""A living picture for `make run`: about 30 cases from both demo authorities in every state.

Built only through actions, so the demo record (audit chain included) is what real use would leave.
"""

from __future__ import annotations

import random

from django.db import transaction

from accounts.models import Organization, User

from . import actions
from .choices import TLP, Outcome, Priority, RequestType, Transition
from .intake import parse_text
from .models import Case, Category

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
            case = actions.create_case(
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
            case = actions.submit_case(case=case, actor=liaison)
            continue
        worker = manager if case.tlp == TLP.RED else moderator
        if transition == Transition.ACKNOWLEDGE:
            actions.assign_case(actor=manager, case=case, assignee=worker)
        if transition == Transition.RESOLVE:
            items = list(case.items.order_by("position"))
            for number, item in enumerate(items):
                outcome, reason = DECISIONS[number % len(DECISIONS)]
                actions.set_item_outcomes(actor=worker, case=case, item_ids=[item.pk], outcome=outcome,
                                          reason=reason)
            case = actions.resolve_case(case=case, actor=worker,
                                        outcome_summary="Most reported channels were removed; see each item.")
            continue
        actor = liaison if transition in (Transition.WITHDRAW, Transition.CLOSE) else worker
        case = actions.transition_case(case=case, transition=transition, actor=actor,
                                       note=NOTES.get(transition, ""))
    if state == "in_progress":
        first = case.items.order_by("position").first()
        worker = manager if case.tlp == TLP.RED else moderator
        if first is not None:
            actions.set_item_outcomes(actor=worker, case=case, item_ids=[first.pk], outcome=Outcome.REMOVED)
