"""Whether an e-mail's sender is who the From header says: the receiving server's own verdict, read strictly.

Pure, no database. Only `Authentication-Results` headers that carry the configured authserv-id (the receiving
server's name, RFC 8601 §2.5) count; any other such header could have been written by the sender and is
ignored. A sender is authenticated only on a DMARC pass whose `header.from` is the From address's domain,
and, where the platform asks for it, a DKIM pass whose signing domain (`header.d`) is aligned with it too.
Anything else (no verdict, softfail, none, temperror, a verdict we cannot parse, conflicting verdicts) fails
closed. The receiving server must remove `Authentication-Results` headers with its own authserv-id from
incoming mail (RFC 8601 §5); Postfix with OpenDKIM/OpenDMARC and most hosted gateways do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import authres

# Results of a method in the order they override each other when the server reports one method twice.
_FAILING = ("fail", "softfail", "permerror", "temperror", "neutral", "policy", "none")


@dataclass(frozen=True)
class Verdict:
    """What the trusted server said, and why the sender is or is not taken as authenticated."""

    authserv_id: str = ""
    dmarc: str = ""
    dkim: str = ""
    spf: str = ""
    header_from: str = ""
    dkim_domains: tuple[str, ...] = ()
    from_domain: str = ""
    ignored_headers: int = 0
    # Empty when the sender is authenticated; else a code (see PROBLEMS in cases/inbound_reasons.py).
    problem: str = ""
    details: dict[str, str] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return not self.problem

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dkim_domains"] = list(self.dkim_domains)
        return data


def authserv_id_of(value: str) -> str:
    """The first token of a header value: the name of the server that wrote it."""
    head = value.split(";", 1)[0].strip()
    return head.split()[0].lower() if head else ""


def _domain(value: str) -> str:
    """`@ministry.test`, `x@ministry.test` or `ministry.test` → `ministry.test`."""
    return value.strip().strip(".").rpartition("@")[2].lower()


def _aligned(signing_domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489 §3.1.1): the same domain, or the From domain is a subdomain of it."""
    return bool(signing_domain) and (from_domain == signing_domain or from_domain.endswith("." + signing_domain))


def _combine(results: list[str]) -> str:
    """One verdict per method: a single pass, else the worst failure reported, else ''."""
    if not results:
        return ""
    failing = [r for r in results if r != "pass"]
    if failing:
        return min(failing, key=lambda r: _FAILING.index(r) if r in _FAILING else 0)
    return "pass"


def assess(values: list[str], *, from_domain: str, authserv_id: str, require_dkim: bool = False) -> Verdict:
    """Read the `Authentication-Results` header values (top first) of a message whose From domain is given."""
    from_domain = from_domain.lower()
    trusted_id = authserv_id.strip().lower()
    if not trusted_id:
        return Verdict(from_domain=from_domain, ignored_headers=len(values), problem="auth_not_configured")
    trusted = [v for v in values if authserv_id_of(v) == trusted_id]
    ignored = len(values) - len(trusted)
    if not trusted:
        return Verdict(authserv_id=trusted_id, from_domain=from_domain, ignored_headers=ignored,
                       problem="auth_missing")
    by_method: dict[str, list[str]] = {"dmarc": [], "dkim": [], "spf": []}
    header_froms: set[str] = set()
    dkim_domains: list[str] = []
    for value in trusted:
        try:
            header = authres.AuthenticationResultsHeader.parse_value(value)
        except Exception:  # authres raises its own SyntaxError and others on hostile input
            return Verdict(authserv_id=trusted_id, from_domain=from_domain, ignored_headers=ignored,
                           problem="auth_unreadable")
        for result in header.results:
            method, outcome = str(result.method).lower(), str(result.result).lower()
            if method not in by_method:
                continue
            by_method[method].append(outcome)
            properties = {(str(p.type).lower(), str(p.name).lower()): str(p.value) for p in result.properties}
            if method == "dmarc" and ("header", "from") in properties:
                header_froms.add(_domain(properties[("header", "from")]))
            if method == "dkim" and outcome == "pass":
                signer = properties.get(("header", "d")) or properties.get(("header", "i"), "")
                if signer:
                    dkim_domains.append(_domain(signer))
    dmarc, dkim, spf = (_combine(by_method[m]) for m in ("dmarc", "dkim", "spf"))
    read = Verdict(authserv_id=trusted_id, dmarc=dmarc, dkim=dkim, spf=spf, from_domain=from_domain,
                   header_from=", ".join(sorted(header_froms)), dkim_domains=tuple(dkim_domains),
                   ignored_headers=ignored)
    if "pass" in by_method["dmarc"] and dmarc != "pass":
        return replace(read, problem="auth_conflict")
    if dmarc != "pass":
        return replace(read, problem="dmarc_not_pass", details={"result": dmarc or "none"})
    if header_froms != {from_domain}:
        return replace(read, problem="dmarc_not_aligned")
    if require_dkim and not any(_aligned(d, from_domain) for d in dkim_domains):
        return replace(read, problem="dkim_not_aligned")
    return read


def summary(data: dict[str, Any]) -> list[str]:
    """The stored verdict (Verdict.as_dict) in plain words, one line per finding, in the active language."""
    from django.utils.translation import gettext as _

    if not data:
        return []
    lines: list[str] = []
    server = data.get("authserv_id") or ""
    problem = data.get("problem") or ""
    if problem == "auth_not_configured":
        lines.append(_("No receiving mail server is trusted yet, so no sender can be authenticated."))
    elif problem == "auth_missing":
        lines.append(_("The receiving mail server (%(server)s) recorded no result for this message.")
                     % {"server": server})
    elif problem == "auth_unreadable":
        lines.append(_("The receiving mail server's result could not be read."))
    else:
        for method, label in (("dmarc", "DMARC"), ("dkim", "DKIM"), ("spf", "SPF")):
            result = data.get(method) or _("not reported")
            lines.append(_("%(method)s: %(result)s (as recorded by %(server)s)")
                         % {"method": label, "result": result, "server": server})
        if data.get("header_from"):
            lines.append(_("DMARC checked the domain %(checked)s; the From address is at %(domain)s.")
                         % {"checked": data["header_from"], "domain": data.get("from_domain") or "?"})
        if data.get("dkim_domains"):
            lines.append(_("Signed (DKIM) by: %(domains)s.") % {"domains": ", ".join(data["dkim_domains"])})
    if data.get("ignored_headers"):
        lines.append(_("%(count)s result header(s) written by other servers were ignored: anyone can write those.")
                     % {"count": data["ignored_headers"]})
    lines.append(_("Verdict: the sender is who the From header says.") if not problem
                 else _("Verdict: the sender is not authenticated."))
    return lines
