"""The generated organisations, queues and people: 20 authorities, one platform with its queues, 40 moderators,
T&S managers, legal and auditors, each with a verified e-mail address and a TOTP authenticator (production
requires a second factor), all sharing one known password."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import encrypt
from django.contrib.auth.hashers import make_password

from accounts.models import Membership, Organization, Queue, User
from accounts.roles import OrgKind, Role

from ..actions.cases import route_to_queue
from ..models import Case
from . import vocabulary as words

# One TOTP secret for every generated account, so a person can sign in to a bench database by hand.
TOTP_SECRET = "JBSWY3DPEHPK3PXPBENCHGEN"  # noqa: S105 (generated accounts of a benchmark database)


@dataclass
class Person:
    id: int
    name: str
    email: str
    org_id: int
    side: str
    ip: str


@dataclass
class Authority:
    id: int
    slug: str
    country: str
    language: str
    weight: int
    queue_id: int | None
    liaisons: list[Person] = field(default_factory=list)
    leads: list[Person] = field(default_factory=list)
    auditors: list[Person] = field(default_factory=list)

    @property
    def workers(self) -> list[Person]:
        return self.liaisons + self.leads


@dataclass
class People:
    platform_id: int
    authorities: list[Authority]
    moderators_by_queue: dict[int, list[Person]]
    managers: list[Person]
    legal: list[Person]
    platform_auditors: list[Person]
    everyone: list[Person]

    @property
    def moderators(self) -> list[Person]:
        seen: dict[int, Person] = {}
        for people in self.moderators_by_queue.values():
            for person in people:
                seen.setdefault(person.id, person)
        return list(seen.values())


def create_people(rng: random.Random, *, password: str, now: datetime) -> People:
    joined = now - timedelta(days=800)
    platform = Organization.objects.create(name=words.PLATFORM[1], kind=OrgKind.PLATFORM, country=words.PLATFORM[2],
                                           default_language=words.PLATFORM[3], time_zone=words.PLATFORM[4])
    queues = [Queue.objects.create(organization=platform, name=name, country=country, language=language)
              for name, country, language, _n in words.QUEUES]
    hashed = make_password(password, salt="loadgenerator")  # one hash: argon2 per account would take minutes
    everyone: list[Person] = []
    memberships: list[tuple[User, Organization, str, list[Queue]]] = []
    ip_block = iter(range(1, 250))

    def member(org: Organization, role: str, email: str, side: str, subnet: str,
               member_queues: list[Queue] | None = None) -> Person:
        user = User(email=email, full_name=words.full_name(rng), password=hashed, date_joined=joined,
                    preferred_language=org.default_language, time_zone=org.time_zone)
        user.save()
        memberships.append((user, org, role, member_queues or []))
        person = Person(user.pk, user.full_name, email, org.pk, side, f"{subnet}.{rng.randint(2, 250)}")
        everyone.append(person)
        return person

    authorities = []
    for slug, name, country, language, tz, working, weight, n_liaisons, n_leads, n_auditors in words.AUTHORITIES:
        org = Organization.objects.create(name=name, kind=OrgKind.AUTHORITY, country=country,
                                          default_language=language, time_zone=tz)
        queue = route_to_queue(Case(requesting_org=org, responding_org=platform, language=working))
        authority = Authority(org.pk, slug, country, working, weight, queue.pk if queue else None)
        subnet = f"198.51.{next(ip_block)}"
        authority.liaisons = [member(org, Role.LIAISON, f"liaison{n}@{slug}.example", OrgKind.AUTHORITY, subnet)
                              for n in range(1, n_liaisons + 1)]
        authority.leads = [member(org, Role.AUTHORITY_LEAD, f"lead{n}@{slug}.example", OrgKind.AUTHORITY, subnet)
                           for n in range(1, n_leads + 1)]
        authority.auditors = [member(org, Role.AUDITOR, f"auditor{n}@{slug}.example", OrgKind.AUTHORITY, subnet)
                              for n in range(1, n_auditors + 1)]
        authorities.append(authority)

    by_queue: dict[int, list[Person]] = {q.pk: [] for q in queues}
    number = 0
    for queue, (_name, _country, _language, count) in zip(queues, words.QUEUES, strict=True):
        for _ in range(count):
            number += 1
            # Some moderators also cover the large English queue.
            extra = [queues[4]] if number % 7 == 0 and queue != queues[4] else []
            person = member(platform, Role.MODERATOR, f"moderator{number:02d}@platform.example", OrgKind.PLATFORM,
                            "203.0.113", [queue, *extra])
            for covered in (queue, *extra):
                by_queue[covered.pk].append(person)
    managers = [member(platform, Role.TS_MANAGER, f"manager{n}@platform.example", OrgKind.PLATFORM, "203.0.113")
                for n in range(1, words.MANAGERS + 1)]
    legal = [member(platform, Role.LEGAL, f"legal{n}@platform.example", OrgKind.PLATFORM, "203.0.113")
             for n in range(1, words.LEGAL + 1)]
    auditors = [member(platform, Role.AUDITOR, f"auditor{n}@platform.example", OrgKind.PLATFORM, "203.0.113")
                for n in range(1, words.PLATFORM_AUDITORS + 1)]

    created = Membership.objects.bulk_create([Membership(user=u, organization=o, role=r) for u, o, r, _q in memberships])
    through = Membership.queues.through
    through.objects.bulk_create([through(membership_id=m.pk, queue_id=q.pk)
                                 for m, (_u, _o, _r, qs) in zip(created, memberships, strict=True) for q in qs])
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True)
                                      for u, _o, _r, _q in memberships])
    secret = encrypt(TOTP_SECRET)
    Authenticator.objects.bulk_create([Authenticator(user=u, type=Authenticator.Type.TOTP, data={"secret": secret},
                                                     created_at=joined) for u, _o, _r, _q in memberships])
    return People(platform.pk, authorities, by_queue, managers, legal, auditors, everyone)
