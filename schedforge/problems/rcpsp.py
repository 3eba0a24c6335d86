"""Resource-constrained project scheduling (RCPSP) with side constraints.

Activities ``j = 0..n-1`` with integer durations ``d_j >= 0`` need ``q_jr``
units of renewable resources ``r = 0..R-1`` while they run, without
preemption. A solution gives every activity a start time ``S_j >= 0``; the
objective is the makespan ``max_j (S_j + d_j)``. Besides the classic
finish-to-start precedences and constant capacities (PSPLIB), an instance may
carry the side constraints of R-ConstraintBench (Jain & Wetter, 2025):

* **minimum lags** on precedences: ``S_j >= S_i + d_i + lag_ij``;
* **downtime**: over ``[start, end)`` the capacity of a resource drops to a
  given ``available`` amount (possibly 0); overlapping windows take the
  smallest value;
* **windows**: release dates ``S_j >= release_j`` and deadlines
  ``S_j + d_j <= deadline_j`` (``-1`` means no deadline);
* **disjunctive pairs** ``{i, j}`` that must not overlap in time.

Activities of duration 0 occupy no resource and overlap nothing. PSPLIB files
keep their dummy source and sink as activities 0 and n-1.

This module holds the data model, a builder, the independent validator and
evaluator, lower bounds and Gantt bars. Formats live in
:mod:`schedforge.problems.rcpsp_formats`, generators in
:mod:`schedforge.problems.rcpsp_generators`. No solver code here.

References
----------
Kolisch, R., & Sprecher, A. (1997). PSPLIB - a project scheduling problem
library. European Journal of Operational Research 96(1), 205-216.

Jain, R., & Wetter, M. (2025). R-ConstraintBench: evaluating LLMs on
NP-complete scheduling. arXiv:2508.15204.
"""

from __future__ import annotations

import itertools
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

__all__ = [
    "NO_DEADLINE",
    "RCPSPBuilder",
    "RCPSPInstance",
    "RCPSPSolution",
    "capacity_profile",
    "capacity_segments",
    "critical_path_bound",
    "earliest_starts",
    "gantt",
    "generate",
    "horizon",
    "lower_bound",
    "objective",
    "resource_bound",
    "resource_usage",
    "topological_order",
    "validate",
]

MAX_HORIZON = 10**6
"""Longest schedule horizon (see :func:`horizon`) an instance may have."""

NO_DEADLINE = -1
"""Marker in ``RCPSPInstance.deadline`` for an activity without a deadline."""


def _rows(values: Any, field_name: str, width: int, bound: int = MAX_TIME) -> np.ndarray:
    """A read-only ``(k, width)`` integer array; ``None`` or ``[]`` give ``k = 0``."""
    if values is None or (hasattr(values, "__len__") and len(values) == 0):
        arr = np.zeros((0, width), dtype=np.int64)
        arr.setflags(write=False)
        return arr
    arr = int_array(values, field_name, ndim=2, bound=bound)
    if arr.shape[1] != width:
        raise InvalidInstance(f"{field_name}: expected rows of {width} integers, got {arr.shape}")
    return arr


