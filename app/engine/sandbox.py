"""The restricted script environment every workflow runs with.

SpiffWorkflow's default environment lets a BPMN script import os and open files, and the
script engine is not serialized, so `attach()` must be called after every load (runtime.py
does). Scripts, conditions, timer and DMN expressions are compiled with RestrictedPython:
no import, no open/eval/exec, no dunder attribute access.

Time limit: a thread cannot be interrupted from outside in CPython (a signal alarm only works in
the main thread, and web requests and the worker run scripts elsewhere), so the compiler inserts
the check into the code instead. Every loop iteration (`for`, `while`, comprehensions) and every
call of a function a script defines counts a step, and a script that runs longer than
SCRIPT_TIME_LIMIT seconds or more than SCRIPT_MAX_STEPS steps raises ScriptTimeout. Work done in
one C call cannot be cut short, so what could make one C call run for ever is bounded at the
source: `range` is limited to RANGE_LIMIT items; `**`, `<<`, `*`, `+` and `%`, the string methods
that pad, join or replace, and f-string format specs refuse operands whose result would be enormous
(a number with more than MAX_INT_BITS bits, a sequence or text longer than MAX_SEQUENCE items).

What a script can reach: `str.format` and `format_map` walk attributes and items by themselves
("{0.__globals__[sys]}"), so they are refused for every object, as is every attribute that leads
to frames, code objects, globals or modules (names starting with "_", the frame/code/generator/
traceback attributes), and any attribute or item whose value is a module, frame, code object,
traceback, cell or Python function. The helpers, `math`, `random`, `string` and every builtin
function are handed over sealed (sealed.py): no attribute walk from them reaches a module. A refusal
says only that access was refused (SandboxViolation), never what was asked for.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import random
import resource
import string
import re
import threading
import time
import types
import functools
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from . import sealed
from .helpers import SCRIPT_HELPERS


class ScriptRefused(Exception):
    """A script or expression that RestrictedPython will not compile."""


class SandboxViolation(Exception):
    """A script asked for something the sandbox never hands out (the text says no more than that)."""

    def __init__(self) -> None:
        super().__init__("access refused by the script sandbox")


class ScriptTimeout(Exception):
    """A script ran longer than SCRIPT_TIME_LIMIT seconds (or SCRIPT_MAX_STEPS loop steps)."""


SCRIPT_TIME_LIMIT = 2.0  # seconds for one script or expression
# growth of the process's peak memory while one script runs (many steps can each allocate what the
# size guards allow: 2,000,000 distinct megabyte texts would take the server down)
SCRIPT_MAX_MEMORY_KB = 256 * 1024
SCRIPT_MAX_STEPS = 2_000_000  # loop iterations + calls of script-defined functions
RANGE_LIMIT = 100_000
MAX_INT_BITS = 100_000
MAX_SEQUENCE = 1_000_000

_budget = threading.local()


class ScriptTooLarge(ScriptTimeout):
    """A script made the process's peak memory grow by more than SCRIPT_MAX_MEMORY_KB."""


def _peak_kb() -> int:
    # the peak, not the current size: one cheap system call, and a script can use no more than the
    # process already used once plus the budget
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _Budget:
    __slots__ = ("deadline", "steps", "peak")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + SCRIPT_TIME_LIMIT
        self.steps = 0
        self.peak = _peak_kb()


def _tick() -> None:
    budget = getattr(_budget, "current", None)
    if budget is None:
        return
    budget.steps += 1
    if budget.steps > SCRIPT_MAX_STEPS:
        raise ScriptTimeout(f"the script ran more than {SCRIPT_MAX_STEPS} steps")
    if budget.steps & 0x3F == 0:
        if _peak_kb() - budget.peak > SCRIPT_MAX_MEMORY_KB:
            raise ScriptTooLarge("the script used too much memory")
        if budget.steps & 0x3FF == 0 and time.monotonic() > budget.deadline:
            raise ScriptTimeout(f"the script ran longer than {SCRIPT_TIME_LIMIT:g} s")


class _limited:
    """Run one script or expression under a fresh budget (nested runs share the outer one)."""

    def __enter__(self) -> _limited:
        self.outer = getattr(_budget, "current", None)
        if self.outer is None:
            _budget.current = _Budget()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.outer is None:
            _budget.current = None


def _guarded_iter(obj: Any) -> Iterator[Any]:
    for item in default_guarded_getiter(obj):
        _tick()
        yield item


