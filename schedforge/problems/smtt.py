"""Single-machine total (weighted) tardiness: 1||ΣT_j and 1||Σw_jT_j.

Jobs ``j = 0..n-1`` with processing time ``p_j >= 1``, due date ``d_j`` (any
integer; the published n = 20 sets have negative ones) and weight
``w_j >= 0`` (all 1 for the unweighted problem) are sequenced on one machine
from time 0 without idle time. A solution is the job sequence; the objective
is ``Σ_j w_j · max(0, C_j − d_j)`` with ``C_j`` the completion time of job j.

This module holds the data model, the independent validator and evaluator,
a lower bound, the generator and the readers and writers. No solver code.

File formats
------------
``orlib-wt``
    OR-Library ``wt40.txt``/``wt50.txt``/``wt100.txt``: 125 instances per file,
    each a block of ``n`` processing times, ``n`` weights, ``n`` due dates.
    Optima are attached from ``wtopt40.txt``/``wtopt50.txt``/``wtbest100b.txt``
    beside the file when present.
``smtt-txt``
    One job per line, ``p d`` or ``p d w`` (the Shang ``SDT_*.txt`` files).
``smtt-jsonl``
    JSON Lines: the published sets (``{"id", "n", "p", "d", "opt", ...}``) or
    one instance dictionary per line as written by :func:`schedforge.write`.
``json``
    The project's own JSON (``Instance.to_dict``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError, SchedforgeError
from schedforge.core.instance import (
    Bar,
    Instance,
    Solution,
    check_total,
    frozen_mapping,
    int_array,
)
from schedforge.core.registry import Format, Problem, register_format, register_problem
from schedforge.core.text import MAX_TIME, bounded_int, loads_json, read_json, read_text

__all__ = [
    "SMTTInstance",
    "SMTTSolution",
    "completion_times",
    "generate",
    "lower_bound",
    "objective",
    "tardiness",
    "validate",
]


@dataclass(frozen=True, eq=False)
class SMTTInstance(Instance):
    """A single-machine (weighted) total tardiness instance.

    Parameters
    ----------
    processing
        Processing times, integers >= 1.
    due
        Due dates, integers (negative values are legal).
    weight
        Weights, integers >= 0; ``None`` means all 1 (unweighted).
    name
        Instance name.
    metadata
        Free-form facts (``optimum``, ``best_known``, ``source``, ``rdd``, ``tf``).

    Raises
    ------
    InvalidInstance
        On non-integer or non-positive processing times, negative weights or
        arrays of different lengths.
    """

    problem: ClassVar[str] = "smtt"

    processing: np.ndarray
    due: np.ndarray
    weight: np.ndarray | None = None
    name: str = "smtt"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        processing = int_array(self.processing, "processing", bound=MAX_TIME)
        due = int_array(self.due, "due", bound=MAX_TIME)
        n = len(processing)
        weight = (
            np.ones(n, dtype=np.int64)
            if self.weight is None
            else int_array(self.weight, "weight", bound=MAX_TIME)
        )
        weight.setflags(write=False)
        if n == 0:
            raise InvalidInstance(f"{self.name}: an instance needs at least one job")
        if len(due) != n:
            raise InvalidInstance(
                f"{self.name}: {n} processing times but {len(due)} due dates; "
                "every job needs one of each"
            )
        if len(weight) != n:
            raise InvalidInstance(f"{self.name}: {n} processing times but {len(weight)} weights")
        bad = np.flatnonzero(processing < 1)
        if len(bad):
            raise InvalidInstance(
                f"{self.name}: job {bad[0]} has processing time {processing[bad[0]]}; "
                "processing times must be integers >= 1"
            )
        bad = np.flatnonzero(weight < 0)
        if len(bad):
            raise InvalidInstance(
                f"{self.name}: job {bad[0]} has weight {weight[bad[0]]}; weights must be >= 0"
            )
        # The largest tardiness is sum(p) - min(d); the objective stays exact.
        longest = max(0, sum(processing.tolist()) - int(due.min()))
        check_total(sum(weight.tolist()) * longest, "the largest possible objective", self.name)
        object.__setattr__(self, "processing", processing)
        object.__setattr__(self, "due", due)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "metadata", frozen_mapping(self.metadata))

    @property
    def num_jobs(self) -> int:
        """Number of jobs."""
        return len(self.processing)

    @property
    def weighted(self) -> bool:
        """Whether any weight differs from 1."""
        return bool(np.any(self.weight != 1))


@dataclass(frozen=True, eq=False)
class SMTTSolution(Solution):
    """A job sequence: ``sequence[k]`` is the job processed in position ``k``."""

    sequence: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "sequence", int_array(self.sequence, "sequence"))


# --------------------------------------------------------------------------
# Oracle: validation, objective, bound. Deliberately plain Python/NumPy and
# independent of every method, so that tests can trust them.


def validate(instance: SMTTInstance, solution: SMTTSolution) -> list[str]:
    """Every violated constraint of ``solution``; empty when it is feasible.

    A feasible solution is a permutation of all jobs ``0..n-1``: each job
    exactly once, nothing else.
    """
    seq = np.asarray(solution.sequence)
    n = instance.num_jobs
    problems: list[str] = []
    if seq.ndim != 1:
        return [f"sequence must be one-dimensional, got shape {seq.shape}"]
    outside = sorted({int(j) for j in seq if not 0 <= j < n})
    if outside:
        problems.append(f"job index(es) {outside[:10]} outside 0..{n - 1}")
    counts = np.bincount(seq[(seq >= 0) & (seq < n)], minlength=n)
    repeated = np.flatnonzero(counts > 1)
    missing = np.flatnonzero(counts == 0)
    if len(repeated):
        problems.append(f"job(s) {repeated[:10].tolist()} scheduled more than once")
    if len(missing):
        problems.append(f"job(s) {missing[:10].tolist()} not scheduled")
    return problems


def completion_times(instance: SMTTInstance, sequence: Sequence[int]) -> np.ndarray:
    """Completion time of each job (indexed by job) for a complete sequence without idle time.

    Raises
    ------
    ValueError
        When ``sequence`` does not hold every job (validate it first).
    """
    seq = np.asarray(sequence, dtype=np.int64)
    if len(seq) != instance.num_jobs:
        raise ValueError(
            f"a sequence of {len(seq)} jobs for an instance of {instance.num_jobs}; "
            "completion times need a complete sequence"
        )
    completion = np.empty(instance.num_jobs, dtype=np.int64)
    completion[seq] = np.cumsum(instance.processing[seq])
    return completion


def tardiness(instance: SMTTInstance, sequence: Sequence[int]) -> np.ndarray:
    """Tardiness ``max(0, C_j − d_j)`` of each job (indexed by job)."""
    return np.maximum(0, completion_times(instance, sequence) - instance.due)


def objective(instance: SMTTInstance, solution: SMTTSolution) -> int:
    """Total weighted tardiness ``Σ w_j max(0, C_j − d_j)`` of a feasible solution."""
    return int(np.dot(instance.weight, tardiness(instance, solution.sequence)))


def lower_bound(instance: SMTTInstance) -> int:
    """A valid lower bound on the optimal total weighted tardiness.

    Pairs the k-th smallest possible completion time (SPT order) with the k-th
    smallest due date: for any sequence the sorted completion times dominate
    the SPT ones, and pairing sorted with sorted minimises a sum of
    ``max(0, C − d)`` (a convex function of the difference). Weighted
    instances scale it by the smallest weight.
    """
    spt_completion = np.cumsum(np.sort(instance.processing))
    bound = int(np.maximum(0, spt_completion - np.sort(instance.due)).sum())
    return bound * int(instance.weight.min())


def gantt(instance: SMTTInstance, solution: SMTTSolution) -> list[Bar]:
    """Gantt bars: one row, one bar per job, late jobs highlighted."""
    completion = completion_times(instance, solution.sequence)
    return [
        Bar(
            row="machine",
            start=float(completion[j] - instance.processing[j]),
            end=float(completion[j]),
            label=str(j),
            group=f"job {j}",
            highlight=bool(completion[j] > instance.due[j]),
        )
        for j in np.asarray(solution.sequence)
    ]


# --------------------------------------------------------------------------
# Generator


def generate(
    *,
    jobs: int = 20,
    tf: float = 0.6,
    rdd: float = 0.6,
    weighted: bool = False,
    clip_due: bool = False,
    seed: int = 0,
    name: str | None = None,
) -> SMTTInstance:
    """A Potts & Van Wassenhove (1982) random instance.

    ``p_j ~ U{1..100}``, ``d_j ~ U{⌈P(1−TF−RDD/2)⌉ .. ⌊P(1−TF+RDD/2)⌋}`` with
    ``P = Σ p_j``, and ``w_j ~ U{1..10}`` when ``weighted``.

    Parameters
    ----------
    jobs
        Number of jobs.
    tf
        Tardiness factor in [0, 1]: larger means more late jobs.
    rdd
        Relative range of due dates in (0, 1].
    weighted
        Draw weights; otherwise all weights are 1.
    clip_due
        Replace negative due dates by 0 (as OR-Library does).
    seed
        Seed; the same parameters and seed give the same instance.
    name
        Instance name; a descriptive default includes the parameters.

    References
    ----------
    Potts, C. N., & Van Wassenhove, L. N. (1982). A decomposition algorithm
    for the single machine total tardiness problem. Operations Research
    Letters 1(5), 177-181.
    """
    if jobs < 1:
        raise InvalidInstance(f"jobs must be >= 1, got {jobs}")
    if not 0 <= tf <= 1 or not 0 <= rdd <= 1:
        raise InvalidInstance(f"tf and rdd must lie in [0, 1], got tf={tf}, rdd={rdd}")
    rng = np.random.default_rng(seed)
    processing = rng.integers(1, 101, size=jobs)
    total = int(processing.sum())
    low = int(np.ceil(total * (1 - tf - rdd / 2)))
    high = max(low, int(np.floor(total * (1 - tf + rdd / 2))))
    due = rng.integers(low, high + 1, size=jobs)
    if clip_due:
        due = np.maximum(due, 0)
    weight = rng.integers(1, 11, size=jobs) if weighted else None
    kind = "smtwt" if weighted else "smtt"  # total (weighted) tardiness
    return SMTTInstance(
        processing=processing,
        due=due,
        weight=weight,
        name=name or f"{kind}_n{jobs}_tf{tf:g}_rdd{rdd:g}_s{seed}",
        metadata={
            "source": "generate",
            "generator": "potts-vanwassenhove",
            "jobs": jobs,
            "tf": tf,
            "rdd": rdd,
            "weighted": weighted,
            "seed": seed,
        },
    )


# --------------------------------------------------------------------------
# Readers and writers


def _ints(path: Path) -> Iterator[tuple[int, list[int]]]:
    """(line number, integers) for each non-blank line; ParseError otherwise."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        for tok in tokens:
            if not re.fullmatch(r"[+-]?\d+", tok, flags=re.ASCII):
                raise ParseError(path, number, f"expected integers, found {tok[:40]!r}")
            if len(tok) > 19:
                raise ParseError(path, number, f"the number {tok[:20]}… is too large")
        yield number, [int(tok) for tok in tokens]


