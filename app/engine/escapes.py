"""Read a script's syntax tree for the ways out of the sandbox, so that the designer sees them on the
element before anything runs.

RestrictedPython's compiler already refuses imports and names or attributes starting with "_". It
does not see what runs later: a format string that walks attributes by itself, a builtin the sandbox
leaves out, a constant that is gigabytes large, a loop that never ends. The run-time guards in
sandbox.py refuse all of these again; this module only makes the refusal visible at validation.
Each problem is a (Vietnamese, English) pair of texts.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterator
from typing import Any

from . import sandbox

# Names a script might reach for and never gets (sandbox.ABSENT_BUILTINS) or a formatter class.
_ABSENT = frozenset(sandbox.ABSENT_BUILTINS) | {
    "Formatter",
    "Template",
    "sys",
    "os",
    "builtins",
    "importlib",
    "__builtins__",
    "__loader__",
    "__spec__",
}
# Inside a text: a dunder name or an attribute of frames, code, generators or tracebacks, which a
# format string ("{0.__globals__}") or a %-mapping would look up.
_TEXT = re.compile(
    r"__\w+__|\b(?:gi|cr|ag)_(?:frame|code|await|yieldfrom)\b|\bf_(?:globals|locals|back|builtins|code)\b"
    r"|\btb_(?:frame|next)\b|\bco_\w+\b|\bfunc_(?:globals|code|closure)\b"
)
_NAMESPACES = {"math", "random", "string"}
_FOLDED = {ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*", ast.Add: "+", ast.Mod: "%"}
_PLAIN = {
    ast.Sub: operator.sub,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
}
_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill", "to_bytes", "expandtabs"}


class _TooBig(Exception):
    pass


class _Unknown(Exception):
    pass


def problems(source: str, mode: str = "exec") -> list[tuple[str, str]]:
    """[(vi, en)] for every way out of the sandbox `source` tries ([] when none, or when it does not
    parse: the compiler reports that)."""
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except (SyntaxError, ValueError):
        return []
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assigned |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    out: list[tuple[str, str]] = []

    def add(vi: str, en: str) -> None:
        if (vi, en) not in out:
            out.append((vi, en))

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if sandbox._refused_name(node.attr):
                add(
                    f"dùng thuộc tính “{node.attr}”, bị cấm trong mã lệnh (nó dẫn tới dữ liệu của máy chủ)",
                    f"uses the attribute “{node.attr}”, which scripts may not use (it leads to the server's data)",
                )
            elif (
                isinstance(node.value, ast.Name)
                and node.value.id in _NAMESPACES
                and node.value.id not in assigned
                and not hasattr(sandbox._BUILTINS[node.value.id], node.attr)
            ):
                add(
                    f"dùng “{node.value.id}.{node.attr}”, không có trong mã lệnh",
                    f"uses “{node.value.id}.{node.attr}”, which scripts do not have",
                )
        elif (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in _ABSENT
            and node.id not in assigned
        ):
            add(f"dùng “{node.id}”, không có trong mã lệnh", f"uses “{node.id}”, which scripts do not have")
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            found = _TEXT.search(text)
            if found:
                add(
                    f"có chuỗi chứa “{found.group(0)}”: chuỗi định dạng có thể dùng nó để đọc dữ liệu của máy chủ",
                    f"has a text containing “{found.group(0)}”: a format string could use it to read the server's data",
                )
        elif isinstance(node, ast.ClassDef):
            add("định nghĩa lớp (class), không có trong mã lệnh", "defines a class, which scripts cannot do")
        elif isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            add("dùng async/await, không có trong mã lệnh", "uses async/await, which scripts cannot do")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            add("nhập mô-đun (import), bị cấm trong mã lệnh", "imports a module, which scripts may not do")
        elif isinstance(node, ast.While) and _endless(node):
            add("có vòng lặp “while” không bao giờ dừng", "has a “while” loop that never ends")
        elif isinstance(node, ast.FunctionDef) and _calls_itself(node):
            add(
                f"hàm “{node.name}” tự gọi lại chính nó (đệ quy), không được dùng trong mã lệnh",
                f"the function “{node.name}” calls itself (recursion), which scripts may not do",
            )
        elif isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(str(v.value) for v in node.format_spec.values if isinstance(v, ast.Constant))
            if sandbox._HUGE_SPEC.search(spec):
                add("có trường f-string với độ rộng quá lớn", "has an f-string field whose width is too large")
        if isinstance(node, (ast.BinOp, ast.Call)):
            try:
                _fold(node)
            except _TooBig:
                add(
                    "tạo ra một giá trị quá lớn (số, chuỗi hoặc danh sách)",
                    "makes a value that is too large (a number, text or list)",
                )
            except (_Unknown, Exception):
                pass
    return out


def _fold(node: ast.AST) -> Any:
    """The value of a constant expression, computed with the sandbox's own size guards."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_fold(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_fold(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left), _fold(node.right)
        if type(node.op) in _FOLDED:
            try:
                return sandbox._guarded_binop(_FOLDED[type(node.op)], left, right)
            except ValueError as exc:
                if "too large" in str(exc):
                    raise _TooBig() from None
                raise _Unknown() from None
        if type(node.op) in _PLAIN:
            return _PLAIN[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        args = [_fold(a) for a in node.args]
        func = node.func
        if isinstance(func, ast.Name) and func.id == "range":
            if len(range(*args)) > sandbox.RANGE_LIMIT:
                raise _TooBig()
        elif isinstance(func, ast.Name) and func.id == "pow" and len(args) == 2:
            try:
                return sandbox._guarded_binop("**", *args)
            except ValueError:
                raise _TooBig() from None
        elif isinstance(func, ast.Attribute) and func.attr in _WIDTH_METHODS and args:
            width = args[0] * (len(_fold(func.value)) if func.attr == "expandtabs" else 1)
            if isinstance(width, int) and width > sandbox.MAX_SEQUENCE:
                raise _TooBig()
        raise _Unknown()
    raise _Unknown()


def _endless(loop: ast.While) -> bool:
    try:
        forever = bool(ast.literal_eval(loop.test))
    except (ValueError, TypeError, SyntaxError):
        return False
    return forever and not any(isinstance(n, (ast.Break, ast.Return, ast.Raise)) for n in _own_nodes(loop.body))


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of a loop body, not descending into inner loops or functions (their `break` is theirs)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _calls_itself(func: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == func.name for n in ast.walk(func)
    )
