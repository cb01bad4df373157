"""Render a task's `instructionsForEndUser`: a sandboxed Jinja template over the task data, then
the little Markdown designers use (**bold**, blank-line paragraphs). Output is escaped HTML."""
from __future__ import annotations

import re
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

_env = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def render_instructions(template: str | None, context: dict[str, Any]) -> Markup:
    if not template:
        return Markup("")
    try:
        text = _env.from_string(template).render(**context)
    except TemplateError:
        text = template  # a broken template is shown as written rather than failing the page
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    html = []
    for paragraph in paragraphs:
        safe = str(escape(paragraph))
        safe = _BOLD.sub(r"<strong>\1</strong>", safe).replace("\n", "<br>")
        html.append(f"<p>{safe}</p>")
    return Markup("".join(html))
