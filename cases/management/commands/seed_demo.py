"""Demo organisations, people and (as the product grows) cases, for `make run`.

Idempotent: running it again updates what it made and adds nothing twice.
"""

from __future__ import annotations

import os
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Membership, Organization, Queue, User
from accounts.roles import OrgKind, Role
from cases.demo import seed_cases, seed_evidence, seed_inbound, seed_reports, seed_threads
from cases.report_rendering import renderer_unavailable

MINISTRY_ID = "Ministry of Communications (Demo)"
COMMISSION_MY = "Communications Commission (Demo)"
PLATFORM = "Messenger Platform (Demo)"

ORGANIZATIONS = [
    {"name": MINISTRY_ID, "kind": OrgKind.AUTHORITY, "country": "ID", "default_language": "id",
     "time_zone": "Asia/Jakarta"},
    {"name": COMMISSION_MY, "kind": OrgKind.AUTHORITY, "country": "MY", "default_language": "en",
     "time_zone": "Asia/Kuala_Lumpur"},
    {"name": PLATFORM, "kind": OrgKind.PLATFORM, "country": "AE", "default_language": "en", "time_zone": "UTC"},
]

QUEUES = [
    {"name": "Indonesia · Bahasa Indonesia", "country": "ID", "language": "id"},
    {"name": "Malaysia · English", "country": "MY", "language": "en"},
]

PEOPLE = [
    ("liaison@ministry-id.example", "Dewi Lestari", MINISTRY_ID, Role.LIAISON, [], "id", "Asia/Jakarta"),
    ("lead@ministry-id.example", "Budi Santoso", MINISTRY_ID, Role.AUTHORITY_LEAD, [], "id", "Asia/Jakarta"),
    ("liaison@ministry-my.example", "Aisyah Rahman", COMMISSION_MY, Role.LIAISON, [], "en", "Asia/Kuala_Lumpur"),
    ("moderator@platform.example", "Rizky Pratama", PLATFORM, Role.MODERATOR, ["ID"], "id", "Asia/Jakarta"),
    ("moderator-en@platform.example", "Sam Taylor", PLATFORM, Role.MODERATOR, ["MY"], "en", "Europe/London"),
    ("manager@platform.example", "Maria Keller", PLATFORM, Role.TS_MANAGER, [], "en", "Europe/Berlin"),
    ("legal@platform.example", "Jonathan Reyes", PLATFORM, Role.LEGAL, [], "en", "Europe/Dublin"),
    ("auditor@platform.example", "Priya Nair", PLATFORM, Role.AUDITOR, [], "en", "UTC"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo organisations, accounts and data (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even outside a local demo (DEBUG or "
                                                                  "LIAISON_LOCAL_HTTP off).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or settings.LOCAL_HTTP) and not options["force"]:
            raise CommandError("seed_demo creates accounts with a known password; it refuses to run outside a local "
                               "demo (DEBUG or LIAISON_LOCAL_HTTP on) unless --force is given.")
        password = os.environ.get("DEMO_PASSWORD", "liaison-demo-2026")
        with transaction.atomic():
            orgs = self.seed_organizations()
            self.seed_people(orgs, password)
        people = {u.email: u for u in User.objects.filter(email__in=[p[0] for p in PEOPLE])}
        cases = seed_cases(people, orgs[PLATFORM])
        evidence = seed_evidence(people)
        seed_inbound(people)
        seed_threads(people)
        reports = seed_reports(people)
        missing = renderer_unavailable()
        if missing:
            self.stdout.write(self.style.WARNING(f"{missing}. The demo has no PDF letter and no signed outcome "
                                                 "reports until it is installed; everything else works."))
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {len(PEOPLE)} accounts (password from DEMO_PASSWORD, default liaison-demo-2026), "
            f"{cases} new demo cases, {evidence} new evidence files, {reports} new signed outcome reports."
        ))

    def seed_organizations(self) -> dict[str, Organization]:
        orgs: dict[str, Organization] = {}
        for spec in ORGANIZATIONS:
            org, _ = Organization.objects.update_or_create(name=spec["name"], defaults=spec)
            orgs[org.name] = org
        platform = orgs[PLATFORM]
        for spec in QUEUES:
            Queue.objects.update_or_create(organization=platform, name=spec["name"], defaults=spec)
        return orgs

    def seed_people(self, orgs: dict[str, Organization], password: str) -> None:
        queues = {q.country: q for q in Queue.objects.filter(organization=orgs[PLATFORM])}
        for email, name, org_name, role, queue_countries, language, tz in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, password=password, full_name=name,
                                                preferred_language=language, time_zone=tz)
            else:
                user.full_name, user.preferred_language, user.time_zone, user.is_active = name, language, tz, True
                user.set_password(password)
                user.save()
            membership, _ = Membership.objects.update_or_create(
                user=user, defaults={"organization": orgs[org_name], "role": role, "deactivated_at": None}
            )
            membership.queues.set([queues[c] for c in queue_countries])
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
