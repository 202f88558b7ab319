"""Evidence, stored e-mail and outcome reports on S3-compatible object storage (issue 14), against a real S3 server
on this machine: moto's server mode, on loopback, reached over HTTP by django-storages and boto3 exactly as a
bucket elsewhere would be. Storage is configured the way production configures it, from the environment
(`liaison.settings.object_storage`): a private bucket, no ACL sent, files served only through the portal's views.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import evidence_files, queries
from cases.actions.evidence import add_evidence, verify_evidence_integrity
from cases.actions.inbound import ingest
from cases.models import AuditEvent, Case, Evidence
from liaison import settings as liaison_settings

from .conftest import body, make_case
from .test_evidence import GeneratedSource, png
from .test_ingest_email import eml
from .test_reports import full_case, issue

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


# --- A local S3-compatible server -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread of this process, on a free loopback port; nothing leaves the machine."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    client: Any

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.name, Key=key)["Body"].read()
        return data


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, settings: Any, upload_tmp: Path) -> Bucket:
    """A fresh private bucket (public access blocked, as the deployment guide sets it up) and the portal's default
    storage pointed at it through the environment variables production sets."""
    name = f"liaison-test-{uuid.uuid4().hex[:12]}"
    environment = {
        "LIAISON_S3_BUCKET": name,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "liaison-test-key",
        "AWS_SECRET_ACCESS_KEY": "liaison-test-secret",
        "LIAISON_S3_SERVER_SIDE_ENCRYPTION": "AES256",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="liaison-test-key", aws_secret_access_key="liaison-test-secret")
    client.create_bucket(Bucket=name)
    client.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    settings.STORAGES = {**settings.STORAGES, "default": liaison_settings.object_storage()}
    return Bucket(name=name, client=client)


@pytest.fixture
def upload_tmp(settings: Any, tmp_path: Path) -> Path:
    """Where uploads are written as they arrive, so a test sees that nothing stays behind once stored."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path




def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def public_grants(bucket: Bucket, key: str) -> list[dict[str, Any]]:
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    return [g for g in grants if g["Grantee"].get("URI") in {ALL_USERS, AUTHENTICATED_USERS}]


def a_large_screenshot(size: int) -> bytes:
    """A PNG header and then `size` bytes in all: several upload chunks, past the in-memory upload limit."""
    return GeneratedSource(size).read()


# --- Settings ---------------------------------------------------------------------------------------------------


def test_without_a_bucket_files_stay_local(monkeypatch):
    monkeypatch.delenv("LIAISON_S3_BUCKET", raising=False)

    assert liaison_settings.object_storage() is None


def test_the_bucket_is_private_and_credentials_come_from_the_environment(monkeypatch, tmp_path):
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("LIAISON_S3_BUCKET", "liaison-evidence")
    monkeypatch.setenv("LIAISON_S3_PREFIX", "/production/")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "https://objects.example")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY_FILE", str(secret_file))
    monkeypatch.delenv("LIAISON_S3_SERVER_SIDE_ENCRYPTION", raising=False)

    storage = liaison_settings.object_storage()

    assert storage is not None
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "liaison-evidence"
    assert options["location"] == "production"
    assert options["endpoint_url"] == "https://objects.example"
    assert options["access_key"] == "key-id"
    assert options["secret_key"] == "from-a-file"
    assert options["default_acl"] is None  # no ACL header: objects stay the (private) bucket owner's
    assert options["querystring_auth"] is True and options["querystring_expire"] <= 60
    assert options["file_overwrite"] is False  # a name is never reused for other bytes


def test_without_keys_boto3_finds_its_own_credentials(monkeypatch):
    monkeypatch.setenv("LIAISON_S3_BUCKET", "liaison-evidence")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID_FILE", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)

    storage = liaison_settings.object_storage()

    assert storage is not None
    assert "access_key" not in storage["OPTIONS"] and "secret_key" not in storage["OPTIONS"]


# --- Evidence ---------------------------------------------------------------------------------------------------


def test_evidence_uploaded_through_the_page_is_in_the_bucket_and_downloads_intact(world, login, bucket,
                                                                                   upload_tmp):
    case = make_case(world)
    data = a_large_screenshot(3 * MIB + 12345)
    client = login(world.liaison)

    response = client.post(reverse("cases:evidence_upload", args=[case.reference]),
                           {"files": [SimpleUploadedFile("tangkapan-layar.png", data, content_type="image/png")]},
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["ok"], result
    evidence = Evidence.objects.get(case=case)
    assert evidence.sha256 == sha256(data) == result["sha256"]
    assert evidence.size == len(data)
    assert bucket.keys() == [evidence.storage_name]
    stored = bucket.client.head_object(Bucket=bucket.name, Key=evidence.storage_name)
    assert stored["ContentLength"] == len(data)
    assert stored["ContentType"] == "image/png"
    assert stored["ServerSideEncryption"] == "AES256"
    assert sha256(bucket.read(evidence.storage_name)) == evidence.sha256
    assert public_grants(bucket, evidence.storage_name) == []
    assert list(upload_tmp.iterdir()) == []  # the temporary file went once its bytes were in the bucket

    download = login(world.moderator).get(reverse("cases:evidence_download", args=[case.reference, evidence.pk]))

    assert download.status_code == 200
    assert download["Content-Length"] == str(len(data))
    assert download["Content-Disposition"] == 'attachment; filename="tangkapan-layar.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    received = body(download)
    assert received == data
    assert sha256(received) == evidence.sha256
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=world.moderator,
                                     object_id=str(evidence.pk)).count() == 1


