"""Where a delivery may go (webhooks/destinations.py) and how one POST behaves (webhooks/sending.py), without a
database: https to public addresses only, loopback only when allowed, the name resolved again at send time, TLS
checked against the host name, and a receiver's failure recorded, never raised."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import destinations, sending, signing


@pytest.mark.parametrize("url", [
    "https://hooks.example.org/liaison",
    "https://hooks.example.org:8443/in?source=liaison",
    "https://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]/hook",
])
def test_https_to_a_public_host_is_accepted(url: str) -> None:
    destination = destinations.parse(url, allow_local_http=False)
    assert destination.scheme == "https"


@pytest.mark.parametrize("url", [
    "http://hooks.example.org/",
    "https://127.0.0.1/", "https://127.1.2.3/", "https://[::1]/", "https://localhost/",
    "https://0.0.0.0/", "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.0.10/",
    "https://100.64.0.1/",  # shared address space (carrier-grade NAT)
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/", "https://[fd00::1]/",
    "https://[::ffff:10.0.0.1]/", "https://224.0.0.1/", "https://192.0.2.1/",
    "https://user:secret@hooks.example.org/", "https:///nohost", "gopher://hooks.example.org/", "not a url",
])
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(destinations.RefusedDestination):
        destinations.parse(url, allow_local_http=False)


def test_loopback_over_plain_http_only_when_allowed() -> None:
    assert destinations.parse("http://127.0.0.1:8080/hook", allow_local_http=True).port == 8080
    assert destinations.parse("http://localhost/hook", allow_local_http=True).host == "localhost"
    with pytest.raises(destinations.RefusedDestination):
        destinations.parse("http://127.0.0.1:8080/hook", allow_local_http=False)
    with pytest.raises(destinations.RefusedDestination):
        destinations.parse("http://10.0.0.1/hook", allow_local_http=True)  # only loopback


def test_the_name_is_resolved_and_every_address_checked_at_send_time() -> None:
    resolved = destinations.resolve("http://localhost:9/hook", allow_local_http=True)
    assert resolved.addresses and all(a in ("127.0.0.1", "::1") for a in resolved.addresses)
    result = sending.post("https://localhost:9/hook", body="{}", headers={}, timeout=2, allow_local_http=False)
    assert result.status is None and not result.ok and "public internet" in result.error


def test_a_receiver_that_does_not_answer_is_a_recorded_failure() -> None:
    result = sending.post("http://127.0.0.1:9/hook", body="{}", headers={}, timeout=2, allow_local_http=True)
    assert result.status is None and result.error and not result.ok


def test_signatures_follow_standard_webhooks() -> None:
    from standardwebhooks.webhooks import Webhook

    secret = signing.new_secret()
    headers = signing.headers(secrets_in_use=[secret], message_id="msg_1", timestamp=int(dt.datetime.now().timestamp()),
                              body='{"a":1}')
    assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}
    assert headers["webhook-signature"] == signing.sign(secret=secret, message_id="msg_1",
                                                        timestamp=int(headers["webhook-timestamp"]), body='{"a":1}')


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[int]:
    """A TLS server on loopback with a self-signed certificate for localhost: no trusted CA vouches for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert received == []  # the body never reached a server whose certificate nobody vouches for


def test_a_certificate_nobody_vouches_for_is_refused(tls_receiver: int) -> None:
    result = sending.post(f"https://127.0.0.1:{tls_receiver}/hook", body="{}", headers={}, timeout=5,
                          allow_local_http=True)
    assert result.status is None and "CERTIFICATE_VERIFY_FAILED" in result.error
