"""The case thread: live (polled), with read markers, posting and editing within the window."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest
from accounts.models import User
from liaison.input_policy import id_params

from .. import permissions, queries
from ..actions.notifications import mark_notifications_read
from ..actions.thread import edit_message, mark_read, post_message
from ..actions.thread import mark_all_read as mark_all_cases_read
from ..models import Case, Message
from ..queries.case_page import message_files, thread_entries
from ..queries.records import EvidenceRow, case_evidence
from .evidence_rows import url_pattern
from .thread_rows import message_html, render_thread_entries


def thread_context(user: User, case: Case, *, evidence: list[EvidenceRow] | None = None) -> dict[str, Any]:
    """The thread as this person sees it; `evidence` (what they may see of the case's files) when the page has
    read it already."""
    entries = thread_entries(user, case)
    if evidence is None:
        evidence = case_evidence(user, case)
    evidence_url = url_pattern("cases:evidence", case.reference)
    links = tuple(sorted((e.pk, evidence_url.format(e.pk)) for e in evidence))
    marker = queries.read_marker(user, case)
    case_visible = permissions.can_view_case(user, case)
    for entry in entries:
        # A system entry is written from its action and parameters (event_text.system_line) by thread_rows.
        is_system = entry.kind == Message.Kind.SYSTEM
        entry.html = "" if is_system else message_html(entry.body, links)
        entry.revision_html = [(replaced_at, message_html(body, links)) for replaced_at, body in entry.revisions]
        entry.is_unread = entry.pk > marker and entry.author_id != user.pk
        entry.can_edit = permissions.can_edit_message(user, entry, case_visible=case_visible)
    side = permissions.side_of(user)
    mention_candidates = queries.people_who_can_see(case)
    return {
        "case": case,
        "thread_pieces": render_thread_entries(entries, reference=case.reference, side=side,
                                               evidence_of=message_files(case)),
        "last_id": entries[-1].pk if entries else 0,
        "read_up_to": marker,
        "can_post": permissions.can_post_message(user, case),
        "can_post_internal": permissions.can_post_message(user, case, internal=True),
        "thread_evidence": evidence,
        # The form's evidence <option>s and the addresses to mention, written here (every value escaped): through
        # the template engine each was a loop iteration with its lookups.
        "evidence_options": mark_safe("".join(  # noqa: S308  every value is escaped
            f'<option value="{e.pk}">#E{e.pk} {escape(e.original_name)}</option>' for e in evidence)),
        "side": side,
        "mention_candidates": mention_candidates,
        "mention_list": mark_safe(", ".join(  # noqa: S308  every value is escaped
            f"<code>@{escape(p.email)}</code>" for p in mention_candidates)),
    }


@login_required
@require_GET
def thread_fragment(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    """Polled by the open case page: the thread as it is now; being shown counts as being read."""
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    context = thread_context(user, case)
    mark_read(user=user, case=case, up_to=context["last_id"])
    return render(request, "cases/_thread.html", context)


@login_required
@require_POST
def post(request: AuthenticatedRequest, reference: str) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    internal = request.POST.get("internal") == "1"
    try:
        evidence_ids = id_params(request.POST.getlist("evidence"))
        message = post_message(actor=user, case=case, body=request.POST.get("body", ""), internal=internal,
                                       evidence_ids=evidence_ids)
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
        if request.htmx:
            response = render(request, "cases/_thread.html", thread_context(user, case))
            response["HX-Trigger"] = "liaison:error"
            return response
        return redirect(reverse("cases:detail", args=[case.reference]) + "#thread")
    if request.htmx:
        return render(request, "cases/_thread.html", thread_context(user, case))
    flash.success(request, _("Internal note added.") if internal else _("Message sent."))
    return redirect(reverse("cases:detail", args=[case.reference]) + f"#message-{message.pk}")


@login_required
@require_POST
def edit(request: AuthenticatedRequest, reference: str, message_id: int) -> HttpResponse:
    user = request.user
    case = permissions.get_case_for_user(user, reference)
    message = permissions.messages_visible_to(user, case).filter(pk=message_id).first()
    if message is None:
        raise Http404
    try:
        edit_message(actor=user, message=message, body=request.POST.get("body", ""))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, _("Message edited; the previous text stays visible."))
    return redirect(reverse("cases:detail", args=[case.reference]) + f"#message-{message.pk}")


@login_required
@require_POST
def mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    count = mark_all_cases_read(user=user)
    mark_notifications_read(user=user)
    flash.success(request, _("Everything is marked as read (%(n)d cases).") % {"n": count})
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("cases:list")
    return redirect(target)