def _limited_range(*args: int) -> range:
    r = range(*args)
    if len(r) > RANGE_LIMIT:
        raise ValueError(f"range() is limited to {RANGE_LIMIT} items in scripts")
    return r


def _too_big(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE


_SEQUENCES = (str, bytes, list, tuple)
# a width or precision of 7+ digits, or one taken from the arguments (`*`), in a %-format
_HUGE_PERCENT = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d{7,})|%(\([^)]*\))?[-#0 +]*\d*\.(\*|\d{7,})")
_HUGE_SPEC = re.compile(r"\d{7,}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _guarded_binop(op: str, left: Any, right: Any) -> Any:
    """`**`, `<<`, `*`, `+` and `%` with operands that could make one C call run (or allocate) for ever."""
    if op == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        if right * max(abs(left).bit_length() - 1, 1) > MAX_INT_BITS:
            raise ValueError("the result of ** would be too large")
    elif op == "<<" and _is_int(right) and right > MAX_INT_BITS:
        raise ValueError("the result of << would be too large")
    elif op == "*":
        if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ValueError("the result of * would be too large")
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and _is_int(n) and len(seq) * n > MAX_SEQUENCE:
                raise ValueError("the result of * would be too large")
    elif op == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) and len(left) + len(right) > MAX_SEQUENCE:
            raise ValueError("the result of + would be too large")
    elif op == "%" and isinstance(left, (str, bytes)):
        pattern = left if isinstance(left, str) else left.decode("latin-1")
        if _HUGE_PERCENT.search(pattern):
            raise ValueError("the width or precision of a % format is too large")
        _check_text_size(right)
    result = _BINOPS[op](left, right)
    if _too_big(result):
        raise ValueError("the result would be too large")
    return result


_BINOPS = {"**": operator.pow, "<<": operator.lshift, "*": operator.mul, "+": operator.add, "%": operator.mod}
_GUARDED_OPS = {ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*", ast.Add: "+", ast.Mod: "%"}


def _text_size(value: Any, limit: int) -> int:
    """Roughly how many characters str()/repr() of `value` makes, counted only up to `limit`."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        total = 2
        for item in value:
            total += 2 + _text_size(item, limit - total)
            if total > limit:
                break
        return total
    if _is_int(value):
        return int(value.bit_length()) // 3 + 1
    return 32


def _check_text_size(value: Any) -> None:
    if _text_size(value, MAX_SEQUENCE) > MAX_SEQUENCE:
        raise ValueError("the text would be too large")


def _format_value(value: Any, conversion: int, spec: str) -> str:
    """One f-string field: `f"{x!r:>{n}}"`. The spec cannot walk attributes (only `str.format` can),
    but a width of 10**10 allocates gigabytes in one C call."""
    if not isinstance(spec, str) or _HUGE_SPEC.search(spec):
        raise ValueError("the width or precision of an f-string field is too large")
    _check_text_size(value)
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    return format(value, spec)


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules plus: no import at all, a step counted in every loop and call of a
    script-defined function, guarded `**`/`<<`/`*`."""

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        self.error(node, "import is not allowed in scripts")
        return node

    visit_ImportFrom = visit_Import

    def _ticked(self, node: ast.While | ast.FunctionDef) -> ast.AST:
        tick = ast.Expr(_call("_tick_"))
        ast.copy_location(tick, node.body[0] if node.body else node)
        ast.fix_missing_locations(tick)
        node.body.insert(0, tick)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        visited = super().visit_While(node)
        assert isinstance(visited, ast.While)  # RestrictedPython hands back the node it visited
        return self._ticked(visited)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        visited = super().visit_FunctionDef(node)
        assert isinstance(visited, ast.FunctionDef)
        return self._ticked(visited)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        visited = super().visit_Lambda(node)
        assert isinstance(visited, ast.Lambda)
        body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), visited.body])
        visited.body = ast.fix_missing_locations(ast.copy_location(body, visited.body))
        return visited

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = _call("_format_", node.value, ast.Constant(node.conversion), spec)
        ast.copy_location(call, node)
        return ast.fix_missing_locations(ast.copy_location(ast.FormattedValue(call, -1, None), node))

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        visited = super().visit_BinOp(node)
        assert isinstance(visited, ast.BinOp)
        op = _GUARDED_OPS.get(type(visited.op))
        if op is None:
            return visited
        call = _call("_binop_", ast.Constant(op), visited.left, visited.right)
        return ast.fix_missing_locations(ast.copy_location(call, node))


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op[:-1] in _BINOPS:
        return _guarded_binop(op[:-1], x, y)
    return _INPLACE[op](x, y)


