"""Link identity: the normalised key of a reported target, so one channel is one key however it is written.

Pure functions, no database. ``https://telegram.me/s/Foo``, ``t.me/foo?single``, ``foo.t.me``, ``@foo`` and
``tg://resolve?domain=foo`` are one channel, checked by Telegram's own rules; what names no channel, post or
invite is refused with the reason. Hosts are lower-cased and IDNA-encoded, ``www.``/``m.`` dropped, default
ports, dot segments, named tracking parameters and percent-encoding normalised; other query parameters stay.
A look-alike host keeps its own key and gets a warning. The key finds duplicates within a case and across
open cases (deconfliction).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

# confusable_homoglyphs ships no type information.
from confusable_homoglyphs import categories, confusables  # type: ignore[import-untyped]
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

KINDS = ("channel", "group", "message", "account", "post", "file", "other")
MAX_TARGET_LENGTH = 2048
MAX_KEY_LENGTH = 2048
MAX_WARNING_LENGTH = 300  # ReportedItem.warning

# Telegram's deep-link hosts (core.telegram.org/api/links: "t.me can also be telegram.me, telegram.dog").
TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})

# Tracking parameters: a named list, never a pattern such as "ref*". They record who shared a link or which
# campaign brought the reader, never which page it is, so two links differing only in them are one target.
# Everything else in a query is kept. Names are compared case-insensitively after percent-decoding.
# Source: a subset of the ClearURLs rules (github.com/ClearURLs/Rules, data.json: "globalRules" and the
# providers below), a maintained catalogue; ClearURLs files "ref" under referral marketing, off by default,
# and here too it is kept except on the one host below that uses it for tracking.
GLOBAL_TRACKING_PREFIXES = ("utm_",)  # Google Analytics campaign parameters (utm_source, utm_medium, ...)
# Click identifiers of Meta, Google Ads / Campaign Manager, Microsoft, X and Yandex advertising; Mailchimp
# campaign and subscriber; the Google Analytics cross-domain linker.
GLOBAL_TRACKING_PARAMETERS = frozenset({"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "twclid",
                                        "yclid", "mc_cid", "mc_eid", "_ga", "_gl"})
# Host -> parameters its own share buttons add. A host matches itself and its subdomains.
HOST_TRACKING_PARAMETERS: dict[str, frozenset[str]] = {
    "youtube.com": frozenset({"si", "feature", "pp"}),
    "youtu.be": frozenset({"si", "feature", "pp"}),
    "instagram.com": frozenset({"igshid", "igsh"}),
    "facebook.com": frozenset({"mibextid", "__tn__", "ref", "sfnsn", "rdc", "rdr", "_rdr"}),
    "twitter.com": frozenset({"s", "t", "ref_src", "ref_url", "cn"}),
    "x.com": frozenset({"s", "t", "ref_src", "ref_url", "cn"}),
    "tiktok.com": frozenset({"_r", "_t", "_d", "u_code", "preview_pb", "share_app_name", "share_iid",
                             "timestamp", "user_id", "source"}),
    "spotify.com": frozenset({"si"}),
    "linkedin.com": frozenset({"trk", "trackingid", "refid"}),
    "reddit.com": frozenset({"share_id", "correlation_id", "ref_campaign", "ref_source", "rdt"}),
}
FILE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".mov", ".webm", ".pdf", ".zip")
FORMULA_PREFIXES = ("=", "+", "-", "@")

# Telegram usernames, as Telegram's client library TDLib checks them (td/telegram/misc.cpp,
# is_valid_username): letters a-z/A-Z, digits and "_", starting with a letter, not ending with "_", no "__",
# at most 32 characters; is_allowed_username and Telegram's FAQ ("What can I use as my username?") add "at
# least 5". Shorter names exist (Telegram's own inline bots such as @gif, 4-letter collectible names sold on
# Fragment) but are rare as targets: we keep the simple 5-32 rule and refuse the rest with the reason.
USERNAME_MIN, USERNAME_MAX = 5, 32
_USERNAME = re.compile(r"[A-Za-z](?:_?[A-Za-z0-9])*")
# Invite hashes are base64url (TDLib: is_base64url_characters) and case-sensitive.
_INVITE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_POSITIVE = re.compile(r"0*[1-9][0-9]{0,18}")
# First path segments of t.me that are Telegram's own features, not usernames (TDLib LinkManager.cpp,
# parse_t_me_link_query): they open a share sheet, an Instant View, a proxy, a login, a theme, ...
_TELEGRAM_FUNCTIONS = frozenset({
    "share", "msg", "iv", "login", "confirmphone", "socks", "proxy", "setlanguage", "addtheme", "addstyle",
    "bg", "invoice", "giftcode", "auction", "auth", "web", "i", "boost",
})
# First path segments naming something that can be reported, with the kind it is; the slug after them is
# case-sensitive and kept as written: sticker and emoji sets, chat folders, collectible gifts, group call
# links, contact tokens of a user, business chat links of a user.
_TELEGRAM_CONTENT = {"addstickers": "other", "addemoji": "other", "addlist": "other", "nft": "other",
                     "call": "other", "contact": "account", "m": "account"}
# <username>.t.me is t.me/<username>/ unless it is one of these (core.telegram.org/api/links).
_TELEGRAM_SUBDOMAINS_RESERVED = frozenset({
    "www", "addemoji", "addlist", "addstickers", "addstyle", "addtheme", "auction", "auth", "boost", "call",
    "confirmphone", "contact", "giftcode", "invoice", "joinchat", "login", "m", "nft", "proxy", "setlanguage",
    "share", "socks", "web"})

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", re.DOTALL)
_PORT_THEN_PATH = re.compile(r"\d+(?:[/?#].*)?", re.DOTALL)
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/%:@!$&'()*+,;="
_QUERY_SAFE = "/%:@!$'()*+,;=?"
# Copy-paste from web pages and Word leaves these around links; they are never part of one.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# The key carries no scheme, so http on 443 and https on 80 fold too.
_DEFAULT_PORTS = (80, 443)
# Scripts that may share one host without suspicion: Unicode TS #39 section 5.2, "Highly Restrictive".
_SCRIPTS_IGNORED = frozenset({"COMMON", "INHERITED"})
_SCRIPT_MIXES_ALLOWED = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
                         frozenset({"LATIN", "HAN", "BOPOMOFO"}), frozenset({"LATIN", "HAN", "HANGUL"}))


def format_lazy(message: StrOrPromise, **params: object) -> StrOrPromise:
    """%-format a lazy message when it is rendered, in the language active then."""
    return lazy(lambda: str(message) % params, str)()


@dataclass(frozen=True)
class Normalised:
    key: str
    kind: str
    target: str
    # Why the target deserves a second look (a look-alike host), in the language active when it was
    # normalised, so it can be stored as is; empty when nothing is odd.
    warning: str = ""


class TargetError(ValueError):
    """A target that cannot be an item: ``code`` is stable for callers, ``message`` is for people.

    Codes: ``empty``, ``too_long``, ``unsupported_scheme``, ``not_a_target`` (not a link or handle at all),
    ``bad_username`` (a Telegram name that breaks Telegram's rules), ``bad_invite`` (a Telegram invite whose
    code cannot be one), ``telegram_function`` (a Telegram link that opens a feature, not a chat or post).
    """

    def __init__(self, code: str, message: StrOrPromise) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_a_target(message: StrOrPromise | None = None) -> TargetError:
    return TargetError("not_a_target", message or _("This is not a web link or an @handle."))


_REASONS: dict[str, StrOrPromise] = {
    "bad_username": _("A Telegram username has 5 to 32 characters: Latin letters, digits and underscores. "
                      "It starts with a letter, does not end with an underscore and has no two underscores "
                      "in a row."),
    "bad_invite": _("A Telegram invite link ends with its code, made of Latin letters, digits, - and _."),
    "telegram_function": _("This Telegram link opens a Telegram feature (sharing, a proxy, a login, a "
                           "theme…), not a channel, a post or an invite."),
}


def _refuse(code: str, message: StrOrPromise | None = None) -> TargetError:
    return TargetError(code, message or _REASONS[code])


def normalise_target(raw: str) -> Normalised:
    """Return the key, a best-guess kind and any warning for one target, or raise TargetError.

    Keys are ASCII and at most MAX_KEY_LENGTH characters: percent-encoding can make a key several times
    longer than its target, so a longer key keeps its start and ends in "#" and the SHA-256 of the whole.
    """
    normalised = _normalise(raw)
    if len(normalised.key) <= MAX_KEY_LENGTH:
        return normalised
    digest = hashlib.sha256(normalised.key.encode("ascii")).hexdigest()
    return replace(normalised, key=normalised.key[: MAX_KEY_LENGTH - len(digest) - 1] + "#" + digest)


def is_valid_username(name: str) -> bool:
    """Telegram's rules for a public username (see _USERNAME)."""
    return USERNAME_MIN <= len(name) <= USERNAME_MAX and _USERNAME.fullmatch(name) is not None


