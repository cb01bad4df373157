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
source: `range` is limited to RANGE_LIMIT items, and `**`, `<<` and `*` refuse operands whose
result would be enormous (a number with more than MAX_INT_BITS bits, a sequence longer than
MAX_SEQUENCE items).
"""
from __future__ import annotations

import ast
import copy
import math
import operator
import threading
import time
import types
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence,
                                     guarded_unpack_sequence, safe_builtins)
from RestrictedPython.transformer import RestrictingNodeTransformer
from RestrictedPython.Utilities import utility_builtins
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .helpers import SCRIPT_HELPERS


class ScriptRefused(Exception):
    """A script or expression that RestrictedPython will not compile."""


class ScriptTimeout(Exception):
    """A script ran longer than SCRIPT_TIME_LIMIT seconds (or SCRIPT_MAX_STEPS loop steps)."""


SCRIPT_TIME_LIMIT = 2.0        # seconds for one script or expression
SCRIPT_MAX_STEPS = 2_000_000   # loop iterations + calls of script-defined functions
RANGE_LIMIT = 100_000
MAX_INT_BITS = 100_000
MAX_SEQUENCE = 1_000_000

_budget = threading.local()


class _Budget:
    __slots__ = ("deadline", "steps")

    def __init__(self):
        self.deadline = time.monotonic() + SCRIPT_TIME_LIMIT
        self.steps = 0


def _tick() -> None:
    budget = getattr(_budget, "current", None)
    if budget is None:
        return
    budget.steps += 1
    if budget.steps > SCRIPT_MAX_STEPS:
        raise ScriptTimeout(f"the script ran more than {SCRIPT_MAX_STEPS} steps")
    if budget.steps & 0x3FF == 0 and time.monotonic() > budget.deadline:
        raise ScriptTimeout(f"the script ran longer than {SCRIPT_TIME_LIMIT:g} s")


class _limited:
    """Run one script or expression under a fresh budget (nested runs share the outer one)."""

    def __enter__(self):
        self.outer = getattr(_budget, "current", None)
        if self.outer is None:
            _budget.current = _Budget()
        return self

    def __exit__(self, *exc):
        if self.outer is None:
            _budget.current = None
        return False


def _guarded_iter(obj):
    for item in default_guarded_getiter(obj):
        _tick()
        yield item


def _limited_range(*args):
    r = range(*args)
    if len(r) > RANGE_LIMIT:
        raise ValueError(f"range() is limited to {RANGE_LIMIT} items in scripts")
    return r


def _too_big(value) -> bool:
    return isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE


def _guarded_binop(op: str, left, right):
    """`**`, `<<` and `*` with operands that could make one C call run (or allocate) for ever."""
    if op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * max(abs(left).bit_length() - 1, 1) > MAX_INT_BITS:
            raise ValueError("the result of ** would be too large")
    elif op == "<<" and isinstance(right, int) and right > MAX_INT_BITS:
        raise ValueError("the result of << would be too large")
    elif op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                raise ValueError("the result of * would be too large")
    result = _BINOPS[op](left, right)
    if _too_big(result):
        raise ValueError("the result would be too large")
    return result


_BINOPS = {"**": operator.pow, "<<": operator.lshift, "*": operator.mul}
_GUARDED_OPS = {ast.Pow: "**", ast.LShift: "<<", ast.Mult: "*"}


def _call(name: str, *args) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules plus: no import at all, a step counted in every loop and call of a
    script-defined function, guarded `**`/`<<`/`*`."""

    def visit_Import(self, node):
        self.error(node, "import is not allowed in scripts")
        return node

    visit_ImportFrom = visit_Import

    def _ticked(self, node):
        tick = ast.Expr(_call("_tick_"))
        ast.copy_location(tick, node.body[0] if node.body else node)
        ast.fix_missing_locations(tick)
        node.body.insert(0, tick)
        return node

    def visit_While(self, node):
        return self._ticked(super().visit_While(node))

    def visit_FunctionDef(self, node):
        return self._ticked(super().visit_FunctionDef(node))

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), node.body])
        node.body = ast.fix_missing_locations(ast.copy_location(body, node.body))
        return node

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        op = _GUARDED_OPS.get(type(node.op))
        if op is None:
            return node
        call = _call("_binop_", ast.Constant(op), node.left, node.right)
        return ast.fix_missing_locations(ast.copy_location(call, node))


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift}


def _inplacevar(op, x, y):
    if op[:-1] in _BINOPS:
        return _guarded_binop(op[:-1], x, y)
    return _INPLACE[op](x, y)


def _safe_getattr(obj, name, default=None, *args):
    if name.startswith("_"):
        raise AttributeError(f"access to {name!r} is not allowed in scripts")
    return getattr(obj, name, default) if args or default is not None else getattr(obj, name)


_BUILTINS = dict(safe_builtins)
_BUILTINS.update({k: v for k, v in utility_builtins.items() if k in ("math", "random", "string")})
_BUILTINS.update({"min": min, "max": max, "sum": sum, "sorted": sorted, "any": any, "all": all,
                  "enumerate": enumerate, "list": list, "dict": dict, "map": map, "filter": filter,
                  "reversed": reversed})
for _dangerous in ("__import__", "open", "eval", "exec", "compile", "getattr", "setattr", "delattr"):
    _BUILTINS.pop(_dangerous, None)
_BUILTINS["range"] = _limited_range
_BUILTINS["pow"] = lambda base, exp, *mod: pow(base, exp, *mod) if mod else _guarded_binop("**", base, exp)
# math without the functions whose one C call can run for minutes (factorial(10**7), comb, perm)
_BUILTINS["math"] = types.SimpleNamespace(**{n: getattr(math, n) for n in dir(math)
                                            if not n.startswith("_") and n not in ("factorial", "comb", "perm")})

_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _safe_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": _guarded_iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": None,
    "_tick_": _tick,
    "_binop_": _guarded_binop,
}


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str):
    result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(source, "<bpmn>", policy=_Policy)
    if result.errors:
        raise ScriptRefused("; ".join(result.errors))
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


class RestrictedEnvironment(TaskDataEnvironment):
    def evaluate(self, expression, context, external_context=None):
        scope = dict(_GUARDS)
        scope.update(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        code = _compile(expression, "eval")
        with _limited():
            return eval(code, scope)

    def execute(self, script, context, external_context=None):
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


SCRIPT_ENGINE = PythonScriptEngine(environment=RestrictedEnvironment(dict(SCRIPT_HELPERS)))


def attach(workflow) -> None:
    workflow.script_engine = SCRIPT_ENGINE
    for sub in workflow.subprocesses.values():
        sub.script_engine = SCRIPT_ENGINE
