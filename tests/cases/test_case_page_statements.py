"""The case page's statements kept per process (the case by reference, the sightings of its targets, the thread,
the @-mention list, deadlines and proposals): a statement kept for one person answers for another only where the
policy would answer the same, and what changes between requests (grants, queues, the rows) is read afresh."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import Http404
from django.template import engines
from django.utils import timezone, translation

from cases import permissions
from cases.actions.cases import grant_access
from cases.choices import TLP, DeadlineKind, Priority, RequestType, Status, choice_label
from cases.models import Case, Deadline
from cases.queries.case_page import people_who_can_see
from cases.queries.deconfliction import MAX_KEPT_KEYS, deconfliction
from cases.views.deadlines import render_deadline_rows
from tests.factories import World

from .conftest import make_case

pytestmark = pytest.mark.django_db


def in_queue(case: Case, queue) -> Case:
    Case.objects.filter(pk=case.pk).update(queue=queue)
    case.refresh_from_db()
    return case


def test_one_kept_sightings_statement_answers_each_moderator_for_their_own_queue(world: World):
    shared = "https://t.me/kept_shared_channel"
    viewed = in_queue(make_case(world, targets=[shared]), world.queue_id)
    in_id = in_queue(make_case(world, targets=[shared]), world.queue_id)
    in_my = in_queue(make_case(world, actor=world.other_liaison, targets=[shared]), world.queue_my)
    key = viewed.items.get().key
    # Rizky (ID queue), Sam (MY queue), then Rizky again: the same shape, so the same kept statement.
    for user, named, counted in ((world.moderator, in_id, in_my), (world.moderator_my, in_my, in_id),
                                 (world.moderator, in_id, in_my)):
        found = deconfliction(user, [key], exclude_case=viewed)[key]
        assert [sighting.reference for sighting in found] == [named.reference], user
        assert counted.reference not in [sighting.reference for sighting in found]
        assert found.outside == 1
    # Sam named on the ID case opens it from then on (grants are read inside the statement, never kept).
    grant_access(actor=world.manager, case=in_id, user=world.moderator_my, reason="Help")
    found = deconfliction(world.moderator_my, [key], exclude_case=viewed)[key]
    assert sorted(sighting.reference for sighting in found) == sorted([in_id.reference, in_my.reference])
    assert found.outside == 0


def test_kept_and_built_sightings_agree_for_every_persona(world: World):
    shared = "https://t.me/agreeing_channel"
    viewed = make_case(world, targets=[shared, "https://t.me/other_one"])
    for actor in (world.liaison, world.other_liaison, world.lead):
        make_case(world, actor=actor, targets=[shared])
    keys = list(viewed.items.values_list("key", flat=True))
    padding = [f"t.me/nothing_here_{n}" for n in range(MAX_KEPT_KEYS)]  # past the kept sizes: built every time
    for user in (world.liaison, world.lead, world.other_liaison, world.moderator, world.moderator_my,
                 world.manager, world.legal, world.auditor):
        kept = deconfliction(user, keys, exclude_case=viewed)
        built = deconfliction(user, keys + padding, exclude_case=viewed)
        assert {key: ([s.reference for s in found], found.outside) for key, found in kept.items()} == \
            {key: ([s.reference for s in found], found.outside) for key, found in built.items()}, user


def test_a_kept_case_statement_follows_queues_and_grants(world: World, django_assert_num_queries):
    case = in_queue(make_case(world), world.queue_my)
    with pytest.raises(Http404):
        permissions.get_case_for_user(world.moderator, case.reference)
    organisation = case.requesting_org.name
    found = permissions.get_case_for_user(world.moderator_my, case.reference)
    with django_assert_num_queries(0):  # its relations come with it
        assert (found.pk, found.requesting_org.name, found.queue.name) == (case.pk, organisation, "MY")
        assert found.category.name and found.created_by_id == world.liaison.pk
        assert found.responding_org.name == world.platform.name and found.assignee is None
    world.moderator.membership.queues.add(world.queue_my)
    assert permissions.get_case_for_user(world.moderator, case.reference).pk == case.pk
    world.moderator.membership.queues.remove(world.queue_my)
    with pytest.raises(Http404):
        permissions.get_case_for_user(world.moderator, case.reference)
    grant_access(actor=world.manager, case=case, user=world.moderator, reason="Help")
    assert permissions.get_case_for_user(world.moderator, case.reference).pk == case.pk
    with pytest.raises(Http404):
        permissions.get_case_for_user(world.moderator, "ID-0000-000000")


def test_mention_candidates_are_who_can_view_the_case(world: World):
    for case in (make_case(world), make_case(world, submit=False), in_queue(make_case(world), world.queue_my)):
        expected = list(permissions.people_who_can_view(case).order_by("full_name").values_list("pk", "email"))
        assert [(person.pk, person.email) for person in people_who_can_see(case)] == expected


# The loop _deadlines.html had before its rows were rendered in Python: the reference the rendering must equal.
DEADLINE_LOOP = """{% load i18n case_labels instants %}{% for d in deadline_rows %}
    <li class="lx-deadline mb-3 p-2 rounded border lx-deadline-{{ d.status }}{% if d.overdue %} lx-deadline-overdue{% elif d.due_soon %} lx-deadline-soon{% endif %}">
      <div class="d-flex justify-content-between gap-2">
        <strong>{% if d.title %}{{ d.title }}{% else %}{{ d.get_kind_display }}{% endif %}</strong>
        <span class="badge lx-deadline-badge-{{ d.status }}">{% if d.status == "open" and d.paused_at %}<i class="bi bi-pause-circle" aria-hidden="true"></i> {% translate "Paused" %}{% elif d.status == "open" and d.overdue %}<i class="bi bi-exclamation-octagon" aria-hidden="true"></i> {% translate "Overdue" %}{% elif d.status == "open" and d.due_soon %}<i class="bi bi-alarm" aria-hidden="true"></i> {% translate "Due soon" %}{% else %}{{ d.get_status_display }}{% endif %}</span>
      </div>
      <div class="small">{% translate "Due" %} <time datetime="{{ d.due_at|date:'c' }}">{{ d.due_at|instant }}</time></div>
      {% if d.status == "open" %}
        {% if d.paused_at %}
        <div class="small" data-testid="paused">{% blocktranslate with since=d.paused_at|instant %}Clock paused since {{ since }} while the authority provides information.{% endblocktranslate %}
          {% blocktranslate with left=d.left_on_resume|timeuntil_td %}{{ left }} left when it resumes.{% endblocktranslate %}</div>
        {% else %}
        <div class="small"><span class="lx-countdown fw-semibold" data-due="{{ d.due_at|date:'c' }}" data-overdue-label="{% translate 'overdue by' %}" data-testid="countdown">{{ d.due_at|timeuntil }}</span> <span class="lx-muted">{% translate "left" %}</span></div>
        {% endif %}
      {% elif d.status == "met" %}<div class="small">{% translate "Met" %} <time datetime="{{ d.met_at|date:'c' }}">{{ d.met_at|instant }}</time></div>
      {% elif d.status == "breached" %}<div class="small text-danger-emphasis">{% translate "Breached at the due time." %}{% if d.met_at %} {% translate "Met late" %}: {{ d.met_at|instant }}{% endif %}</div>
      {% endif %}
      <div class="small lx-muted">{{ d.get_origin_display }}{% if d.paused_seconds %} · {% blocktranslate with m=d.paused_seconds|div60 %}moved by {{ m }} min of pauses{% endblocktranslate %}{% endif %}</div>
    </li>
    {% endfor %}"""


def deadline(status: str, due_in: timedelta, **fields) -> Deadline:
    now = timezone.now()
    row = Deadline(pk=fields.pop("pk", 1), case_id=1, kind=DeadlineKind.RESOLVE, owner_side="platform",
                   started_at=now - timedelta(days=1), due_at=now + due_in, status=status, **fields)
    row.overdue = fields.get("paused_at") is None and status == "open" and due_in <= timedelta(0)
    row.due_soon = not row.overdue and status == "open" and due_in < timedelta(hours=2)
    if row.paused_at is not None:
        row.left_on_resume = row.due_at - row.paused_at
    return row


def test_deadline_rows_rendered_in_python_equal_the_template_and_escape_everything():
    now = timezone.now()
    hostile = "<script>alert(1)</script> & \"quoted\" 'single'"
    rows = [
        deadline("open", timedelta(hours=30, seconds=30), title=hostile),
        deadline("open", timedelta(minutes=-90), pk=2),
        deadline("open", timedelta(minutes=50, seconds=30), pk=3, origin="agreement"),
        deadline("open", timedelta(hours=5), pk=4, paused_at=now - timedelta(hours=2), paused_seconds=90000),
        deadline("met", timedelta(hours=-3), pk=5, met_at=now - timedelta(hours=4), paused_seconds=125),
        deadline("breached", timedelta(hours=-3), pk=6, met_at=now - timedelta(hours=1)),
        deadline("breached", timedelta(hours=-3), pk=7),
        deadline("waived", timedelta(hours=3), pk=8, title="Subscriber data"),
        deadline("cancelled", timedelta(hours=3), pk=9),
    ]
    template = engines["django"].from_string(DEADLINE_LOOP)
    for language in ("en", "id"):
        with translation.override(language), timezone.override(ZoneInfo("Asia/Jakarta")):
            assert str(render_deadline_rows(rows)) == template.render({"deadline_rows": rows}), language
    rendered = str(render_deadline_rows(rows))
    assert "<script>" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in rendered


@pytest.mark.parametrize("language", ["en", "id"])
def test_a_choice_label_is_what_the_field_displays(world: World, language: str):
    """The case page writes its labels with choices.choice_label (one translation), where get_<field>_display()
    translates every label of the choices: the same words for every value, and the value itself when unknown."""
    case = make_case(world)
    deadline = Deadline(case=case, kind=DeadlineKind.RESOLVE, due_at=timezone.now())
    with translation.override(language):
        for instance, field, choices in ((case, "status", Status), (case, "priority", Priority),
                                         (case, "tlp", TLP), (case, "request_type", RequestType),
                                         (deadline, "kind", Deadline.Kind), (deadline, "status", Deadline.State),
                                         (deadline, "origin", Deadline.Origin)):
            for value in [*choices.values, "unknown"]:
                setattr(instance, field, value)
                assert choice_label(choices, value) == getattr(instance, f"get_{field}_display")(), (field, value)