def _normalise(raw: str) -> Normalised:
    target = (raw or "").strip().strip(_INVISIBLE).strip()
    if not target:
        raise TargetError("empty", _("The target is empty."))
    if len(target) > MAX_TARGET_LENGTH:
        message = format_lazy(_("The target is longer than %(limit)s characters."), limit=MAX_TARGET_LENGTH)
        raise TargetError("too_long", message)
    if target.startswith("@"):
        return _normalise_handle(target)
    if target.startswith(FORMULA_PREFIXES):
        raise _not_a_target(_("This looks like a spreadsheet formula, not a link."))
    if _BLANK_OR_CONTROL.search(target):
        raise _not_a_target(_("A link or handle cannot contain spaces."))

    scheme = ""
    match = _SCHEME.fullmatch(target)
    if match:
        candidate, rest = match.group(1).lower(), match.group(2)
        # "example.com:8080/x" and "t.me:443" are a host and a port, not a scheme.
        host_and_port = not rest.startswith("//") and ("." in candidate
                                                       or bool(_PORT_THEN_PATH.fullmatch(rest)))
        if not host_and_port:
            scheme = candidate
    if scheme == "tg":
        return _normalise_tg(target)
    if scheme not in ("", "http", "https"):
        raise TargetError("unsupported_scheme", _("Only web (http, https) and Telegram links are accepted."))

    url = target if scheme or target.startswith("//") else "//" + target
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _not_a_target() from exc
    if not parts.hostname:
        raise _not_a_target()
    host = _normalise_host(parts.hostname)
    segments = _path_segments(parts.path)
    if host in TELEGRAM_HOSTS:
        return _telegram(target, segments, parts.query)
    if host.endswith(".t.me"):
        return _telegram(target, [_telegram_subdomain(host[: -len(".t.me")]), *segments], parts.query)
    query = _normalise_query(parts.query, host)
    warning = _host_warning(host)
    if port is not None and port not in _DEFAULT_PORTS:
        host = f"{host}:{port}"

    if segments and segments[-1].lower().endswith(FILE_EXTENSIONS):
        kind = "file"
    elif not segments:
        kind = "other"
    elif len(segments) == 1:
        kind = "account"
    else:
        kind = "post"
    return Normalised(key=_key(host, segments, query), kind=kind, target=target, warning=warning)