def _find_cycle(n: int, pairs: np.ndarray) -> list[int] | None:
    """A precedence cycle as a list of activities, or ``None`` for a DAG."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = np.zeros(n, dtype=np.int64)
    for a, b in pairs:
        succ[a].append(int(b))
        indeg[b] += 1
    stack = [j for j in range(n) if indeg[j] == 0]
    while stack:
        j = stack.pop()
        for k in succ[j]:
            indeg[k] -= 1
            if indeg[k] == 0:
                stack.append(k)
    left = set(np.flatnonzero(indeg > 0).tolist())
    if not left:
        return None
    # Every activity left has a predecessor that is left too: walking
    # backwards inside the set must revisit an activity, which closes a cycle.
    pred: dict[int, int] = {}
    for a, b in pairs:
        if int(a) in left and int(b) in left:
            pred.setdefault(int(b), int(a))
    walk = [min(left)]
    seen = {walk[0]: 0}
    while True:
        nxt = pred[walk[-1]]
        if nxt in seen:
            cycle = walk[seen[nxt] :][::-1]
            first = cycle.index(min(cycle))  # start at the smallest, for stable messages
            cycle = cycle[first:] + cycle[:first]
            return [*cycle, cycle[0]]
        seen[nxt] = len(walk)
        walk.append(nxt)


@dataclass(frozen=True, eq=False)
class RCPSPInstance(Instance):
    """An RCPSP instance, optionally with lags, downtime, windows and disjunctions.

    Parameters
    ----------
    duration
        Durations ``d_j``, integers >= 0, one per activity.
    demand
        ``(n, R)`` renewable resource demands ``q_jr >= 0``.
    capacity
        ``(R,)`` base capacities (the capacity outside downtime windows).
    precedence
        ``(m, 2)`` finish-to-start pairs ``(i, j)``: ``j`` starts after ``i``
        ends (plus ``lag``). 0-based activity indices.
    lag
        ``(m,)`` minimum lags >= 0 of the precedence pairs; ``None`` means 0.
    release
        Earliest start per activity (>= 0); ``None`` means all 0.
    deadline
        Latest finish per activity, or :data:`NO_DEADLINE` (``-1``); ``None``
        means no deadlines.
    downtime
        ``(k, 4)`` rows ``(resource, start, end, available)``: over
        ``[start, end)`` the capacity of ``resource`` is at most ``available``.
    disjunctive
        ``(p, 2)`` pairs of activities that must not overlap in time.
    name
        Instance name.
    metadata
        ``optimum``, ``best_known``, ``lower_bound``, ``cpm_lb``, ``source`` ...

    Raises
    ------
    InvalidInstance
        On shape mismatches, negative values, indices out of range, a
        precedence cycle (named), a demand above its resource's capacity, a
        deadline before release plus duration, or a malformed downtime row.
    """

    problem: ClassVar[str] = "rcpsp"

    duration: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    precedence: np.ndarray | None = None
    lag: np.ndarray | None = None
    release: np.ndarray | None = None
    deadline: np.ndarray | None = None
    downtime: np.ndarray | None = None
    disjunctive: np.ndarray | None = None
    name: str = "rcpsp"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        who = self.name
        duration = int_array(self.duration, "duration", bound=MAX_TIME)
        n = len(duration)
        if n == 0:
            raise InvalidInstance(f"{who}: an instance needs at least one activity")
        capacity = int_array(self.capacity, "capacity")
        num_res = len(capacity)
        demand = (
            np.zeros((n, 0), dtype=np.int64)
            if num_res == 0 and (self.demand is None or np.size(self.demand) == 0)
            else int_array(self.demand, "demand", ndim=2)
        )
        if demand.shape != (n, num_res):
            raise InvalidInstance(
                f"{who}: demand has shape {demand.shape} but there are {n} activities and "
                f"{num_res} resources; expected ({n}, {num_res})"
            )
        pairs = _rows(self.precedence, "precedence", 2)
        lag = (
            np.zeros(len(pairs), dtype=np.int64)
            if self.lag is None
            else int_array(self.lag, "lag", bound=MAX_TIME)
        )
        release = (
            np.zeros(n, dtype=np.int64)
            if self.release is None
            else int_array(self.release, "release", bound=MAX_TIME)
        )
        deadline = (
            np.full(n, NO_DEADLINE, dtype=np.int64)
            if self.deadline is None
            else int_array(self.deadline, "deadline", bound=MAX_TIME)
        )
        downtime = _rows(self.downtime, "downtime", 4)
        disjunctive = _rows(self.disjunctive, "disjunctive", 2)
        for arr in (demand, lag, release, deadline):
            arr.setflags(write=False)

        def first(mask: np.ndarray) -> int | None:
            hits = np.flatnonzero(mask)
            return int(hits[0]) if len(hits) else None

        if (j := first(duration < 0)) is not None:
            raise InvalidInstance(
                f"{who}: activity {j} has duration {duration[j]}; durations must be >= 0"
            )
        if (r := first(capacity < 0)) is not None:
            raise InvalidInstance(
                f"{who}: resource {r} has capacity {capacity[r]}; capacities must be >= 0"
            )
        if demand.size and demand.min() < 0:
            j, r = np.argwhere(demand < 0)[0]
            raise InvalidInstance(
                f"{who}: activity {j} has demand {demand[j, r]} on resource {r}; demands must be >= 0"
            )
        if len(lag) != len(pairs):
            raise InvalidInstance(f"{who}: {len(pairs)} precedence pairs but {len(lag)} lags")
        for label, arr in (("release", release), ("deadline", deadline)):
            if len(arr) != n:
                raise InvalidInstance(f"{who}: {label} has {len(arr)} entries for {n} activities")
        for label, arr in (("precedence", pairs), ("disjunctive", disjunctive)):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                k = first((arr < 0).any(axis=1) | (arr >= n).any(axis=1))
                raise InvalidInstance(
                    f"{who}: {label} pair {k} = {arr[k].tolist()} names an activity outside 0..{n - 1}"
                )
            if (k := first(arr[:, 0] == arr[:, 1])) is not None:
                raise InvalidInstance(
                    f"{who}: {label} pair {k} relates activity {arr[k, 0]} to itself"
                )
        if (k := first(lag < 0)) is not None:
            raise InvalidInstance(
                f"{who}: precedence {pairs[k].tolist()} has lag {lag[k]}; lags must be >= 0"
            )
        cycle = _find_cycle(n, pairs)
        if cycle is not None:
            raise InvalidInstance(
                f"{who}: precedence cycle {' -> '.join(map(str, cycle))} (0-based activities); "
                "no schedule can satisfy it"
            )
        over = (demand > capacity[None, :]) & (duration[:, None] > 0)
        if over.any():
            j, r = np.argwhere(over)[0]
            raise InvalidInstance(
                f"{who}: activity {j} needs {demand[j, r]} units of resource {r} but its capacity "
                f"is {capacity[r]}; it can never be scheduled"
            )
        if (j := first(release < 0)) is not None:
            raise InvalidInstance(
                f"{who}: activity {j} has release {release[j]}; releases must be >= 0"
            )
        if (j := first(deadline < NO_DEADLINE)) is not None:
            raise InvalidInstance(
                f"{who}: activity {j} has deadline {deadline[j]}; use -1 for 'no deadline'"
            )
        if (j := first((deadline != NO_DEADLINE) & (deadline < release + duration))) is not None:
            raise InvalidInstance(
                f"{who}: activity {j} has deadline {deadline[j]} before release {release[j]} plus "
                f"duration {duration[j]}; it can never meet its window"
            )
        for k, (res, start, end, available) in enumerate(downtime.tolist()):
            if not 0 <= res < num_res:
                raise InvalidInstance(
                    f"{who}: downtime {k} names resource {res} outside 0..{num_res - 1}"
                )
            if not 0 <= start < end:
                raise InvalidInstance(
                    f"{who}: downtime {k} on resource {res} spans [{start}, {end}); "
                    "need 0 <= start < end"
                )
            if not 0 <= available <= capacity[res]:
                raise InvalidInstance(
                    f"{who}: downtime {k} leaves {available} units of resource {res}; need "
                    f"0 <= available <= capacity {capacity[res]}"
                )
        # Every schedule the methods consider ends by this horizon, and the
        # schedule-generation schemes keep a resource profile per time unit.
        span = max(int(release.max()), int(downtime[:, 2].max()) if len(downtime) else 0)
        check_total(
            span + sum(duration.tolist()) + sum(lag.tolist()),
            "the schedule horizon (last release or downtime + durations + lags)",
            who,
            limit=MAX_HORIZON,
            why="the methods keep resource profiles per time unit; scale the times down",
        )
        for name, value in (
            ("duration", duration),
            ("demand", demand),
            ("capacity", capacity),
            ("precedence", pairs),
            ("lag", lag),
            ("release", release),
            ("deadline", deadline),
            ("downtime", downtime),
            ("disjunctive", disjunctive),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "metadata", frozen_mapping(self.metadata))

    @property
    def num_activities(self) -> int:
        """Number of activities (PSPLIB dummies included)."""
        return len(self.duration)

    @property
    def num_resources(self) -> int:
        """Number of renewable resources."""
        return len(self.capacity)

    @property
    def has_deadlines(self) -> bool:
        """Whether any activity has a deadline."""
        return bool(np.any(self.deadline != NO_DEADLINE))

    @property
    def has_side_constraints(self) -> bool:
        """Whether the instance uses lags, downtime, windows or disjunctive pairs."""
        return bool(
            np.any(self.lag)
            or len(self.downtime)
            or np.any(self.release)
            or self.has_deadlines
            or len(self.disjunctive)
        )


@dataclass(frozen=True, eq=False)
class RCPSPSolution(Solution):
    """A schedule: ``start[j]`` is the start time of activity ``j``."""

    start: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", int_array(self.start, "start"))


class RCPSPBuilder:
    """Build an :class:`RCPSPInstance` step by step.

    Examples
    --------
    >>> b = RCPSPBuilder()
    >>> crane = b.add_resource(2)
    >>> dig = b.add_activity(3, {crane: 1})
    >>> pour = b.add_activity(2, {crane: 2}, deadline=10)
    >>> b.add_precedence(dig, pour, lag=1)
    >>> b.add_downtime(crane, 4, 6, available=0)
    >>> inst = b.build("site")
    >>> inst.num_activities, inst.num_resources
    (2, 1)
    """

    def __init__(self) -> None:
        self._capacity: list[int] = []
        self._duration: list[int] = []
        self._demand: list[dict[int, int]] = []
        self._release: list[int] = []
        self._deadline: list[int] = []
        self._precedence: list[tuple[int, int]] = []
        self._lag: list[int] = []
        self._downtime: list[tuple[int, int, int, int]] = []
        self._disjunctive: list[tuple[int, int]] = []

    def add_resource(self, capacity: int) -> int:
        """Add a renewable resource; returns its index."""
        self._capacity.append(int(capacity))
        return len(self._capacity) - 1

    def add_activity(
        self,
        duration: int,
        demand: Mapping[int, int] | Sequence[int] | None = None,
        *,
        release: int = 0,
        deadline: int | None = None,
    ) -> int:
        """Add an activity with ``{resource: units}`` (or a full list) demands; returns its index."""
        if demand is None:
            demand = {}
        elif not isinstance(demand, Mapping):
            demand = dict(enumerate(demand))
        self._duration.append(int(duration))
        self._demand.append({int(r): int(q) for r, q in demand.items()})
        self._release.append(int(release))
        self._deadline.append(NO_DEADLINE if deadline is None else int(deadline))
        return len(self._duration) - 1

    def add_precedence(self, before: int, after: int, *, lag: int = 0) -> None:
        """``after`` starts at least ``lag`` after ``before`` ends."""
        self._precedence.append((int(before), int(after)))
        self._lag.append(int(lag))

    def add_downtime(self, resource: int, start: int, end: int, *, available: int = 0) -> None:
        """Over ``[start, end)`` only ``available`` units of ``resource`` exist."""
        self._downtime.append((int(resource), int(start), int(end), int(available)))

    def add_disjunctive(self, first: int, second: int) -> None:
        """``first`` and ``second`` must not overlap in time."""
        self._disjunctive.append((int(first), int(second)))

    def build(
        self, name: str = "rcpsp", metadata: Mapping[str, Any] | None = None
    ) -> RCPSPInstance:
        """The validated, frozen instance."""
        num_res = len(self._capacity)
        demand = np.zeros((len(self._duration), num_res), dtype=np.int64)
        for j, row in enumerate(self._demand):
            for r, units in row.items():
                if not 0 <= r < num_res:
                    raise InvalidInstance(f"{name}: activity {j} uses unknown resource {r}")
                demand[j, r] = units
        return RCPSPInstance(
            duration=self._duration,
            demand=demand,
            capacity=self._capacity,
            precedence=self._precedence,
            lag=self._lag,
            release=self._release,
            deadline=self._deadline,
            downtime=self._downtime,
            disjunctive=self._disjunctive,
            name=name,
            metadata=metadata or {},
        )


# --------------------------------------------------------------------------
# Derived quantities shared by the oracle, the bounds and the methods.


def topological_order(instance: RCPSPInstance) -> np.ndarray:
    """A topological order of the activities (smallest index first among ties)."""
    import heapq

    n = instance.num_activities
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = np.zeros(n, dtype=np.int64)
    for a, b in instance.precedence.tolist():
        succ[a].append(b)
        indeg[b] += 1
    heap = [j for j in range(n) if indeg[j] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        j = heapq.heappop(heap)
        order.append(j)
        for k in succ[j]:
            indeg[k] -= 1
            if indeg[k] == 0:
                heapq.heappush(heap, k)
    return np.asarray(order, dtype=np.int64)


def earliest_starts(instance: RCPSPInstance) -> np.ndarray:
    """Earliest starts from releases, durations and lags, ignoring resources (CPM)."""
    es = instance.release.astype(np.int64).copy()
    by_pred: list[list[int]] = [[] for _ in range(instance.num_activities)]
    for k, (a, _) in enumerate(instance.precedence.tolist()):
        by_pred[a].append(k)
    for a in topological_order(instance):
        for k in by_pred[a]:
            b = instance.precedence[k, 1]
            es[b] = max(es[b], es[a] + instance.duration[a] + instance.lag[k])
    return es


def capacity_segments(instance: RCPSPInstance, resource: int) -> list[tuple[int, int, int]]:
    """The capacity of ``resource`` as ``(start, end, value)`` pieces below its base capacity.

    Overlapping downtime windows take the smallest available amount; times
    not covered by any piece have the base capacity.
    """
    rows = instance.downtime[instance.downtime[:, 0] == resource]
    if len(rows) == 0:
        return []
    points = np.unique(np.concatenate([rows[:, 1], rows[:, 2]]))
    pieces: list[tuple[int, int, int]] = []
    base = int(instance.capacity[resource])
    for lo, hi in itertools.pairwise(points):
        covering = rows[(rows[:, 1] <= lo) & (rows[:, 2] >= hi), 3]
        value = int(covering.min()) if len(covering) else base
        if value >= base:
            continue
        if pieces and pieces[-1][1] == lo and pieces[-1][2] == value:
            pieces[-1] = (pieces[-1][0], int(hi), value)
        else:
            pieces.append((int(lo), int(hi), value))
    return pieces


def capacity_profile(instance: RCPSPInstance, length: int) -> np.ndarray:
    """``(R, length)`` capacity of every resource in every period ``0..length-1``."""
    profile = np.repeat(instance.capacity[:, None], max(length, 0), axis=1).astype(np.int64)
    for r in range(instance.num_resources):
        for lo, hi, value in capacity_segments(instance, r):
            profile[r, lo : min(hi, length)] = value
    return profile


def horizon(instance: RCPSPInstance) -> int:
    """An upper bound on the makespan of some optimal schedule, if any schedule exists.

    After the last release and the last downtime window, activities can be
    appended one after the other; and the serial schedule-generation scheme
    applied to the start order of any feasible schedule yields one that
    starts no activity later (Kolisch 1996), inside this bound. Methods use
    it as their time horizon.
    """
    ends = [int(instance.release.max()), int(instance.downtime[:, 2].max(initial=0))]
    return max(ends) + int(instance.duration.sum()) + int(instance.lag.sum())


# --------------------------------------------------------------------------
# Oracle: validation, objective, bounds. Plain NumPy, independent of every
# method, so that tests can trust them.


def resource_usage(
    instance: RCPSPInstance, solution: RCPSPSolution
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The step functions of usage and capacity over time.

    Returns
    -------
    times
        Sorted breakpoints ``t_0 < t_1 < ...``; usage and capacity are
        constant on ``[t_k, t_{k+1})``.
    usage
        ``(R, len(times))`` units in use from each breakpoint on.
    capacity
        ``(R, len(times))`` capacity from each breakpoint on.
    """
    start = np.asarray(solution.start, dtype=np.int64)
    finish = start + instance.duration
    busy = instance.duration > 0
    times = np.unique(
        np.concatenate(
            [start[busy], finish[busy], instance.downtime[:, 1], instance.downtime[:, 2], [0]]
        )
    )
    active = busy[None, :] & (start[None, :] <= times[:, None]) & (times[:, None] < finish[None, :])
    usage = (active.astype(np.int64) @ instance.demand).T
    cap = np.repeat(instance.capacity[:, None], len(times), axis=1).astype(np.int64)
    for res, lo, hi, available in instance.downtime.tolist():
        inside = (times >= lo) & (times < hi)
        cap[res, inside] = np.minimum(cap[res, inside], available)
    return times, usage, cap


