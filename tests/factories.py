"""Factories and personas.

Two authorities and one platform, and a user of every role:
- Indonesia's ministry (Dewi the liaison, Budi the lead, Ika the auditor),
- Malaysia's commission (Aisyah the liaison, Hakim the lead),
- the platform (Rizky the ID-queue moderator, Sam the MY-queue moderator,
  Maria the T&S manager, Jon from legal, Priya the auditor).
"""

from __future__ import annotations

from dataclasses import dataclass

import factory
from allauth.account.models import EmailAddress

from accounts.models import Membership, Organization, Queue, User
from accounts.roles import OrgKind, Role

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Authority {n}")
    kind = OrgKind.AUTHORITY
    country = "ID"
    default_language = "en"
    time_zone = "UTC"


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue

    organization = factory.SubFactory(OrganizationFactory, kind=OrgKind.PLATFORM, name="Platform")
    name = factory.Sequence(lambda n: f"Queue {n}")
    country = "ID"
    language = "id"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            EmailAddress.objects.get_or_create(user=self, email=self.email, defaults={"verified": True,
                                                                                      "primary": True})


def make_member(org: Organization, role: str, email: str, name: str, queues: list[Queue] | None = None) -> User:
    user = UserFactory(email=email, full_name=name)
    membership = Membership.objects.create(user=user, organization=org, role=role)
    if queues:
        membership.queues.set(queues)
    return user


@dataclass
class World:
    ministry: Organization
    commission: Organization
    platform: Organization
    queue_id: Queue
    queue_my: Queue
    liaison: User
    lead: User
    authority_auditor: User
    other_liaison: User
    other_lead: User
    moderator: User
    moderator_my: User
    manager: User
    legal: User
    auditor: User


def build_world() -> World:
    ministry = OrganizationFactory(name="Ministry (test)", kind=OrgKind.AUTHORITY, country="ID",
                                   default_language="id", time_zone="Asia/Jakarta")
    commission = OrganizationFactory(name="Commission (test)", kind=OrgKind.AUTHORITY, country="MY")
    platform = OrganizationFactory(name="Platform (test)", kind=OrgKind.PLATFORM, country="AE")
    queue_id = QueueFactory(organization=platform, name="ID", country="ID", language="id")
    queue_my = QueueFactory(organization=platform, name="MY", country="MY", language="en")
    return World(
        ministry=ministry, commission=commission, platform=platform, queue_id=queue_id, queue_my=queue_my,
        liaison=make_member(ministry, Role.LIAISON, "dewi@ministry.test", "Dewi Liaison"),
        lead=make_member(ministry, Role.AUTHORITY_LEAD, "budi@ministry.test", "Budi Lead"),
        authority_auditor=make_member(ministry, Role.AUDITOR, "ika@ministry.test", "Ika Auditor"),
        other_liaison=make_member(commission, Role.LIAISON, "aisyah@commission.test", "Aisyah Liaison"),
        other_lead=make_member(commission, Role.AUTHORITY_LEAD, "hakim@commission.test", "Hakim Lead"),
        moderator=make_member(platform, Role.MODERATOR, "rizky@platform.test", "Rizky Moderator", [queue_id]),
        moderator_my=make_member(platform, Role.MODERATOR, "sam@platform.test", "Sam Moderator", [queue_my]),
        manager=make_member(platform, Role.TS_MANAGER, "maria@platform.test", "Maria Manager"),
        legal=make_member(platform, Role.LEGAL, "jon@platform.test", "Jon Legal"),
        auditor=make_member(platform, Role.AUDITOR, "priya@platform.test", "Priya Auditor"),
    )
