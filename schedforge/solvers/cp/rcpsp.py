"""CP-SAT for the RCPSP with downtime, windows, lags and disjunctive pairs.

Variables, constraints, objective in that order, as in the other
``solvers/cp`` modules; the formulation is in :func:`build_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.rcpsp import latest_finishes, rule
from schedforge.heuristics.rcpsp_ga import ga
from schedforge.problems.rcpsp import (
    RCPSPInstance,
    RCPSPSolution,
    capacity_segments,
    earliest_starts,
    horizon,
    lower_bound,
    topological_order,
)
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat

__all__ = ["RCPSPModel", "build_model", "start_schedule", "time_windows"]

# The stopping rule without a time limit (registered as default_stop).
DEFAULT_TIME_LIMIT = 60.0
# The share of the budget the GA may spend before CP-SAT starts, and the
# schedules without improvement after which it hands over earlier. Chosen on
# PSPLIB instances ``_2`` of j60 (stall 5,000 vs 20,000; shares 0.3 and 0.5
# tied) and j120 (share 0.3 lost to the GA given the whole time on 3 of 6
# at 1 s, 0.6 on 1 of 6 at 2 s, 0.9 on none), none of them in the published
# comparison (benchmarks/results/rcpsp_portfolio.md). The stall ends the GA
# phase long before the share on small instances, leaving CP-SAT the time to
# prove optimality. They were chosen with Hartmann's GA; the portfolio runs
# the default GA (bi-population), which with Hartmann's left `cp` worse
# than `ga` itself on j3013_1 (60 vs 59).
GA_SHARE = 0.9
GA_STALL = 20_000
# The GA's schedule count when only its time share and stall stop it.
_UNCOUNTED = 2**62
# Order literals added between two looks at the clock while building.
_CHECK_EVERY = 64
# Seconds kept back from CP-SAT's limit for starting it and reading its answer.
_RESERVE = 0.05


def time_windows(instance: RCPSPInstance, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest start of every activity in a schedule ending by ``end``.

    From releases, lags and durations forwards, and from ``end`` and
    deadlines backwards. Any ``earliest > latest`` proves that no schedule
    ends by ``end``.
    """
    earliest = earliest_starts(instance)
    latest = latest_finishes(instance, end) - instance.duration
    return earliest, latest


def _clash_matrix(instance: RCPSPInstance, busy: np.ndarray) -> np.ndarray:
    """``clash[a, b]``: activities ``busy[a]`` and ``busy[b]`` exceed some capacity together."""
    dem = instance.demand[busy]
    clash = np.zeros((len(busy), len(busy)), dtype=bool)
    for r in range(instance.num_resources):
        clash |= dem[:, r][:, None] + dem[:, r][None, :] > instance.capacity[r]
    np.fill_diagonal(clash, False)
    return clash


def _precedence_closure(instance: RCPSPInstance) -> np.ndarray:
    """``before[a, b]``: a chain of precedences leads from ``a`` to ``b``."""
    n = instance.num_activities
    before = np.zeros((n, n), dtype=bool)
    before[instance.precedence[:, 0], instance.precedence[:, 1]] = True
    # In reverse topological order every successor's row is final when used.
    for a in topological_order(instance)[::-1]:
        for b in np.flatnonzero(before[a]):
            before[a] |= before[b]
    return before


def _unordered_conflicts(instance: RCPSPInstance) -> list[tuple[int, int]]:
    """Pairs ``a < b`` that exceed some capacity together and no precedence chain orders."""
    busy = np.flatnonzero(instance.duration > 0)
    if len(busy) < 2 or instance.num_resources == 0:
        return []
    clash = np.triu(_clash_matrix(instance, busy))
    before = _precedence_closure(instance)[np.ix_(busy, busy)]
    rows, cols = np.nonzero(clash & ~before & ~before.T)
    return [(int(busy[a]), int(busy[b])) for a, b in zip(rows, cols, strict=True)]


def _conflict_cliques(instance: RCPSPInstance) -> list[list[int]]:
    """Greedy maximal cliques (size >= 3) of activities that pairwise exceed some capacity."""
    busy = np.flatnonzero(instance.duration > 0)
    if len(busy) < 3 or instance.num_resources == 0:
        return []
    clash = _clash_matrix(instance, busy)
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


def _check(budget: Budget | None) -> None:
    """Stop building a model whose budget has expired."""
    if budget is not None and budget.expired():
        raise TimeoutError("the time limit expired while the model was built")


@dataclass
class RCPSPModel:
    """A built CP-SAT model with its start variables and makespan variable."""

    model: Any
    start: list[Any]
    makespan: Any


