"""Who names people on a case and takes the names back (found by the access matrix, issue 14): the requesting
authority names people of either organisation; a T&S manager names only the platform's own people, so the platform
never decides who of an authority reads the authority's TLP:RED case."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cases import permissions
from cases.actions.cases import grant_access, revoke_access
from cases.choices import TLP
from tests.cases.conftest import make_case
from tests.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def red(world: World) -> Any:
    """A TLP:RED case of the ministry: Dewi (who opened it) and Maria (named on submission) see it."""
    return make_case(world, tlp=TLP.RED)


def test_a_ts_manager_cannot_name_the_authoritys_people_on_its_red_case(world: World, red: Any):
    with pytest.raises(PermissionDenied):
        grant_access(actor=world.manager, case=red, user=world.lead, reason="She should see it")
    assert not permissions.can_view_case(world.lead, red)


def test_a_ts_manager_cannot_take_the_authoritys_people_off_its_red_case(world: World, red: Any):
    with pytest.raises(PermissionDenied):
        revoke_access(actor=world.manager, case=red, user=world.liaison)
    assert permissions.can_view_case(world.liaison, red)


def test_a_ts_manager_still_names_and_unnames_the_platforms_people(world: World, red: Any):
    grant_access(actor=world.manager, case=red, user=world.moderator, reason="Works the ID queue")
    assert permissions.can_view_case(world.moderator, red)
    revoke_access(actor=world.manager, case=red, user=world.moderator)
    assert not permissions.can_view_case(world.moderator, red)


def test_the_requesting_authority_names_people_of_both_sides_and_takes_names_back(world: World, red: Any):
    grant_access(actor=world.liaison, case=red, user=world.lead, reason="Needs to sign off")
    grant_access(actor=world.liaison, case=red, user=world.legal, reason="Preservation")
    assert permissions.can_view_case(world.lead, red) and permissions.can_view_case(world.legal, red)
    revoke_access(actor=world.liaison, case=red, user=world.legal)
    assert not permissions.can_view_case(world.legal, red)


def test_the_managers_picker_offers_only_the_platforms_people_and_a_forged_choice_names_nobody(
        world: World, red: Any, mfa_client: Any):
    mfa_client.force_login(world.manager)
    page = mfa_client.get(reverse("cases:detail", args=[red.reference]))
    offered = dict(page.context["grantable"])
    assert world.ministry.name not in offered
    assert world.platform.name in offered
    response = mfa_client.post(reverse("cases:grant", args=[red.reference]),
                               {"user": world.lead.pk, "reason": "She should see it"})
    assert response.status_code == 302
    assert not permissions.can_view_case(world.lead, red)


def test_the_liaisons_picker_offers_both_organisations(world: World, red: Any, mfa_client: Any):
    mfa_client.force_login(world.liaison)
    offered = dict(mfa_client.get(reverse("cases:detail", args=[red.reference])).context["grantable"])
    assert {world.ministry.name, world.platform.name} <= set(offered)
