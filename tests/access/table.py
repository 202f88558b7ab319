"""The access matrix (issue 14): every URL pattern of the project, and what each persona gets from it.

`test_matrix.py` walks `get_resolver()` and fails while a pattern is named by no row (or group) here, then sends
every row's request as every persona (Django's test client, signed in with a second factor, against the data set
of `conftest.py`) and compares each status with the table.

A row is::

    Row(pattern, method, path, expect, data=..., content_type=..., headers=..., note=...)

- `pattern`: the route exactly as the resolver spells it, includes joined (`cases/<str:reference>/assign/`,
  `api/v1/^cases/$` for a DRF router); the coverage test prints the unnamed ones in this spelling.
- `method`: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
- `path`: the path to request; `{name}` is filled from the data set (`Matrix.values` in conftest.py):
  `{case}` (authority A's case in queue ID, in progress: items, evidence of both sides, a shared message, both
  sides' internal notes, deadlines, a pending proposal of the platform, a legal hold), `{resolved}` (A's resolved
  case with an issued report `{report}`), `{draft}` (A's draft, item `{draft_item}`), `{red}` (A's TLP:RED case, Dewi and Maria named on it),
  `{other_case}` (B's case in queue MY, awaiting information),
  `{item}`, `{evidence}` (shared), `{platform_evidence}` (the platform's internal file), `{message}` (Dewi's
  shared message), `{authority_note}`, `{platform_note}`, `{deadline}`, `{proposal}`, `{hold}`, `{inbound}`
  (quarantined e-mail), `{checkpoint}`, `{notification}` (Dewi's), `{invitation}` / `{invitation_token}` (to A),
  `{member}` (Eko, an active liaison of A), `{deactivated_member}` (Dina's); user ids `{outsider}` (Sam),
  `{dewi}`, `{maria}`; `{api_token}` (Dewi's API token).
- `expect`: one token per persona, in the order of PERSONAS (the header comment above the rows): a status code
  (`200`, `201`, `400`, `401`, `403`, `404`, `405`, `409`, ...), `L` for a 302 to the sign-in page, `R` for a 302 anywhere
  else (a form post that was taken: done, or sent back with a message, or to re-authenticate first).
- `data`: the body, as a dict or a function of the values (`lambda v: {...}`); strings in it are filled like
  the path. A POST that changes state may run for real: every persona's request is rolled back afterwards.
- `content_type`: "application/json" sends `data` as JSON (API rows); `headers`: extra request headers.

Adding an API endpoint (`/api/v1/`): one row per route and method, with `auth="token"`: each persona then sends
`Authorization: Bearer <their token>` (minted through `api.actions.create_api_token` in conftest.py; Dina's
before her deactivation, anonymous sends none) from a client with no session, and `content_type="application/json"`
sends `data` as JSON, e.g.

    Row("api/v1/cases/<case_reference:reference>/withdraw/", "POST", "/api/v1/cases/{case}/withdraw/",
        "401 200 200 403 404 403 404 403 403 403 401", auth="token", content_type=JSON, data={"note": "x"}),

A body the serializer refuses answers 400 before the permission is asked on some endpoints: give the row a valid
body so the table shows the permission. Another kind of authentication is a new `auth` value taught to
`credentials()` in test_matrix.py. Routes of a third-party app that the project does not change can be covered as
a group (GROUPS) with a few sample rows.

Every response to a persona is also searched for what that persona must never read (the other side's internal
notes and internal files, and for outsiders the case's shared thread): see `Matrix.secrets` in conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PERSONAS = (
    "anon",           # not signed in
    "liaison",        # Dewi, liaison of authority A (the case's)
    "lead",           # Budi, lead of authority A
    "auditor_a",      # Ika, auditor of authority A
    "other_liaison",  # Aisyah, liaison of authority B
    "moderator",      # Rizky, moderator of queue ID (the case's queue)
    "moderator_out",  # Sam, moderator of queue MY
    "manager",        # Maria, T&S manager
    "legal",          # Jon, the platform's legal
    "auditor",        # Priya, the platform's auditor
    "deactivated",    # Dina, a liaison of A whose account was deactivated while she was signed in
)

LOGIN = "L"
REDIRECT = "R"


@dataclass(frozen=True)
class Row:
    pattern: str
    method: str
    path: str
    expect: str
    data: Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: str = "session"
    note: str = ""
    # Run inside each persona's transaction before the request (undone with it), for state that ages: see
    # messages_just_posted.
    prepare: Callable[[Mapping[str, Any]], None] | None = None

    def expected(self) -> dict[str, str]:
        tokens = self.expect.split()
        if len(tokens) != len(PERSONAS):
            raise ValueError(f"{self.method} {self.path}: {len(tokens)} statuses for {len(PERSONAS)} personas")
        return dict(zip(PERSONAS, tokens, strict=True))

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.note})" if self.note else "")


# Groups of routes that belong to a third-party app: a pattern under a prefix here needs no row of its own; the
# group's sample rows below stand for it.
GROUPS = {
    "admin/": "Django's admin: nobody of the portal is staff, every page sends to the admin's own sign-in",
    "accounts/": "allauth's sign-in, sign-out, password, e-mail and second-factor pages",
}

# A POST-only route asked with GET: 405 for everyone signed in (after login_required sends the others away).
NO_GET = "L 405 405 405 405 405 405 405 405 405 L"
EVERYONE_SIGNED_IN = "L 200 200 200 200 200 200 200 200 200 L"
EVERYONE = "200 200 200 200 200 200 200 200 200 200 200"

C = "/cases/{case}"
A = "/api/v1/cases/{case}"
W = "/api/v1/webhooks/endpoints/"
JSON = "application/json"


def _png_upload(values: Mapping[str, Any]) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"file": SimpleUploadedFile("screenshot.png", values["png"], content_type="image/png")}


def messages_just_posted(values: Mapping[str, Any]) -> None:
    """The case's messages as if posted now: their authors' edit window (15 minutes) must not close while a slow
    machine works through the module."""
    from django.utils import timezone

    from cases.models import Message

    Message.objects.filter(case__reference=values["case"]).update(created_at=timezone.now())


def _preferences(values: Mapping[str, Any]) -> dict[str, str]:
    from cases.models import NotificationKind

    return {kind: "in_app" for kind in NotificationKind.values}


ROWS: list[Row] = [
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    # --- Public and project-wide -------------------------------------------------------------------------------
    Row("", "GET", "/", EVERYONE_SIGNED_IN),
    Row("health/", "GET", "/health/", EVERYONE),
    Row("health/", "POST", "/health/", "405 405 405 405 405 405 405 405 405 405 405"),
    Row("favicon.ico", "GET", "/favicon.ico", "301 301 301 301 301 301 301 301 301 301 301"),
    Row("reports/verify/", "GET", "/reports/verify/", EVERYONE),
    Row("reports/verify/", "POST", "/reports/verify/", "400 400 400 400 400 400 400 400 400 400 400",
        note="no file"),
    Row("reports/ca.pem", "GET", "/reports/ca.pem", EVERYONE),
    Row("i18n/setlang/", "POST", "/i18n/setlang/", "R R R R R R R R R R R", data={"language": "en", "next": "/"}),
    Row("invitations/<str:token>/", "GET", "/invitations/{invitation_token}/", EVERYONE),
    Row("transparency/", "GET", "/transparency/", EVERYONE, note="public monthly totals"),
    Row("transparency/figures.csv", "GET", "/transparency/figures.csv", EVERYONE),
    Row("transparency/figures.json", "GET", "/transparency/figures.json", EVERYONE),
    Row("dashboard/", "GET", "/dashboard/", EVERYONE_SIGNED_IN, note="each reader's own scope"),
    # --- Lists, notifications, policies -------------------------------------------------------------------------
    Row("cases/", "GET", "/cases/", EVERYONE_SIGNED_IN),
    Row("cases/new/", "GET", "/cases/new/", "L 200 200 403 200 403 403 403 403 403 L"),
    Row("cases/new/", "POST", "/cases/new/", "L 200 200 403 200 403 403 403 403 403 L", note="empty form"),
    Row("cases/notifications/", "GET", "/cases/notifications/", EVERYONE_SIGNED_IN),
    Row("cases/notifications/bell/", "GET", "/cases/notifications/bell/", EVERYONE_SIGNED_IN),
    Row("cases/notifications/preferences/", "GET", "/cases/notifications/preferences/", EVERYONE_SIGNED_IN),
    Row("cases/notifications/preferences/", "POST", "/cases/notifications/preferences/",
        "L R R R R R R R R R L", data=_preferences),
    Row("cases/notifications/<id:pk>/open/", "GET", "/cases/notifications/{notification}/open/", NO_GET),
    Row("cases/notifications/<id:pk>/open/", "POST", "/cases/notifications/{notification}/open/",
        "L R 404 404 404 404 404 404 404 404 L"),
    Row("cases/mark-all-read/", "GET", "/cases/mark-all-read/", NO_GET),
    Row("cases/mark-all-read/", "POST", "/cases/mark-all-read/", "L R R R R R R R R R L"),
    Row("cases/sla-policies/", "GET", "/cases/sla-policies/", EVERYONE_SIGNED_IN),
    Row("cases/sla-policies/", "POST", "/cases/sla-policies/", "L 403 403 403 403 403 403 R 403 403 L"),
    Row("cases/audit/checkpoints/", "GET", "/cases/audit/checkpoints/", "L 403 200 200 403 403 403 200 200 200 L"),
    Row("cases/audit/checkpoints/latest/", "GET", "/cases/audit/checkpoints/latest/",
        "L 403 200 200 403 403 403 200 200 200 L"),
    Row("cases/audit/checkpoints/<id:sequence>/", "GET", "/cases/audit/checkpoints/{checkpoint}/",
        "L 403 200 200 403 403 403 200 200 200 L"),
    Row("cases/audit/checkpoints/new/", "GET", "/cases/audit/checkpoints/new/", NO_GET),
    Row("cases/audit/checkpoints/new/", "POST", "/cases/audit/checkpoints/new/",
        "L 403 403 403 403 403 403 R 403 403 L"),
    # --- Inbound e-mail: the T&S managers' quarantine -------------------------------------------------------------
    Row("cases/inbound/", "GET", "/cases/inbound/", "L 403 403 403 403 403 403 200 403 403 L"),
    Row("cases/inbound/<id:pk>/", "GET", "/cases/inbound/{inbound}/", "L 404 404 404 404 404 404 200 404 404 L"),
    Row("cases/inbound/<id:pk>/raw/", "GET", "/cases/inbound/{inbound}/raw/",
        "L 404 404 404 404 404 404 200 404 404 L"),
    Row("cases/inbound/<id:pk>/release/", "GET", "/cases/inbound/{inbound}/release/", NO_GET),
    Row("cases/inbound/<id:pk>/release/", "POST", "/cases/inbound/{inbound}/release/",
        "L 404 404 404 404 404 404 R 404 404 L", note="no owner chosen"),
    Row("cases/inbound/<id:pk>/reject/", "GET", "/cases/inbound/{inbound}/reject/", NO_GET),
    Row("cases/inbound/<id:pk>/reject/", "POST", "/cases/inbound/{inbound}/reject/",
        "L 404 404 404 404 404 404 R 404 404 L", data={"reason": "Spam"}),
    Row("cases/inbound/<id:pk>/release-reply/", "GET", "/cases/inbound/{inbound}/release-reply/", NO_GET),
    Row("cases/inbound/<id:pk>/release-reply/", "POST", "/cases/inbound/{inbound}/release-reply/",
        "L 404 404 404 404 404 404 R 404 404 L", note="names no case"),
    # --- The case page and its workflow ---------------------------------------------------------------------------
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("cases/<str:reference>/", "GET", C + "/", "L 200 200 200 404 200 404 200 200 200 L"),
    Row("cases/<str:reference>/", "GET", "/cases/{draft}/", "L 200 200 200 404 404 404 404 404 404 L",
        note="a draft"),
    Row("cases/<str:reference>/", "GET", "/cases/{other_case}/", "L 404 404 404 200 404 200 200 200 200 L",
        note="authority B's case in queue MY"),
    Row("cases/<str:reference>/", "GET", "/cases/{red}/", "L 200 404 404 404 404 404 200 404 404 L",
        note="TLP:RED, Dewi and Maria named"),
    Row("cases/<str:reference>/", "GET", "/cases/ID-2026-999999/", "L 404 404 404 404 404 404 404 404 404 L",
        note="no such case"),
    Row("cases/<str:reference>/do/<str:transition>/", "GET", C + "/do/withdraw/", NO_GET),
    Row("cases/<str:reference>/do/<str:transition>/", "POST", C + "/do/request_information/",
        "L 403 403 403 404 R 404 R 403 403 L", data={"note": "Which accounts?"}),
    Row("cases/<str:reference>/do/<str:transition>/", "POST", C + "/do/withdraw/",
        "L R R 403 404 403 404 403 403 403 L", data={"note": "Withdrawn"}),
    Row("cases/<str:reference>/do/<str:transition>/", "POST", "/cases/{resolved}/do/close/",
        "L R R 403 404 R 404 R 403 403 L"),
    Row("cases/<str:reference>/do/<str:transition>/", "POST", "/cases/{other_case}/do/provide_information/",
        "L 404 404 404 R 404 403 403 403 403 L", data={"note": "These posts"}, note="B's case awaits information"),
    Row("cases/<str:reference>/do/<str:transition>/", "POST", "/cases/{red}/do/withdraw/",
        "L R 404 404 404 404 404 403 404 404 L", note="TLP:RED"),
    Row("cases/<str:reference>/items/decide/", "GET", C + "/items/decide/", NO_GET),
    Row("cases/<str:reference>/items/decide/", "POST", C + "/items/decide/",
        "L 403 403 403 404 R 404 R 403 403 L",
        data=lambda v: {"scope": "ticked", "items": v["items"], "outcome": "removed"}),
    Row("cases/<str:reference>/items/add/", "GET", C + "/items/add/", NO_GET),
    Row("cases/<str:reference>/items/add/", "POST", C + "/items/add/", "L 200 200 403 404 403 404 403 403 403 L",
        data={"pasted": "https://t.me/another_channel_x1"}, note="the preview"),
    Row("cases/<str:reference>/items/<id:item_id>/remove/", "GET", "/cases/{draft}/items/{draft_item}/remove/",
        NO_GET),
    Row("cases/<str:reference>/items/<id:item_id>/remove/", "POST", "/cases/{draft}/items/{draft_item}/remove/",
        "L R R 403 404 404 404 404 404 404 L"),
    Row("cases/<str:reference>/items/<id:item_id>/remove/", "POST", C + "/items/{item}/remove/",
        "L 403 403 403 404 403 404 403 403 403 L", note="a submitted case's item"),
    Row("cases/<str:reference>/assign/", "GET", C + "/assign/", NO_GET),
    Row("cases/<str:reference>/assign/", "POST", C + "/assign/", "L 403 403 403 404 R 404 R 403 403 L",
        data={"take": "1"}),
    Row("cases/<str:reference>/access/grant/", "GET", C + "/access/grant/", NO_GET),
    Row("cases/<str:reference>/access/grant/", "POST", C + "/access/grant/", "L R R 403 404 403 404 R 403 403 L",
        note="no person chosen"),
    Row("cases/<str:reference>/access/<id:user_id>/revoke/", "GET", C + "/access/{outsider}/revoke/", NO_GET),
    Row("cases/<str:reference>/access/<id:user_id>/revoke/", "POST", C + "/access/{outsider}/revoke/",
        "L R R 403 404 403 404 R 403 403 L"),
    Row("cases/<str:reference>/access/<id:user_id>/revoke/", "POST", "/cases/{red}/access/{dewi}/revoke/",
        "L R 404 404 404 404 404 403 404 404 L", note="Dewi's name on her TLP:RED case: not the platform's call"),
    Row("cases/<str:reference>/access/<id:user_id>/revoke/", "POST", "/cases/{red}/access/{maria}/revoke/",
        "L R 404 404 404 404 404 R 404 404 L", note="Maria's name on the TLP:RED case"),
    # --- Evidence and legal holds -----------------------------------------------------------------------------------
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("cases/<str:reference>/evidence/upload/", "GET", C + "/evidence/upload/", NO_GET),
    Row("cases/<str:reference>/evidence/upload/", "POST", C + "/evidence/upload/",
        "L R R 403 404 R 404 R 403 403 L", note="no file"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/", "GET", C + "/evidence/{evidence}/",
        "L 200 200 200 404 200 404 200 200 200 L"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/", "GET", C + "/evidence/{platform_evidence}/",
        "L 404 404 404 404 200 404 200 200 200 L", note="the platform's internal file"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/", "GET", "/cases/{other_case}/evidence/{evidence}/",
        "L 404 404 404 404 404 404 404 404 404 L", note="under another case's reference"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/download/", "GET", C + "/evidence/{evidence}/download/",
        "L 200 200 200 404 200 404 200 200 200 L"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/download/", "GET",
        C + "/evidence/{platform_evidence}/download/", "L 404 404 404 404 200 404 200 200 200 L",
        note="the platform's internal file"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/preview/", "GET", C + "/evidence/{evidence}/preview/",
        "L 200 200 200 404 200 404 200 200 200 L"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/preview/", "GET",
        C + "/evidence/{platform_evidence}/preview/", "L 404 404 404 404 200 404 200 200 200 L",
        note="the platform's internal file"),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/withdraw/", "GET", C + "/evidence/{evidence}/withdraw/",
        NO_GET),
    Row("cases/<str:reference>/evidence/<id:evidence_id>/withdraw/", "POST", C + "/evidence/{evidence}/withdraw/",
        "L R R 403 404 403 404 403 403 403 L", data={"reason": "Wrong file"}),
    Row("cases/<str:reference>/holds/", "GET", C + "/holds/", NO_GET),
    Row("cases/<str:reference>/holds/", "POST", C + "/holds/", "L 403 403 403 404 403 404 403 R 403 L",
        data={"reason": "Court order"}),
    Row("cases/<str:reference>/holds/<id:hold_id>/lift/", "GET", C + "/holds/{hold}/lift/", NO_GET),
    Row("cases/<str:reference>/holds/<id:hold_id>/lift/", "POST", C + "/holds/{hold}/lift/",
        "L 403 403 403 404 403 404 403 R 403 L"),
    # --- Deadlines ------------------------------------------------------------------------------------------------
    Row("cases/<str:reference>/deadlines/propose/", "GET", C + "/deadlines/propose/", NO_GET),
    Row("cases/<str:reference>/deadlines/propose/", "POST", C + "/deadlines/propose/",
        "L R R 403 404 R 404 R 403 403 L",
        data={"kind": "change_due", "deadline": "{deadline}", "due_at": "{due_at}", "reason": "More time"}),
    Row("cases/<str:reference>/deadlines/proposals/<id:proposal_id>/answer/", "GET",
        C + "/deadlines/proposals/{proposal}/answer/", NO_GET),
    Row("cases/<str:reference>/deadlines/proposals/<id:proposal_id>/answer/", "POST",
        C + "/deadlines/proposals/{proposal}/answer/", "L R R 403 404 403 404 403 403 403 L",
        data={"answer": "reject", "note": "No"}, note="the platform's proposal"),
    # --- Thread ---------------------------------------------------------------------------------------------------
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("cases/<str:reference>/thread/", "GET", C + "/thread/", "L 200 200 200 404 200 404 200 200 200 L"),
    Row("cases/<str:reference>/messages/", "GET", C + "/messages/", NO_GET),
    Row("cases/<str:reference>/messages/", "POST", C + "/messages/", "L R R 403 404 R 404 R 403 403 L",
        data={"body": "A shared message"}),
    Row("cases/<str:reference>/messages/", "POST", C + "/messages/", "L R R 403 404 R 404 R R 403 L",
        data={"body": "An internal note", "internal": "1"}, note="internal note"),
    Row("cases/<str:reference>/messages/<id:message_id>/edit/", "GET", C + "/messages/{message}/edit/", NO_GET),
    Row("cases/<str:reference>/messages/<id:message_id>/edit/", "POST", C + "/messages/{message}/edit/",
        "L R 403 403 404 403 404 403 403 403 L", data={"body": "Corrected"}, note="Dewi's message",
        prepare=messages_just_posted),
    Row("cases/<str:reference>/messages/<id:message_id>/edit/", "POST", C + "/messages/{authority_note}/edit/",
        "L R 403 403 404 404 404 404 404 404 L", data={"body": "Corrected"}, note="Dewi's internal note",
        prepare=messages_just_posted),
    Row("cases/<str:reference>/messages/<id:message_id>/edit/", "POST", C + "/messages/{platform_note}/edit/",
        "L 404 404 404 404 R 404 403 403 403 L", data={"body": "Corrected"}, note="Rizky's internal note",
        prepare=messages_just_posted),
    # --- Outcome reports ------------------------------------------------------------------------------------------
    Row("cases/<str:reference>/reports/", "GET", "/cases/{resolved}/reports/",
        "L 200 200 200 404 403 404 200 200 200 L"),
    Row("cases/<str:reference>/reports/request/", "GET", "/cases/{resolved}/reports/request/", NO_GET),
    Row("cases/<str:reference>/reports/request/", "POST", "/cases/{resolved}/reports/request/",
        "L 403 403 403 404 403 404 R 403 403 L", data={"language": "en"}),
    Row("cases/<str:reference>/reports/<id:version>/download/", "GET", "/cases/{resolved}/reports/{report}/download/",
        "L 200 200 200 404 403 404 200 200 200 L"),
    Row("cases/<str:reference>/reports/<id:version>/download/", "GET", C + "/reports/{report}/download/",
        "L 404 404 404 404 403 404 404 404 404 L", note="a version of another case"),
    # --- Exports of the inbox (issue 16): the file of the person's own list; a long export's pages, its requester's only
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("exports/", "GET", "/exports/", NO_GET),
    Row("exports/", "POST", "/exports/", "L 200 200 200 200 200 200 200 200 200 L",
        data={"export": "items.csv", "query": "status="}),
    Row("exports/", "POST", "/exports/", "L 200 200 200 200 403 403 200 200 200 L",
        data={"export": "decisions.json", "query": "status="}, note="statements of reasons"),
    Row("exports/<uuid:token>/", "GET", "/exports/6f1c2a9e-0000-4000-8000-000000000016/",
        "L 404 404 404 404 404 404 404 404 404 L", note="nobody's export"),
    Row("exports/<uuid:token>/progress/", "GET", "/exports/6f1c2a9e-0000-4000-8000-000000000016/progress/",
        "L 404 404 404 404 404 404 404 404 404 L", note="nobody's export"),
    Row("exports/<uuid:token>/download/", "GET", "/exports/6f1c2a9e-0000-4000-8000-000000000016/download/",
        "L 404 404 404 404 404 404 404 404 404 L", note="nobody's export"),
    # --- The organisation and one's own preferences ---------------------------------------------------------------
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("organisation/", "GET", "/organisation/", EVERYONE_SIGNED_IN),
    Row("organisation/invite/", "GET", "/organisation/invite/", NO_GET),
    Row("organisation/invite/", "POST", "/organisation/invite/", "L 403 R 403 403 403 403 R 403 403 L",
        data={"email": "someone-new@ministry.test", "role": "liaison", "full_name": "Someone New"}),
    Row("organisation/invitations/<id:pk>/revoke/", "GET", "/organisation/invitations/{invitation}/revoke/",
        NO_GET),
    Row("organisation/invitations/<id:pk>/revoke/", "POST", "/organisation/invitations/{invitation}/revoke/",
        "L 403 R 403 404 404 404 404 404 404 L"),
    Row("organisation/members/<id:pk>/deactivate/", "GET", "/organisation/members/{member}/deactivate/", NO_GET),
    Row("organisation/members/<id:pk>/deactivate/", "POST", "/organisation/members/{member}/deactivate/",
        "L 403 R 403 404 404 404 404 404 404 L"),
    Row("organisation/members/<id:pk>/reactivate/", "GET", "/organisation/members/{deactivated_member}/reactivate/",
        NO_GET),
    Row("organisation/members/<id:pk>/reactivate/", "POST",
        "/organisation/members/{deactivated_member}/reactivate/", "L 403 R 403 404 404 404 404 404 404 L"),
    Row("preferences/", "GET", "/preferences/", EVERYONE_SIGNED_IN),
    # --- The API (token authentication; a token of a deactivated account is refused) ------------------------------
    #                                                        anon liA ldA auA liB modQ modX mgr legal audP deact
    Row("api/v1/schema/", "GET", "/api/v1/schema/", EVERYONE, auth="token", note="public, as the docs"),
    Row("api/v1/docs/", "GET", "/api/v1/docs/", EVERYONE, auth="token"),
    Row("api/v1/cases/", "GET", "/api/v1/cases/", "401 200 200 200 200 200 200 200 200 200 401", auth="token"),
    Row("api/v1/cases/", "POST", "/api/v1/cases/", "401 400 400 403 400 403 403 403 403 403 401", auth="token",
        content_type=JSON, data={}, note="empty body"),
    Row("api/v1/cases/<case_reference:reference>/", "GET", A + "/", "401 200 200 200 404 200 404 200 200 200 401",
        auth="token"),
    Row("api/v1/cases/<case_reference:reference>/", "GET", "/api/v1/cases/{red}/", "401 200 404 404 404 404 404 200 404 404 401",
        auth="token", note="TLP:RED"),
    Row("api/v1/cases/<case_reference:reference>/submit/", "POST", A + "/submit/",
        "401 409 409 403 404 403 404 403 403 403 401", auth="token", content_type=JSON, data={}),
    Row("api/v1/cases/<case_reference:reference>/acknowledge/", "POST", A + "/acknowledge/",
        "401 403 403 403 404 409 404 409 403 403 401", auth="token", content_type=JSON, data={}),
    Row("api/v1/cases/<case_reference:reference>/request-information/", "POST", A + "/request-information/",
        "401 403 403 403 404 200 404 200 403 403 401", auth="token", content_type=JSON, data={"note": "Which?"}),
    Row("api/v1/cases/<case_reference:reference>/provide-information/", "POST", A + "/provide-information/",
        "401 409 409 403 404 403 404 403 403 403 401", auth="token", content_type=JSON, data={}),
    Row("api/v1/cases/<case_reference:reference>/resolve/", "POST", A + "/resolve/",
        "401 403 403 403 404 409 404 409 403 403 401", auth="token", content_type=JSON, data={},
        note="items still pending"),
    Row("api/v1/cases/<case_reference:reference>/reopen/", "POST", A + "/reopen/",
        "401 409 409 403 404 403 404 403 403 403 401", auth="token", content_type=JSON, data={}),
    Row("api/v1/cases/<case_reference:reference>/withdraw/", "POST", A + "/withdraw/",
        "401 200 200 403 404 403 404 403 403 403 401", auth="token", content_type=JSON, data={"note": "x"}),
    Row("api/v1/cases/<case_reference:reference>/close/", "POST", "/api/v1/cases/{resolved}/close/",
        "401 200 200 403 404 200 404 200 403 403 401", auth="token", content_type=JSON, data={}),
    Row("api/v1/cases/<case_reference:reference>/items/", "GET", A + "/items/", "401 200 200 200 404 200 404 200 200 200 401",
        auth="token"),
    Row("api/v1/cases/<case_reference:reference>/items/", "POST", A + "/items/", "401 201 201 403 404 403 404 403 403 403 401",
        auth="token", content_type=JSON, data={"text": "https://t.me/api_matrix_channel"}),
    Row("api/v1/cases/<case_reference:reference>/items/outcomes/", "POST", A + "/items/outcomes/",
        "401 403 403 403 404 200 404 200 403 403 401", auth="token", content_type=JSON,
        data=lambda v: {"items": [int(pk) for pk in v["items"]], "outcome": "removed"}),
    Row("api/v1/cases/<case_reference:reference>/messages/", "GET", A + "/messages/",
        "401 200 200 200 404 200 404 200 200 200 401", auth="token"),
    Row("api/v1/cases/<case_reference:reference>/messages/", "POST", A + "/messages/",
        "401 201 201 403 404 201 404 201 403 403 401", auth="token", content_type=JSON, data={"body": "Hello"}),
    Row("api/v1/cases/<case_reference:reference>/messages/", "POST", A + "/messages/",
        "401 201 201 403 404 201 404 201 201 403 401", auth="token", content_type=JSON,
        data={"body": "A note", "internal": True}, note="internal note"),
    # The case's record over the API (issue 15): evidence, deadlines, reports, checkpoints, notifications.
    Row("api/v1/cases/<case_reference:reference>/evidence/", "GET", A + "/evidence/",
        "401 200 200 200 404 200 404 200 200 200 401", auth="token"),
    Row("api/v1/cases/<case_reference:reference>/evidence/", "POST", A + "/evidence/",
        "401 201 201 403 404 201 404 201 403 403 401", auth="token", data=_png_upload, note="a screenshot"),
    Row("api/v1/cases/<case_reference:reference>/evidence/<id:evidence_id>/download/", "GET",
        A + "/evidence/{evidence}/download/", "401 200 200 200 404 200 404 200 200 200 401", auth="token"),
    Row("api/v1/cases/<case_reference:reference>/evidence/<id:evidence_id>/download/", "GET",
        A + "/evidence/{platform_evidence}/download/", "401 404 404 404 404 200 404 200 200 200 401", auth="token",
        note="platform-internal"),
    Row("api/v1/cases/<case_reference:reference>/deadlines/", "GET", A + "/deadlines/",
        "401 200 200 200 404 200 404 200 200 200 401", auth="token"),
    Row("api/v1/cases/<case_reference:reference>/deadlines/proposals/", "POST", A + "/deadlines/proposals/",
        "401 201 201 403 404 201 404 201 403 403 401", auth="token", content_type=JSON,
        data=lambda v: {"kind": "waive", "deadline": v["deadline"], "reason": "Agreed by phone"}),
    Row("api/v1/cases/<case_reference:reference>/deadlines/proposals/<id:proposal_id>/accept/", "POST",
        A + "/deadlines/proposals/{proposal}/accept/", "401 200 200 403 404 403 404 403 403 403 401", auth="token",
        content_type=JSON, data={}, note="the platform's proposal"),
    Row("api/v1/cases/<case_reference:reference>/deadlines/proposals/<id:proposal_id>/reject/", "POST",
        A + "/deadlines/proposals/{proposal}/reject/", "401 200 200 403 404 403 404 403 403 403 401", auth="token",
        content_type=JSON, data={"note": "No"}, note="the platform's proposal"),
    Row("api/v1/cases/<case_reference:reference>/reports/", "GET", "/api/v1/cases/{resolved}/reports/",
        "401 200 200 200 404 403 404 200 200 200 401", auth="token"),
    Row("api/v1/cases/<case_reference:reference>/reports/", "POST", "/api/v1/cases/{resolved}/reports/",
        "401 403 403 403 404 403 404 202 403 403 401", auth="token", content_type=JSON, data={"language": "en"}),
    Row("api/v1/cases/<case_reference:reference>/reports/<id:version>/download/", "GET",
        "/api/v1/cases/{resolved}/reports/{report}/download/", "401 200 200 200 404 403 404 200 200 200 401", auth="token"),
    Row("api/v1/reports/verify/", "POST", "/api/v1/reports/verify/", "401 400 400 400 400 400 400 400 400 400 401", auth="token",
        note="no file"),
    Row("api/v1/audit/checkpoints/", "GET", "/api/v1/audit/checkpoints/", "401 403 200 200 403 403 403 200 200 200 401", auth="token"),
    Row("api/v1/audit/checkpoints/<id:sequence>/", "GET", "/api/v1/audit/checkpoints/{checkpoint}/",
        "401 403 200 200 403 403 403 200 200 200 401", auth="token"),
    Row("api/v1/categories/", "GET", "/api/v1/categories/", "401 200 200 200 200 200 200 200 200 200 401",
        auth="token"),
    Row("api/v1/platforms/", "GET", "/api/v1/platforms/", "401 200 200 200 200 200 200 200 200 200 401",
        auth="token"),
    Row("api/v1/notifications/", "GET", "/api/v1/notifications/", "401 200 200 200 200 200 200 200 200 200 401", auth="token"),
    Row("api/v1/^.*$", "GET", "/api/v1/no-such-thing/", "404 404 404 404 404 404 404 404 404 404 404", auth="token"),
    # Webhook endpoints of the organisation over the API (issue 15): as the pages below, its lead or T&S manager only
    # (403 for the others), A's endpoint is not the platform's (404); the endpoint is disabled, so a re-delivery is 409.
    Row("api/v1/webhooks/endpoints/", "GET", W, "401 403 200 403 403 403 403 200 403 403 401", auth="token"),
    Row("api/v1/webhooks/endpoints/", "POST", W, "401 403 201 403 403 403 403 201 403 403 401", auth="token",
        content_type=JSON, data={"url": "https://hooks.example.org/liaison", "events": ["case.submitted"]},
        note="answers the secret"),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/", "GET", W + "{webhook}/",
        "401 403 200 403 403 403 403 404 403 403 401", auth="token"),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/", "PATCH", W + "{webhook}/",
        "401 403 200 403 403 403 403 404 403 403 401", auth="token", content_type=JSON,
        data={"events": ["case.submitted", "case.resolved"], "description": "Changed"}),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/", "PATCH", W + "{webhook}/",
        "401 403 200 403 403 403 403 404 403 403 401", auth="token", content_type=JSON, data={"is_active": False},
        note="disable"),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/", "DELETE", W + "{webhook}/",
        "401 403 204 403 403 403 403 404 403 403 401", auth="token"),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/rotate-secret/", "POST", W + "{webhook}/rotate-secret/",
        "401 403 200 403 403 403 403 404 403 403 401", auth="token", content_type=JSON),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/deliveries/", "GET", W + "{webhook}/deliveries/",
        "401 403 200 403 403 403 403 404 403 403 401", auth="token"),
    Row("api/v1/webhooks/endpoints/<id:endpoint_id>/deliveries/<id:delivery_id>/redeliver/", "POST",
        W + "{webhook}/deliveries/{webhook_delivery}/redeliver/", "401 403 409 403 403 403 403 404 403 403 401",
        auth="token", content_type=JSON, note="the endpoint is disabled"),
    # The token pages of the preferences (signed-in session).
    Row("api/tokens/new/", "GET", "/api/tokens/new/", NO_GET),
    Row("api/tokens/new/", "POST", "/api/tokens/new/", "L R R R R R R R R R L",
        data={"name": "My script", "scope": "read_only"}),
    Row("api/tokens/<id:pk>/revoke/", "GET", "/api/tokens/{api_token}/revoke/", NO_GET),
    Row("api/tokens/<id:pk>/revoke/", "POST", "/api/tokens/{api_token}/revoke/",
        "L R 404 404 404 404 404 404 404 404 L", note="Dewi's token"),
    # --- Webhooks of the organisation: its lead or T&S manager only (403 for the others), A's endpoint is not the
    # --- platform's (404); the endpoint is disabled, so a re-delivery is sent back with a message
    Row("organisation/webhooks/", "GET", "/organisation/webhooks/", "L 403 200 403 403 403 403 200 403 403 L"),
    Row("organisation/webhooks/add/", "GET", "/organisation/webhooks/add/", NO_GET),
    Row("organisation/webhooks/add/", "POST", "/organisation/webhooks/add/",
        "L 403 200 403 403 403 403 200 403 403 L",
        data={"url": "https://hooks.example.org/liaison", "events": ["case.submitted"]}, note="shows the secret"),
    Row("organisation/webhooks/<id:pk>/", "GET", "/organisation/webhooks/{webhook}/",
        "L 403 200 403 403 403 403 404 403 403 L"),
    Row("organisation/webhooks/<id:pk>/disable/", "GET", "/organisation/webhooks/{webhook}/disable/", NO_GET),
    Row("organisation/webhooks/<id:pk>/disable/", "POST", "/organisation/webhooks/{webhook}/disable/",
        "L 403 R 403 403 403 403 404 403 403 L"),
    Row("organisation/webhooks/<id:pk>/enable/", "GET", "/organisation/webhooks/{webhook}/enable/", NO_GET),
    Row("organisation/webhooks/<id:pk>/enable/", "POST", "/organisation/webhooks/{webhook}/enable/",
        "L 403 R 403 403 403 403 404 403 403 L"),
    Row("organisation/webhooks/<id:pk>/rotate/", "GET", "/organisation/webhooks/{webhook}/rotate/", NO_GET),
    Row("organisation/webhooks/<id:pk>/rotate/", "POST", "/organisation/webhooks/{webhook}/rotate/",
        "L 403 200 403 403 403 403 404 403 403 L", note="shows the new secret"),
    Row("organisation/webhooks/<id:pk>/delete/", "GET", "/organisation/webhooks/{webhook}/delete/", NO_GET),
    Row("organisation/webhooks/<id:pk>/delete/", "POST", "/organisation/webhooks/{webhook}/delete/",
        "L 403 R 403 403 403 403 404 403 403 L"),
    Row("organisation/webhooks/<id:pk>/deliveries/<id:delivery_pk>/redeliver/", "GET",
        "/organisation/webhooks/{webhook}/deliveries/{webhook_delivery}/redeliver/", NO_GET),
    Row("organisation/webhooks/<id:pk>/deliveries/<id:delivery_pk>/redeliver/", "POST",
        "/organisation/webhooks/{webhook}/deliveries/{webhook_delivery}/redeliver/",
        "L 403 R 403 403 403 403 404 403 403 L"),

    # --- Group samples: Django's admin ------------------------------------------------------------------------------
    Row("admin/", "GET", "/admin/", "R R R R R R R R R R R"),
    Row("admin/accounts/user/", "GET", "/admin/accounts/user/", "R R R R R R R R R R R"),
    Row("admin/accounts/user/<path:object_id>/change/", "GET", "/admin/accounts/user/1/change/",
        "R R R R R R R R R R R"),
    # --- Group samples: allauth -----------------------------------------------------------------------------------
    Row("accounts/login/", "GET", "/accounts/login/", "200 R R R R R R R R R 200"),
    Row("accounts/logout/", "POST", "/accounts/logout/", "L L L L L L L L L L L"),
    Row("accounts/signup/", "GET", "/accounts/signup/", "200 R R R R R R R R R 200", note="closed: explains invitations"),
    Row("accounts/email/", "GET", "/accounts/email/", EVERYONE_SIGNED_IN),
    Row("accounts/password/change/", "GET", "/accounts/password/change/", EVERYONE_SIGNED_IN),
    Row("accounts/2fa/", "GET", "/accounts/2fa/", EVERYONE_SIGNED_IN),
]
