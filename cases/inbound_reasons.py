"""Why an inbound e-mail was quarantined, in plain words: one stable code per reason, one sentence per code.

Pure, no database. The code is stored on the message (and in its audit event) so tests, filters and badges rely
on it; the sentence is rendered from the code and its parameters in the active language.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

REASONS = {
    # Reading the message
    "unreadable": _("The message could not be read: %(error)s"),
    "error": _("The message could not be processed: %(error)s"),
    "redelivered": _("The same message (Message-ID %(message_id)s) arrived again by another route: only its "
                     "delivery headers differ from e-mail #%(first_id)s, received on %(first)s, which was already "
                     "handled. Nothing was done twice; reject this copy."),
    "message_id_clash": _("Another message with the same Message-ID (%(message_id)s) but different content was "
                          "received on %(first)s. One of the two may be forged; compare them before releasing."),
    # Who sent it
    "no_sender": _("The message has no usable sender address."),
    "several_senders": _("The From header names more than one sender (%(header)s); a member writes as one "
                         "person."),
    "malformed_from": _("The From header is malformed (%(header)s), so the sender cannot be told for sure."),
    "address_in_display_name": _("The From header shows the name “%(name)s”, which itself looks like an e-mail "
                                 "address, in front of the real address %(sender)s: a common disguise."),
    "automatic": _("An automatic message (%(why)s), not written by a person."),
    # Whether the receiving server vouches for the sender
    "auth_not_configured": _("No receiving mail server is trusted yet (the setting LIAISON_TRUSTED_AUTHSERV_ID is "
                             "empty), so no sender can be authenticated."),
    "auth_missing": _("The receiving mail server (%(server)s) recorded no authentication result for this message, "
                      "so its sender is not proven."),
    "auth_unreadable": _("The receiving mail server's authentication result could not be read."),
    "auth_conflict": _("The receiving mail server's authentication results contradict each other."),
    "dmarc_not_pass": _("Sender authentication did not pass (DMARC: %(result)s): the From address %(sender)s "
                        "may be forged."),
    "dmarc_not_aligned": _("DMARC passed for %(header_from)s, not for the From address's domain %(domain)s."),
    "dkim_not_aligned": _("No DKIM signature of %(domain)s was verified, and this platform requires one."),
    # Who the sender is to Liaison
    "unknown_sender": _("Unknown sender: %(sender)s has no Liaison account."),
    "inactive_sender": _("The sender's account (%(sender)s) is inactive."),
    "platform_new_message": _("A platform user wrote a new message, not a reply to a case notification."),
    "may_not_create": _("The sender's role does not open cases."),
    # Replies
    "forged_token": _("The reply address %(address)s is not one Liaison issued: its signature does not match."),
    "expired_token": _("The reply address was issued on %(issued)s and has expired; the message looks like a "
                       "reply to %(reference)s."),
    "token_other_recipient": _("The reply address was issued to someone else, not to the sender %(sender)s; the "
                               "message looks like a reply to %(reference)s."),
    "subject_reference_only": _("Looks like a reply to %(reference)s (the subject names it), but it carries no "
                                "valid reply address, so it was not posted."),
    "case_not_visible": _("A reply to case %(reference)s, which the sender cannot see."),
    "may_not_post": _("The sender may not post messages in case %(reference)s."),
    # Content
    "no_content": _("The e-mail has no usable content: no links, no text, no files."),
    "no_reply_content": _("The reply has no new text, and none of its files could be added."),
    "no_platform": _("No active platform organisation exists to address a case to."),
    "no_category": _("No case category exists."),
}


def describe(code: str, params: Mapping[str, object] | None = None) -> str:
    """The sentence for a code, in the active language; the code itself if it is unknown."""
    template = REASONS.get(code)
    if template is None:
        return code
    values = {key: "" if value is None else value for key, value in (params or {}).items()}
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(template)