def validate(instance: RCPSPInstance, solution: RCPSPSolution) -> list[str]:
    """Every violated constraint of ``solution``; empty when it is feasible.

    Checks the number of start times, ``S_j >= 0`` and releases, deadlines,
    precedences with lags, disjunctive pairs, and the capacity of every
    resource at every time (downtime included).
    """
    start = np.asarray(solution.start)
    n = instance.num_activities
    if start.shape != (n,):
        return [f"expected {n} start times, got shape {start.shape}"]
    start = start.astype(np.int64)
    finish = start + instance.duration
    out: list[str] = []
    for j in np.flatnonzero(start < np.maximum(instance.release, 0))[:10]:
        out.append(f"activity {j} starts at {start[j]} before its release {instance.release[j]}")
    late = (instance.deadline != NO_DEADLINE) & (finish > instance.deadline)
    for j in np.flatnonzero(late)[:10]:
        out.append(f"activity {j} ends at {finish[j]} after its deadline {instance.deadline[j]}")
    for (a, b), lag in zip(instance.precedence.tolist(), instance.lag.tolist(), strict=True):
        if start[b] < finish[a] + lag:
            out.append(
                f"precedence {a} -> {b}: {b} starts at {start[b]} but {a} ends at {finish[a]}"
                + (f" (lag {lag})" if lag else "")
            )
    for a, b in instance.disjunctive.tolist():
        # A zero-duration activity is an instant: it overlaps nothing.
        busy = instance.duration[a] > 0 and instance.duration[b] > 0
        if busy and start[a] < finish[b] and start[b] < finish[a]:
            out.append(
                f"disjunctive pair {a}, {b} overlaps: [{start[a]}, {finish[a]}) and "
                f"[{start[b]}, {finish[b]})"
            )
    times, usage, cap = resource_usage(instance, RCPSPSolution(start))
    for r, k in np.argwhere(usage > cap)[:10]:
        out.append(
            f"resource {r} at time {times[k]}: {usage[r, k]} units in use, capacity {cap[r, k]}"
        )
    return out


