"""Base classes and helpers shared by every problem's instance and solution.

An instance is a frozen dataclass over read-only NumPy integer arrays, built
once and validated in ``__post_init__``; variants are made with
:meth:`Instance.replace`. Solutions are frozen dataclasses too. Both
round-trip through plain dictionaries (``to_dict``/``from_dict``), which is
what the JSON formats and the benchmark database store.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np

from schedforge.core.errors import InvalidInstance


def int_array(values: Any, field: str, *, ndim: int = 1, error=InvalidInstance) -> np.ndarray:
    """Convert ``values`` to a read-only ``int64`` array, or raise ``error``.

    Floats are accepted only when they are whole numbers (``3.0``), so that a
    JSON file written by another tool still reads, but ``2.5`` never silently
    becomes ``2``.
    """
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise error(f"{field}: not a rectangular array of integers ({exc})") from None
    if arr.size == 0:
        arr = arr.reshape((0,) * ndim) if arr.ndim != ndim else arr
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))[0]
            raise error(f"{field}[{bad}] = {arr.flat[bad]!r} is not an integer")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    else:
        raise error(f"{field}: expected integers, got values of type {arr.dtype}")
    if arr.ndim != ndim:
        raise error(f"{field}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    arr.setflags(write=False)
    return arr


def frozen_mapping(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``values`` (metadata stays immutable)."""
    return types.MappingProxyType(dict(values or {}))


def _plain(value: Any) -> Any:
    """Recursively turn arrays, tuples and mapping proxies into JSON-ready values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class DataModel:
    """Mixin for frozen dataclasses of arrays: equality, dict round-trip, replace."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of every field."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - {"problem"})
        if unknown:
            raise InvalidInstance(
                f"{cls.__name__}: unknown field(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(names))}"
            )
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        missing = sorted(required - set(data))
        if missing:
            raise InvalidInstance(f"{cls.__name__}: missing field(s) {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in names})

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # arrays make instances unhashable


class Instance(DataModel):
    """Base of every problem's instance class.

    Subclasses are ``@dataclass(frozen=True, eq=False)`` with at least the
    fields ``name`` and ``metadata`` and a class attribute ``problem``.
    ``metadata`` keys with a meaning shared across the library:

    ``optimum``
        proven optimal objective value;
    ``best_known``
        best known objective value (an upper bound, not proven);
    ``lower_bound``
        best known lower bound;
    ``source``
        where the instance came from (file, generator and parameters).
    """

    problem: ClassVar[str]
    name: str
    metadata: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with a ``problem`` key first."""
        return {"problem": self.problem, **super().to_dict()}

    @property
    def reference(self) -> float | None:
        """Known optimum, else best known value, else ``None``."""
        for key in ("optimum", "best_known"):
            if self.metadata.get(key) is not None:
                return self.metadata[key]
        return None


class Solution(DataModel):
    """Base of every problem's solution class (a frozen dataclass)."""


@dataclass(frozen=True)
class Bar:
    """One bar of a Gantt chart, problem-independent.

    Problem modules describe their schedules as bars; :mod:`schedforge.plot`
    draws them, so no problem module imports matplotlib.
    """

    row: str
    start: float
    end: float
    label: str = ""
    group: str = ""
    highlight: bool = False


def as_tuple(values: Sequence[Any] | None) -> tuple[Any, ...]:
    """``tuple(values)``, with ``None`` as the empty tuple."""
    return tuple(values or ())
