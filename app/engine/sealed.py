"""Callables handed to scripts that lead nowhere when walked attribute by attribute.

A Python function carries its module's globals (`f.__globals__`), and a builtin function carries
its module (`len.__self__` is `builtins`, whose loader's functions carry `importlib`'s globals,
which hold `sys`). A script that found any way to walk attributes without the sandbox's guard (as
`str.format` does: "{0.__globals__[sys]}") would reach every module of the server from there. So a
script never receives the app's functions themselves, only a `Sealed` object:

- its class is made for it alone, with no `__dict__` and no instance attributes (`__slots__ = ()`);
- its `__call__` is a function compiled with empty globals and empty builtins, whose only closure
  cell holds a weak reference: following a weak reference takes a call, which no attribute walk can
  make, so the walk ends there.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable
from typing import Any


class _Target:
    """A strong holder for targets that cannot be weakly referenced (builtins, lambdas held nowhere
    else); the weak reference points at the holder, and `.f` is only read inside the call."""

    __slots__ = ("f", "__weakref__")

    def __init__(self, f: Callable[..., Any]):
        self.f = f


_KEEP: list[_Target] = []  # holders live as long as the process, like the functions they hold


def _template(ref: weakref.ref[_Target]) -> Callable[..., Any]:
    def __call__(self: object, *args: Any, **kwargs: Any) -> Any:
        target = ref()
        assert target is not None  # the holder is kept in _KEEP for the life of the process
        return target.f(*args, **kwargs)

    return __call__


def seal(function: Callable[..., Any], name: str | None = None) -> Any:
    """An object that calls `function` and exposes neither it nor any module."""
    name = name or str(getattr(function, "__name__", "helper"))
    holder = _Target(function)
    _KEEP.append(holder)
    template = _template(weakref.ref(holder))
    call = types.FunctionType(template.__code__, {"__builtins__": {}}, "__call__", None, template.__closure__)
    cls = type(
        name, (), {"__slots__": (), "__call__": call, "__module__": "script", "__repr__": _repr(name), "__doc__": None}
    )
    return cls()


def _repr(name: str) -> types.FunctionType:
    template = (lambda text: lambda self: text)(f"<helper {name}>")
    return types.FunctionType(template.__code__, {"__builtins__": {}}, "__repr__", None, template.__closure__)


def namespace(name: str, members: dict[str, Any]) -> Any:
    """A read-only bag of sealed callables and plain constants (`math.sqrt`, `string.digits`)."""
    # A sealed callable is an instance, not a function, so as a class attribute it does not bind.
    sealed = {k: (seal(v, k) if callable(v) else v) for k, v in members.items()}
    cls = type(name, (), {"__slots__": (), "__module__": "script", "__repr__": _repr(name), "__doc__": None, **sealed})
    return cls()
