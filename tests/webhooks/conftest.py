"""A real HTTP receiver on loopback, and endpoints registered through the actions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import User
from webhooks.actions import register_endpoint
from webhooks.models import Endpoint


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """What a subscriber's system sees: every request, in order. `answers` are the statuses it replies with, one
    per request (the last one repeats)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=lambda: [200])
    reply: str = '{"ok": true}'
    delay: float = 0.0  # seconds before answering (a slow receiver)

    def next_status(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP = True
    state: dict[str, Receiver] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            with lock:
                me = state["receiver"]
                me.requests.append(Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                                            body=body))
                status = me.next_status()
            time.sleep(me.delay)
            payload = me.reply.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/liaison")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def subscribe(user: User, url: str, events: list[str] | None = None) -> Endpoint:
    from cases.case_events import CaseEvent

    return register_endpoint(actor=user, url=url, events=events or list(CaseEvent.values))
