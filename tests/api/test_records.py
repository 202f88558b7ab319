"""The case's record over the API: evidence streamed in and out with its fingerprint and custody, deadlines
proposed and answered, outcome reports requested, downloaded and verified as the verification page does, the
audit checkpoints and the caller's notifications."""

from __future__ import annotations

import hashlib
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cases.actions.checkpoints import make_checkpoint
from cases.actions.thread import post_message
from cases.choices import Status
from cases.models import AuditCheckpoint, AuditEvent, DeadlineProposal, Evidence
from tests.cases.conftest import make_case
from tests.cases.test_reports import png
from tests.factories import World

from .conftest import token_for

pytestmark = pytest.mark.django_db


def upload(token: str, reference: str, files: list[tuple[str, bytes]], **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data: dict[str, Any] = {"file": [SimpleUploadedFile(name, content) for name, content in files], **fields}
    headers = {"Authorization": f"Bearer {token}"}
    if "key" in fields:
        headers["Idempotency-Key"] = data.pop("key")
    return Client().post(f"/api/v1/cases/{reference}/evidence/", data, headers=headers)


def test_evidence_is_uploaded_listed_and_downloaded_with_its_fingerprint(world: World, api_as: Any) -> None:
    case = make_case(world)
    token = token_for(world.liaison)
    screenshot = png((200, 10, 10))
    response = upload(token, case.reference, [("screenshot.png", screenshot)], description="The channel's header",
                      item="1")
    assert response.status_code == 201, response.content
    stored = response.json()["files"][0]
    assert stored["ok"] and stored["created"]
    assert stored["evidence"]["sha256"] == hashlib.sha256(screenshot).hexdigest()
    assert stored["evidence"]["content_type"] == "image/png" and stored["evidence"]["item"] == 1
    listed = api_as(world.moderator).get(f"/api/v1/cases/{case.reference}/evidence/").json()
    assert [row["id"] for row in listed] == [stored["evidence"]["id"]]
    download = Client().get(f"/api/v1/cases/{case.reference}/evidence/{stored['evidence']['id']}/download/",
                            headers={"Authorization": f"Bearer {token}", "Accept": "image/png"})
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == screenshot
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=world.liaison).count() == 1
    assert AuditEvent.objects.get(action="evidence.uploaded").data["via"] == "API token Test script"


