"""What the generated world is made of: organisations, queues, names, words, titles, targets and messages.

Everything is drawn from a `random.Random` the caller seeds, so a seed gives the same world every time. The text is
plausible, not real: no real channel, person or case is named.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (slug, name, country, default language (en|id), time zone, working language, share of cases, liaisons, leads,
#  auditors). Indonesia's ministry sends the most, as in production.
AUTHORITIES = [
    ("id-kominfo", "Ministry of Communications and Digital Affairs", "ID", "id", "Asia/Jakarta", "id", 25, 8, 2, 1),
    ("id-bnpt", "National Counter-Terrorism Agency", "ID", "id", "Asia/Jakarta", "id", 6, 4, 1, 1),
    ("id-ojk", "Financial Services Authority", "ID", "id", "Asia/Jakarta", "id", 4, 3, 1, 0),
    ("my-mcmc", "Communications and Multimedia Commission", "MY", "en", "Asia/Kuala_Lumpur", "ms", 8, 4, 1, 1),
    ("th-mdes", "Ministry of Digital Economy and Society", "TH", "en", "Asia/Bangkok", "th", 6, 3, 1, 1),
    ("vn-mic", "Ministry of Information and Communications", "VN", "en", "Asia/Ho_Chi_Minh", "vi", 6, 3, 1, 0),
    ("ph-ntc", "National Telecommunications Commission", "PH", "en", "Asia/Manila", "en", 4, 3, 1, 0),
    ("sg-imda", "Infocomm Media Development Authority", "SG", "en", "Asia/Singapore", "en", 3, 2, 1, 1),
    ("in-meity", "Ministry of Electronics and Information Technology", "IN", "en", "Asia/Kolkata", "en", 7, 4, 1, 1),
    ("pk-pta", "Telecommunication Authority", "PK", "en", "Asia/Karachi", "ur", 4, 3, 1, 0),
    ("bd-btrc", "Telecommunication Regulatory Commission", "BD", "en", "Asia/Dhaka", "bn", 3, 2, 1, 0),
    ("tr-btk", "Information and Communication Technologies Authority", "TR", "en", "Europe/Istanbul", "tr", 5, 3, 1,
     1),
    ("de-bnetza", "Federal Network Agency", "DE", "en", "Europe/Berlin", "de", 3, 2, 1, 0),
    ("fr-pharos", "Platform for Harmonisation and Analysis of Reports", "FR", "en", "Europe/Paris", "fr", 3, 2, 1, 0),
    ("br-anatel", "National Telecommunications Agency", "BR", "en", "America/Sao_Paulo", "pt", 4, 3, 1, 0),
    ("mx-ift", "Federal Telecommunications Institute", "MX", "en", "America/Mexico_City", "es", 2, 2, 1, 0),
    ("ng-ncc", "Nigerian Communications Commission", "NG", "en", "Africa/Lagos", "en", 2, 2, 1, 0),
    ("ke-ca", "Communications Authority of Kenya", "KE", "en", "Africa/Nairobi", "en", 2, 2, 1, 0),
    ("eg-ntra", "National Telecom Regulatory Authority", "EG", "en", "Africa/Cairo", "ar", 2, 2, 1, 0),
    ("sa-cst", "Communications, Space and Technology Commission", "SA", "en", "Asia/Riyadh", "ar", 2, 2, 1, 0),
]

PLATFORM = ("platform", "Messenger Platform (bench)", "AE", "en", "UTC")

# (name, country, language, moderators). A case goes to the queue of its country, else of its language.
QUEUES = [
    ("Indonesia · Bahasa Indonesia", "ID", "id", 8),
    ("Malaysia · Bahasa Melayu", "MY", "ms", 3),
    ("Thailand · Thai", "TH", "th", 3),
    ("Vietnam · Vietnamese", "VN", "vi", 3),
    ("English · Asia, Africa", "", "en", 6),
    ("Pakistan · Urdu", "PK", "ur", 2),
    ("Bangladesh · Bengali", "BD", "bn", 2),
    ("Türkiye · Turkish", "TR", "tr", 2),
    ("Germany · German", "DE", "de", 2),
    ("France · French", "FR", "fr", 2),
    ("Brazil · Portuguese", "BR", "pt", 2),
    ("Mexico · Spanish", "MX", "es", 2),
    ("Arabic · Middle East, North Africa", "", "ar", 3),
]
MANAGERS, LEGAL, PLATFORM_AUDITORS = 5, 3, 2

# The people the benchmarks act as.
PERSONAS = {
    "liaison": "liaison1@id-kominfo.example",
    "lead": "lead1@id-kominfo.example",
    "moderator": "moderator01@platform.example",
    "manager": "manager1@platform.example",
    "legal": "legal1@platform.example",
    "auditor": "auditor1@platform.example",
}

FIRST_NAMES = ["Dewi", "Budi", "Siti", "Agus", "Rina", "Andi", "Putri", "Rizky", "Nur", "Hendra", "Aisyah", "Hakim",
               "Farah", "Daniel", "Mei", "Somchai", "Anong", "Linh", "Minh", "Jose", "Maria", "Ana", "Priya",
               "Arjun", "Imran", "Sadia", "Emre", "Zeynep", "Lukas", "Lea", "Camille", "Hugo", "Lucas", "Julia",
               "Diego", "Sofia", "Chinedu", "Amina", "Wanjiru", "Omar", "Layla", "Sam", "Jon", "Ika", "Tariq"]
LAST_NAMES = ["Lestari", "Santoso", "Pratama", "Rahman", "Wibowo", "Nair", "Taylor", "Keller", "Reyes", "Tan",
              "Lim", "Nguyen", "Tran", "Srisuk", "Santos", "Silva", "Sharma", "Khan", "Hossain", "Yilmaz",
              "Schmidt", "Martin", "Oliveira", "Garcia", "Okafor", "Mwangi", "Hassan", "Haddad", "Putra", "Sari"]

# Words that make channel names, titles and search terms, by category.
WORDS = {
    "terrorism": ["daulah", "khilafah", "ansharul", "mujahid", "ummah", "nusantara", "seruan", "dakwah", "kabar",
                  "media", "front", "jundi", "rayah", "hijrah", "qital"],
    "csam": ["vault", "archive", "private", "hidden", "mirror", "drop", "cloud", "room"],
    "illegal-gambling": ["slot", "gacor", "togel", "judi", "casino", "maxwin", "jackpot", "bola", "poker", "bet",
                         "spin", "lotto", "taruhan"],
    "fraud": ["investasi", "pinjol", "cair", "crypto", "profit", "bonus", "airdrop", "giveaway", "support",
              "wallet", "trading", "forex", "refund", "hadiah"],
    "hate-speech": ["patriot", "pride", "truth", "nation", "pure", "warriors", "defend", "awake", "brotherhood"],
    "disinformation": ["berita", "fakta", "hoaks", "news", "update", "leaks", "real", "info", "breaking",
                       "terkini", "viral"],
    "privacy": ["data", "ktp", "doxing", "leak", "dump", "nik", "database", "profile", "lookup"],
    "intellectual-property": ["movie", "stream", "nonton", "film", "free", "hd", "series", "anime", "sports"],
    "other": ["market", "shop", "deal", "agent", "service", "group", "official", "club"],
}

TITLES = {
    "terrorism": ["Propaganda channels of a proscribed group", "Saluran propaganda kelompok teror",
                  "Recruitment groups for violent extremism", "Ajakan serangan terhadap tempat ibadah",
                  "Extremist videos re-uploaded after takedown", "Rekrutmen kelompok teror melalui grup"],
    "csam": ["Child sexual abuse material: urgent referral", "Materi eksploitasi anak: laporan mendesak",
             "Links to abuse material in public groups"],
    "illegal-gambling": ["Online gambling network", "Jaringan judi slot daring", "Situs togel ilegal",
                         "Unlicensed casino advertisements", "Football betting syndicate", "Kasino daring tanpa izin"],
    "fraud": ["Investment scam channels", "Penipuan investasi bodong", "Penipuan pinjaman daring",
              "Impersonation of bank support", "Crypto giveaway scam", "Scam job offers"],
    "hate-speech": ["Hate speech against an ethnic group", "Ujaran kebencian terhadap kelompok etnis",
                    "Harassment campaign against journalists", "Hate group targeting migrants"],
    "disinformation": ["Election disinformation network", "Hoaks pemilu daerah", "Health hoax channels",
                       "Saluran hoaks kesehatan", "Fabricated news about disaster relief"],
    "privacy": ["Sale of leaked identity data", "Penjualan data KTP", "Doxing of public officials",
                "Penyebaran data pribadi pejabat", "Leaked medical records"],
    "intellectual-property": ["Pirated live sports streams", "Counterfeit goods marketplace",
                              "Film bajakan di saluran publik"],
    "other": ["Threats against a public official", "Illegal sale of regulated medicines", "Unlicensed lending ads"],
}

LEGAL_BASIS = {
    "ID": ("Undang-Undang No. 11 Tahun 2008 tentang ITE jo. UU No. 1 Tahun 2024", "Pasal 40 ayat (2b)"),
    "MY": ("Communications and Multimedia Act 1998", "Section 233"),
    "IN": ("Information Technology Act 2000", "Section 69A"),
    "TR": ("Law No. 5651 on the Regulation of Internet Publications", "Article 8/A"),
    "DE": ("Digital Services Act, Regulation (EU) 2022/2065", "Article 9"),
    "FR": ("Digital Services Act, Regulation (EU) 2022/2065", "Article 9"),
}
DEFAULT_LEGAL_BASIS = ("National law on electronic communications", "Article 12")

SHARED_AUTHORITY = [
    "Please prioritise items {a} and {b}: they are still being shared in several groups.",
    "Mohon segera ditindaklanjuti, saluran nomor {a} masih aktif dan menyebarkan konten yang sama.",
    "Attached is the court order for this request. Item {a} reappeared under a new name.",
    "Kami lampirkan tangkapan layar tambahan untuk item {a} sampai {b}.",
    "Could you confirm the outcome of item {a}? Our minister's office asked for an update today.",
    "The channel in item {a} has moved to a backup link; we added it as a new item.",
]
SHARED_PLATFORM = [
    "Thanks, we are reviewing the reported items now and will update each outcome here.",
    "Items {a} and {b} were removed under our terms of service. Item {c} does not violate local law as cited.",
    "We need the legal order for item {a} before we can restrict it in your country.",
    "All channels in this request are now restricted in the requesting country.",
    "Item {a} no longer exists; its owner deleted it before our review.",
    "**Update:** {n} items removed, the rest are still under review by our specialist team.",
]
INTERNAL_PLATFORM = [
    "Escalating item {a} to the counter-terrorism specialists; looks like a known network.",
    "Same admin as in the earlier case; check the linked groups before deciding.",
    "Legal says the order covers items {a}–{b} only.",
    "Taking this one; the language team confirmed the translation of item {a}.",
]
INTERNAL_AUTHORITY = [
    "Catatan internal: koordinasi dengan tim siber sebelum menjawab permintaan informasi.",
    "Internal: wait for the prosecutor's letter before replying.",
]
REASONS = {
    "removed": "",
    "restricted": "Restricted in the requesting country under local law.",
    "no_action_not_illegal": "Satire or commentary; not illegal under the cited law and within our terms.",
    "no_action_insufficient": "The request does not say what is unlawful in this item.",
    "no_action_not_found": "The channel no longer exists.",
    "no_action_already_removed": "Already removed in an earlier case.",
    "duplicate": "Reported twice in this request.",
}
EVIDENCE_TYPES = [  # (content type, extension, share, typical size in bytes)
    ("image/png", "png", 50, 400_000), ("application/pdf", "pdf", 22, 900_000), ("video/mp4", "mp4", 10, 30_000_000),
    ("image/jpeg", "jpg", 8, 250_000), ("text/plain", "txt", 4, 40_000), ("message/rfc822", "eml", 4, 120_000),
    ("application/zip", "zip", 2, 5_000_000),
]
EVIDENCE_NAMES = ["tangkapan-layar", "screenshot", "surat-permohonan", "court-order", "ekspor-obrolan",
                  "chat-export", "rekaman-layar", "channel-info", "bukti"]


@dataclass(frozen=True)
class Target:
    target: str
    key: str
    kind: str
    warning: str


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def channel_name(rng: random.Random, category: str, serial: int) -> str:
    """A valid Telegram username (letters, digits, single underscores, 5-32 characters, starting with a letter)."""
    words = WORDS[category]
    first, second = rng.choice(words), rng.choice(words)
    style = rng.random()
    if style < 0.4:
        name = f"{first}_{second}{serial % 1000}"
    elif style < 0.7:
        name = f"{first}{second}_{serial}"
    else:
        name = f"{first}_{serial}_{rng.choice(('id', 'official', 'real', 'new', 'vip', 'ch'))}"
    return name[:32].rstrip("_")


def target_text(rng: random.Random, name: str, category: str) -> str:
    """One way of writing a link to channel `name`, its posts, an invite or a web page, as authorities paste them."""
    roll = rng.random()
    if roll < 0.33:
        return f"https://t.me/{name}"
    if roll < 0.43:
        return f"t.me/{name}"
    if roll < 0.51:
        return f"@{name}"
    if roll < 0.55:
        return f"https://t.me/s/{name}"
    if roll < 0.57:
        return f"https://telegram.me/{name}"
    if roll < 0.79:
        return f"https://t.me/{name}/{rng.randint(2, 250_000)}"
    if roll < 0.84:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        return "https://t.me/+" + "".join(rng.choice(alphabet) for _ in range(16))
    word = rng.choice(WORDS[category])
    host = f"{word}{rng.randint(1, 999)}.{rng.choice(('com', 'net', 'xyz', 'site', 'online', 'info'))}"
    path = rng.choice(("", "daftar", "login", "promo", "artikel", "watch", "p"))
    tail = f"/{rng.randint(1, 99_999)}" if path in ("artikel", "watch", "p") else ""
    query = rng.choice(("", "", "?utm_source=telegram&utm_medium=channel", "?ref=tg", "?fbclid=IwAR0x"))
    return f"https://{rng.choice(('', 'www.'))}{host}/{path}{tail}{query}"


def title(rng: random.Random, category: str, wave: int) -> str:
    base = rng.choice(TITLES[category])
    roll = rng.random()
    if roll < 0.45:
        return f"{base} — wave {wave}"
    if roll < 0.7:
        return f"{base} ({rng.choice(WORDS[category])})"
    return base


def message_body(rng: random.Random, templates: list[str], items: int) -> str:
    a = rng.randint(1, max(items, 1))
    b = min(a + rng.randint(1, 5), max(items, 1))
    c = rng.randint(1, max(items, 1))
    body = rng.choice(templates).format(a=a, b=b, c=c, n=rng.randint(1, max(items, 1)))
    if rng.random() < 0.25:
        body += "\n\n- " + "\n- ".join(f"item {rng.randint(1, max(items, 1))}" for _ in range(rng.randint(2, 4)))
    return body
