"""The bounded load test (issue 14): authorities' liaisons and the platform's moderators at work at once.

Each simulated person signs in as a demo account (`manage.py seed_demo`, password DEMO_PASSWORD) and then, with a
pause of one to three seconds between steps, reads (inbox, case pages), posts messages, and moves cases:
liaisons open cases with a pasted list of links (preview, then save as a draft) and submit them; moderators
acknowledge the cases submitted to their queue. Every success is written in a ledger with what identifies it (the
message's text, the case's reference), and at the end the ledger is written as JSON to LOADTEST_RESULTS, so the
caller compares it with the rows in the database: nothing lost, nothing doubled.

Any answer other than the one expected fails the request: a 5xx, a 4xx, a refused form, a transition that did not
happen. Cases move only along paths no two simulated people share (a submitted case waits in its queue's line
and one moderator takes it), so a refused transition is an error, not a race the test provoked.

    locust -f tests/load/locustfile.py --headless -u 50 -r 10 -t 3m --host http://127.0.0.1:8000
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import uuid
from collections import deque
from typing import Any

from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("DEMO_PASSWORD", "liaison-demo-2026")
RUN = os.environ.get("LOADTEST_RUN") or uuid.uuid4().hex[:10]
RESULTS = os.environ.get("LOADTEST_RESULTS", "")
# Demo liaisons by the country of their authority (seed_demo), and the moderators of each country's queue.
LIAISONS = {"liaison@ministry-id.example": "ID", "lead@ministry-id.example": "ID",
            "liaison@ministry-my.example": "MY"}
MODERATORS = {"moderator@platform.example": "ID", "moderator-en@platform.example": "MY"}

REFERENCE_LINK = re.compile(r'href="/cases/([A-Z]{2}-\d{4}-\d{6})/"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INTAKE_TOKEN = re.compile(r'name="token" value="([^"]+)"')
MESSAGE_ANCHOR = re.compile(r"#message-(\d+)$")

_people = itertools.count()
_bodies = itertools.count(1)
_targets = itertools.count(1)


class Ledger:
    """What the simulated people did successfully (one process, greenlets: no locks needed)."""

    def __init__(self) -> None:
        # Confirmed by the answer: messages (reference, text, id), cases opened (references), moves made.
        self.messages: list[dict[str, Any]] = []
        self.created: list[str] = []
        self.submitted: list[str] = []
        self.acknowledged: list[str] = []
        # Sent, whatever came back: a request still in flight when the run stops may be done by the server without
        # its answer being read; the database may hold what was attempted, never anything else.
        self.attempted: dict[str, list[str]] = {"messages": [], "titles": [], "submit": [], "acknowledge": []}
        self.logins = 0
        self.reads = 0
        # Submitted in this run, waiting for a moderator of the country's queue.
        self.waiting: dict[str, deque[str]] = {"ID": deque(), "MY": deque()}

    def as_json(self) -> dict[str, Any]:
        return {"run": RUN, "messages": self.messages, "created": self.created, "submitted": self.submitted,
                "acknowledged": self.acknowledged, "attempted": self.attempted, "logins": self.logins,
                "reads": self.reads}


LEDGER = Ledger()


@events.test_stop.add_listener
def _write_ledger(environment: Any, **_kwargs: Any) -> None:
    if RESULTS:
        with open(RESULTS, "w") as out:
            json.dump(LEDGER.as_json(), out, indent=1)


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    accounts: dict[str, str] = {}

    def on_start(self) -> None:
        emails = sorted(self.accounts)
        self.email = emails[next(_people) % len(emails)]
        self.country = self.accounts[self.email]
        self.refs: list[str] = []
        self.open_refs: list[str] = []
        self.sign_in()
        self.read_inbox("?status=open")

    # --- helpers ---------------------------------------------------------------------------------

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def sign_in(self) -> None:
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = CSRF_FIELD.search(page.text)
        with self.client.post("/accounts/login/", data={
                "login": self.email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
                allow_redirects=False, catch_response=True, name="sign in") as answer:
            if answer.status_code == 302 and "sessionid" in self.client.cookies:
                LEDGER.logins += 1
                answer.success()
            else:
                answer.failure(f"sign-in as {self.email} answered {answer.status_code}")

    def post(self, path: str, data: dict[str, str], name: str) -> Any:
        return self.client.post(path, data={**data, "csrfmiddlewaretoken": self.csrf()},
                                headers={"Referer": self.host + path}, allow_redirects=False,
                                catch_response=True, name=name)

    def read_inbox(self, query: str = "") -> None:
        with self.client.get(f"/cases/{query}", name="inbox", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"inbox answered {page.status_code}")
                return
            found = REFERENCE_LINK.findall(page.text)
            if found:
                self.refs = found
                if query == "?status=open":
                    self.open_refs = found
            LEDGER.reads += 1
            page.success()

    def case_page(self, reference: str, expect_status: str = "") -> bool:
        with self.client.get(f"/cases/{reference}/", name="case page", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"{reference} answered {page.status_code}")
                return False
            if expect_status and f"lx-status-{expect_status}" not in page.text:
                page.failure(f"{reference} is not {expect_status}")
                return False
            LEDGER.reads += 1
            page.success()
            return True

    def post_message(self, reference: str) -> None:
        body = f"load {RUN} {self.email} {next(_bodies)}: status update"
        LEDGER.attempted["messages"].append(body)
        with self.post(f"/cases/{reference}/messages/", {"body": body}, name="post message") as answer:
            anchor = MESSAGE_ANCHOR.search(answer.headers.get("Location", ""))
            if answer.status_code == 302 and anchor:
                LEDGER.messages.append({"reference": reference, "body": body, "id": int(anchor.group(1))})
                answer.success()
            else:
                answer.failure(f"message to {reference}: {answer.status_code} {answer.headers.get('Location')}")

    def transition(self, reference: str, move: str, becomes: str) -> bool:
        LEDGER.attempted[move].append(reference)
        with self.post(f"/cases/{reference}/do/{move}/", {}, name=move) as answer:
            if answer.status_code != 302:
                answer.failure(f"{move} {reference} answered {answer.status_code}")
                return False
            answer.success()
        # The move's redirect leads to the case page, which says whether it happened.
        return self.case_page(reference, expect_status=becomes)


class Liaison(Person):
    """An authority's liaison: reads, writes to the platform, opens and submits cases."""

    weight = 1
    accounts = LIAISONS

    def on_start(self) -> None:
        self.drafts: list[str] = []
        self.mine: list[str] = []
        self.form: dict[str, str] = {}
        super().on_start()
        # Work for the platform from the start: a case opened and submitted before anything else.
        self.open_a_case()
        self.submit()

    @task(4)
    def inbox(self) -> None:
        self.read_inbox(random.choice(("", "?status=open")))

    @task(4)
    def read_a_case(self) -> None:
        if self.refs:
            self.case_page(random.choice(self.refs))

    @task(3)
    def write(self) -> None:
        """To the platform, on an open case of the authority's (the list's, or one opened in this run)."""
        choices = self.mine + self.open_refs
        if choices:
            self.post_message(random.choice(choices))

    @task(2)
    def open_a_case(self) -> None:
        """Intake: the form, a preview of three pasted links, then saved as a draft."""
        if not self.form:
            page = self.client.get("/cases/new/", name="new case form")
            category = re.search(r'name="category"[^>]*>(.*?)</select>', page.text, re.S)
            platform = re.search(r'name="responding_org"[^>]*>(.*?)</select>', page.text, re.S)
            if not (category and platform):
                return
            self.form = {"category": re.findall(r'value="(\d+)"', category.group(1))[0],
                         "responding_org": re.findall(r'value="(\d+)"', platform.group(1))[0]}
        links = "\n".join(f"https://t.me/load_{RUN}_{next(_targets)}" for _ in range(3))
        title = f"Load {RUN} case {next(_targets)}"
        LEDGER.attempted["titles"].append(title)
        fields = {**self.form, "title": title, "request_type": "removal", "priority": "",
                  "tlp": "amber", "legal_basis": "Load test", "legal_article": "", "description": "",
                  "language": "en", "territorial_scope": self.country, "pasted": links}
        with self.post("/cases/new/", {**fields, "step": "preview"}, name="intake preview") as preview:
            token = INTAKE_TOKEN.search(preview.text or "")
            if preview.status_code != 200 or not token:
                preview.failure(f"intake preview answered {preview.status_code} without a token")
                return
            preview.success()
        with self.post("/cases/new/", {**fields, "step": "draft", "token": token.group(1)},
                       name="intake save") as saved:
            found = re.search(r"/cases/([A-Z]{2}-\d{4}-\d{6})/$", saved.headers.get("Location", ""))
            if saved.status_code != 302 or not found:
                saved.failure(f"intake save answered {saved.status_code} {saved.headers.get('Location')}")
                return
            saved.success()
        LEDGER.created.append(found.group(1))
        self.drafts.append(found.group(1))
        self.mine.append(found.group(1))

    @task(2)
    def submit(self) -> None:
        if self.drafts:
            reference = self.drafts.pop(0)
            if self.transition(reference, "submit", "submitted"):
                LEDGER.submitted.append(reference)
                LEDGER.waiting[reference[:2]].append(reference)


class Moderator(Person):
    """A platform moderator: what was submitted to the queue first (acknowledged as soon as it waits), otherwise
    reads the queue and case pages and answers on open cases."""

    weight = 1
    accounts = MODERATORS

    def on_start(self) -> None:
        self.taken: list[str] = []
        super().on_start()
        self.acknowledge()

    @task
    def work(self) -> None:
        if LEDGER.waiting[self.country]:
            self.acknowledge()
            return
        random.choices((self.inbox, self.read_a_case, self.write), weights=(4, 4, 3))[0]()

    def inbox(self) -> None:
        self.read_inbox()

    def read_a_case(self) -> None:
        if self.refs:
            self.case_page(random.choice(self.refs))

    def write(self) -> None:
        """To the authority, on open work of the moderator's queue (acknowledged in this run, or listed)."""
        choices = self.taken + self.open_refs
        if choices:
            self.post_message(random.choice(choices))

    def acknowledge(self) -> None:
        waiting = LEDGER.waiting[self.country]
        if waiting:
            reference = waiting.popleft()
            if self.transition(reference, "acknowledge", "in_progress"):
                LEDGER.acknowledged.append(reference)
                self.taken.append(reference)
