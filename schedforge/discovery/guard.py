"""What candidate code may touch, and a check that it touched nothing shared.

Candidate code never sees the real ``numpy`` and ``math`` modules. Its
globals (:func:`candidate_globals`) hold a fresh, read-only module object
per candidate for each, carrying only the allow-listed names (bound to the
objects of the real modules as they were when this module was imported), and
a fresh dictionary of safe built-ins. numba compiles such a module object
like the real one, so the same globals serve both engines.

The static allow-list (:mod:`schedforge.discovery.sandbox`) already rejects
every store into anything but a local array, so a candidate has no way to
reach shared objects. :class:`SharedState` is the second line: a snapshot of
everything a process shares with candidate code (the attributes of
``numpy``, ``math`` and ``builtins``, and the code, defaults and attribute
dictionary of every function exposed to candidates), compared after each
candidate. The sandbox worker exits when it changed (the parent starts a
fresh one); the host process, which runs exported heuristics, restores it.
"""

from __future__ import annotations

import builtins
import math
import operator
import types
from typing import Any

import numpy as np

ALLOWED_NUMPY = frozenset(
    [
        "abs",
        "absolute",
        "add",
        "arange",
        "argmax",
        "argmin",
        "argsort",
        "ceil",
        "clip",
        "cos",
        "cosh",
        "cumsum",
        "divide",
        "e",
        "exp",
        "exp2",
        "expm1",
        "floor",
        "fmax",
        "fmin",
        "full",
        "full_like",
        "hypot",
        "inf",
        "isfinite",
        "isnan",
        "log",
        "log10",
        "log1p",
        "log2",
        "max",
        "maximum",
        "mean",
        "median",
        "min",
        "minimum",
        "multiply",
        "nan",
        "nan_to_num",
        "negative",
        "ones",
        "ones_like",
        "pi",
        "power",
        "prod",
        "reciprocal",
        "rint",
        "round",
        "sign",
        "sin",
        "sinh",
        "sort",
        "sqrt",
        "square",
        "std",
        "subtract",
        "sum",
        "tan",
        "tanh",
        "var",
        "where",
        "zeros",
        "zeros_like",
        "float64",
        "int64",
        "empty",
        "empty_like",
    ]
)
ALLOWED_MATH = frozenset(
    [
        "ceil",
        "cos",
        "cosh",
        "e",
        "exp",
        "expm1",
        "fabs",
        "floor",
        "hypot",
        "inf",
        "isfinite",
        "isnan",
        "log",
        "log10",
        "log1p",
        "log2",
        "pi",
        "pow",
        "sin",
        "sinh",
        "sqrt",
        "tan",
        "tanh",
    ]
)
#: Attributes allowed on arrays (methods and properties without side effects outside the array).
ARRAY_ATTRS = frozenset(
    [
        "argmax",
        "argmin",
        "argsort",
        "copy",
        "cumsum",
        "max",
        "mean",
        "min",
        "prod",
        "shape",
        "size",
        "std",
        "sum",
        "var",
    ]
)
#: Built-ins a candidate may call (the objects as they were at import).
SAFE_BUILTINS: dict[str, Any] = {
    "abs": abs,
    "bool": bool,
    "enumerate": enumerate,
    "float": float,
    "int": int,
    "len": len,
    "max": max,
    "min": min,
    "range": range,
    "round": round,
    "sum": sum,
    "zip": zip,
}

# The allowed objects, taken once: a module patched later in this process
# does not reach candidates.
_NUMPY_MEMBERS = {name: getattr(np, name) for name in sorted(ALLOWED_NUMPY)}
_MATH_MEMBERS = {name: getattr(math, name) for name in sorted(ALLOWED_MATH)}


