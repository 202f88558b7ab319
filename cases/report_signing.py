"""Outcome reports signed: a PAdES certification signature (pyHanko) with a visible block naming the approver.

`sign_pdf(pdf, identity, ...) -> bytes` places the block at the template's signature anchor, certifies the
document (no later changes allowed) and timestamps it (RFC 3161) when LIAISON_TSA_URL is set. No database.
"""

from __future__ import annotations

import io
import os
import tempfile
import unicodedata
import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .report_context import (
    SIGNATURE_ANCHOR,
    SIGNATURE_FIELD,
    SIGNATURE_HEIGHT_MM,
    SIGNATURE_WIDTH_MM,
    Clock,
    verify_url,
)
from .report_rendering import html_to_pdf
from .signing_identity import SigningIdentity

_PT_PER_MM = 72 / 25.4


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _signature_placement(reader: Any) -> tuple[int, tuple[int, int, int, int]]:
    """Page index and box (PDF points) of the signature anchor; bottom right of the last page without one.
    `reader` is the pyHanko reader of the PDF being signed."""
    root = reader.root
    pages: list[Any] = []

    def walk(node_ref: Any) -> None:
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages":
            for kid in node.raw_get("/Kids"):
                walk(kid)
        else:
            pages.append(node_ref)

    walk(root.raw_get("/Pages"))
    width, height = SIGNATURE_WIDTH_MM * _PT_PER_MM, SIGNATURE_HEIGHT_MM * _PT_PER_MM
    destination = _named_destination(root, SIGNATURE_ANCHOR)
    if destination is not None:
        page_ref, left, top = destination
        ids = [getattr(p, "idnum", None) for p in pages]
        index = ids.index(page_ref.idnum) if getattr(page_ref, "idnum", None) in ids else len(pages) - 1
        return index, (int(left), int(top - height), int(left + width), int(top))
    last = pages[-1].get_object()
    media = [float(v) for v in last["/MediaBox"]] if "/MediaBox" in last else [0, 0, 595, 842]
    right = media[2] - 20 * _PT_PER_MM
    bottom = media[1] + 25 * _PT_PER_MM
    return len(pages) - 1, (int(right - width), int(bottom), int(right), int(bottom + height))


def _named_destination(root: Any, name: str) -> tuple[Any, float, float] | None:
    names = root.get("/Names")
    if names is None or "/Dests" not in names:
        return None

    def search(node: Any) -> Any:
        node = node.get_object()
        if "/Names" in node:
            entries = node["/Names"]
            for i in range(0, len(entries) - 1, 2):
                if str(entries[i]) == name:
                    return entries[i + 1]
        for kid in node.get("/Kids", []):
            found = search(kid)
            if found is not None:
                return found
        return None

    destination = search(names["/Dests"])
    if destination is None:
        return None
    destination = destination.get_object()
    if hasattr(destination, "keys") and "/D" in destination:
        destination = destination["/D"]
    array = list(destination.get_object()) if not isinstance(destination, list) else destination
    if len(array) < 4 or str(array[1]) != "/XYZ":
        return None
    page_ref = destination.raw_get(0) if hasattr(destination, "raw_get") else array[0]
    return page_ref, float(array[2] or 0), float(array[3] or 0)


def _stamp_pdf(*, approver_name: str, approver_role: str, signer_subject: str, signed_at: datetime,
               zone: zoneinfo.ZoneInfo) -> bytes:
    """The visible signature block, drawn by WeasyPrint in the report's fonts (embedded)."""
    html = render_to_string("reports/signature_stamp.html", {
        "approver_name": approver_name, "approver_role": approver_role, "signer": signer_subject,
        "signed_at": Clock(zone)(signed_at), "width_mm": SIGNATURE_WIDTH_MM, "height_mm": SIGNATURE_HEIGHT_MM,
        "verify_url": verify_url(),
    })
    return html_to_pdf(html)


def _timestamper() -> Any:
    if not settings.LIAISON_TSA_URL:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(settings.LIAISON_TSA_URL, timeout=10)


def load_libraries() -> None:
    """Imports pyHanko, for a worker to call once at its start (see `report_rendering.load_libraries`): 0.3 s of a
    worker's first report otherwise."""
    import pyhanko.pdf_utils.incremental_writer  # noqa: F401
    import pyhanko.sign.fields  # noqa: F401
    import pyhanko.sign.signers  # noqa: F401
    import pyhanko.stamp.static  # noqa: F401


def sign_pdf(pdf: bytes, identity: SigningIdentity, *, approver_name: str, approver_role: str,
             reason: str = "", location: str = "", time_zone: str = "UTC") -> bytes:
    """A PAdES certification signature (no later changes allowed) with a visible block naming the approver,
    timestamped (RFC 3161) when LIAISON_TSA_URL is set. Labels follow the active language."""
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
    from pyhanko.stamp.static import StaticStampStyle

    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    # One parse of the PDF: the writer's reader also finds the anchor.
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page, box = _signature_placement(writer.prev)
    signer_name = identity.signer.signing_cert.subject.native.get("common_name", identity.subject)
    stamp = _stamp_pdf(approver_name=approver_name, approver_role=approver_role, signer_subject=signer_name,
                       signed_at=timezone.now(), zone=zone)
    with tempfile.TemporaryDirectory(prefix="liaison-stamp-") as workdir:
        stamp_path = os.path.join(workdir, "stamp.pdf")
        with open(stamp_path, "wb") as handle:
            handle.write(stamp)
        fill = layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MID,
                                          y_align=layout.AxisAlignment.ALIGN_MID, margins=layout.Margins(),
                                          inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT)
        style = StaticStampStyle.from_pdf_file(stamp_path, border_width=0, background_layout=fill)
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=MDPPerm.NO_CHANGES,
            reason=_nfc(reason or _("Outcome report approved by %(name)s, %(role)s")
                               % {"name": approver_name, "role": approver_role}),
            location=_nfc(location) or None,
            contact_info=verify_url(),
        )
        spec = fields.SigFieldSpec(sig_field_name=SIGNATURE_FIELD, on_page=page, box=box)
        signer = signers.PdfSigner(meta, signer=identity.signer, timestamper=_timestamper(), stamp_style=style,
                                   new_field_spec=spec)
        output = signer.sign_pdf(writer)
        return bytes(output.getvalue())