def build_model(
    instance: RCPSPInstance,
    end: int,
    *,
    order_literals: bool = True,
    budget: Budget | None = None,
) -> RCPSPModel | None:
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
    ``K_r - k`` units. Redundant constraints: a no-overlap on every greedy
    clique of activities that pairwise exceed some capacity and, with
    ``order_literals``, a Boolean ``O_ab`` for every such pair that no
    precedence chain orders, with ``O_ab => S_b >= S_a + d_a`` and
    ``not O_ab => S_a >= S_b + d_b``.

    Raises
    ------
    TimeoutError
        ``budget`` expired before the model was complete (a j120 model
        with its order literals takes 0.2-0.5 s to build).
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
    _check(budget)
    for clique in _conflict_cliques(instance):
        model.add_no_overlap([interval[j] for j in clique])
    _check(budget)
    # Redundant: an explicit order literal per conflicting pair gives the SAT
    # search something to branch on and learn clauses over (a disjunctive
    # graph view). On the hardest PSPLIB j30 instances (RF 1.0, RS 0.2) it
    # cut CP-SAT's time to prove optimality by 2-10x; see
    # benchmarks/results/rcpsp_psplib_cp_j30_full.md.
    if order_literals:
        for k, (a, b) in enumerate(_unordered_conflicts(instance)):
            if k % _CHECK_EVERY == 0:
                _check(budget)
            first = model.new_bool_var(f"O{a}_{b}")
            model.add(start[b] >= start[a] + duration[a]).only_enforce_if(first)
            model.add(start[a] >= start[b] + duration[b]).only_enforce_if(~first)
    for j in range(n):
        model.add(makespan >= start[j] + duration[j])
    # Objective.
    model.minimize(makespan)
    return RCPSPModel(model=model, start=start, makespan=makespan)


def start_schedule(
    instance: RCPSPInstance,
    *,
    budget: Budget,
    ga_share: float = GA_SHARE,
    stats: dict | None = None,
) -> np.ndarray | None:
    """Start times of the portfolio's first phase, or ``None`` when no heuristic met every deadline.

    The better of one parallel-SGS LFT pass with justification and the
    activity-list GA (:func:`~schedforge.heuristics.rcpsp_ga.ga`, Hartmann's) run for
    ``ga_share`` of ``budget``; the GA hands over earlier when it reaches
    the critical-path/energy bound or improves nothing for
    :data:`GA_STALL` schedules. ``stats`` receives what each part found.
    """
    stats = {} if stats is None else stats
    found = [rule(instance, "lft", budget=budget, sgs="parallel", justify=True)]
    stats["lft_makespan"] = found[0].objective
    if ga_share > 0:
        began = budget.elapsed()
        run = ga(
            instance,
            budget=budget.share(ga_share),
            schedules=_UNCOUNTED,
            target=lower_bound(instance),
            stall=GA_STALL,
        )
        found.append(run)
        stats.update(
            ga_makespan=run.objective,
            ga_schedules=run.stats["schedules"],
            ga_stop=run.stats["stop"],
            ga_s=round(budget.elapsed() - began, 4),
        )
    starts = [o.solution.start for o in found if o.solution is not None]
    if not starts:
        return None
    return min(starts, key=lambda s: int(np.max(s + instance.duration)))