# OR-Library's wtinfo.txt lists the instances whose value was not proven
# optimal when the tables were published (1-based).
_ORLIB_OPEN = {40: {19}, 50: {11, 12, 14, 19, 36, 44, 66, 87, 88, 111}}
_ORLIB_TABLES = {
    40: ("wtopt40.txt", True),
    50: ("wtopt50.txt", True),
    100: ("wtbest100b.txt", False),
}


def _orlib_size(path: Path, count: int) -> int:
    match = re.search(r"wt(\d+)", path.name.lower())
    if match and count % (3 * int(match.group(1))) == 0:
        return int(match.group(1))
    if count % 375 == 0:  # 125 instances of 3n integers each
        return count // 375
    raise ParseError(
        path,
        None,
        f"{count} integers do not form OR-Library blocks of 3n integers "
        "(name the file wt<n>.txt or give 125 instances)",
    )


def _orlib_reference(path: Path, n: int, count: int) -> list[dict[str, int]]:
    table_name, proven = _ORLIB_TABLES.get(n, (None, False))
    table = path.with_name(table_name) if table_name else None
    if table is None or not table.exists():
        return [{} for _ in range(count)]
    values = [v for _, row in _ints(table) for v in row]
    if len(values) != count:
        raise ParseError(table, None, f"holds {len(values)} values for {count} instances")
    open_ones = _ORLIB_OPEN.get(n, set())
    return [
        {"optimum" if proven and k + 1 not in open_ones else "best_known": v}
        for k, v in enumerate(values)
    ]


