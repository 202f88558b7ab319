"""Link identity: the normalised key of a reported target, so one channel is one key however it is written.

Pure functions, no database. ``https://telegram.me/s/Foo``, ``t.me/foo``, ``@foo`` and
``tg://resolve?domain=foo`` are the same channel; hosts are lower-cased and IDNA-encoded, ``www.`` and
``m.`` dropped, default ports, dot segments, tracking parameters and percent-encoding normalised. The key
finds duplicates within a case and across open cases (deconfliction).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

KINDS = ("channel", "group", "message", "account", "post", "file", "other")
MAX_TARGET_LENGTH = 2048
MAX_KEY_LENGTH = 2048

TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "igshid", "si", "ref", "ref_src", "mc_cid", "mc_eid", "yclid", "_ga"}
)
FILE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".mov", ".webm", ".pdf", ".zip")
FORMULA_PREFIXES = ("=", "+", "-", "@")

_HANDLE = re.compile(r"[A-Za-z0-9_]{5,32}")
_INVITE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
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


def format_lazy(message: StrOrPromise, **params: object) -> StrOrPromise:
    """%-format a lazy message when it is rendered, in the language active then."""
    return lazy(lambda: str(message) % params, str)()


@dataclass(frozen=True)
class Normalised:
    key: str
    kind: str
    target: str


class TargetError(ValueError):
    """A target that cannot be an item: ``code`` is stable for callers, ``message`` is for people."""

    def __init__(self, code: str, message: StrOrPromise) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _not_a_target(message: StrOrPromise | None = None) -> TargetError:
    return TargetError("not_a_target", message or _("This is not a web link or an @handle."))


def normalise_target(raw: str) -> Normalised:
    """Return the key and a best-guess kind for one target, or raise TargetError.

    Keys are ASCII and at most MAX_KEY_LENGTH characters: percent-encoding can make a key several times
    longer than its target, so a longer key keeps its start and ends in "#" and the SHA-256 of the whole.
    """
    normalised = _normalise(raw)
    if len(normalised.key) <= MAX_KEY_LENGTH:
        return normalised
    digest = hashlib.sha256(normalised.key.encode("ascii")).hexdigest()
    return replace(normalised, key=normalised.key[: MAX_KEY_LENGTH - len(digest) - 1] + "#" + digest)


def _normalise(raw: str) -> Normalised:
    target = (raw or "").strip().strip(_INVISIBLE).strip()
    if not target:
        raise TargetError("empty", _("The target is empty."))
    if len(target) > MAX_TARGET_LENGTH:
        raise TargetError(
            "too_long",
            format_lazy(_("The target is longer than %(limit)s characters."), limit=MAX_TARGET_LENGTH),
        )
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
        host_and_port = not rest.startswith("//") and (
            "." in candidate or _PORT_THEN_PATH.fullmatch(rest) is not None
        )
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
    query = _normalise_query(parts.query)
    if host in TELEGRAM_HOSTS:
        return _telegram(target, segments, query)
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
    return Normalised(key=_key(host, segments, query), kind=kind, target=target)


def _normalise_handle(target: str) -> Normalised:
    name = target[1:]
    if not _HANDLE.fullmatch(name):
        raise _not_a_target(_("A handle is @ followed by 5 to 32 letters, digits or underscores."))
    return Normalised(key=f"t.me/{name.lower()}", kind="channel", target=target)


def _normalise_tg(target: str) -> Normalised:
    """Telegram's app links: tg://resolve?domain=x[&post=n], tg://join?invite=h, tg://privatepost."""
    parts = urlsplit(target)
    action = (parts.netloc or parts.path).strip("/").lower()
    params = dict(parse_qsl(parts.query))
    if action == "resolve":
        name = params.get("domain", "")
        post = params.get("post", "")
        if not _HANDLE.fullmatch(name) or (post and not post.isdigit()):
            raise _not_a_target()
        if post:
            return Normalised(key=f"t.me/{name.lower()}/{post}", kind="message", target=target)
        return Normalised(key=f"t.me/{name.lower()}", kind="channel", target=target)
    if action == "join":
        invite = params.get("invite", "")
        if not _INVITE.fullmatch(invite):
            raise _not_a_target()
        return Normalised(key=f"t.me/+{invite}", kind="group", target=target)
    if action == "privatepost":
        channel, post = params.get("channel", ""), params.get("post", "")
        if not (channel.isdigit() and post.isdigit()):
            raise _not_a_target()
        return Normalised(key=f"t.me/c/{channel}/{post}", kind="message", target=target)
    raise _not_a_target()


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


def _normalise_query(query: str) -> str:
    """Drop tracking parameters and sort the rest; "?single" stays "single", not "single="."""
    parameters = []
    for part in query.split("&"):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if unquote_plus(name).lower() in TRACKING_PARAMETERS or unquote_plus(name).lower().startswith("utm_"):
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


def _telegram(target: str, segments: list[str], query: str) -> Normalised:
    if segments and segments[0].lower() == "s" and len(segments) > 1:
        segments = segments[1:]  # t.me/s/name is the web preview of t.me/name
    if not segments:
        kind = "other"
    elif segments[0].startswith("+"):
        # t.me/+<digits> opens a chat with a phone number; anything else is an invite hash.
        kind = "account" if segments[0][1:].isdigit() else "group"
    elif segments[0].lower() == "joinchat" and len(segments) > 1:
        # The old spelling of the same invite; hashes are case-sensitive so the case stays.
        segments = ["+" + segments[1], *segments[2:]]
        kind = "group"
    elif segments[0].lower() == "c" and len(segments) > 1:
        segments = ["c", *segments[1:]]
        kind = "message" if len(segments) > 2 else "channel"
    else:
        segments = [segments[0].lower(), *segments[1:]]
        if len(segments) == 1:
            kind = "channel"
        elif segments[-1].isdigit():
            kind = "message"
        else:
            kind = "other"
    return Normalised(key=_key("t.me", segments, query), kind=kind, target=target)
