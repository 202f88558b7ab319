"""The rows of the case page's evidence table, built in Python: through the template engine each row cost more than a
millisecond (two {% url %}, truncatechars, filesizeformat, two date formats and five translations per row). The markup
is the loop _evidence_section.html had, character for character; every value is escaped here."""

from __future__ import annotations

import html
from collections.abc import Iterable

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from cases.addresses import address
from cases.templatetags.instants import instant

from ..queries.records import EvidenceRow


def url_pattern(name: str, reference: str) -> str:
    """The URL of a case's object (`name` with the reference and an id) with its id left as a {} slot: made once a
    page rather than once a row (evidence, message edits), from the address kept by cases.addresses."""
    placeholder = 987654321
    return address(name, reference, placeholder).replace(str(placeholder), "{}")


def render_evidence_rows(reference: str, evidence: Iterable[EvidenceRow]) -> SafeString:
    """The <tr> elements of the evidence table, with the whitespace the template loop wrote around them."""
    esc = html.escape
    view_url = url_pattern("cases:evidence", reference)
    download_url = url_pattern("cases:evidence_download", reference)
    zone = timezone.get_current_timezone()
    # Translated outside the f-strings: makemessages (xgettext) does not read calls inside them.
    internal, withdrawn, purged = esc(_("internal")), esc(_("withdrawn")), esc(_("purged"))
    internal = f' · <span class="badge text-bg-dark">{internal}</span>'
    withdrawn = f' · <span class="badge text-bg-secondary">{withdrawn}</span>'
    purged = f' · <span class="badge text-bg-secondary">{purged}</span>'
    sha_label, added_label, download = esc(_("SHA-256")), esc(_("Added")), esc(_("Download"))
    muted = ' class="text-body-secondary"'
    parts: list[str] = []
    for ev in evidence:
        uploaded_at = timezone.localtime(ev.uploaded_at, zone)
        parts.append(
            f'\n    <tr{muted if ev.withdrawn_at or ev.purged_at else ""}>\n'
            f'      <td class="lx-e-file"><a href="{esc(view_url.format(ev.pk))}">'
            f'{esc(Truncator(ev.original_name).chars(60))}</a>\n'
            f'        <div class="small lx-muted">{esc(ev.content_type)} · {esc(filesizeformat(ev.size))}'
            f'{f" · #{ev.item_position}" if ev.item_position is not None else ""}{internal if ev.internal else ""}'
            f'{withdrawn if ev.withdrawn_at else ""}{purged if ev.purged_at else ""}</div></td>\n'
            f'      <td class="lx-e-sha" data-label="{sha_label}"><code data-testid="sha256">{esc(ev.sha256)}</code></td>\n'
            f'      <td class="lx-e-added small" data-label="{added_label}">{esc(ev.uploaded_by_name)}<div class="lx-muted">'
            f'<time datetime="{uploaded_at.isoformat()}">{esc(instant(ev.uploaded_at))}</time></div></td>\n'
            '      <td class="lx-e-get">'
        )
        if not ev.purged_at:
            parts.append(f'<a class="btn btn-sm btn-outline-primary" href="{esc(download_url.format(ev.pk))}" '
                         f'data-testid="download-{ev.pk}"><i class="bi bi-download" aria-hidden="true"></i> '
                         f'<span class="lx-e-get-text">{download}<span class="visually-hidden"> '
                         f'{esc(ev.original_name)}</span></span></a>')
        parts.append("</td>\n    </tr>\n    ")
    return mark_safe("".join(parts))  # noqa: S308  every value above is escaped
