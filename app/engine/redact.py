"""Take the server's secrets out of a text before a designer or user sees it.

Engine errors become messages (a test run's error, "The process failed at …", an instance's error and
its audit row). The sandbox keeps scripts away from the configuration, but should anything ever slip
through, the message must still not carry it: every configuration string and environment value
longer than MIN_LENGTH characters is replaced by REDACTED, the longest first (so that a value
containing another is removed whole).
"""

from __future__ import annotations

import os

MIN_LENGTH = 6  # "longer than 5 characters": shorter values are ordinary words and numbers
REDACTED = "[…]"


def secret_values() -> list[str]:
    values = {v for v in os.environ.values() if len(v) >= MIN_LENGTH}
    try:
        from flask import current_app, has_app_context
    except ImportError:  # the engine used without the web app
        return sorted(values, key=len, reverse=True)
    if has_app_context():
        values |= {v for v in current_app.config.values() if isinstance(v, str) and len(v) >= MIN_LENGTH}
    return sorted(values, key=len, reverse=True)


def scrub(text: str) -> str:
    text = str(text)
    for value in secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text
