"""Values that end up in blocklists must be what their kind says they are.

A domain, an e-mail address or a URL in an observable or an indicator's pattern becomes a line of
a DNS filter's or a proxy's blocklist. One holding a line break (or any control or white-space
character) would become two entries, the second one chosen by whoever shared the first: a way to
put `google.com` on every partner's DNS blocklist past the warning lists. So, at ingest:
- a domain is a host name (letters, digits, hyphens and underscores, labels of 1-63 characters,
  253 at most; an internationalised name must encode to IDNA);
- an e-mail address is a local part without control or white-space characters, `@`, and a domain;
- a URL has a scheme (RFC 3986 §3.1) and no control or white-space characters;
- a value in a `..._ref.value` comparison (whatever it refers to) has no control or white-space.
Exports escape what they write besides (exchange/), so a row stored before these rules cannot
break a line either.
"""

from __future__ import annotations

import re
from typing import Any

from shieldwall.correlate.observables import pattern_comparisons, value_rule
from shieldwall.correlate.values import UNSAFE
from shieldwall.intel.validate_properties import Problems, show

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:.")
_UNSAFE_MESSAGE = "holds a control or white-space character"


def domain_problem(value: str) -> str | None:
    """Why `value` is not a host name, or None when it is."""
    if UNSAFE.search(value):
        return _UNSAFE_MESSAGE
    name = value
    if not name.isascii():
        try:
            name = name.rstrip(".").encode("idna").decode("ascii")
        except UnicodeError:
            return "is not a host name: it does not encode to IDNA"
    if len(name.rstrip(".")) > 253 or not _HOST_NAME.fullmatch(name.lower()):
        return (
            "is not a host name: labels of letters, digits, hyphens and underscores, each 1 to 63 "
            "characters, joined by dots"
        )
    return None


def email_problem(value: str) -> str | None:
    if UNSAFE.search(value):
        return _UNSAFE_MESSAGE
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "is not an e-mail address: a local part, '@' and a domain"
    if domain.startswith("[") and domain.endswith("]"):
        return None  # an address literal (RFC 5321 §4.1.3): no host name to check
    problem = domain_problem(domain)
    return None if problem is None else f"has a domain that {problem}"


def url_problem(value: str) -> str | None:
    if UNSAFE.search(value):
        return _UNSAFE_MESSAGE
    if not _SCHEME.match(value):
        return "is not a URL: it needs a scheme such as 'http:' (RFC 3986 §3.1)"
    return None


def referenced_problem(value: str) -> str | None:
    return _UNSAFE_MESSAGE if UNSAFE.search(value) else None


_PROBLEM_OF = {
    "domain": domain_problem,
    "email": email_problem,
    "url": url_problem,
    "referenced": referenced_problem,
}
_KIND_NAME = {"domain": "domain", "email": "e-mail address", "url": "URL", "referenced": "value"}


def pattern_value_problems(pattern: str, out: Problems) -> None:
    """Problems with the values an indicator's pattern compares domains, e-mails and URLs to."""
    for rule, object_type, value in pattern_comparisons(pattern):
        check = _PROBLEM_OF.get(rule)
        if check is not None and (problem := check(value)) is not None:
            out.append(("pattern", f"the {object_type} value {show(value)} {problem}"))


def observable_value_problems(obj: dict[str, Any], out: Problems, prefix: str = "") -> None:
    """Problems with a domain-name, email-addr or url object's `value`, or an artifact's `url`."""
    object_type = obj.get("type")
    name = "url" if object_type == "artifact" else "value"
    value = obj.get(name)
    if type(object_type) is not str or type(value) is not str:
        return
    check = _PROBLEM_OF.get(value_rule(object_type, (name,)))
    if check is not None and (problem := check(value)) is not None:
        out.append((f"{prefix}{name}", f"{prefix}{name} {show(value)} {problem}"))