def _normalise_handle(target: str) -> Normalised:
    name = target[1:]
    if not name or not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise _not_a_target(_("A handle is @ followed by a Telegram username: letters, digits, underscores."))
    return Normalised(key=_channel_key(name), kind="channel", target=target)


def _channel_key(name: str) -> str:
    if not is_valid_username(name):
        raise _refuse("bad_username")
    return f"t.me/{name.lower()}"


def _post_number(text: str) -> int | None:
    """A message, channel or story number: a positive integer (TDLib: to_integer<int64>(...) > 0)."""
    return int(text) if _POSITIVE.fullmatch(text) else None


def _comment_suffix(params: dict[str, str]) -> str:
    """?comment=<id> opens one comment under a post: a different message, so it stays in the key."""
    comment = _post_number(params.get("comment", ""))
    return f"?comment={comment}" if comment else ""


def _normalise_tg(target: str) -> Normalised:
    """Telegram's app links (core.telegram.org/api/links), read by the rules of the t.me link they stand for:
    tg://resolve?domain=x[&post=n | &story=n], tg://resolve?phone=n, tg://privatepost?channel=c&post=n,
    tg://join?invite=h."""
    parts = urlsplit(target)
    action = (parts.netloc or parts.path).strip("/").lower()
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if action == "resolve" and "domain" in params:
        if "post" in params and _post_number(params["post"]) is None:
            raise _not_a_target(_("The post of a Telegram link is a number."))
        story = _post_number(params.get("story", ""))
        rest = [params["post"]] if "post" in params else ["s", str(story)] if story else []
        return _username_link(target, params["domain"], rest, params)
    if action == "resolve":
        phone = params.get("phone", "")
        if phone.isascii() and phone.isdigit() and len(phone) <= 32:
            return Normalised(key=f"t.me/+{phone}", kind="account", target=target)
        raise _not_a_target(_("A tg://resolve link names a channel with domain=, or a phone number."))
    if action == "join":
        return _invite(params.get("invite", ""), target)
    if action == "privatepost":
        return _private(target, [params.get("channel", ""), params.get("post", "")], params)
    raise _refuse("telegram_function")


