"""Languages: Vietnamese by default, English by choice (Flask-Babel).

The message ids are the Vietnamese texts themselves, so Vietnamese needs no catalog and an untranslated
string simply stays Vietnamese; app/translations/en holds the English catalog (`make translations`
compiles it; the compiled .mo is kept in the tree so a checkout runs without a build step).

The language of a request: `?lang=en|vi` (remembered in the session), else the session's choice, else the
signed-in user's preference, else Vietnamese. The header switch (/language/<code>) sets the session and
the user's preference, which is also the language of that user's e-mails."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from flask import has_request_context, request, session
from flask_babel import Babel, get_locale, gettext, lazy_gettext  # noqa: F401  (re-exported)

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

babel = Babel()
TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")


def N_(text: str) -> str:
    """Mark a string for extraction without translating it now (dict labels, stored texts)."""
    return text


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    try:
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            from app.services.organisation import preferences

            return preferences.language_of(current_user)
    except Exception:  # no user loader yet, a broken row: Vietnamese
        pass
    return DEFAULT


def current() -> str:
    """'vi' or 'en' for this request (Vietnamese outside one)."""
    if not has_request_context():
        return DEFAULT
    loc = get_locale()
    return str(loc.language) if loc is not None and loc.language in LANGUAGES else DEFAULT


def pick(vi: Any, en: Any, lang: str | None = None) -> Any:
    """The text for the language: English when asked and present, else the Vietnamese one."""
    lang = lang or current()
    return en if lang == "en" and en else vi


def message_of(obj: Any, lang: str | None = None) -> str:
    """The message of a ServiceError / FieldError / detail dict in the current language."""
    if isinstance(obj, dict):
        return pick(obj.get("message", ""), obj.get("message_en"), lang)
    return pick(getattr(obj, "message", str(obj)), getattr(obj, "message_en", None), lang)


def format_number(value: Any, lang: str | None = None) -> str:
    """89,5 in Vietnamese, 89.5 in English; '—' for nothing."""
    if value is None or value == "":
        return "—"
    try:
        text = f"{float(value):g}" if not isinstance(value, int) else str(value)
    except (TypeError, ValueError):
        return str(value)
    return text if (lang or current()) == "en" else text.replace(".", ",")


@lru_cache(maxsize=4)
def _catalog(lang: str):
    from babel.support import Translations

    return Translations.load(TRANSLATIONS, [lang], "messages")


def translate_in(lang: str, text: str | None, **params: Any) -> str:
    """gettext in a given language, whatever the request's own (e-mails and notices to someone else);
    no Flask context needed, the catalog is read once."""
    text = text or ""
    if text and lang in LANGUAGES and lang != DEFAULT:  # gettext("") would return the catalog header
        text = _catalog(lang).gettext(text)
    return text % params if params else text


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