def _read_orlib(path: Path) -> Iterator[SMTTInstance]:
    values = [v for _, row in _ints(path) for v in row]
    n = _orlib_size(path, len(values))
    count = len(values) // (3 * n)
    references = _orlib_reference(path, n, count)
    for k in range(count):
        block = values[3 * n * k : 3 * n * (k + 1)]
        rdd, tf = 0.2 * (k // 25 + 1), 0.2 * ((k % 25) // 5 + 1)
        yield _orlib_block(path, k, n, block, rdd, tf, references[k])


def _orlib_block(
    path: Path, k: int, n: int, block: list[int], rdd: float, tf: float, reference: dict
) -> SMTTInstance:
    """Instance ``k`` (0-based) of an OR-Library file; errors name the instance."""
    try:
        return SMTTInstance(
            processing=block[:n],
            weight=block[n : 2 * n],
            due=block[2 * n :],
            name=f"{path.stem}_{k + 1:03d}",
            metadata={
                "source": str(path),
                "index": k + 1,
                "rdd": round(rdd, 1),
                "tf": round(tf, 1),
                **reference,
            },
        )
    except InvalidInstance as exc:
        raise ParseError(path, None, f"instance {k + 1}: {exc}") from None


def _sniff_orlib(head: str) -> bool:
    # OR-Library files have 20 integers per line; the per-job format 2 or 3.
    # Requiring integers keeps text formats of other problems with long
    # first lines (Taillard headers) out.
    first = head.lstrip().split("\n", 1)[0].split()
    return len(first) >= 10 and all(re.fullmatch(r"-?\d+", t) for t in first)


def _read_txt(path: Path) -> Iterator[SMTTInstance]:
    rows = list(_ints(path))
    if not rows:
        raise ParseError(path, None, "the file holds no job")
    width = len(rows[0][1])
    for number, row in rows:
        if len(row) not in (2, 3) or len(row) != width:
            raise ParseError(
                path,
                number,
                f"expected {width} integers 'p d{' w' if width == 3 else ''}', found {len(row)}",
            )
    cols = np.array([row for _, row in rows])
    try:
        yield SMTTInstance(
            processing=cols[:, 0],
            due=cols[:, 1],
            weight=cols[:, 2] if width == 3 else None,
            name=path.stem,
            metadata={"source": str(path)},
        )
    except InvalidInstance as exc:
        line = _offending_line(str(exc), rows)
        raise ParseError(path, line, str(exc)) from None


def _offending_line(message: str, rows: list[tuple[int, list[int]]]) -> int | None:
    match = re.search(r"job (\d+)", message)
    return rows[int(match.group(1))][0] if match else None


def _sniff_txt(head: str) -> bool:
    # Decided on the shape of the first line only, so that a malformed value
    # further down is reported by the reader with its line number.
    first = head.lstrip().split("\n", 1)[0].split()
    return len(first) in (2, 3)


def _write_txt(instances: Sequence[SMTTInstance], path: Path) -> None:
    (inst,) = instances
    cols = [inst.processing, inst.due] + ([inst.weight] if inst.weighted else [])
    lines = [" ".join(str(int(c[j])) for c in cols) for j in range(inst.num_jobs)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _from_record(record: Mapping[str, Any], path: Path, line: int | None) -> SMTTInstance:
    """An instance from a project dictionary or a published-set record."""
    try:
        if record.get("problem") == "smtt":
            return SMTTInstance.from_dict(record)
        if "p" in record and "d" in record:
            meta = {k: v for k, v in record.items() if k not in ("p", "d", "w", "opt", "id")}
            if record.get("opt") is not None:
                meta["optimum"] = bounded_int(record["opt"], "opt", low=0)
            meta["source"] = str(path)
            return SMTTInstance(
                processing=record["p"],
                due=record["d"],
                weight=record.get("w"),
                name=str(record.get("id", f"{path.stem}_{line}")),
                metadata=meta,
            )
    except ValueError as exc:  # InvalidInstance, or a bad "opt"
        raise ParseError(path, line, str(exc)) from None
    raise ParseError(path, line, "not an smtt record: expected 'problem': 'smtt' or keys p, d")


def _read_jsonl(path: Path) -> Iterator[SMTTInstance]:
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        record = loads_json(line, path, line=number)
        if not isinstance(record, dict):
            raise ParseError(path, number, "each line must be a JSON object")
        yield _from_record(record, path, number)


def _write_jsonl(instances: Sequence[SMTTInstance], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for inst in instances:
            fh.write(json.dumps(inst.to_dict()) + "\n")


def _sniff_jsonl(head: str) -> bool:
    first = head.lstrip().split("\n", 1)[0]
    return first.startswith("{") and ('"p"' in first or '"problem": "smtt"' in first)


def _read_json(path: Path) -> Iterator[SMTTInstance]:
    data = read_json(path)
    records = data if isinstance(data, list) else [data]
    for k, record in enumerate(records):
        if not isinstance(record, dict):
            where = f"[{k}] " if isinstance(data, list) else ""
            raise ParseError(path, None, f"{where}expected a JSON object or a list of objects")
        yield _from_record(record, path, None)


def _write_json(instances: Sequence[SMTTInstance], path: Path) -> None:
    data: Any = instances[0].to_dict() if len(instances) == 1 else [i.to_dict() for i in instances]
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _sniff_json(head: str) -> bool:
    return re.search(r'"problem"\s*:\s*"smtt"', head) is not None


def read_orlib_optima(path: str | Path) -> list[int]:
    """The values of an OR-Library optimum table (``wtopt40.txt``), in order."""
    path = Path(path)
    if not path.exists():
        raise SchedforgeError(f"{path}: no such file")
    return [v for _, row in _ints(path) for v in row]


register_problem(
    Problem(
        name="smtt",
        title="single-machine total (weighted) tardiness",
        instance_type=SMTTInstance,
        solution_type=SMTTSolution,
        validate=validate,
        objective=objective,
        lower_bound=lower_bound,
        generate=generate,
        gantt=gantt,
    )
)
register_format(Format("orlib-wt", "smtt", (".txt",), _read_orlib, sniff=_sniff_orlib, multi=True))
register_format(Format("smtt-txt", "smtt", (".txt",), _read_txt, _write_txt, sniff=_sniff_txt))
register_format(
    Format("smtt-jsonl", "smtt", (".jsonl",), _read_jsonl, _write_jsonl, _sniff_jsonl, multi=True)
)
register_format(Format("smtt-json", "smtt", (".json",), _read_json, _write_json, _sniff_json))