def _invite(code: str, target: str) -> Normalised:
    if not _INVITE.fullmatch(code):
        raise _refuse("bad_invite")
    return Normalised(key=f"t.me/+{code}", kind="group", target=target)


@lru_cache(maxsize=4096)
def _normalise_host(hostname: str) -> str:
    """Lowercase, IDNA-encode and validate a host; drop a leading www. or m."""
    host = hostname.rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _not_a_target() from exc
    host = host.lower()
    labels = host.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise _not_a_target()
    while host.startswith(("www.", "m.")) and host.count(".") > 1:
        host = host.split(".", 1)[1]
    return host


def _host_warning(host: str) -> str:
    """A warning for an internationalised host that may imitate another one, else "".

    In the active language: only the analysis is cached."""
    trait, shown = _look_alike(host)
    if trait == "mixed":
        message = _("The address %(host)s mixes letters of different alphabets, so it may imitate another "
                    "site. It is kept apart from the address it resembles.")
    elif trait == "latin_looking":
        message = _("The address %(host)s is written in letters that look like Latin ones, so it may imitate "
                    "another site. It is kept apart from the address it resembles.")
    else:
        return ""
    return str(message % {"host": shown})[:MAX_WARNING_LENGTH]


@lru_cache(maxsize=4096)
def _look_alike(host: str) -> tuple[str, str]:
    """("mixed" | "latin_looking" | "", the host as people read it) for an IDNA host.

    On the host as the browser resolves it (IDNA labels decoded): scripts that Unicode TS #39 does not allow
    together ("Highly Restrictive", 5.2) anywhere in the host, as in ``t.ме`` (Latin "t", Cyrillic "ме") and
    ``аpple.com``; or a label of another script made only of letters with Latin look-alikes (TS #39
    whole-script confusables, data of confusable_homoglyphs), as Cyrillic ``аррӏе``.
    """
    if "xn--" not in host:
        return "", host
    try:
        labels = [label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label
                  for label in host.split(".")]
    except UnicodeError as exc:
        raise _not_a_target() from exc
    shown = ".".join(labels)
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    scripts = set(categories.unique_aliases("".join(labels))) - _SCRIPTS_IGNORED
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES_ALLOWED):
        return "mixed", shown
    return ("latin_looking" if any(_looks_latin(label) for label in labels) else ""), shown


def _looks_latin(label: str) -> bool:
    """A label of a non-Latin script whose every letter has an ASCII look-alike."""
    letters = {char for char in label if char.isalpha()}
    if not letters or set(categories.unique_aliases(label)) - _SCRIPTS_IGNORED <= {"LATIN"}:
        return False
    found = confusables.is_confusable(label, greedy=True, preferred_aliases=["latin"]) or []
    ascii_like = {
        entry["character"] for entry in found
        if any(glyph["c"].isascii() and glyph["c"].isalnum() for glyph in entry["homoglyphs"])
    }
    return letters <= ascii_like


def _path_segments(path: str) -> list[str]:
    """Non-empty segments with dot segments resolved; empty and trailing slashes carry no meaning here."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return segments


def _normalise_percent(text: str, safe: str) -> str:
    """RFC 3986 normalisation: encode what must be, decode unreserved escapes, uppercase the rest."""
    text = quote(text, safe=safe)

    def fold(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT_ESCAPE.sub(fold, text)


def _tracking_parameters(host: str) -> frozenset[str]:
    names = GLOBAL_TRACKING_PARAMETERS
    for domain, extra in HOST_TRACKING_PARAMETERS.items():
        if host == domain or host.endswith("." + domain):
            names = names | extra
    return names


def _normalise_query(query: str, host: str) -> str:
    """Drop this host's tracking parameters and sort the rest; "?single" stays "single", not "single="."""
    tracking = _tracking_parameters(host)
    parameters = []
    for part in query.split("&"):
        if not part:
            continue
        name, equals, value = part.partition("=")
        plain = unquote_plus(name).lower()
        if plain in tracking or plain.startswith(GLOBAL_TRACKING_PREFIXES):
            continue
        parameters.append((_normalise_percent(name, _QUERY_SAFE), equals, _normalise_percent(value, _QUERY_SAFE)))
    return "&".join(name + equals + value for name, equals, value in sorted(parameters))


def _key(host: str, segments: Sequence[str], query: str) -> str:
    key = host
    if segments:
        key += "/" + "/".join(_normalise_percent(segment, _PATH_SAFE) for segment in segments)
    if query:
        key += "?" + query
    return key