@method("rcpsp", "cp", exact=True, default_stop="60 s, or a proven optimum")
def cp(
    instance: RCPSPInstance,
    *,
    budget: Budget,
    hint: bool = True,
    ga_share: float = GA_SHARE,
    order_literals: bool = True,
    below_heuristic: bool = True,
    linearization_level: int = 0,
) -> Outcome:
    """Portfolio: the GA for a share of the budget, then CP-SAT below its schedule.

    A short budget favours the heuristic, a long one CP-SAT's search and
    proofs, so the method runs both: first the better of a parallel LFT
    pass and the activity-list GA for ``ga_share`` of the budget (it hands
    over earlier when it stalls or meets the critical-path/energy bound;
    :func:`start_schedule`), then CP-SAT with intervals, one cumulative per
    resource and windows as domains for the rest. The result is never
    worse than that start schedule. The start schedule's makespan bounds
    the horizon; without one the horizon of
    :func:`~schedforge.problems.rcpsp.horizon` keeps ``INFEASIBLE`` a
    proof. With ``below_heuristic`` CP-SAT searches only schedules
    strictly shorter than the start (windows from its makespan minus
    one): ``INFEASIBLE`` there proves the start optimal, which on PSPLIB
    is the usual case (its upper bound is almost always optimal already,
    the work is the lower bound). If time runs out before CP-SAT finds a
    shorter schedule, or before the model is built (on j120 at 1-2 s the
    GA's share leaves too little), the start is returned as ``FEASIBLE``
    with the best proven bound.

    Parameters
    ----------
    budget
        Time for the heuristics, the model and CP-SAT together (no time
        limit means 60 s); threads are CP-SAT workers (default 1), more than
        1 makes runs nondeterministic.
    hint
        Compute a start schedule to bound the horizon and to hint the
        search; ``False`` runs CP-SAT alone.
    ga_share
        The share (0 to 1) of the budget the GA may use; 0 runs only the
        LFT pass before CP-SAT.
    order_literals
        Add the redundant order literal of every conflicting pair (see
        :func:`build_model`).
    below_heuristic
        Search below the start makespan instead of from it.
    linearization_level
        CP-SAT's LP relaxation: 0 none, 1 CP-SAT's default, 2 with cuts. On
        the hardest j30 instances the LP cost more than its bound saved: no
        LP proved them about twice as fast as level 1, level 2 was slower.
    """
    if not 0 <= ga_share <= 1:
        raise InvalidOption(f"ga_share must lie in [0, 1], got {ga_share}")
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    stats: dict[str, Any] = {"heuristic_makespan": None}
    start_guess = (
        start_schedule(instance, budget=budget, ga_share=ga_share, stats=stats) if hint else None
    )
    if start_guess is None:
        end = horizon(instance)
    else:
        best = int(np.max(start_guess + instance.duration))
        stats["heuristic_makespan"] = best
        proven = Outcome(
            RCPSPSolution(start_guess.copy()),
            status=Status.OPTIMAL,
            bound=best,
            objective=best,
            stats=stats,
        )
        if lower_bound(instance) >= best:
            stats["proof"] = "heuristic makespan meets the critical-path/energy bound"
            return proven
        end = best - 1 if below_heuristic else best
    stats["horizon"] = end
    try:
        built = build_model(
            instance,
            end,
            order_literals=order_literals,
            budget=budget.until(budget.remaining() - _RESERVE),
        )
    except TimeoutError as out_of_time:
        # The heuristics used the time; their schedule is the answer.
        stats.update(reason=str(out_of_time), nondeterministic=True)
        if start_guess is None:
            return Outcome(status=Status.NO_SOLUTION, stats=stats)
        return Outcome(
            RCPSPSolution(start_guess.copy()),
            status=Status.FEASIBLE,
            bound=lower_bound(instance),
            objective=stats["heuristic_makespan"],
            stats=stats,
        )
    if built is None:
        if start_guess is not None:
            # Empty windows below the heuristic makespan: nothing is shorter.
            stats["proof"] = "no time windows below the heuristic makespan"
            return proven
        # Some time window is empty even ignoring resources: no schedule at all.
        stats["reason"] = "an activity's window [release/lags, deadline] is empty"
        return Outcome(status=Status.INFEASIBLE, stats=stats)
    pairs = None
    if start_guess is not None and not below_heuristic:
        # Below the start its schedule is infeasible: a hint of it (clipped
        # to the windows) neither helped nor hurt on the j60 instances that
        # chose the GA's share, so only the search from the start is hinted.
        pairs = [(built.makespan, end), *zip(built.start, start_guess.tolist(), strict=True)]
    run = run_cp_sat(
        built.model,
        time_limit=max(budget.remaining() - _RESERVE, 0.0),
        seed=budget.seed,
        threads=budget.threads_or(1),
        hint=pairs,
        params={"linearization_level": linearization_level},
    )
    stats.update(run.stats)
    if run.status.has_solution:
        start = np.array([run.value(s) for s in built.start], dtype=np.int64)
        return Outcome(
            RCPSPSolution(start),
            status=run.status,
            bound=run.bound,
            objective=run.objective,
            stats=stats,
        )
    if start_guess is None:
        return Outcome(status=run.status, stats=stats)
    if run.status is Status.INFEASIBLE and end < stats["heuristic_makespan"]:
        stats["proof"] = "CP-SAT: no schedule shorter than the heuristic one"
        return proven
    # Time is up before CP-SAT found a schedule: keep the heuristic one, with
    # the better of the static bound and CP-SAT's bound on the schedules it
    # searched (the optimum is the heuristic makespan or one of those).
    searched = run.solver.best_objective_bound
    bound = max(lower_bound(instance), int(np.ceil(searched)) if np.isfinite(searched) else 0)
    return Outcome(
        RCPSPSolution(start_guess.copy()),
        status=Status.FEASIBLE,
        bound=min(bound, stats["heuristic_makespan"]),
        objective=stats["heuristic_makespan"],
        stats=stats,
    )