# Attributes that lead to frames, code, globals or a formatter that walks attributes by itself.
_REFUSED_NAMES = frozenset(
    {
        "format",
        "format_map",
        "Formatter",
        "vformat",
        "get_field",
        "mro",
        "cell_contents",
        "func_globals",
        "func_code",
        "func_closure",
        "im_func",
        "im_self",
    }
)
_REFUSED_PREFIXES = ("_", "co_", "f_", "tb_", "gi_", "cr_", "ag_")
# What no attribute or item a script reads may be, wherever it came from.
_REFUSED_VALUES = (
    types.ModuleType,
    types.FrameType,
    types.CodeType,
    types.TracebackType,
    types.CellType,
    types.FunctionType,
    types.MethodType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    types.MappingProxyType,
)


def _refused_name(name: object) -> bool:
    return not isinstance(name, str) or name in _REFUSED_NAMES or name.startswith(_REFUSED_PREFIXES)


def _checked(value: Any) -> Any:
    if isinstance(value, _REFUSED_VALUES) or isinstance(value, type) and not _allowed_type(value):
        raise SandboxViolation()
    return value


def _allowed_type(cls: type) -> bool:
    return cls in _BUILTIN_TYPES


def _width_check(width: Any, *rest: Any, **kwargs: Any) -> None:
    if _is_int(width) and width > MAX_SEQUENCE:
        raise ValueError("the result would be too large")