def _telegram_subdomain(name: str) -> str:
    """<username>.t.me is t.me/<username>/ (core.telegram.org/api/links), except the reserved names."""
    if name in _TELEGRAM_SUBDOMAINS_RESERVED:
        raise _refuse("telegram_function")
    if not is_valid_username(name):
        raise _refuse("bad_username")
    return name


def _telegram(target: str, raw_segments: list[str], query: str) -> Normalised:
    """A t.me link, read as Telegram's apps read it (TDLib LinkManager.cpp, parse_t_me_link_query): keys name
    the channel (t.me/<name>), message (t.me/<name>/<post>, t.me/c/<id>/<post>), invite (t.me/+<code>, case
    kept) or phone number (t.me/+<digits>). Its query holds display options and actions (?single, ?thread=,
    ?t=, ?start=, ?boost), so only ?comment=, which points at another message, stays in the key."""
    segments = [unquote(segment) for segment in raw_segments]
    params = dict(parse_qsl(query, keep_blank_values=True))
    if len(segments) > 1 and segments[0].lower() == "s":
        segments = segments[1:]  # t.me/s/name is the web preview of t.me/name
    if not segments:
        raise _not_a_target(_("This Telegram link names no channel, post or invite."))
    first, rest = segments[0], segments[1:]
    lowered = first.lower()
    if first.startswith(("+", " ")):
        code = first[1:]
        if code.isascii() and code.isdigit() and len(code) <= 32:
            return Normalised(key=f"t.me/+{code}", kind="account", target=target)  # a phone number
        return _invite(code, target)
    if lowered == "joinchat":
        return _invite(rest[0] if rest else "", target)
    if lowered == "c":
        return _private(target, rest, params)
    if lowered == "boost" and len(rest) == 1:  # t.me/boost/<name> boosts that channel
        return Normalised(key=_channel_key(rest[0]), kind="channel", target=target)
    if lowered == "boost" and not rest and _post_number(params.get("c", "")):  # t.me/boost?c=<id>
        return Normalised(key=f"t.me/c/{_post_number(params['c'])}", kind="channel", target=target)
    if lowered in _TELEGRAM_FUNCTIONS or first.startswith("$") or (lowered in _TELEGRAM_CONTENT and not rest):
        raise _refuse("telegram_function", _("This is Telegram's Instant View of another page: report that "
                                             "page's own link instead.") if lowered == "iv" else None)
    if lowered in _TELEGRAM_CONTENT:
        slug = "/".join(_normalise_percent(segment, _PATH_SAFE) for segment in rest)
        return Normalised(key=f"t.me/{lowered}/{slug}", kind=_TELEGRAM_CONTENT[lowered], target=target)
    return _username_link(target, first, rest, params)


def _username_link(target: str, name: str, rest: list[str], params: dict[str, str]) -> Normalised:
    """t.me/<name>[/<post> | /<thread>/<post> | /s/<story> | /<app>]."""
    channel = _channel_key(name)
    if not rest:
        return Normalised(key=channel, kind="channel", target=target)
    post = _post_number(rest[0])
    if post is not None:
        # t.me/<name>/<thread>/<post>: the post number alone names the message within the chat.
        in_thread = _post_number(rest[1]) if len(rest) > 1 else None
        message = in_thread if in_thread is not None else post
        return Normalised(key=f"{channel}/{message}{_comment_suffix(params)}", kind="message", target=target)
    if len(rest) == 2 and rest[0] == "s" and _post_number(rest[1]) is not None:
        return Normalised(key=f"{channel}/s/{_post_number(rest[1])}", kind="post", target=target)  # a story
    # t.me/<bot>/<app> and other pages under a name: their own key, case kept after the name.
    tail = "/".join(_normalise_percent(segment, _PATH_SAFE) for segment in rest)
    return Normalised(key=f"{channel}/{tail}", kind="other", target=target)


def _private(target: str, rest: list[str], params: dict[str, str]) -> Normalised:
    """t.me/c/<channel id>[/<thread>]/<post>: a private channel or group by its number."""
    numbers = [_post_number(segment) for segment in rest[:3]]
    if not numbers or None in numbers[:2]:
        raise _not_a_target(_("A private Telegram link names the channel number and the post number."))
    if len(numbers) == 1:
        return Normalised(key=f"t.me/c/{numbers[0]}", kind="channel", target=target)
    post = numbers[-1] or numbers[1]  # /<channel>/<thread>/<post>: the post names the message
    return Normalised(key=f"t.me/c/{numbers[0]}/{post}{_comment_suffix(params)}", kind="message",
                      target=target)
