"""The restricted script environment every workflow runs with.

SpiffWorkflow's default environment lets a BPMN script import os and open files, and the
script engine is not serialized, so `attach()` must be called after every load (runtime.py
does). Scripts, conditions, timer and DMN expressions are compiled with RestrictedPython:
no import, no open/eval/exec, no dunder attribute access.
"""
from __future__ import annotations

import copy
import operator
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence,
                                     guarded_unpack_sequence, safe_builtins)
from RestrictedPython.Utilities import utility_builtins
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .helpers import SCRIPT_HELPERS


class ScriptRefused(Exception):
    """A script or expression that RestrictedPython will not compile."""


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow}


def _inplacevar(op, x, y):
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

_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _safe_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": None,
}


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str):
    result = (compile_restricted_eval if mode == "eval" else compile_restricted_exec)(source, "<bpmn>")
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
        return eval(_compile(expression, "eval"), scope)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = _compile(script, "exec")
        context.update(copy.copy(self.globals))
        context.update(_GUARDS)
        context.update(external_context or {})
        try:
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
