"""Seeded RCPSP generators: ProGen-style and R-ConstraintBench-style.

``progen``
    After Kolisch, Sprecher & Drexl (1995): a network with a dummy source
    and sink whose number of arcs per activity approaches the *network
    complexity* NC; each activity uses each resource with probability RF
    (*resource factor*); capacities follow the *resource strength* RS,
    ``K_r = k_min + round(RS (k_max - k_min))`` with ``k_min`` the largest
    single demand and ``k_max`` the peak demand of the earliest-start schedule.
``rconstraint``
    After Jain & Wetter (2025), R-ConstraintBench: a layered precedence DAG
    (each activity has one predecessor in the previous level, plus one extra
    non-redundant edge per level), RF/RS resources as above, then side
    constraints drawn with given probabilities: a downtime window per
    resource, a release/deadline window per activity, a disjunctive partner
    per activity, a minimum lag per precedence. Deadlines are latest finish
    times for a horizon of ``tightness`` times a makespan estimate, so low
    tightness (or much downtime) gives infeasible instances on purpose.

References
----------
Kolisch, R., Sprecher, A., & Drexl, A. (1995). Characterization and
generation of a general class of resource-constrained project scheduling
problems. Management Science 41(10), 1693-1703.

Jain, R., & Wetter, M. (2025). R-ConstraintBench. arXiv:2508.15204.
"""

from __future__ import annotations

import math

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.problems.rcpsp import (
    NO_DEADLINE,
    RCPSPInstance,
    critical_path_bound,
    earliest_starts,
    resource_bound,
)

__all__ = ["progen", "rconstraint"]


def _check(jobs: int, resources: int, rf: float, rs: float, max_duration: int, max_demand: int):
    if jobs < 1 or resources < 0:
        raise InvalidInstance(f"need jobs >= 1 and resources >= 0, got {jobs} and {resources}")
    if not 0 <= rf <= 1 or not 0 <= rs <= 1:
        raise InvalidInstance(f"rf and rs must lie in [0, 1], got rf={rf}, rs={rs}")
    if max_duration < 1 or max_demand < 1:
        raise InvalidInstance("max_duration and max_demand must be >= 1")


class _Dag:
    """A DAG with transitive reachability, to add only non-redundant arcs."""

    def __init__(self, n: int):
        self.reach = np.zeros((n, n), dtype=bool)
        self.arcs: list[tuple[int, int]] = []

    def related(self, a: int, b: int) -> bool:
        return bool(a == b or self.reach[a, b] or self.reach[b, a])

    def add(self, a: int, b: int) -> None:
        self.arcs.append((a, b))
        into_a = self.reach[:, a].copy()
        into_a[a] = True
        gained = self.reach[b].copy()
        gained[b] = True
        self.reach[into_a] |= gained


def _demands(rng, n: int, busy: np.ndarray, resources: int, rf: float, max_demand: int):
    demand = np.zeros((n, resources), dtype=np.int64)
    if resources == 0 or rf == 0:
        return demand
    for j in np.flatnonzero(busy):
        used = rng.random(resources) < rf
        if not used.any():
            used[rng.integers(resources)] = True
        demand[j, used] = rng.integers(1, max_demand + 1, size=int(used.sum()))
    return demand


def _capacities(duration, demand, precedence, rs: float) -> np.ndarray:
    """Kolisch et al. (1995) resource strength on the earliest-start schedule."""
    probe = RCPSPInstance(
        duration=duration,
        demand=demand,
        capacity=demand.max(axis=0, initial=0),
        precedence=precedence,
    )
    es = earliest_starts(probe)
    length = int(np.max(es + duration))
    usage = np.zeros((length + 1, demand.shape[1]), dtype=np.int64)
    for j in range(len(duration)):
        usage[es[j] : es[j] + duration[j]] += demand[j]
    k_min = demand.max(axis=0, initial=0)
    k_max = usage.max(axis=0, initial=0)
    return np.maximum(k_min + np.round(rs * (k_max - k_min)).astype(np.int64), 1)