def test_the_same_upload_with_one_key_stores_once_and_a_refused_type_is_a_problem(world: World) -> None:
    case = make_case(world)
    token = token_for(world.liaison)
    first = upload(token, case.reference, [("a.png", png((1, 2, 3)))], key="shot-1")
    again = upload(token, case.reference, [("a.png", png((1, 2, 3)))], key="shot-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Evidence.objects.filter(case=case).count() == 1
    refused = upload(token, case.reference, [("page.html", b"<html><script>alert(1)</script></html>")])
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "file"
    assert Evidence.objects.filter(case=case).count() == 1


def test_platform_internal_evidence_stays_with_the_platform(world: World, api_as: Any) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    response = upload(token_for(world.manager), case.reference, [("triage.png", png((9, 9, 9)))], internal="true")
    assert response.status_code == 201
    evidence_id = response.json()["files"][0]["evidence"]["id"]
    assert api_as(world.liaison).get(f"/api/v1/cases/{case.reference}/evidence/").json() == []
    assert api_as(world.liaison).get(
        f"/api/v1/cases/{case.reference}/evidence/{evidence_id}/download/").status_code == 404
    assert upload(token_for(world.other_liaison), case.reference, [("x.png", png((1, 1, 1)))]).status_code == 404


def test_deadlines_are_proposed_and_answered_by_the_other_side(world: World, api_as: Any) -> None:
    case = make_case(world, state=Status.IN_PROGRESS)
    manager, liaison = api_as(world.manager), api_as(world.liaison)
    listed = liaison.get(f"/api/v1/cases/{case.reference}/deadlines/").json()
    resolve = next(d for d in listed["deadlines"] if d["kind"] == "resolve")
    due = (timezone.now() + timedelta(days=6)).replace(microsecond=0)
    proposed = manager.post(f"/api/v1/cases/{case.reference}/deadlines/proposals/", {
        "kind": "change_due", "deadline": resolve["id"], "due_at": due.isoformat(), "reason": "Second review"})
    assert proposed.status_code == 201, proposed.json()
    proposal = proposed.json()["id"]
    assert manager.post(f"/api/v1/cases/{case.reference}/deadlines/proposals/{proposal}/accept/").status_code == 403
    accepted = liaison.post(f"/api/v1/cases/{case.reference}/deadlines/proposals/{proposal}/accept/",
                            {"note": "Agreed"})
    assert accepted.status_code == 200 and accepted.json()["status"] == DeadlineProposal.State.ACCEPTED
    again = liaison.post(f"/api/v1/cases/{case.reference}/deadlines/proposals/{proposal}/reject/")
    assert again.status_code == 409
    after = liaison.get(f"/api/v1/cases/{case.reference}/deadlines/").json()
    assert next(d for d in after["deadlines"] if d["id"] == resolve["id"])["due_at"] == \
        due.astimezone(UTC).isoformat().replace("+00:00", "Z")
    no_reason = manager.post(f"/api/v1/cases/{case.reference}/deadlines/proposals/",
                             {"kind": "waive", "deadline": resolve["id"], "reason": " "})
    assert no_reason.status_code in (400, 422)


def test_a_report_is_requested_downloaded_and_verified_like_the_verification_page(
        world: World, api_as: Any, django_capture_on_commit_callbacks: Any) -> None:
    case = make_case(world, state=Status.RESOLVED)
    manager, liaison = api_as(world.manager), api_as(world.liaison)
    assert liaison.post(f"/api/v1/cases/{case.reference}/reports/", {"language": "en"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):  # the worker's task runs in-process (eager)
        requested = manager.post(f"/api/v1/cases/{case.reference}/reports/", {"language": "en"})
    assert requested.status_code == 202, requested.json()
    reports = liaison.get(f"/api/v1/cases/{case.reference}/reports/").json()
    assert [r["status"] for r in reports] == ["ready"]
    download = liaison.get(reports[0]["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)
    assert hashlib.sha256(pdf).hexdigest() == reports[0]["sha256"]

    from django.core.files.uploadedfile import SimpleUploadedFile

    read_only = token_for(world.liaison, read_only=True)
    verified = Client().post("/api/v1/reports/verify/", {"file": SimpleUploadedFile("r.pdf", pdf)},
                             headers={"Authorization": f"Bearer {read_only}"})
    assert verified.status_code == 200
    body = verified.json()
    assert body["verdict"] == "genuine" and body["ok"] is True
    assert body["report"]["reference"] == case.reference and body["report"]["version"] == 1
    page = Client().post("/reports/verify/", {"file": SimpleUploadedFile("r.pdf", pdf)})
    assert page.context["result"].verdict == body["verdict"]
    tampered = Client().post("/api/v1/reports/verify/",
                             {"file": SimpleUploadedFile("r.pdf", pdf.replace(b"Outcome", b"Outcame", 1))},
                             headers={"Authorization": f"Bearer {read_only}"})
    assert tampered.json()["ok"] is False


def test_checkpoints_for_their_readers_and_notifications_for_their_person(
        world: World, api_as: Any, django_capture_on_commit_callbacks: Any) -> None:
    make_checkpoint(reason=AuditCheckpoint.Reason.ON_DEMAND, actor=world.manager)
    lead = api_as(world.lead)
    listed = lead.get("/api/v1/audit/checkpoints/").json()
    assert [row["sequence"] for row in listed] == [1]
    signed = lead.get(listed[0]["download"])
    assert signed.status_code == 200 and signed.content == bytes(AuditCheckpoint.objects.get().signed_file)
    assert api_as(world.liaison).get("/api/v1/audit/checkpoints/").status_code == 403

    case = make_case(world, state=Status.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        post_message(actor=world.manager, case=case, body="Which posts exactly?")
    mine = api_as(world.liaison).get("/api/v1/notifications/?unread=true").json()["results"]
    assert any(n["case"] == case.reference for n in mine)
    assert all(n["created_at"].endswith("Z") for n in mine)
    assert api_as(world.moderator_my).get("/api/v1/notifications/").json()["results"] == []
