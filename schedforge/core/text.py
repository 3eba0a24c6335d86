"""Checked reading of input files: text, JSON and bounded numbers.

Every reader takes its input through these helpers so that a file from
outside is bounded where it enters: a directory or a missing file, bytes that
are not UTF-8, JSON with ``NaN`` or a syntax error, a number too large for the
solvers or a missing field all become a :class:`ParseError` that names the
file, the line or JSON path, and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from schedforge.core.errors import ParseError

MAX_TIME = 2**31 - 1
"""Largest magnitude of a single time value (duration, due date, release ...)."""

MAX_BYTES = 1 << 30
"""Largest input file read (1 GiB): a device such as ``/dev/zero`` never ends."""

MAX_VALUE = 2**53
"""Largest magnitude of any integer read, and of sums the solvers form from them.

Beyond it a float no longer holds every integer, and products of such sums
overflow the 64-bit arithmetic of the compiled kernels.
"""


def read_text(path: str | Path) -> str:
    """The UTF-8 text of ``path``, or a :class:`ParseError` saying why not.

    A directory, a missing or unreadable file, bytes that are not UTF-8 and
    NUL bytes (a binary file) are reported with the file name, and for bad
    bytes the line and column where they are.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise ParseError(path, None, "is a directory, not an instance file") from None
    except FileNotFoundError:
        raise ParseError(path, None, "no such file") from None
    except OSError as exc:
        raise ParseError(path, None, f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise ParseError(path, None, f"is larger than {MAX_BYTES >> 20} MiB; not an instance file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise ParseError(
            path, line, f"byte 0x{data[exc.start]:02x} at column {column} is not UTF-8 text"
        ) from None
    if text.startswith("\ufeff"):  # a byte-order mark some editors write
        text = text[1:]
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ParseError(path, line, "holds a NUL byte; this is a binary file, not text")
    return text


def read_csv(path: str | Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and rows of a CSV table, each row with its line number.

    Text is read as :func:`read_text` does; header names are stripped, a
    missing cell is ``""`` and cells beyond the header are dropped, so a
    short or long row never yields ``None`` where a string is expected.
    """
    text = read_text(path)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = [(reader.line_num, cells) for cells in reader]
    except csv.Error as exc:
        raise ParseError(path, None, f"not a CSV table ({exc})") from None
    if not rows:
        return [], []
    header = [name.strip() for name in rows[0][1]]
    body = [
        (line, {name: (cells[k] if k < len(cells) else "") for k, name in enumerate(header)})
        for line, cells in rows[1:]
        if any(cell.strip() for cell in cells)
    ]
    return header, body


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of byte ``offset`` in ``data``."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads_json(
    text: str, path: str | Path, *, line: int | None = None, constants: bool = False
) -> Any:
    """Parse JSON text, refusing ``NaN``/``Infinity``; errors name the file and line.

    ``line`` is the line of ``text`` in the file when ``text`` is one line of
    a JSON-lines file. ``constants=True`` lets ``NaN``/``Infinity`` through,
    for readers that check every number themselves and name its JSON path.
    """
    try:
        return json.loads(text, parse_constant=None if constants else _reject_constant)
    except json.JSONDecodeError as exc:
        where = line if line is not None else exc.lineno
        raise ParseError(path, where, f"invalid JSON ({exc.msg}, column {exc.colno})") from None
    except ValueError as exc:  # the NaN/Infinity hook, or an integer too long to parse
        raise ParseError(path, line, f"invalid JSON ({exc})") from None
    except RecursionError:
        raise ParseError(path, line, "invalid JSON (nested too deeply)") from None


def read_json(path: str | Path, *, constants: bool = False) -> Any:
    """The JSON value in ``path`` (see :func:`read_text` and :func:`loads_json`)."""
    return loads_json(read_text(path), path, constants=constants)


def json_path(*parts: str | int) -> str:
    """``json_path("items", 3, "spec")`` -> ``"items[3].spec"`` (for messages)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def bounded_int(value: Any, what: str, *, low: int = -MAX_VALUE, high: int = MAX_VALUE) -> int:
    """``value`` as an ``int`` within ``[low, high]``, else ``ValueError`` naming ``what``.

    Accepts Python and NumPy integers, whole floats (``3.0``) and integer
    text (``"42"``); refuses booleans, fractions, ``NaN`` and infinities.
    The caller turns the ``ValueError`` into a :class:`ParseError` with the
    location it knows.
    """
    number = _as_int(value, what)
    if not low <= number <= high:
        raise ValueError(f"{what} = {_short(number)} is outside {low}..{high}")
    return number


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, found {str(value).lower()}")
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{what} must be an integer, found {_short(value)!r}") from None
    if hasattr(value, "__index__"):
        return int(value.__index__())
    if isinstance(value, float) or hasattr(value, "is_integer"):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{what} must be a finite integer, found {number}")
        if not number.is_integer():
            raise ValueError(f"{what} must be an integer, found {number}")
        return int(number)
    raise ValueError(f"{what} must be an integer, found {_kind(value)}")


def finite_float(value: Any, what: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite ``float`` within ``[low, high]``, else ``ValueError``."""
    if isinstance(value, bool) or not (isinstance(value, str) or hasattr(value, "__float__")):
        raise ValueError(f"{what} must be a number, found {_kind(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a number, found {_short(value)!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, found {_short(value)}")
    if not low <= number <= high:
        raise ValueError(f"{what} = {number:g} is outside {low:g}..{high:g}")
    return number


def require(record: Mapping[str, Any], key: str, where: str) -> Any:
    """``record[key]``, or ``ValueError`` saying ``where.key`` is missing."""
    if not isinstance(record, Mapping):
        raise ValueError(f"{where} must be a JSON object, found {_kind(record)}")
    if key not in record:
        raise ValueError(f"{where}.{key} is missing" if where else f"{key} is missing")
    return record[key]


def _kind(value: Any) -> str:
    """A user's word for the kind of ``value`` (never a NumPy dtype)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"text {_short(value)!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    if isinstance(value, int | float):
        return _short(value)
    return "a value of another kind"


def _short(value: Any, limit: int = 40) -> str:
    """``str(value)`` cut to ``limit`` characters (huge numbers stay readable)."""
    if isinstance(value, int) and abs(value).bit_length() > 128:
        # str() refuses integers of more than 4300 digits; the size is what matters
        return f"{'-' if value < 0 else ''}about 10**{int(abs(value).bit_length() * 0.30103)}"
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}…({len(text)} chars)"
