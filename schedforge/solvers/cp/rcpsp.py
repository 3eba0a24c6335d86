"""CP-SAT for the RCPSP with downtime, windows, lags and disjunctive pairs.

Variables, constraints, objective in that order, as in the other
``solvers/cp`` modules; the formulation is in :func:`build_model`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.rcpsp import heuristic_schedule, latest_finishes
from schedforge.problems.rcpsp import (
    RCPSPInstance,
    RCPSPSolution,
    capacity_segments,
    earliest_starts,
    horizon,
    lower_bound,
)
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat

__all__ = ["RCPSPModel", "build_model", "time_windows"]


def time_windows(instance: RCPSPInstance, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest start of every activity in a schedule ending by ``end``.

    From releases, lags and durations forwards, and from ``end`` and
    deadlines backwards. Any ``earliest > latest`` proves that no schedule
    ends by ``end``.
    """
    earliest = earliest_starts(instance)
    latest = latest_finishes(instance, end) - instance.duration
    return earliest, latest


def _conflict_cliques(instance: RCPSPInstance) -> list[list[int]]:
    """Greedy maximal cliques (size >= 3) of activities that pairwise exceed some capacity."""
    busy = np.flatnonzero(instance.duration > 0)
    if len(busy) < 3 or instance.num_resources == 0:
        return []
    dem = instance.demand[busy]
    clash = np.zeros((len(busy), len(busy)), dtype=bool)
    for r in range(instance.num_resources):
        clash |= dem[:, r][:, None] + dem[:, r][None, :] > instance.capacity[r]
    np.fill_diagonal(clash, False)
    cliques: list[list[int]] = []
    covered = np.zeros_like(clash)
    # Seeds by degree, largest first; every clique found is maximal.
    for seed in np.argsort(-clash.sum(axis=1), kind="stable"):
        members = [int(seed)]
        for k in np.argsort(-clash.sum(axis=1), kind="stable"):
            if k != seed and all(clash[k, m] for m in members):
                members.append(int(k))
        if len(members) >= 3 and not all(covered[a, b] for a in members for b in members if a != b):
            for a in members:
                covered[a, members] = True
            cliques.append(sorted(int(busy[m]) for m in members))
    return cliques


@dataclass
class RCPSPModel:
    """A built CP-SAT model with its start variables and makespan variable."""

    model: Any
    start: list[Any]
    makespan: Any


def build_model(instance: RCPSPInstance, end: int) -> RCPSPModel | None:
    r"""The CP-SAT model of schedules with makespan at most ``end``; ``None`` if windows are empty.

    .. math::

        \min C \quad \text{s.t.}\quad
        S_j \in [ES_j, LS_j],\;
        S_j \ge S_i + d_i + \ell_{ij}\ ((i,j)\in E),\;
        \text{cumulative}_r\big(\{[S_j, S_j+d_j), q_{jr}\} \cup
            \{[a, b), K_r - k\}_{\text{downtime}}\big) \le K_r,\;
        \text{no-overlap}(i, j)\ (\{i,j\}\in D),\;
        C \ge S_j + d_j,\; C \in [LB, \text{end}]

    Windows ``[ES_j, LS_j]`` carry releases, deadlines and ``end``; a
    downtime piece where capacity drops to ``k`` is a fixed interval using
    ``K_r - k`` units.
    """
    cp_model = import_cp_model()
    earliest, latest = time_windows(instance, end)
    if np.any(earliest > latest):
        return None
    model = cp_model.CpModel()
    n = instance.num_activities
    duration = instance.duration.tolist()
    # Variables.
    start = [model.new_int_var(int(earliest[j]), int(latest[j]), f"S{j}") for j in range(n)]
    interval = [model.new_fixed_size_interval_var(start[j], duration[j], f"I{j}") for j in range(n)]
    makespan = model.new_int_var(min(lower_bound(instance), end), end, "C")
    # Constraints.
    for (a, b), lag in zip(instance.precedence.tolist(), instance.lag.tolist(), strict=True):
        model.add(start[b] >= start[a] + duration[a] + lag)
    for r in range(instance.num_resources):
        users = [j for j in range(n) if duration[j] > 0 and instance.demand[j, r] > 0]
        if not users:
            continue
        cap = int(instance.capacity[r])
        intervals = [interval[j] for j in users]
        demands = [int(instance.demand[j, r]) for j in users]
        for lo, hi, value in capacity_segments(instance, r):
            if lo >= end:
                break
            intervals.append(model.new_fixed_size_interval_var(lo, min(hi, end) - lo, f"D{r}_{lo}"))
            demands.append(cap - value)
        if sum(demands) > cap:
            model.add_cumulative(intervals, demands, cap)
    for a, b in instance.disjunctive.tolist():
        if duration[a] > 0 and duration[b] > 0:
            model.add_no_overlap([interval[a], interval[b]])
    # Redundant: activities that cannot run together on some resource form
    # disjunctive cliques, on which CP-SAT's no-overlap reasoning (edge
    # finding, detectable precedences) is much stronger than cumulative's.
    for clique in _conflict_cliques(instance):
        model.add_no_overlap([interval[j] for j in clique])
    for j in range(n):
        model.add(makespan >= start[j] + duration[j])
    # Objective.
    model.minimize(makespan)
    return RCPSPModel(model=model, start=start, makespan=makespan)


@method("rcpsp", "cp", exact=True)
def cp(
    instance: RCPSPInstance,
    *,
    time_limit: float | None,
    seed: int,
    workers: int = 1,
    hint: bool = True,
) -> Outcome:
    """CP-SAT: intervals, one cumulative per resource, windows as domains.

    A heuristic schedule (parallel LFT and a short GA) bounds the makespan and
    is the solution hint; without one the horizon of
    :func:`~schedforge.problems.rcpsp.horizon` keeps ``INFEASIBLE`` a proof.

    Parameters
    ----------
    workers
        CP-SAT ``num_workers``; more than 1 makes runs nondeterministic.
    hint
        Compute a heuristic schedule to bound the horizon and hint the search.

    ``time_limit=None`` means 60 s.
    """
    clock = time.perf_counter()
    start_guess = heuristic_schedule(instance, seed=seed) if hint else None
    if start_guess is not None:
        end = int(np.max(start_guess + instance.duration))
    else:
        end = horizon(instance)
    built = build_model(instance, end)
    stats: dict[str, Any] = {
        "horizon": end,
        "heuristic_makespan": end if start_guess is not None else None,
    }
    if built is None:
        # Some time window is empty even ignoring resources: no schedule at all
        # (with a heuristic makespan as ``end`` this cannot happen).
        stats["reason"] = "an activity's window [release/lags, deadline] is empty"
        return Outcome(status=Status.INFEASIBLE, stats=stats)
    pairs = None
    if start_guess is not None:
        pairs = [(built.makespan, end), *zip(built.start, start_guess.tolist(), strict=True)]
    left = None if time_limit is None else max(0.05, time_limit - (time.perf_counter() - clock))
    run = run_cp_sat(built.model, time_limit=left, seed=seed, workers=workers, hint=pairs)
    stats.update(run.stats)
    if not run.status.has_solution:
        return Outcome(status=run.status, stats=stats)
    start = np.array([run.value(s) for s in built.start], dtype=np.int64)
    return Outcome(
        RCPSPSolution(start),
        status=run.status,
        bound=run.bound,
        objective=run.objective,
        stats=stats,
    )
