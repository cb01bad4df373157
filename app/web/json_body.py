"""Every JSON request body is read by `app.strict_json` (via Flask's JSON provider, which
`request.get_json` uses), so no route can forget it: NaN, Infinity, numbers that overflow and nesting
deeper than strict_json.MAX_DEPTH are a 400 naming where they are, before any route looks further."""

from __future__ import annotations

import logging

from flask.json.provider import DefaultJSONProvider

from app import strict_json
from app.services.errors import BadRequest

log = logging.getLogger(__name__)


class RefusedJSON(BadRequest):
    """Not a ValueError on purpose: `get_json(silent=True)` swallows those and the caller would only
    say "not a JSON object"; this one reaches the error handler with its reason and places."""


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return strict_json.loads(s, **kwargs)
        except strict_json.Refused as exc:
            log.info("JSON body refused: %s %s", exc.message_en, exc.places)
            raise RefusedJSON(exc.message, exc.message_en, exc.details()) from None
