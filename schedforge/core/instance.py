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
from schedforge.core.text import MAX_VALUE, bounded_int, finite_float


def int_array(
    values: Any,
    field: str,
    *,
    ndim: int = 1,
    error=InvalidInstance,
    bound: int = MAX_VALUE,
) -> np.ndarray:
    """Convert ``values`` to a read-only ``int64`` array, or raise ``error``.

    Floats are accepted only when they are whole numbers (``3.0``), so that a
    JSON file written by another tool still reads, but ``2.5`` never silently
    becomes ``2``. Every value must lie within ``-bound..bound`` (by default
    :data:`~schedforge.core.text.MAX_VALUE`); the message names the first
    offending entry in the user's words, never a NumPy type.
    """
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged lists and the like
        message = str(exc).split(".")[0] if "inhomogeneous" not in str(exc) else "ragged rows"
        raise error(f"{field}: not a rectangular array of integers ({message})") from None
    if arr.size == 0:
        arr = arr.reshape((0,) * ndim) if arr.ndim != ndim else arr
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
            arr = arr.astype(object)
        else:
            arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))[0]
            raise error(f"{field}[{bad}] = {float(arr.flat[bad])} is not an integer")
        if np.abs(arr).max() > bound:
            arr = arr.astype(object)  # reported below with the bound
        else:
            arr = arr.astype(np.int64)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "O":  # Python ints beyond int64, or mixed kinds
        flat = arr.reshape(-1)
        for k, value in enumerate(flat):
            try:
                bounded_int(value, f"{field}[{k}]", low=-bound, high=bound)
            except ValueError as exc:
                raise error(str(exc)) from None
        arr = np.array(flat.tolist(), dtype=np.int64).reshape(arr.shape)
    elif arr.dtype.kind != "i":
        first = arr.reshape(-1)[0]
        found = f"text {str(first)!r}" if arr.dtype.kind in "US" else "values that are not numbers"
        raise error(f"{field}: expected integers, found {found}")
    if arr.ndim != ndim:
        raise error(f"{field}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if arr.size and (arr.max() > bound or arr.min() < -bound):
        bad = int(np.flatnonzero((arr.reshape(-1) > bound) | (arr.reshape(-1) < -bound))[0])
        raise error(f"{field}[{bad}] = {arr.reshape(-1)[bad]} is outside -{bound}..{bound}")
    arr.setflags(write=False)
    return arr


def check_total(
    total: int, what: str, who: str, *, limit: int = MAX_VALUE, why: str = "", error=InvalidInstance
) -> None:
    """Raise ``error`` when ``total`` (a sum the solvers form) exceeds ``limit``.

    ``total`` must be computed exactly, with Python integers
    (``sum(arr.tolist())``), since int64 sums of large values can wrap.
    ``why`` says what the limit protects (default: exact 64-bit arithmetic).
    """
    if total > limit:
        reason = why or "the solvers cannot represent schedules that long exactly"
        raise error(f"{who}: {what} is {total}, above {limit}; {reason}")


REFERENCE_KEYS = ("optimum", "best_known", "lower_bound")
"""Metadata keys whose values gaps are computed from; they must be finite numbers."""


def frozen_mapping(values: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``values`` (metadata stays immutable)."""
    if values is not None and not isinstance(values, Mapping):
        raise InvalidInstance("metadata must be a mapping of names to values")
    for key in REFERENCE_KEYS:
        value = (values or {}).get(key)
        if value is not None:
            try:
                finite_float(value, f"metadata {key}", low=-MAX_VALUE, high=MAX_VALUE)
            except ValueError as exc:
                raise InvalidInstance(str(exc)) from None
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
        if "name" in data and not isinstance(data["name"], str):
            raise InvalidInstance(f"{cls.__name__}: name must be text")
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
