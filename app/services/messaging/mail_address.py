"""One e-mail address, checked: what the outbox sends to and what an import may store.

A stored address is a bare addr-spec (`ten@donvi.hanoi.gov.vn`): no display name, no list, no header
folding. Anything else (`"cv@acc.example.vn, evil@example.com"`, a CR/LF, angle brackets) is refused
rather than guessed at, so a mail can only ever reach the one person whose address it is. The syntax
check is the maintained `email-validator` library's (no DNS lookup: the SMTP relay decides
deliverability); the standard library's parser must also read exactly one address that is the whole
text, so the check and the SMTP envelope can never disagree."""

from __future__ import annotations

from email.utils import getaddresses

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    def __init__(self, address: str, reason: str):
        super().__init__(f"not exactly one valid e-mail address ({reason})")
        self.address, self.reason = address, reason


def checked(address: str | None) -> str:
    """`address` as the one envelope recipient to use, or InvalidAddress. An internationalised domain
    comes back in its ASCII (IDNA) form, which is the same address."""
    text = address or ""
    if text != text.strip() or not text:
        raise InvalidAddress(text, "empty or surrounded by spaces")
    parsed = getaddresses([text])
    if len(parsed) != 1 or parsed[0] != ("", text):
        raise InvalidAddress(text, "a list, a display name or extra text")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(text, str(exc)) from None
    return text if text.isascii() else result.ascii_email


def is_valid(address: str | None) -> bool:
    try:
        checked(address)
    except InvalidAddress:
        return False
    return True
