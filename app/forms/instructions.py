"""Render a task's `instructionsForEndUser`: a sandboxed Jinja template over the task data, then
the little Markdown designers use (**bold**, blank-line paragraphs). Output is escaped HTML."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape


def _reader_number(lang: str) -> Callable[[Any], Any]:
    """Each `{{ … }}` that prints a number prints it as the reader writes it: 87,5 in Vietnamese."""

    def finalize(value: Any) -> Any:
        if isinstance(value, float) and not isinstance(value, bool):
            text = str(int(value)) if value.is_integer() else f"{value:.10g}"
            return text if lang == "en" else text.replace(".", ",")
        return value

    return finalize


_envs = {
    lang: SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, finalize=_reader_number(lang))
    for lang in ("vi", "en")
}
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def render_instructions(template: str | None, context: dict[str, Any], lang: str = "vi") -> Markup:
    if not template:
        return Markup("")
    try:
        text = _envs.get(lang, _envs["vi"]).from_string(template).render(**context)
    except TemplateError:
        text = template  # a broken template is shown as written rather than failing the page
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    html = []
    for paragraph in paragraphs:
        safe = str(escape(paragraph))
        safe = _BOLD.sub(r"<strong>\1</strong>", safe).replace("\n", "<br>")
        html.append(f"<p>{safe}</p>")
    return Markup("".join(html))