def _guarded_method(name: str, method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a method of a text, list or int whose one C call could allocate without bound, after
    checking the size of what it would make."""
    obj = method.__self__
    if name in ("ljust", "rjust", "center", "zfill", "to_bytes"):
        _width_check(*args, **kwargs)
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        _width_check(len(obj) * tabsize if _is_int(tabsize) else 0)
    elif name == "join":
        items = list(_guarded_iter(args[0])) if args else []
        _width_check(sum(len(i) if isinstance(i, (str, bytes)) else 0 for i in items) + len(obj) * len(items))
        args = (items,)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], type(obj)) and isinstance(args[1], type(obj)):
        _width_check(len(obj) + obj.count(args[0]) * max(len(args[1]) - len(args[0]), 0))
    elif name == "translate" and args and isinstance(args[0], dict):
        _width_check(len(obj) * max([len(v) for v in args[0].values() if isinstance(v, (str, bytes))] or [1]))
    elif name == "extend" and args and hasattr(args[0], "__len__"):
        _width_check(len(obj) + len(args[0]))
    return method(*args, **kwargs)


def _guarded_unbound(name: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
    """`str.join(sep, items)`: the method taken from the type, called with its object first."""
    return _guarded_method(name, getattr(obj, name), *args, **kwargs)


_GUARDED_METHOD = sealed.seal(_guarded_method, "method")
_GUARDED_UNBOUND = sealed.seal(_guarded_unbound, "method")
_TEXT_METHODS = {"ljust", "rjust", "center", "zfill", "expandtabs", "join", "replace", "translate"}
_SIZE_CHECKED = ((str, _TEXT_METHODS), (bytes, _TEXT_METHODS), (list, {"extend"}), (int, {"to_bytes"}))


def _size_checked_method(obj: Any, name: str, method: Any) -> Any:
    # a partial of a sealed function: walking it reaches the method's own object, nothing else
    for kind, names in _SIZE_CHECKED:
        if name in names:
            if isinstance(obj, kind):
                return functools.partial(_GUARDED_METHOD, name, method)
            if isinstance(obj, type) and issubclass(obj, kind):
                return functools.partial(_GUARDED_UNBOUND, name)
    return method


def _safe_getattr(obj: Any, name: str, default: Any = None, *args: Any) -> Any:
    """RestrictedPython's `_getattr_` (`x.name` in a script)."""
    if _refused_name(name):
        raise SandboxViolation()
    value = getattr(obj, name, default) if args or default is not None else getattr(obj, name)
    return _checked(_size_checked_method(obj, name, value))


def _safe_getitem(obj: Any, key: Any) -> Any:
    """RestrictedPython's `_getitem_` (`x[key]` in a script)."""
    if isinstance(key, str) and key.startswith("__"):
        raise SandboxViolation()
    return _checked(obj[key])


_BUILTINS = dict(safe_builtins)
_BUILTINS.update(
    {
        "min": min,
        "max": max,
        "sum": sum,
        "sorted": sorted,
        "any": any,
        "all": all,
        "enumerate": enumerate,
        "list": list,
        "dict": dict,
        "map": map,
        "filter": filter,
        "reversed": reversed,
    }
)
# Absent, so a script naming them fails with NameError (validation reports them first): the ones that
# import, open, run code or reach frames and namespaces, and `bytes(10**10)`.
ABSENT_BUILTINS = (
    "__import__",
    "__build_class__",
    "_getattr_",
    "open",
    "eval",
    "exec",
    "compile",
    "getattr",
    "setattr",
    "delattr",
    "vars",
    "dir",
    "type",
    "globals",
    "locals",
    "breakpoint",
    "help",
    "input",
    "print",
    "memoryview",
    "bytearray",
    "bytes",
    "super",
    "object",
    "classmethod",
    "staticmethod",
    "property",
    "iter",
    "next",
    "format",
    "exit",
    "quit",
)
for _dangerous in ABSENT_BUILTINS:
    _BUILTINS.pop(_dangerous, None)
_BUILTINS["range"] = _limited_range
_BUILTINS["pow"] = lambda base, exp, *mod: pow(base, exp, *mod) if mod else _guarded_binop("**", base, exp)


def _repr(value: Any) -> str:
    _check_text_size(value)
    return repr(value)


_BUILTINS["repr"] = _repr
# math without the functions whose one C call can run for minutes (factorial(10**7), comb, perm,
# prod(range(1, 10**5)) takes 15 s, lcm of a long range as much)
_BUILTINS["math"] = sealed.namespace(
    "math",
    {
        n: getattr(math, n)
        for n in dir(math)
        if not n.startswith("_") and n not in ("factorial", "comb", "perm", "prod", "lcm")
    },
)
_BUILTINS["random"] = sealed.namespace(
    "random",
    {
        n: getattr(random, n)
        for n in ("random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform")
    },
)
_BUILTINS["string"] = sealed.namespace(
    "string",
    {
        n: getattr(string, n)
        for n in (
            "ascii_letters",
            "ascii_lowercase",
            "ascii_uppercase",
            "digits",
            "hexdigits",
            "octdigits",
            "punctuation",
            "printable",
            "whitespace",
            "capwords",
        )
    },
)
_BUILTIN_TYPES = frozenset(v for v in _BUILTINS.values() if isinstance(v, type))
# Every builtin function (their `__self__` is the builtins module) and our own lambdas, sealed.
for _name, _value in list(_BUILTINS.items()):
    if isinstance(_value, (types.BuiltinFunctionType, types.FunctionType)):
        _BUILTINS[_name] = sealed.seal(_value, _name)

_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _safe_getattr,
    "_getitem_": _safe_getitem,
    "_getiter_": _guarded_iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": None,
    "_tick_": _tick,
    "_binop_": _guarded_binop,
    "_format_": _format_value,
}


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> types.CodeType:
    result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(source, "<bpmn>", policy=_Policy)
    if result.errors:
        raise ScriptRefused("; ".join(result.errors))
    assert result.code is not None  # compiled when there are no errors
    return result.code


def check(source: str, mode: str = "exec") -> list[str]:
    """Compile errors of a script or expression, for linting uploads ([] when fine)."""
    try:
        _compile(source, mode)
    except ScriptRefused as exc:
        return [str(exc)]
    except SyntaxError as exc:
        return [f"{exc.msg} (line {exc.lineno})"]
    return []


class RestrictedEnvironment(TaskDataEnvironment):  # type: ignore[misc]  # SpiffWorkflow is untyped
    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        scope = dict(_GUARDS)
        scope.update(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        code = _compile(expression, "eval")
        with _limited():
            return eval(code, scope)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = _compile(script, "exec")
        context.update(copy.copy(self.globals))
        context.update(_GUARDS)
        context.update(external_context or {})
        try:
            with _limited():
                exec(code, context)
        finally:
            for name in list(_GUARDS):
                context.pop(name, None)
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


SCRIPT_ENGINE = PythonScriptEngine(
    environment=RestrictedEnvironment({name: sealed.seal(function, name) for name, function in SCRIPT_HELPERS.items()})
)


def attach(workflow: BpmnWorkflow) -> None:
    workflow.script_engine = SCRIPT_ENGINE
    for sub in workflow.subprocesses.values():
        sub.script_engine = SCRIPT_ENGINE