def objective(instance: RCPSPInstance, solution: RCPSPSolution) -> int:
    """The makespan ``max_j (S_j + d_j)``."""
    return int(np.max(np.asarray(solution.start, dtype=np.int64) + instance.duration))


def critical_path_bound(instance: RCPSPInstance) -> int:
    """Length of the longest path through releases, durations and lags."""
    return int(np.max(earliest_starts(instance) + instance.duration))


def resource_bound(instance: RCPSPInstance) -> int:
    """The energy bound: the first time by which each resource has delivered its work.

    For resource ``r`` with work ``W_r = Σ_j d_j q_jr``, no schedule ends
    before the smallest ``T`` with ``Σ_{t<T} capacity_r(t) >= W_r``.
    Downtime lowers the capacity and so raises the bound.
    """
    work = instance.duration @ instance.demand
    best = 0
    for r in range(instance.num_resources):
        if work[r] == 0:
            continue
        base = int(instance.capacity[r])
        delivered, t = 0, 0
        for lo, hi, value in capacity_segments(instance, r):
            full = (lo - t) * base
            if delivered + full >= work[r]:
                break
            delivered += full
            t = lo
            if delivered + (hi - lo) * value >= work[r]:
                t += -(-(work[r] - delivered) // value)
                delivered = work[r]
                break
            delivered += (hi - lo) * value
            t = hi
        if delivered < work[r]:
            t += -(-(work[r] - delivered) // base)
        best = max(best, int(t))
    return best


def lower_bound(instance: RCPSPInstance) -> int:
    """The larger of the critical-path bound and the resource (energy) bound."""
    return max(critical_path_bound(instance), resource_bound(instance))


def gantt(instance: RCPSPInstance, solution: RCPSPSolution) -> list[Bar]:
    """Gantt bars: one row per activity of positive duration.

    Bars are grouped (coloured) by the resource the activity uses most,
    relative to capacity; activities that end at the makespan are highlighted.
    """
    start = np.asarray(solution.start, dtype=np.int64)
    finish = start + instance.duration
    makespan = int(finish.max())
    bars = []
    for j in range(instance.num_activities):
        if instance.duration[j] == 0:
            continue
        if instance.num_resources and instance.demand[j].any():
            share = instance.demand[j] / np.maximum(instance.capacity, 1)
            group = f"R{int(np.argmax(share)) + 1}"
        else:
            group = "none"
        bars.append(
            Bar(
                row=f"{j}",
                start=float(start[j]),
                end=float(finish[j]),
                label=str(j),
                group=group,
                highlight=bool(finish[j] == makespan),
            )
        )
    return bars


def generate(
    *,
    kind: str = "progen",
    jobs: int = 30,
    resources: int = 4,
    seed: int = 0,
    nc: float = 1.5,
    rf: float = 0.5,
    rs: float = 0.5,
    max_duration: int = 10,
    max_demand: int = 10,
    levels: int = 5,
    p_downtime: float = 0.0,
    p_window: float = 0.0,
    p_disjunctive: float = 0.0,
    p_lag: float = 0.0,
    tightness: float = 1.5,
    name: str | None = None,
) -> RCPSPInstance:
    """A random instance; see :mod:`schedforge.problems.rcpsp_generators`.

    Parameters
    ----------
    kind
        ``"progen"`` (Kolisch, Sprecher & Drexl 1995 parameters NC, RF, RS)
        or ``"rconstraint"`` (R-ConstraintBench: layered DAG, side
        constraints added with the probabilities ``p_*``).
    jobs, resources
        Number of non-dummy activities and of renewable resources.
    seed
        Seed; the same parameters and seed give the same instance.
    nc, rf, rs
        ProGen network complexity, resource factor and resource strength
        (``"progen"``; ``rf`` and ``rs`` are used by both kinds).
    max_duration, max_demand
        Durations and demands are drawn from ``1..max``.
    levels
        Number of levels of the layered DAG (``"rconstraint"``).
    p_downtime, p_window, p_disjunctive, p_lag
        Probabilities of a downtime window per resource, of a
        release/deadline window per activity, of a disjunctive pair per
        activity and of a lag of 1..3 per precedence (``"rconstraint"``).
    tightness
        Deadlines lie at ``tightness`` times a makespan estimate; below
        about 1.1 many instances become infeasible (``"rconstraint"``).
    name
        Instance name (a descriptive default includes the parameters).
    """
    from schedforge.problems import rcpsp_generators as gen

    if kind == "progen":
        return gen.progen(
            jobs=jobs,
            resources=resources,
            nc=nc,
            rf=rf,
            rs=rs,
            max_duration=max_duration,
            max_demand=max_demand,
            seed=seed,
            name=name,
        )
    if kind == "rconstraint":
        return gen.rconstraint(
            jobs=jobs,
            resources=resources,
            levels=levels,
            rf=rf,
            rs=rs,
            max_duration=max_duration,
            max_demand=max_demand,
            p_downtime=p_downtime,
            p_window=p_window,
            p_disjunctive=p_disjunctive,
            p_lag=p_lag,
            tightness=tightness,
            seed=seed,
            name=name,
        )
    raise InvalidInstance(f"unknown generator kind {kind!r}; use 'progen' or 'rconstraint'")


register_problem(
    Problem(
        name="rcpsp",
        title="resource-constrained project scheduling",
        instance_type=RCPSPInstance,
        solution_type=RCPSPSolution,
        validate=validate,
        objective=objective,
        lower_bound=lower_bound,
        generate=generate,
        gantt=gantt,
    )
)
