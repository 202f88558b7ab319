"""The entries of a case's thread, built in Python (the case page and the fragment it polls every few seconds).

Through the template engine each message cost two date formats, a dozen lookups and filters, translations and, for
its files, a URL reversed per file: with 30 to 100 messages that was a third of the page. Here the words are
translated once, URLs reversed once, and each message is one string; every value is escaped here (the message
bodies are the sanitised HTML of cases.markdown). Nothing here decides who sees what: the entries are those the
policy let through, and whether a message may be edited is decided by the caller.

The rows come back as pieces around the edit forms' CSRF inputs, which the template puts in with `{% csrf_token %}`
(the request's token is the template's to give): `pieces` has one more element than there are edit forms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..event_text import system_line
from ..instants import InstantWriter
from ..markdown import render_markdown
from ..queries.case_page import ThreadEntry
from .evidence_rows import url_pattern

# Up to this many rendered bodies are kept per process (see message_html).
MARKDOWN_MEMO_SIZE = 1024


@functools.lru_cache(maxsize=MARKDOWN_MEMO_SIZE)
def _memo_markdown(body: str, evidence_links: tuple[tuple[int, str], ...]) -> str:
    return render_markdown(body, evidence_urls=dict(evidence_links))


def message_html(body: str, evidence_links: tuple[tuple[int, str], ...]) -> SafeString:
    """A message body as safe HTML, the links of `#E<n>` taken from `evidence_links` ((id, url) pairs of the evidence
    the reader may see). `render_markdown` is a pure function of exactly these two values, and they are the key of
    the memo, so a kept result is always what rendering again would give: an edited body, or another reader's
    evidence, is another key (nothing to invalidate). The thread is polled every few seconds by every open case
    page, and re-read unchanged each time."""
    return mark_safe(_memo_markdown(body, evidence_links))  # noqa: S308 (sanitised by nh3)


def _time_tag(instants: InstantWriter, moment: datetime) -> str:
    """An instant as `|instant` writes it, in a <time> element holding it as `|date:'c'` (in the reader's zone)."""
    local = instants.local(moment)
    return f'<time datetime="{local.isoformat()}">{instants.words(local)}</time>'


def render_thread_entries(entries: Sequence[ThreadEntry], *, reference: str, side: str,
                          evidence_of: Mapping[int, Iterable[tuple[int, str]]]) -> list[SafeString]:
    """The <li> elements of the thread, split around the edit forms' CSRF inputs (see the module's docstring).

    Each entry carries the page's `html` (its body rendered), `revision_html` ((replaced at, html) pairs),
    `is_unread` and `can_edit`; `evidence_of` maps a message id to its files as (id, original name)."""
    esc = conditional_escape
    instants = InstantWriter(timezone.get_current_timezone())
    zone = instants.zone
    evidence_url = url_pattern("cases:evidence", reference)
    edit_url = url_pattern("cases:edit_message", reference)
    internal_badge = esc(_("Internal note (platform only)") if side == "platform"
                         else _("Internal note (authority only)"))
    new, edited, edit = esc(_("new")), esc(_("edited")), esc(_("Edit"))
    message_label, save = esc(_("Message")), esc(_("Save changes"))
    pieces: list[SafeString] = []
    parts: list[str] = []
    for m in entries:
        created = _time_tag(instants, m.created_at)
        if m.kind == "system":
            line = system_line(m.system_action, m.system_params, who=m.author_name, zone=zone, fallback=m.body)
            parts.append(f'<li id="message-{m.pk}" class="small lx-muted border-start border-3 ps-2 my-2">'
                         f'<i class="bi bi-gear" aria-hidden="true"></i> {created} — {esc(line)}</li>\n')
            continue
        author_name, organisation = m.author_name, m.organisation
        classes = (" lx-internal" if m.kind == "internal" else "") + (" lx-unread" if m.is_unread else "")
        parts.append(
            f'<li id="message-{m.pk}" class="lx-message my-3 p-3 rounded border{classes}" data-testid="message">\n'
            '      <div class="d-flex flex-wrap justify-content-between gap-2 small mb-1">\n'
            f'        <div><strong>{esc(author_name)}</strong> <span class="lx-muted">{esc(organisation)}</span>'
        )
        if m.kind == "internal":
            parts.append(f'\n          <span class="badge text-bg-dark ms-1"><i class="bi bi-eye-slash" '
                         f'aria-hidden="true"></i> {internal_badge}</span>')
        if m.is_unread:
            parts.append(f'\n          <span class="badge text-bg-warning ms-1">{new}</span>')
        parts.append(f'</div>\n        <div class="lx-muted">{created}'
                     f'{f" · {edited}" if m.edited_at else ""}</div>\n      </div>\n'
                     f'      <div class="lx-message-body">{m.html}</div>\n')
        files = list(evidence_of.get(m.pk, ()))
        if files:
            links = ", ".join(f'<a href="{esc(evidence_url.format(pk))}">{esc(name)}</a>' for pk, name in files)
            parts.append(f'      <div class="small mt-1"><i class="bi bi-paperclip" aria-hidden="true"></i> '
                         f"{links}</div>\n")
        if m.revision_html:
            count = len(m.revision_html)
            summary = ngettext("%(counter)s earlier version", "%(counter)s earlier versions", count) % {
                "counter": count}
            parts.append(f'      <details class="small mt-1"><summary>{summary}</summary>\n        ')
            for replaced_at, html in m.revision_html:
                replaced = _("replaced %(when)s") % {"when": esc(instants.words(instants.local(replaced_at)))}
                parts.append(f'<div class="border-start ps-2 mt-1 lx-muted"><div>{replaced}</div>{html}</div>')
            parts.append("</details>\n")
        if m.can_edit:
            parts.append(f'      <details class="small mt-1"><summary>{edit}</summary>\n'
                         f'        <form method="post" action="{esc(edit_url.format(m.pk))}" class="mt-1">')
            pieces.append(mark_safe("".join(parts)))  # noqa: S308  every value above is escaped
            parts = [f'\n          <label class="visually-hidden" for="edit-{m.pk}">{message_label}</label>\n'
                     f'          <textarea class="form-control form-control-sm mb-1" id="edit-{m.pk}" name="body" '
                     f'rows="3">{esc(m.body)}</textarea>\n'
                     f'          <button class="btn btn-sm btn-outline-primary" type="submit">{save}</button>'
                     "</form></details>\n"]
        parts.append("    </li>\n")
    pieces.append(mark_safe("".join(parts)))  # noqa: S308  every value above is escaped
    return pieces
