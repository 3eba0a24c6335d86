"""A disjunctive (big-M) MIP for the flexible job shop, solved with CBC or HiGHS via PuLP.

Meant for small instances (tens of operations): the model has one binary
per pair of operations of different jobs that share a machine, so it grows
quadratically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, lower_bound, makespan
from schedforge.solvers.mip.backend import import_pulp, solve_model

# The stopping rule without a time limit (registered as default_stop).
DEFAULT_TIME_LIMIT = 60.0

__all__ = ["build_model"]


def build_model(
    instance: FJSPInstance, horizon: int, budget: Budget | None = None
) -> tuple[Any, dict, dict, Any] | None:
    r"""The disjunctive model of Özgüven, Özbakır & Yavuz (2010), model F.

    With :math:`x_{om}` = 1 when operation :math:`o` runs on machine
    :math:`m`, integer starts :math:`S_o`, order binaries :math:`y_{ab}`
    (1 when :math:`a` precedes :math:`b`) for operations of different jobs
    that share a machine, and :math:`M` = ``horizon`` + the longest processing time:

    .. math::

        &\min C \quad\text{s.t.}\quad \sum_m x_{om} = 1, \qquad
          S_{o'} \ge S_o + \sum_m p_{om} x_{om} \;\;(o \to o' \text{ in a job}),
          \qquad S_{o} \ge r_j \\
        &S_b \ge S_a + p_{am} - M (3 - y_{ab} - x_{am} - x_{bm}), \quad
         S_a \ge S_b + p_{bm} - M (2 + y_{ab} - x_{am} - x_{bm}) \\
        &C \ge S_o + \sum_m p_{om} x_{om} \;\;(o \text{ last of its job}),
          \qquad C \ge \text{lower bound}.

    Returns
    -------
    (problem, x, start, cmax)
        The ``pulp.LpProblem``, ``x[(o, m)]``, ``start[o]`` and the makespan
        variable; ``None`` when ``budget`` expires first (the pairs grow
        quadratically: seconds on a few hundred operations).

    References
    ----------
    Özgüven, C., Özbakır, L., & Yavuz, Y. (2010). Mathematical models for
    job-shop scheduling problems with routing and process plan flexibility.
    Applied Mathematical Modelling 34(6), 1539-1548.
    """
    pulp = import_pulp()
    prob = pulp.LpProblem(instance.name.replace(" ", "_") or "fjsp", pulp.LpMinimize)
    n = instance.num_operations
    job_of = instance.job_of
    alts = [instance.alternatives(o) for o in range(n)]
    # PuLP >= 3.3 attaches variables to the model; older versions construct them.
    new_var = getattr(prob, "add_variable", pulp.LpVariable)
    x = {(o, m): new_var(f"x_{o}_{m}", cat="Binary") for o in range(n) for m in alts[o]}
    start = {
        o: new_var(
            f"s_{o}", lowBound=int(instance.release[job_of[o]]), upBound=horizon, cat="Integer"
        )
        for o in range(n)
    }
    cmax = new_var("cmax", lowBound=lower_bound(instance), upBound=horizon)
    prob += cmax

    def duration(o: int):
        return pulp.lpSum(p * x[o, m] for m, p in alts[o].items())

    for o in range(n):
        prob += pulp.lpSum(x[o, m] for m in alts[o]) == 1, f"assign_{o}"
        last = o + 1 == n or job_of[o + 1] != job_of[o]
        if last:
            prob += cmax >= start[o] + duration(o), f"cmax_{o}"
        else:
            prob += start[o + 1] >= start[o] + duration(o), f"chain_{o}"
    # M must cover S_a + p_am - S_b also when a runs elsewhere with a shorter time.
    big_m = horizon + int(instance.durations.max())
    for a in range(n):
        if budget is not None and budget.expired():
            return None
        for b in range(a + 1, n):
            if job_of[a] == job_of[b]:
                continue
            shared = sorted(set(alts[a]) & set(alts[b]))
            if not shared:
                continue
            y = new_var(f"y_{a}_{b}", cat="Binary")
            for m in shared:
                both = x[a, m] + x[b, m]
                prob += start[b] >= start[a] + alts[a][m] - big_m * (3 - y - both)
                prob += start[a] >= start[b] + alts[b][m] - big_m * (2 + y - both)
    return prob, x, start, cmax


def _schedule(instance: FJSPInstance, x: dict, start: dict) -> FJSPSolution:
    n = instance.num_operations
    machine = np.zeros(n, dtype=np.int64)
    begin = np.zeros(n, dtype=np.int64)
    for o in range(n):
        machine[o] = max(instance.alternatives(o), key=lambda m: x[o, m].value() or 0.0)
        begin[o] = round(start[o].value())
    return FJSPSolution(machine=machine, start=begin)


@method(
    "fjsp",
    "mip",
    variants=("cbc", "highs"),
    exact=True,
    default_stop="60 s, or a proven optimum",
)
def mip_method(
    instance: FJSPInstance,
    variant: str,
    *,
    budget: Budget,
) -> Outcome:
    """Disjunctive big-M MIP (Özgüven et al. 2010) with CBC or HiGHS; small instances only.

    The budget covers the rule, the model and the solver (no time limit
    means 60 s); threads default to 1. The big-M is the makespan of a
    dispatching rule, which also serves as the fallback solution when the
    solver finds none in time.
    """
    from schedforge.heuristics.dispatch import dispatch

    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    incumbent = dispatch(instance, "mwkr-eet")
    horizon = makespan(instance, incumbent.machine, incumbent.start)
    stats: dict[str, Any] = {"backend": variant}
    built = build_model(instance, horizon, budget)
    if built is None:
        stats["fallback"] = "mwkr-eet"
        stats["reason"] = "the time limit expired while the model was built"
        return Outcome(solution=incumbent, status=Status.FEASIBLE, stats=stats)
    prob, x, start, _ = built
    status, bound = solve_model(
        prob,
        variant,
        time_limit=max(0.05, budget.remaining()),
        seed=budget.seed,
        threads=budget.threads_or(1),
        stats=stats,
    )
    # A limit stops the search at a clock-dependent point.
    stats["nondeterministic"] = status is not Status.OPTIMAL
    if status is Status.INFEASIBLE:
        # The dispatching schedule satisfies the model, so this is a solver
        # failure, not a proof: never report it as INFEASIBLE.
        stats["solver_claimed_infeasible"] = True
    elif status.has_solution:
        solution = _schedule(instance, x, start)
        if status is Status.OPTIMAL:
            return Outcome(solution=solution, status=Status.OPTIMAL, stats=stats)
        if makespan(instance, solution.machine, solution.start) <= horizon:
            return Outcome(solution=solution, status=Status.FEASIBLE, bound=bound, stats=stats)
    # Nothing better in time: the dispatching schedule is still a valid answer.
    stats["fallback"] = "mwkr-eet"
    return Outcome(solution=incumbent, status=Status.FEASIBLE, bound=bound, stats=stats)
