"""E-mail address syntax, checked with the `email-validator` package (never the DNS).

An organisation file holds one address per person. A list ("a@x.vn, b@y.vn"), a display name
("Tên <a@x.vn>") or anything else that is not exactly one address is refused, so that a person's mail
goes to that one address and nobody else.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

# A plain ASCII dot-atom local part: always accepted by the validator and left as it is. For such an
# address only the domain decides, and the validator's domain check (IDNA, ~0.1 ms) is what makes it slow;
# a city file has a handful of domains for 200,000 addresses, so each domain is checked once.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class AddressChecker:
    """Checks addresses one by one, remembering the domains already found valid (one import's worth)."""

    def __init__(self) -> None:
        self._domains: dict[str, str] = {}

    def normalized(self, address: str) -> str:
        """The normalized address, or EmailNotValidError with the validator's reason."""
        local, at, domain = address.rpartition("@")
        known = self._domains.get(domain) if at else None
        if known is not None and len(local) <= 64 and len(address) <= 254 and _PLAIN_LOCAL.fullmatch(local):
            return f"{local}@{known}"
        result = validate_email(address, check_deliverability=False)
        if domain.isascii() and _PLAIN_LOCAL.fullmatch(local):
            self._domains[domain] = result.domain
        return result.normalized


def problem(address: str, checker: AddressChecker | None = None) -> tuple[str | None, str | None]:
    """(normalized address, None) or (None, the reason in English)."""
    try:
        return (checker or AddressChecker()).normalized(address), None
    except EmailNotValidError as exc:
        return None, str(exc)
