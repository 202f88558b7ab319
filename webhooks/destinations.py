"""Where a delivery may go: https:// to a public address, never to this host, its network or the cloud's metadata
service (SSRF). Pure functions; the address is checked when an endpoint is registered and resolved again at every
send (DNS may change meanwhile), and the connection goes to the address that was checked.

Plain http:// to 127.0.0.1, ::1 or localhost is allowed only when the caller says so
(LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP: tests and the demo's own receiver).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class RefusedDestination(ValueError):
    """The URL may not receive deliveries; the message says why in plain words."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...] = ()


def parse(url: str, *, allow_local_http: bool) -> Destination:
    """The URL's parts, or RefusedDestination: https only (http to loopback when allowed), a host name, no
    credentials in the URL, and no literal address outside the public internet."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RefusedDestination(_("This is not a valid URL.")) from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedDestination(_("The URL needs a host name."))
    if parts.username or parts.password:
        raise RefusedDestination(_("Do not put credentials in the URL."))
    local = host in LOCAL_NAMES
    if parts.scheme == "https":
        pass
    elif parts.scheme == "http" and local and allow_local_http:
        pass
    else:
        raise RefusedDestination(_("Use an https:// URL."))
    if local and not allow_local_http:
        raise RefusedDestination(_("This address is not on the public internet."))
    literal = _literal(host)
    if literal is not None and not local and not _public(literal):
        raise RefusedDestination(_("This address is not on the public internet."))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80),
                       target=target)


def resolve(url: str, *, allow_local_http: bool) -> Destination:
    """parse, then the host's addresses: every one must be public (loopback ones only for an allowed local URL),
    so a name that also points inside cannot be used to reach it."""
    destination = parse(url, allow_local_http=allow_local_http)
    try:
        infos = socket.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise RefusedDestination(_("The host name does not resolve.")) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise RefusedDestination(_("The host name does not resolve."))
    local = destination.host in LOCAL_NAMES
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        allowed = ip.is_loopback if local else _public(ip)
        if not allowed:
            raise RefusedDestination(_("This address is not on the public internet."))
    return Destination(scheme=destination.scheme, host=destination.host, port=destination.port,
                       target=destination.target, addresses=addresses)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _public(ip.ipv4_mapped)
    return ip.is_global and not ip.is_multicast