def test_a_stored_object_is_read_as_it_arrives_not_copied_first(world, bucket, upload_tmp):
    """django-storages' own file object would download all of it to a temporary file before the first byte."""
    case = make_case(world)
    data = a_large_screenshot(3 * MIB)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(data),
                            original_name="bukti.png").evidence

    with evidence_files.open_stored(evidence.storage_name) as handle:
        assert isinstance(handle, evidence_files.ObjectStream)
        assert evidence_files.stored_size(handle) == len(data)
        assert handle.read(1024) == data[:1024]
        assert handle.read() == data[1024:]


@pytest.mark.parametrize("persona", ["other_liaison", "other_lead", "moderator_my"])
def test_people_without_access_get_404_and_no_bytes(world, login, bucket, persona):
    case = make_case(world)
    data = png(64, 48)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(data),
                            original_name="bukti.png").evidence
    client = login(getattr(world, persona))

    for name in ("cases:evidence_download", "cases:evidence_preview", "cases:evidence"):
        response = client.get(reverse(name, args=[case.reference, evidence.pk]))
        assert response.status_code == 404, name
        assert data not in body(response)
    assert not AuditEvent.objects.filter(action__in=["evidence.downloaded", "evidence.previewed"]).exists()


def test_a_preview_streams_from_the_bucket_inside_its_sandbox(world, login, bucket):
    case = make_case(world)
    data = png(64, 48)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(data),
                            original_name="bukti.png").evidence

    response = login(world.liaison).get(reverse("cases:evidence_preview", args=[case.reference, evidence.pk]))

    assert response.status_code == 200
    assert "sandbox" in response["Content-Security-Policy"]
    assert body(response) == data


def test_an_object_missing_from_the_bucket_is_a_404_and_fails_the_integrity_check(world, login, bucket):
    case = make_case(world)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png()),
                            original_name="bukti.png").evidence
    bucket.client.delete_object(Bucket=bucket.name, Key=evidence.storage_name)

    response = login(world.liaison).get(reverse("cases:evidence_download", args=[case.reference, evidence.pk]))

    assert response.status_code == 404
    assert verify_evidence_integrity(evidence=evidence) is False


def test_the_integrity_check_rehashes_the_object_and_catches_a_changed_one(world, bucket):
    case = make_case(world)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png()),
                            original_name="bukti.png").evidence

    assert verify_evidence_integrity(evidence=evidence) is True

    bucket.client.put_object(Bucket=bucket.name, Key=evidence.storage_name, Body=png(rgb=(0, 0, 0)))

    assert verify_evidence_integrity(evidence=evidence) is False
    assert AuditEvent.objects.filter(action="evidence.integrity_failed", object_id=str(evidence.pk)).exists()


def test_a_prefix_keeps_the_portals_objects_under_it(world, bucket, monkeypatch, settings):
    monkeypatch.setenv("LIAISON_S3_PREFIX", "liaison/production")
    settings.STORAGES = {**settings.STORAGES, "default": liaison_settings.object_storage()}
    case = make_case(world)
    data = png()

    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(data),
                            original_name="bukti.png").evidence

    assert bucket.keys() == [f"liaison/production/{evidence.storage_name}"]
    with default_storage.open(evidence.storage_name, "rb") as handle:
        assert handle.read() == data


# --- Stored e-mail ----------------------------------------------------------------------------------------------


def test_an_inbound_message_is_kept_in_the_bucket_and_downloaded_through_the_portal(world, login, bucket,
                                                                                    django_capture_on_commit_callbacks):
    raw = eml("unknown_sender.eml")
    with django_capture_on_commit_callbacks(execute=True):
        inbound = ingest(raw)

    assert inbound.raw_storage_name in bucket.keys()
    assert sha256(bucket.read(inbound.raw_storage_name)) == inbound.raw_sha256 == sha256(raw)
    assert public_grants(bucket, inbound.raw_storage_name) == []
    page = login(world.manager).get(reverse("cases:inbound_detail", args=[inbound.pk]))
    assert page.status_code == 200  # the stored message is read back from the bucket to show it

    response = login(world.manager).get(reverse("cases:inbound_raw", args=[inbound.pk]))

    assert response.status_code == 200
    assert body(response) == raw
    assert login(world.liaison).get(reverse("cases:inbound_raw", args=[inbound.pk])).status_code == 404


# --- Outcome reports --------------------------------------------------------------------------------------------


def test_a_signed_report_is_stored_in_the_bucket_downloads_and_verifies(world, login, bucket):
    case: Case = full_case(world, items=3)

    report = issue(world, case)

    assert report.storage_name in bucket.keys()
    stored = bucket.read(report.storage_name)
    assert sha256(stored) == report.sha256 and len(stored) == report.size
    assert public_grants(bucket, report.storage_name) == []

    response = login(world.liaison).get(reverse("cases:download_report", args=[case.reference, report.version]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    received = body(response)
    assert received == stored
    assert queries.verify_report(received).verdict == "genuine"
    outsider = login(world.other_liaison).get(reverse("cases:download_report", args=[case.reference, report.version]))
    assert outsider.status_code == 404


def test_no_public_address_is_ever_given_for_a_stored_file(world, bucket):
    """url() is never used by the portal; if anything ever calls it, the link is signed and short-lived."""
    case = make_case(world)
    evidence = add_evidence(actor=world.liaison, case=case, source=io.BytesIO(png()),
                            original_name="bukti.png").evidence

    link = default_storage.url(evidence.storage_name)

    assert "X-Amz-Signature=" in link and "X-Amz-Expires=60" in link
    assert os.environ["LIAISON_S3_BUCKET"] in link