def progen(
    *,
    jobs: int = 30,
    resources: int = 4,
    nc: float = 1.5,
    rf: float = 0.5,
    rs: float = 0.5,
    max_duration: int = 10,
    max_demand: int = 10,
    seed: int = 0,
    name: str | None = None,
) -> RCPSPInstance:
    """A ProGen-style instance: ``jobs`` activities plus dummy source (0) and sink (n-1).

    Parameters
    ----------
    jobs, resources
        Non-dummy activities and renewable resources.
    nc
        Target arcs per activity (dummies and their arcs included, as in
        PSPLIB); reached as closely as non-redundant arcs allow.
    rf, rs
        Resource factor and resource strength in [0, 1].
    max_duration, max_demand
        Durations and demands are uniform on ``1..max``.
    seed
        Seed of the random generator.
    name
        Instance name.
    """
    _check(jobs, resources, rf, rs, max_duration, max_demand)
    rng = np.random.default_rng(seed)
    n = jobs + 2
    sink = n - 1
    dag = _Dag(n)
    starts = int(rng.integers(1, max(1, jobs // 6) + 1)) if jobs > 1 else 1
    for j in range(1, jobs + 1):
        if j <= starts:
            dag.add(0, j)
        else:
            dag.add(int(rng.integers(1, j)), j)
    has_succ = np.zeros(n, dtype=bool)
    for a, _ in dag.arcs:
        has_succ[a] = True
    target = round(nc * n)
    attempts = 0
    # Each arc from an activity that already has a successor adds one arc in
    # total (its sink arc is not needed anyway); try random non-redundant pairs.
    while len(dag.arcs) + int((~has_succ[1:sink]).sum()) < target and attempts < 50 * n:
        attempts += 1
        a, b = sorted(rng.integers(1, sink, size=2).tolist())
        if a == b or dag.related(a, b):
            continue
        dag.add(a, b)
        has_succ[a] = True
    for j in range(1, sink):
        if not has_succ[j]:
            dag.add(j, sink)
    duration = np.zeros(n, dtype=np.int64)
    duration[1:sink] = rng.integers(1, max_duration + 1, size=jobs)
    busy = duration > 0
    demand = _demands(rng, n, busy, resources, rf, max_demand)
    precedence = np.asarray(sorted(dag.arcs), dtype=np.int64)  # file order: by predecessor
    capacity = _capacities(duration, demand, precedence, rs)
    return RCPSPInstance(
        duration=duration,
        demand=demand,
        capacity=capacity,
        precedence=precedence,
        name=name or f"progen_n{jobs}_nc{nc:g}_rf{rf:g}_rs{rs:g}_s{seed}",
        metadata={
            "source": "generate",
            "generator": "progen",
            "jobs": jobs,
            "resources": resources,
            "nc": nc,
            "rf": rf,
            "rs": rs,
            "seed": seed,
        },
    )


def rconstraint(
    *,
    jobs: int = 20,
    resources: int = 3,
    levels: int = 5,
    rf: float = 0.5,
    rs: float = 0.5,
    max_duration: int = 10,
    max_demand: int = 10,
    p_downtime: float = 0.5,
    p_window: float = 0.3,
    p_disjunctive: float = 0.2,
    p_lag: float = 0.0,
    tightness: float = 1.5,
    seed: int = 0,
    name: str | None = None,
) -> RCPSPInstance:
    """An R-ConstraintBench-style instance (no dummies) with side constraints.

    Parameters
    ----------
    jobs, resources, levels
        Activities, resources and levels of the layered DAG.
    rf, rs, max_duration, max_demand
        As in :func:`progen`.
    p_downtime
        Probability that a resource gets a downtime window.
    p_window
        Probability that an activity gets a release date and a deadline.
    p_disjunctive
        Probability that an activity gets a disjunctive partner (one not
        related to it by precedence).
    p_lag
        Probability that a precedence gets a minimum lag of 1..3.
    tightness
        Horizon for deadlines, as a multiple of ``max(critical path,
        resource bound)``.
    seed, name
        Seed and instance name.
    """
    _check(jobs, resources, rf, rs, max_duration, max_demand)
    if levels < 1 or tightness <= 0:
        raise InvalidInstance(f"need levels >= 1 and tightness > 0, got {levels} and {tightness}")
    for label, p in (
        ("p_downtime", p_downtime),
        ("p_window", p_window),
        ("p_disjunctive", p_disjunctive),
        ("p_lag", p_lag),
    ):
        if not 0 <= p <= 1:
            raise InvalidInstance(f"{label} must lie in [0, 1], got {p}")
    rng = np.random.default_rng(seed)
    levels = min(levels, jobs)
    level_of = np.sort(
        np.concatenate([np.arange(levels), rng.integers(0, levels, size=jobs - levels)])
    )
    members = [np.flatnonzero(level_of == lv) for lv in range(levels)]
    dag = _Dag(jobs)
    for lv in range(1, levels):
        for b in members[lv]:
            dag.add(int(rng.choice(members[lv - 1])), int(b))
    for lv in range(levels - 1):
        later = np.flatnonzero(level_of > lv)
        pairs = [
            (int(a), int(b)) for a in members[lv] for b in later if not dag.related(int(a), int(b))
        ]
        if pairs:
            dag.add(*pairs[int(rng.integers(len(pairs)))])
    duration = rng.integers(1, max_duration + 1, size=jobs).astype(np.int64)
    demand = _demands(rng, jobs, duration > 0, resources, rf, max_demand)
    precedence = np.asarray(sorted(dag.arcs), dtype=np.int64).reshape(-1, 2)
    lag = np.where(rng.random(len(precedence)) < p_lag, rng.integers(1, 4, size=len(precedence)), 0)
    capacity = _capacities(duration, demand, precedence, rs)
    base = RCPSPInstance(
        duration=duration, demand=demand, capacity=capacity, precedence=precedence, lag=lag
    )
    estimate = max(critical_path_bound(base), resource_bound(base))
    span = max(1, math.ceil(tightness * estimate))

    downtime = []
    for r in range(resources):
        if rng.random() < p_downtime:
            length = int(rng.integers(1, max(2, span // 8) + 1))
            start = int(rng.integers(0, max(1, span - length) + 1))
            downtime.append((r, start, start + length, int(rng.integers(0, capacity[r] // 2 + 1))))

    es = earliest_starts(base)
    latest_finish = np.full(jobs, span, dtype=np.int64)
    # Backward pass in reverse topological order (levels are topological).
    order = np.argsort(level_of, kind="stable")[::-1]
    succ_of: list[list[tuple[int, int]]] = [[] for _ in range(jobs)]
    for (a, b), lg in zip(precedence.tolist(), lag.tolist(), strict=True):
        succ_of[a].append((b, lg))
    for a in order:
        for b, lg in succ_of[a]:
            latest_finish[a] = min(latest_finish[a], latest_finish[b] - duration[b] - lg)
    release = np.zeros(jobs, dtype=np.int64)
    deadline = np.full(jobs, NO_DEADLINE, dtype=np.int64)
    for j in np.flatnonzero(rng.random(jobs) < p_window):
        release[j] = int(rng.integers(0, es[j] + 1))
        deadline[j] = max(int(latest_finish[j]), int(release[j] + duration[j]))

    disjunctive: set[tuple[int, int]] = set()
    for a in np.flatnonzero(rng.random(jobs) < p_disjunctive):
        free = [b for b in range(jobs) if not dag.related(int(a), b)]
        if free:
            b = free[int(rng.integers(len(free)))]
            disjunctive.add((min(int(a), b), max(int(a), b)))

    return RCPSPInstance(
        duration=duration,
        demand=demand,
        capacity=capacity,
        precedence=precedence,
        lag=lag,
        release=release,
        deadline=deadline,
        downtime=downtime,
        disjunctive=sorted(disjunctive),
        name=name or f"rcb_n{jobs}_L{levels}_t{tightness:g}_s{seed}",
        metadata={
            "source": "generate",
            "generator": "rconstraint",
            "jobs": jobs,
            "resources": resources,
            "levels": levels,
            "rf": rf,
            "rs": rs,
            "p_downtime": p_downtime,
            "p_window": p_window,
            "p_disjunctive": p_disjunctive,
            "p_lag": p_lag,
            "tightness": tightness,
            "seed": seed,
        },
    )
