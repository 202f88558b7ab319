"""One HTTP POST of a delivery: to the address that was checked (destinations.resolve), with a timeout, no
redirects followed, and at most a little of the answer read. Pure: no model, no request; never raises for what
the receiver or the network did (the result says it).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from . import destinations

USER_AGENT = "Liaison-Webhooks/1"
# The answer is read up to this many bytes (kept truncated further by the caller): a receiver cannot flood us.
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Result:
    status: int | None  # the HTTP status, None when no answer came
    body: str  # the start of the answer's body
    error: str  # why no answer came, or why the address was refused
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address while the Host header keeps the name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the host name (SNI and certificate), not the address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: str, headers: dict[str, str], timeout: float, allow_local_http: bool) -> Result:
    started = time.monotonic()

    def result(status: int | None = None, text: str = "", error: str = "") -> Result:
        return Result(status=status, body=text, error=error, duration_ms=int((time.monotonic() - started) * 1000))

    try:
        destination = destinations.resolve(url, allow_local_http=allow_local_http)
    except destinations.RefusedDestination as exc:
        return result(error=str(exc))
    payload = body.encode("utf-8")
    request_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                       "Content-Length": str(len(payload)), **headers}
    last_error = ""
    for address in destination.addresses:
        connection: http.client.HTTPConnection
        if destination.scheme == "https":
            connection = _PinnedHTTPSConnection(destination.host, destination.port, address=address,
                                                timeout=timeout, context=ssl.create_default_context())
        else:
            connection = _PinnedHTTPConnection(destination.host, destination.port, address=address, timeout=timeout)
        try:
            connection.request("POST", destination.target, body=payload, headers=request_headers)
            response = connection.getresponse()
            text = response.read(MAX_RESPONSE_BYTES).decode("utf-8", errors="replace")
            return result(status=response.status, text=text)
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            if _connected(connection):
                break  # connected: the receiver may have it, another address could get it twice
        finally:
            connection.close()
    return result(error=last_error or "no address answered")


def _connected(connection: http.client.HTTPConnection) -> bool:
    return connection.sock is not None
