"""The demo seed: run twice, it adds its sample evidence once, and the files pass the integrity check."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from cases.models import AuditEvent, Evidence

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", force=True, stdout=out)
    return out.getvalue()


def test_seed_demo_attaches_sample_evidence_once_and_it_verifies(mfa_client, pdf_renderer):
    first = seed()
    evidence = list(Evidence.objects.select_related("case", "uploaded_by").order_by("pk"))
    second = seed()

    assert "4 new evidence files" in first and "0 new evidence files" in second
    assert Evidence.objects.count() == len(evidence) == 4
    assert {e.content_type for e in evidence} == {"image/png", "application/pdf", "text/plain"}
    assert sum(e.content_type == "image/png" for e in evidence) == 2
    assert len({e.case_id for e in evidence}) == 3
    for item in evidence:
        assert item.uploaded_by.email == "liaison@ministry-id.example"
        assert item.case.reference.startswith("ID-")
        assert item.case.status in ("submitted", "in_progress")
        assert 100 < item.size < 200_000
    chat = next(e for e in evidence if e.content_type == "text/plain")
    assert "Ekspor obrolan" in chat.description or "obrolan" in chat.description.lower()

    out = io.StringIO()
    call_command("verify_evidence", stdout=out)
    assert "All 4 stored evidence files match" in out.getvalue()

    downloads = AuditEvent.objects.filter(action="evidence.downloaded")
    assert [e.actor.email for e in downloads] == ["moderator@platform.example"]
    letter = Evidence.objects.get(content_type="application/pdf")
    assert downloads[0].object_id == str(letter.pk)
    mfa_client.force_login(User.objects.get(email="liaison@ministry-id.example"))
    page = mfa_client.get(reverse("cases:evidence", args=[letter.case.reference, letter.pk]))
    assert page.status_code == 200
    assert "Rizky Pratama" in page.content.decode()
