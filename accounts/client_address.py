"""The address of the client behind a request, for sign-in limits and the audit log.

`X-Forwarded-For` is a claim anybody can send, so it counts only when the request comes from a proxy named in
LIAISON_TRUSTED_PROXIES (addresses or networks). Then the header is read from the right, past every trusted hop, to
the first address the trusted proxies did not vouch for: entries further left were written by the client and prove
nothing. Whatever cannot be read stops the walk at the last trusted hop (fails closed: an unreadable header never
lets a client pick its own address).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Sign-in limits count an IPv6 client by its /64: one subscriber usually holds a whole /64 and could otherwise
# take a fresh address for every attempt.
IPV6_LIMIT_PREFIX = 64


def client_address(request: HttpRequest) -> str | None:
    """The client's address as text, or None when the request carries no readable peer address."""
    address = _client(request)
    return str(address) if address is not None else None


def limit_address(request: HttpRequest) -> str:
    """The address sign-in limits count against: the client's, an IPv6 client's /64, or "unknown" (all requests
    without a readable address share that one count)."""
    address = _client(request)
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return str(address)


def _client(request: HttpRequest) -> IPAddress | None:
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    proxies = trusted_proxies(tuple(settings.LIAISON_TRUSTED_PROXIES))
    if not _is_trusted(peer, proxies):
        return peer
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    client = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address, proxies):
            break
    return client


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


@lru_cache(maxsize=8)
def trusted_proxies(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """LIAISON_TRUSTED_PROXIES read as networks ("10.0.0.5", "10.0.0.0/24", "::1")."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"LIAISON_TRUSTED_PROXIES: {entry!r} is not an address or network.") from exc
    return tuple(networks)
