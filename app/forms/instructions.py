"""Render a task's `instructionsForEndUser`: a sandboxed Jinja template over the task data, then
the little Markdown designers use (**bold**, blank-line paragraphs). Output is escaped HTML.

The template is the designer's and runs on every view of the task (page and API), for every assignee.
Jinja's sandbox stops attribute walks, not work: `{{ 'x' * 10**9 }}`, `{{ '%0999999999d'|format(1) }}` or
three nested `range(100000)` loops held a worker for minutes or took gigabytes. So a template may use
only what instructions need (names, attributes, items, `if`, one level of `for` over the data, tests and
a few filters that make nothing larger than their input): no call, no `*`, `**` or `%`, no macro,
include or nested loop. Any other template is shown as written, like one that does not parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
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

_ALLOWED_NODES = frozenset(
    {
        nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr,
        nodes.Getitem, nodes.Slice, nodes.If, nodes.CondExpr, nodes.Not, nodes.And, nodes.Or, nodes.Compare,
        nodes.Operand, nodes.Filter, nodes.Test, nodes.Concat, nodes.Add, nodes.Sub, nodes.Div,
        nodes.FloorDiv, nodes.Neg, nodes.Pos, nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair, nodes.Keyword,
        nodes.For, nodes.Assign,
    }
)  # fmt: skip
# filters whose result is no larger than their input (a width, a format or a filter name is no argument here)
_ALLOWED_FILTERS = frozenset(
    {
        "default", "d", "upper", "lower", "title", "capitalize", "trim", "round", "int", "float", "string",
        "length", "count", "first", "last", "join", "abs", "e", "escape", "truncate", "wordcount",
        "striptags", "sum", "list", "sort", "reverse", "unique", "min", "max", "dictsort", "items",
    }
)  # fmt: skip


class RefusedTemplate(TemplateError):
    pass


def check_template(tree: nodes.Template) -> None:
    """Refuse (RefusedTemplate) a construct the instructions have no use for and that makes work
    without bound; see the module docstring."""
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, loops = stack.pop()
        if type(node) not in _ALLOWED_NODES:
            raise RefusedTemplate(f"{type(node).__name__} is not allowed in instructions")
        if isinstance(node, nodes.Filter) and node.name not in _ALLOWED_FILTERS:
            raise RefusedTemplate(f"the filter {node.name} is not allowed in instructions")
        if isinstance(node, nodes.For):
            if loops:
                raise RefusedTemplate("a loop inside a loop is not allowed in instructions")
            loops += 1
        stack.extend((child, loops) for child in node.iter_child_nodes())


def refusal(tree: nodes.Template) -> str | None:
    """Why `check_template` refuses a parsed template, or None (the designer's validation says it)."""
    try:
        check_template(tree)
    except RefusedTemplate as exc:
        return str(exc)
    return None


def render_instructions(template: str | None, context: dict[str, Any], lang: str = "vi") -> Markup:
    if not template:
        return Markup("")
    env = _envs.get(lang, _envs["vi"])
    try:
        check_template(env.parse(template))  # before from_string: its optimiser folds constants (`'x' * 10**9`)
        text = env.from_string(template).render(**context)
    except TemplateError:
        text = template  # a broken template is shown as written rather than failing the page
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    html = []
    for paragraph in paragraphs:
        safe = str(escape(paragraph))
        safe = _BOLD.sub(r"<strong>\1</strong>", safe).replace("\n", "<br>")
        html.append(f"<p>{safe}</p>")
    return Markup("".join(html))