class ReadOnlyModule(types.ModuleType):
    """A module object whose attributes cannot be set or deleted."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__name__} is read-only")


def _readonly(name: str, members: dict[str, Any]) -> ReadOnlyModule:
    module = ReadOnlyModule(name)
    vars(module).update(members)  # bypasses __setattr__, once, here only
    return module


def _warm_array_methods() -> None:
    """Call the array methods once from ordinary code.

    ``a.max()`` and its kind import ``numpy._core._methods`` on first use
    through the calling frame's built-ins, which in candidate code hold no
    ``__import__``; numpy caches the import, so one call here is enough.
    """
    probe = np.arange(1.0, 3.0)
    for name in sorted(ARRAY_ATTRS):
        member = getattr(probe, name)
        if callable(member):
            member()


_warm_array_methods()


def candidate_globals() -> dict[str, Any]:
    """Fresh globals for one candidate: read-only ``np`` and ``math``, safe built-ins."""
    return {
        "__builtins__": dict(SAFE_BUILTINS),
        "np": _readonly("np", _NUMPY_MEMBERS),
        "math": _readonly("math", _MATH_MEMBERS),
    }


def _benign_addition(module: types.ModuleType, name: str, value: Any) -> bool:
    """A submodule imported later (``numpy.linalg``) or the interpreter's ``_``."""
    if name == "_" and module is builtins:
        return True
    return isinstance(value, types.ModuleType) and value.__name__ == f"{module.__name__}.{name}"


_MISSING = object()
_FUNCTION_PARTS = ("__code__", "__defaults__", "__kwdefaults__", "__wrapped__")


class SharedState:
    """A snapshot of the state a process shares with candidate code.

    ``extra`` adds named byte strings to compare (the sandbox worker passes
    a digest of its instance data).
    """

    def __init__(self, extra: dict[str, bytes] | None = None):
        self.modules = {"np": np, "math": math, "builtins": builtins}
        self.attributes = {key: dict(vars(mod)) for key, mod in self.modules.items()}
        self.parts: dict[str, tuple[Any, str, Any]] = {}
        exposed = {
            **{f"np.{k}": v for k, v in _NUMPY_MEMBERS.items()},
            **{f"math.{k}": v for k, v in _MATH_MEMBERS.items()},
            **{f"builtins.{k}": v for k, v in SAFE_BUILTINS.items()},
        }
        for label, obj in exposed.items():
            for part in _FUNCTION_PARTS:
                if hasattr(obj, part):
                    self.parts[f"{label}.{part}"] = (obj, part, getattr(obj, part))
            if isinstance(getattr(obj, "__dict__", None), dict):
                self.parts[f"{label}.__dict__"] = (obj, "__dict__", dict(vars(obj)))
        self.extra = dict(extra or {})

    def changes(self, extra: dict[str, bytes] | None = None) -> list[str]:
        """Names of what changed since the snapshot (empty when nothing did)."""
        changed = []
        for key, module in self.modules.items():
            now = vars(module)
            before = self.attributes[key]
            if (
                len(now) == len(before)
                and all(map(operator.is_, now.values(), before.values()))
                and all(map(operator.eq, now.keys(), before.keys()))
            ):
                continue  # the common case, checked at C speed
            for name, value in before.items():
                if now.get(name, _MISSING) is not value:
                    changed.append(f"{key}.{name}")
            for name in now.keys() - before.keys():
                if not _benign_addition(module, name, now[name]):
                    changed.append(f"{key}.{name}")
        for label, (obj, part, value) in self.parts.items():
            if part == "__dict__":
                now = vars(obj)
                if now.keys() != value.keys() or any(now[k] is not value[k] for k in value):
                    changed.append(label)
            elif getattr(obj, part, None) is not value:
                changed.append(label)
        for name, digest in (extra or {}).items():
            if self.extra.get(name) != digest:
                changed.append(name)
        return sorted(changed)

    def restore(self) -> None:
        """Put every snapshotted attribute and function part back."""
        for key, module in self.modules.items():
            now = vars(module)
            before = self.attributes[key]
            for name in set(now) - set(before):
                del now[name]
            now.update(before)
        for obj, part, value in self.parts.values():
            if part == "__dict__":
                vars(obj).clear()
                vars(obj).update(value)
            else:
                setattr(obj, part, value)
