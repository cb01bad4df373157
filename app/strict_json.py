"""The one JSON parser for what comes from outside (request bodies, form files).

The standard `json.loads` accepts `NaN`, `Infinity` and `-Infinity`, turns `1e999` into infinity, and
recurses once per level of nesting (50,000 nested arrays raise RecursionError, which nobody expects
from a parser). None of these is data this application can use, and each one broke something further
in (jsonschema's `multipleOf` raises OverflowError on infinity). So before anything else looks at a
document:

1. the raw text is scanned, without recursion, for its nesting depth; deeper than MAX_DEPTH is
   refused before `json.loads` sees it;
2. `json.loads` then refuses the three constants, floats that overflow to infinity and integers too
   large to be a float, naming where in the document they are (a JSON Pointer such as `/data/bonus`);
3. a string (or key) holding a lone surrogate (`"\\ud800"` is valid JSON, but no UTF-8 text) is
   refused with its place: it reached the database driver, which cannot encode it (a 500 on every
   endpoint that stores text).

Refusals raise `Refused`, a ValueError carrying a Vietnamese and an English message and the list of
places; callers turn it into a 400 (the API) or a form error."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 64

# Strings are matched whole, so brackets inside them do not count. Where this scan and the real
# parser could disagree (a string with a raw control character, an unterminated string), the parser
# stops with an error at that very place, after the brackets both have seen.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class Refused(ValueError):
    def __init__(self, message: str, message_en: str, places: list[str] | None = None):
        super().__init__(message_en)
        self.message, self.message_en, self.places = message, message_en, places or []

    def details(self) -> list[dict]:
        return [
            {"field": place, "message": f"{place}: {self.message}", "message_en": f"{place}: {self.message_en}"}
            for place in self.places
        ]


class _BadNumber:
    """Stands where a refused number was, until the whole document is read and its place is known."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (0 for a scalar), without recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text)


def _int(text: str) -> Any:
    try:
        value = int(text)
        float(value)  # jsonschema and the rules compute in floats
    except (OverflowError, ValueError):  # ValueError: more digits than int() accepts
        return _BadNumber(text[:20])
    return value


def _place(path: list) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path) if path else "/"


_SURROGATE = re.compile("[\ud800-\udfff]")
# where a lone surrogate can come from: an escape (`\ud800`, any case) or raw bytes decoded with surrogatepass
_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def _find_bad(value: Any, strings: bool = False) -> list[str]:
    """JSON Pointers of every refused number (or, with `strings`, of every string or key holding a lone
    surrogate), walking the parsed document iteratively."""
    found, stack = [], [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _BadNumber) or (strings and isinstance(node, str) and _SURROGATE.search(node)):
            found.append(_place(path))
        elif isinstance(node, dict):
            for k, v in node.items():
                if strings and _SURROGATE.search(k):
                    found.append(_place(path + [k.encode("utf-8", "backslashreplace").decode()]))
                stack.append((v, path + [k]))
        elif isinstance(node, list):
            stack.extend((v, path + [i]) for i, v in enumerate(node))
    return sorted(found)


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **kwargs) -> Any:
    """`json.loads` for untrusted text; see the module docstring. Other keyword arguments go to json.loads."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    if depth(text) > max_depth:
        raise Refused(
            f"Dữ liệu JSON lồng nhau quá sâu (tối đa {max_depth} cấp).",
            f"The JSON is nested too deeply (at most {max_depth} levels).",
        )

    refused: list[_BadNumber] = []

    def note(number: Any) -> Any:
        if isinstance(number, _BadNumber):
            refused.append(number)
        return number

    value = json.loads(
        text,
        parse_constant=lambda name: note(_BadNumber(name)),
        parse_float=lambda t: note(_float(t)),
        parse_int=lambda t: note(_int(t)),
        **kwargs,
    )
    if refused:
        places = _find_bad(value) or ["/"]
        raise Refused(
            "Số không hợp lệ (NaN, Infinity hoặc vượt quá giới hạn của số thực).",
            "Not a valid number (NaN, Infinity, or too large for a floating-point number).",
            places,
        )
    if _MAY_HOLD_SURROGATE.search(text):  # a valid pair (an emoji) is one character after json.loads
        places = _find_bad(value, strings=True)
        if places:
            raise Refused(
                "Văn bản chứa ký tự không hợp lệ (nửa cặp surrogate UTF-16).",
                "The text contains an invalid character (a lone UTF-16 surrogate).",
                [p.encode("utf-8", "backslashreplace").decode() for p in places],
            )
    return value
