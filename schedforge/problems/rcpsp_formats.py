"""RCPSP file formats: PSPLIB ``.sm``, Patterson ``.rcp``, JSON, and ``bounds.csv``.

``psplib-sm``
    PSPLIB single-mode files (Kolisch & Sprecher 1997). Jobs are 1-based in
    the file (job ``k`` is activity ``k-1``); dummies stay activities.
    Multi-mode files are rejected with a clear message.
``patterson-rcp``
    Patterson's format (as in RCPLIB/PSPLIB ``.rcp``): ``n R``, the ``R``
    capacities, then per activity ``duration q_1..q_R #succ succ...``
    (1-based), whitespace-separated; rows may wrap over lines.
``rcpsp-json``
    :meth:`RCPSPInstance.to_dict` (one object or a list); the only format
    that carries lags, downtime, windows and disjunctive pairs.

Known optima and bounds come from the ``bounds.csv`` table described in the
README of the bundled PSPLIB sets (``schedforge datasets export psplib:j30 DIR``
copies both). A ``.sm`` file read from a PSPLIB
folder ``<root>/j30/x.sm`` gets its row from ``<root>/tables/bounds.csv``
automatically; :func:`with_reference` attaches a row from any table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError, SchedforgeError
from schedforge.core.registry import Format, register_format
from schedforge.core.text import MAX_TIME, MAX_VALUE, bounded_int, read_csv, read_json, read_text
from schedforge.problems.rcpsp import RCPSPInstance, critical_path_bound

__all__ = ["read_bounds", "with_reference", "write_rcp", "write_sm"]


def _int(token: str, path: Path, line: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", token, flags=re.ASCII):
        raise ParseError(path, line, f"{what}: expected an integer, found {token[:40]!r}")
    if len(token) > 11 or abs(int(token)) > MAX_TIME:
        raise ParseError(path, line, f"{what}: {token[:20]} is outside -{MAX_TIME}..{MAX_TIME}")
    return int(token)


def _header_int(line: str, path: Path, number: int, what: str) -> int:
    """The first number after the colon of a ``.sm`` header line."""
    tokens = line.split(":")[-1].split()
    if not tokens:
        raise ParseError(path, number, f"{what}: expected a number after the colon")
    return _int(tokens[0], path, number, what)


def _line_of(
    message: str, lines_by_activity: Mapping[int, int], fallback: int | None
) -> int | None:
    """The file line of the activity an InvalidInstance message is about."""
    match = re.search(r"activity (\d+)|cycle (\d+)", message)
    if match:
        j = int(match.group(1) or match.group(2))
        return lines_by_activity.get(j, fallback)
    return fallback


# --------------------------------------------------------------------------
# bounds.csv


def read_bounds(path: str | Path) -> dict[str, dict[str, Any]]:
    """Known values per instance name from a PSPLIB ``bounds.csv`` table.

    Returns ``{name: {"optimum"?, "best_known", "lower_bound", "cpm_lb"}}``;
    ``optimum`` is present only where the table marks the instance optimal.
    """
    path = Path(path)
    if not path.exists():
        raise SchedforgeError(f"{path}: no such file")
    table: dict[str, dict[str, Any]] = {}
    header, rows = read_csv(path)
    need = {"instance", "cpm_lb", "lb", "ub", "optimal"}
    if not need <= set(header):
        raise ParseError(path, 1, f"expected columns {', '.join(sorted(need))}")
    for number, row in rows:
        try:
            entry: dict[str, Any] = {
                "cpm_lb": bounded_int(row["cpm_lb"], "cpm_lb", high=MAX_VALUE),
                "lower_bound": bounded_int(row["lb"], "lb", high=MAX_VALUE),
                "best_known": bounded_int(row["ub"], "ub", high=MAX_VALUE),
            }
        except ValueError as exc:
            raise ParseError(path, number, str(exc)) from None
        if row["optimal"].strip() == "1":
            entry["optimum"] = entry["best_known"]
        table[row["instance"].strip()] = entry
    return table


_BOUNDS_CACHE: dict[Path, dict[str, dict[str, Any]]] = {}


def with_reference(instance: RCPSPInstance, table: str | Path) -> RCPSPInstance:
    """A copy of ``instance`` with its row of a ``bounds.csv`` table in ``metadata``.

    Raises
    ------
    SchedforgeError
        When the table has no row for the instance's name.
    """
    path = Path(table).resolve()
    if path not in _BOUNDS_CACHE:
        _BOUNDS_CACHE[path] = read_bounds(path)
    row = _BOUNDS_CACHE[path].get(instance.name)
    if row is None:
        raise SchedforgeError(f"{path}: no row for instance {instance.name!r}")
    return instance.replace(metadata={**instance.metadata, **row, "bounds": str(path)})


def _auto_reference(instance: RCPSPInstance, path: Path) -> RCPSPInstance:
    table = path.resolve().parent.parent / "tables" / "bounds.csv"
    if not table.exists():
        return instance
    try:
        return with_reference(instance, table)
    except ParseError as exc:
        if exc.line == 1:  # a table of another layout: not one to attach
            return instance
        raise
    except SchedforgeError:  # no row for this instance
        return instance


# --------------------------------------------------------------------------
# PSPLIB .sm


def _read_sm(path: Path) -> Iterator[RCPSPInstance]:
    lines = read_text(path).splitlines()
    n_jobs = n_res = None
    sections: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        low = line.lower()
        if low.startswith("jobs (incl. supersource/sink"):
            n_jobs = _header_int(line, path, number, "number of jobs")
        elif "- renewable" in low:
            n_res = _header_int(line, path, number, "renewable resources")
        elif "- nonrenewable" in low or "- doubly constrained" in low:
            count = _header_int(line, path, number, "resources")
            if count:
                raise ParseError(path, number, "non-renewable resources are not supported")
        for key in ("PRECEDENCE RELATIONS:", "REQUESTS/DURATIONS:", "RESOURCEAVAILABILITIES:"):
            if line.strip().upper().startswith(key):
                sections[key] = number
    if n_jobs is None or n_res is None:
        raise ParseError(
            path, None, "not a PSPLIB .sm file: missing the 'jobs' or 'renewable' line"
        )
    for key in ("PRECEDENCE RELATIONS:", "REQUESTS/DURATIONS:", "RESOURCEAVAILABILITIES:"):
        if key not in sections:
            raise ParseError(path, None, f"missing section {key!r}")
    if n_jobs < 1 or n_res < 0:
        raise ParseError(path, None, f"need >= 1 job and >= 0 resources, got {n_jobs} and {n_res}")

    def rows(after: int) -> Iterator[tuple[int, list[str]]]:
        # Data rows start with a number; headers, dashes and stars do not.
        for number in range(after + 1, len(lines) + 1):
            tokens = lines[number - 1].split()
            if not tokens or set(lines[number - 1].strip()) <= {"*"}:
                if tokens:
                    return
                continue
            if set(tokens[0]) <= {"-"} or not re.match(r"[+-]?\d", tokens[0]):
                continue
            yield number, tokens

    precedence: list[tuple[int, int]] = []
    prec_line: dict[int, int] = {}
    for number, tokens in rows(sections["PRECEDENCE RELATIONS:"]):
        vals = [_int(t, path, number, "precedence row") for t in tokens]
        if len(vals) < 3 or len(vals) != 3 + vals[2]:
            raise ParseError(path, number, "expected 'job #modes #successors successors...'")
        job = vals[0]
        if vals[1] != 1:
            raise ParseError(
                path, number, f"job {job} has {vals[1]} modes; only single-mode is supported"
            )
        prec_line[job - 1] = number
        for succ in vals[3:]:
            if not 1 <= succ <= n_jobs:
                raise ParseError(path, number, f"successor {succ} of job {job} outside 1..{n_jobs}")
            precedence.append((job - 1, succ - 1))
    if len(prec_line) != n_jobs:
        raise ParseError(
            path,
            sections["PRECEDENCE RELATIONS:"],
            f"{len(prec_line)} precedence rows for {n_jobs} jobs",
        )

    # Filled row by row; arrays are made only once every row is there, so a
    # header announcing a huge size cannot make the reader allocate it.
    rows_by_job: dict[int, list[int]] = {}
    req_line: dict[int, int] = {}
    for number, tokens in rows(sections["REQUESTS/DURATIONS:"]):
        vals = [_int(t, path, number, "request row") for t in tokens]
        if len(vals) != 3 + n_res:
            raise ParseError(
                path,
                number,
                f"expected 'job mode duration' and {n_res} demands, found {len(vals)} values",
            )
        job = vals[0]
        if not 1 <= job <= n_jobs:
            raise ParseError(path, number, f"job {job} outside 1..{n_jobs}")
        if job - 1 in req_line:
            raise ParseError(path, number, f"job {job} appears twice")
        req_line[job - 1] = number
        rows_by_job[job - 1] = vals[2:]
    if len(req_line) != n_jobs:
        raise ParseError(
            path, sections["REQUESTS/DURATIONS:"], f"{len(req_line)} request rows for {n_jobs} jobs"
        )
    table = np.array([rows_by_job[j] for j in range(n_jobs)], dtype=np.int64)
    duration, demand = table[:, 0], table[:, 1:]

    cap_rows = list(rows(sections["RESOURCEAVAILABILITIES:"]))
    if not cap_rows:
        raise ParseError(path, sections["RESOURCEAVAILABILITIES:"], "missing resource capacities")
    cap_number, cap_tokens = cap_rows[0]
    capacity = [_int(t, path, cap_number, "capacity") for t in cap_tokens]
    if len(capacity) != n_res:
        raise ParseError(path, cap_number, f"expected {n_res} capacities, found {len(capacity)}")

    by_activity = {**prec_line, **req_line}
    try:
        inst = RCPSPInstance(
            duration=duration,
            demand=demand,
            capacity=capacity,
            precedence=precedence,
            name=path.stem,
            metadata={"source": str(path)},
        )
    except InvalidInstance as exc:
        line = _line_of(str(exc), prec_line if "cycle" in str(exc) else by_activity, cap_number)
        raise ParseError(path, line, f"{exc} (job k of the file is activity k-1)") from None
    yield _auto_reference(inst, path)


def _no_side_constraints(inst: RCPSPInstance, fmt: str) -> None:
    if inst.has_side_constraints:
        raise SchedforgeError(
            f"{inst.name}: the {fmt} format cannot hold lags, downtime, windows or disjunctive "
            "pairs; write it as .json instead"
        )


def write_sm(instances: Sequence[RCPSPInstance], path: Path) -> None:
    """Write one instance in PSPLIB ``.sm`` layout."""
    (inst,) = instances
    _no_side_constraints(inst, ".sm")
    n, num_res = inst.num_activities, inst.num_resources
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b in inst.precedence.tolist():
        succ[a].append(b + 1)
    stars = "*" * 72
    res_head = "  ".join(f"R{r + 1:2d}" for r in range(num_res))
    out = [
        stars,
        f"file with basedata            : {inst.name}",
        "initial value random generator: 0",
        stars,
        "projects                      :  1",
        f"jobs (incl. supersource/sink ):  {n}",
        f"horizon                       :  {int(inst.duration.sum())}",
        "RESOURCES",
        f"  - renewable                 :  {num_res}   R",
        "  - nonrenewable              :  0   N",
        "  - doubly constrained        :  0   D",
        stars,
        "PROJECT INFORMATION:",
        "pronr.  #jobs rel.date duedate tardcost  MPM-Time",
        f"    1    {max(n - 2, 0):3d}      0     {critical_path_bound(inst):4d}        0     "
        f"{critical_path_bound(inst):4d}",
        stars,
        "PRECEDENCE RELATIONS:",
        "jobnr.    #modes  #successors   successors",
    ]
    for j in range(n):
        out.append(
            f"{j + 1:4d}        1          {len(succ[j])}        "
            + "  ".join(f"{s:3d}" for s in succ[j])
        )
    out += [stars, "REQUESTS/DURATIONS:", f"jobnr. mode duration  {res_head}", "-" * 72]
    for j in range(n):
        dem = "  ".join(f"{int(q):3d}" for q in inst.demand[j])
        out.append(f"{j + 1:3d}      1  {int(inst.duration[j]):3d}      {dem}")
    out += [stars, "RESOURCEAVAILABILITIES:", f"  {res_head}"]
    out += ["  " + "  ".join(f"{int(c):3d}" for c in inst.capacity), stars]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _sniff_sm(head: str) -> bool:
    return "PRECEDENCE RELATIONS" in head.upper()


# --------------------------------------------------------------------------
# Patterson .rcp


def _read_rcp(path: Path) -> Iterator[RCPSPInstance]:
    tokens: list[tuple[int, str]] = [
        (number, tok)
        for number, line in enumerate(read_text(path).splitlines(), start=1)
        for tok in line.split()
    ]
    pos = 0

    def take(what: str) -> tuple[int, int]:
        nonlocal pos
        if pos >= len(tokens):
            last = tokens[-1][0] if tokens else None
            raise ParseError(path, last, f"file ends early: expected {what}")
        number, tok = tokens[pos]
        pos += 1
        return number, _int(tok, path, number, what)

    _, n = take("the number of activities")
    _, num_res = take("the number of resources")
    if n < 1 or num_res < 0:
        raise ParseError(path, 1, f"need >= 1 activity and >= 0 resources, got {n} and {num_res}")
    # Lists grow as numbers are read, so a header announcing a huge size
    # ends in "file ends early" rather than in allocating that size.
    capacity = [take(f"capacity of resource {r + 1}")[1] for r in range(num_res)]
    duration: list[int] = []
    demand: list[list[int]] = []
    precedence: list[tuple[int, int]] = []
    line_of: dict[int, int] = {}
    for j in range(n):
        number, value = take(f"duration of activity {j + 1}")
        duration.append(value)
        line_of[j] = number
        demand.append(
            [take(f"demand of activity {j + 1} on resource {r + 1}")[1] for r in range(num_res)]
        )
        number, count = take(f"successor count of activity {j + 1}")
        if count < 0:
            raise ParseError(path, number, f"activity {j + 1} has {count} successors")
        for _ in range(count):
            number, succ = take(f"a successor of activity {j + 1}")
            if not 1 <= succ <= n:
                raise ParseError(
                    path, number, f"successor {succ} of activity {j + 1} outside 1..{n}"
                )
            precedence.append((j, succ - 1))
    if pos != len(tokens):
        raise ParseError(path, tokens[pos][0], f"unexpected extra data {tokens[pos][1]!r}")
    try:
        inst = RCPSPInstance(
            duration=duration,
            demand=demand,
            capacity=capacity,
            precedence=precedence,
            name=path.stem,
            metadata={"source": str(path)},
        )
    except InvalidInstance as exc:
        line = _line_of(str(exc), line_of, 2)
        raise ParseError(path, line, f"{exc} (activity k-1 is row k of the file)") from None
    yield _auto_reference(inst, path)


def write_rcp(instances: Sequence[RCPSPInstance], path: Path) -> None:
    """Write one instance in Patterson ``.rcp`` layout."""
    (inst,) = instances
    _no_side_constraints(inst, ".rcp")
    succ: list[list[int]] = [[] for _ in range(inst.num_activities)]
    for a, b in inst.precedence.tolist():
        succ[a].append(b + 1)
    out = [
        f"{inst.num_activities} {inst.num_resources}",
        " ".join(str(int(c)) for c in inst.capacity),
    ]
    for j in range(inst.num_activities):
        row = [int(inst.duration[j]), *map(int, inst.demand[j]), len(succ[j]), *succ[j]]
        out.append(" ".join(map(str, row)))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# JSON


def _read_json(path: Path) -> Iterator[RCPSPInstance]:
    data = read_json(path)
    records = data if isinstance(data, list) else [data]
    for k, record in enumerate(records):
        if not isinstance(record, dict) or record.get("problem") != "rcpsp":
            raise ParseError(path, None, f"record {k}: expected an object with 'problem': 'rcpsp'")
        try:
            yield RCPSPInstance.from_dict(record)
        except (InvalidInstance, TypeError, ValueError) as exc:
            raise ParseError(path, None, f"record {k}: {exc}") from None


def _write_json(instances: Sequence[RCPSPInstance], path: Path) -> None:
    data: Any = instances[0].to_dict() if len(instances) == 1 else [i.to_dict() for i in instances]
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


def _sniff_json(head: str) -> bool:
    return re.search(r'"problem"\s*:\s*"rcpsp"', head) is not None


register_format(Format("psplib-sm", "rcpsp", (".sm",), _read_sm, write_sm, sniff=_sniff_sm))
register_format(Format("patterson-rcp", "rcpsp", (".rcp",), _read_rcp, write_rcp))
register_format(
    Format("rcpsp-json", "rcpsp", (".json",), _read_json, _write_json, _sniff_json, multi=True)
)
