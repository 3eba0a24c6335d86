"""``read``, ``read_all``, ``write`` and ``generate``: format and problem dispatch.

The format of a file is chosen by its extension; where several formats share
an extension (``.txt``, ``.json``), by sniffing the first few kilobytes.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from schedforge.core.errors import InvalidOption, ParseError, SchedforgeError, UnknownFormat
from schedforge.core.registry import Format, formats, get_problem, problem_of

_SNIFF_BYTES = 8192

# The largest counts a generator is asked for, so that a typo (an extra zero,
# or three) is an error instead of minutes of work and all the memory. RCPSP
# keeps a jobs x jobs precedence matrix, hence its lower limit on jobs.
_SIZE_LIMITS = {
    "jobs": 100_000,
    "machines": 10_000,
    "operations_per_job": 1_000,
    "machines_per_operation": 10_000,
    "resources": 1_000,
    "levels": 1_000,
    "nodes": 100_000,
    "pods_per_node": 1_000,
    "priorities": 1_000_000,
}
_PROBLEM_SIZE_LIMITS = {("rcpsp", "jobs"): 10_000}
# Products that count the elements of an instance (operations, pods).
_TOTAL_LIMIT = 1_000_000
_TOTALS = (("jobs", "operations_per_job"), ("nodes", "pods_per_node"))


def _check_sizes(problem: str, params: dict[str, Any]) -> None:
    """Refuse generator sizes beyond :data:`_SIZE_LIMITS` (see there why)."""

    def largest(value: Any) -> int | None:
        values = value if isinstance(value, list | tuple) else [value]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        return max(ints) if ints and len(ints) == len(values) else None

    for name, value in params.items():
        limit = _PROBLEM_SIZE_LIMITS.get((problem, name), _SIZE_LIMITS.get(name))
        size = largest(value)
        if limit is not None and size is not None and size > limit:
            raise InvalidOption(f"{name} = {size} is more than the {limit} a generator makes")
    for first, second in _TOTALS:
        a, b = largest(params.get(first)), largest(params.get(second))
        if a is not None and b is not None and a * b > _TOTAL_LIMIT:
            raise InvalidOption(
                f"{first} x {second} = {a * b} is more than the {_TOTAL_LIMIT} a generator makes"
            )


def _head(path: Path) -> str:
    if path.exists() and not path.is_file() and not path.is_dir():
        # Sniffing would consume a pipe's content before the reader sees it.
        raise ParseError(
            path,
            None,
            "is a pipe or a device, not a file, so its format cannot be told from its "
            "content; save it to a file or name the format (--format)",
        )
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return fh.read(_SNIFF_BYTES)
    except IsADirectoryError:
        raise SchedforgeError(f"{path}: is a directory, not an instance file") from None
    except FileNotFoundError:
        raise SchedforgeError(f"{path}: no such file") from None
    except OSError as exc:
        raise SchedforgeError(f"{path}: cannot read ({exc.strerror})") from None


def detect_format(
    path: str | Path, *, fmt: str | None = None, problem: str | None = None
) -> Format:
    """The registered :class:`Format` for ``path`` (by name, extension, then content)."""
    path = Path(path)
    candidates = formats(problem)
    if fmt is not None:
        named = [f for f in candidates if f.name == fmt]
        if not named:
            names = sorted({f.name for f in candidates})
            raise UnknownFormat(f"unknown format {fmt!r}; available: {', '.join(names)}")
        return named[0]
    suffix = path.suffix.lower()
    by_ext = [f for f in candidates if suffix in f.extensions]
    if len(by_ext) == 1 and by_ext[0].sniff is None:
        return by_ext[0]
    head = _head(path)
    if not head.strip():
        raise ParseError(path, None, "the file is empty")
    pool = by_ext or candidates
    sniffed = [f for f in pool if f.sniff is not None and f.sniff(head)]
    if sniffed:
        return sniffed[0]
    if len(by_ext) == 1:
        return by_ext[0]
    known = sorted({e for f in candidates for e in f.extensions})
    raise UnknownFormat(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'!r} or the "
        f"content; known extensions: {', '.join(known)}"
    )


def read_all(
    path: str | Path, *, fmt: str | None = None, problem: str | None = None
) -> Iterator[Any]:
    """Yield every instance in ``path`` (multi-instance files yield many).

    Parameters
    ----------
    path
        A file; a folder (every file in it a reader accepts, with the values
        of a ``bounds.csv``/``optima.csv``/``reference.csv`` beside them
        attached); or a bundled dataset name such as ``psplib:j30`` or
        ``psplib:j30/j301_1`` (``schedforge.datasets()`` lists them).
    fmt
        Force a format by name instead of detecting it.
    problem
        Restrict detection to one problem's formats.

    Examples
    --------
    >>> first = next(read_all("orlib:wt40"))
    >>> first.name, first.metadata["optimum"]
    ('wt40_001', 913)
    """
    text = str(path)
    path = Path(path)
    if not path.exists():
        from schedforge.benchsets import is_dataset_name, read_named

        if is_dataset_name(text):
            yield from read_named(text, fmt=fmt, problem=problem)
            return
        raise SchedforgeError(f"{path}: no such file")
    if path.is_dir():
        from schedforge.benchsets import dataset

        count = 0
        for _, instance in dataset(path).items(fmt=fmt, problem=problem, strict=False):
            count += 1
            yield instance
        if count == 0:
            raise SchedforgeError(f"{path}: no instance file found in this folder")
        return
    yield from read_file(path, fmt=fmt, problem=problem)


def read_file(path: Path, *, fmt: str | None = None, problem: str | None = None) -> Iterator[Any]:
    """Yield every instance of the file ``path`` (its format detected)."""
    yield from detect_format(path, fmt=fmt, problem=problem).read_all(path)


def read(path: str | Path, *, fmt: str | None = None, problem: str | None = None) -> Any:
    """Read the single instance in ``path`` (a file, or a name like ``psplib:j30/j301_1``).

    A file that holds several instances (OR-Library ``wt40.txt``) is an error
    that points to :func:`read_all`.
    """
    found = list(read_all(path, fmt=fmt, problem=problem))
    if not found:
        raise ParseError(path, None, "the file holds no instance")
    if len(found) > 1:
        raise SchedforgeError(
            f"{path}: the file holds {len(found)} instances; use read_all() to get them all"
        )
    return found[0]


def write(instance: Any | Iterable[Any], path: str | Path, *, fmt: str | None = None) -> Path:
    """Write one instance (or several, for multi-instance formats) to ``path``.

    The format is chosen by ``fmt`` or the extension of ``path``.
    """
    path = Path(path)
    items = [instance] if hasattr(instance, "problem") else list(instance)
    if not items:
        raise SchedforgeError("nothing to write")
    problem = problem_of(items[0]).name
    candidates = [f for f in formats(problem) if f.write is not None]
    if fmt is not None:
        chosen = [f for f in candidates if f.name == fmt]
    else:
        chosen = [f for f in candidates if path.suffix.lower() in f.extensions]
    if not chosen:
        exts = sorted({e for f in candidates for e in f.extensions})
        raise UnknownFormat(
            f"{path}: no {problem} writer for {fmt or path.suffix or '(no extension)'}; "
            f"writable extensions: {', '.join(exts)}"
        )
    if len(items) > 1 and not chosen[0].multi:
        raise SchedforgeError(f"format {chosen[0].name!r} holds one instance per file")
    path.parent.mkdir(parents=True, exist_ok=True)
    chosen[0].write(items, path)
    return path


def generate(problem: str, *, seed: int = 0, **params: Any) -> Any:
    """Generate a random instance of ``problem`` with a fixed seed.

    Examples
    --------
    >>> inst = generate("smtt", jobs=20, tf=0.6, rdd=0.4, seed=1)
    >>> inst.num_jobs
    20
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise InvalidOption(f"seed must satisfy 0 <= seed < 2**31, got {seed}")
    spec = get_problem(problem)
    if spec.generate is None:
        raise SchedforgeError(f"problem {problem!r} has no generator")
    accepted = [
        p.name
        for p in inspect.signature(spec.generate).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed"
    ]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidOption(
            f"generator for {problem} does not accept {', '.join(unknown)}; "
            f"accepted: {', '.join(accepted)}"
        )
    _check_sizes(problem, params)
    return spec.generate(seed=seed, **params)
