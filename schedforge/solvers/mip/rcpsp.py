"""Time-indexed MIP for the RCPSP with side constraints: ``mip:cbc``, ``mip:highs``.

The discrete-time formulation of Pritsker, Watters & Wolfe (1969) with
aggregated precedences, over a horizon given by a heuristic schedule; the
formulation is in :func:`build_model`. It has one binary per activity and
feasible start period, so it suits small projects (PSPLIB j30 at most).

The CBC and HiGHS runs (status and bound mapping, warm starts) are shared
with the SMTT MIP in :mod:`schedforge.solvers.mip.smtt`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.rcpsp import heuristic_schedule
from schedforge.problems.rcpsp import (
    RCPSPInstance,
    RCPSPSolution,
    capacity_profile,
    horizon,
    lower_bound,
)
from schedforge.solvers.cp.rcpsp import time_windows
from schedforge.solvers.mip.backend import import_pulp, solve_model

__all__ = ["build_model", "mip"]

DEFAULT_TIME_LIMIT = 60.0


def build_model(
    instance: RCPSPInstance, end: int, budget: Budget | None = None
) -> tuple[Any, dict[int, dict[int, Any]], Any] | None:
    r"""The time-indexed MIP of schedules ending by ``end``: ``(problem, x, C)``, or ``None``.

    ``None`` means some time window is empty, so no schedule ends by ``end``.
    Building raises ``TimeoutError`` when ``budget`` expires first (one
    binary per activity and period: seconds on j120).

    :math:`x_{jt} = 1` iff activity ``j`` starts at period
    :math:`t \in W_j = [ES_j, LS_j]` (windows from releases, lags, deadlines
    and ``end``); :math:`K_r(\tau)` is the capacity profile with downtime.

    .. math::

        \min\ & C \\
        \text{s.t. } & \textstyle\sum_{t \in W_j} x_{jt} = 1 \quad \forall j \\
        & \textstyle\sum_t t\,x_{jt} \ge \sum_t t\,x_{it} + d_i + \ell_{ij}
            \quad \forall (i, j) \in E \\
        & \textstyle\sum_j q_{jr} \sum_{t = \tau - d_j + 1}^{\tau} x_{jt} \le K_r(\tau)
            \quad \forall r, \tau < \text{end} \\
        & \textstyle\sum_{t = \tau - d_i + 1}^{\tau} x_{it}
            + \sum_{t = \tau - d_j + 1}^{\tau} x_{jt} \le 1
            \quad \forall \{i, j\} \in D, \tau \\
        & C \ge \textstyle\sum_t t\,x_{jt} + d_j \quad \forall j, \qquad
          C \ge LB, \qquad x_{jt} \in \{0, 1\}
    """

    def check() -> None:
        if budget is not None and budget.expired():
            raise TimeoutError("the time limit expired while the model was built")

    pulp = import_pulp()
    earliest, latest = time_windows(instance, end)
    if np.any(earliest > latest):
        return None
    n = instance.num_activities
    duration = instance.duration.tolist()
    prob = pulp.LpProblem(instance.name.replace(" ", "_") or "rcpsp", pulp.LpMinimize)
    # PuLP >= 3.3 attaches variables to the model; older versions construct them.
    new_var = getattr(prob, "add_variable", pulp.LpVariable)
    x = {
        j: {t: new_var(f"x_{j}_{t}", cat="Binary") for t in range(earliest[j], latest[j] + 1)}
        for j in range(n)
    }
    check()
    makespan = new_var("C", lowBound=min(lower_bound(instance), end), upBound=end)
    prob += makespan
    start = {j: pulp.lpSum(t * v for t, v in x[j].items()) for j in range(n)}
    for j in range(n):
        prob += pulp.lpSum(x[j].values()) == 1, f"once_{j}"
        prob += makespan >= start[j] + duration[j], f"makespan_{j}"
    for k, ((a, b), lag) in enumerate(
        zip(instance.precedence.tolist(), instance.lag.tolist(), strict=True)
    ):
        prob += start[b] >= start[a] + duration[a] + lag, f"prec_{k}"

    def running(j: int, tau: int) -> list[Any]:
        """The variables of starts that make ``j`` run in period ``tau``."""
        return [x[j][t] for t in range(tau - duration[j] + 1, tau + 1) if t in x[j]]

    check()
    profile = capacity_profile(instance, end)
    for r in range(instance.num_resources):
        users = [j for j in range(n) if duration[j] > 0 and instance.demand[j, r] > 0]
        for tau in range(end):
            if tau % 16 == 0:
                check()
            terms = [
                int(instance.demand[j, r]) * v
                for j in users
                if earliest[j] <= tau < latest[j] + duration[j]
                for v in running(j, tau)
            ]
            peak = sum(
                int(instance.demand[j, r])
                for j in users
                if earliest[j] <= tau < latest[j] + duration[j]
            )
            if terms and peak > profile[r, tau]:
                prob += pulp.lpSum(terms) <= int(profile[r, tau]), f"cap_{r}_{tau}"
    for k, (a, b) in enumerate(instance.disjunctive.tolist()):
        if duration[a] == 0 or duration[b] == 0:
            continue
        check()
        low = max(earliest[a], earliest[b])
        high = min(latest[a] + duration[a], latest[b] + duration[b])
        for tau in range(low, high):
            terms = running(a, tau) + running(b, tau)
            if terms:
                prob += pulp.lpSum(terms) <= 1, f"disj_{k}_{tau}"
    return prob, x, makespan


@method(
    "rcpsp",
    "mip",
    variants=("cbc", "highs"),
    exact=True,
    default_stop="60 s, or a proven optimum",
)
def mip(
    instance: RCPSPInstance,
    variant: str,
    *,
    budget: Budget,
    warm_start: bool = True,
) -> Outcome:
    """Time-indexed MIP (Pritsker et al. 1969) with CBC or HiGHS; horizon from a heuristic.

    Proven optimum → ``OPTIMAL``; an incumbent at the time limit →
    ``FEASIBLE`` with the solver's bound; nothing in time → ``NO_SOLUTION``;
    ``INFEASIBLE`` only when no schedule exists within the safe horizon.

    Parameters
    ----------
    variant
        ``"cbc"`` or ``"highs"``.
    budget
        Time for heuristic, model and solver (no time limit means 60 s);
        its seed is the solver's and the heuristic's; threads default to 1.
    warm_start
        Give the heuristic schedule to the solver as a start.
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    guess = heuristic_schedule(instance, budget=budget.share(0.25), schedules=100)
    end = int(np.max(guess + instance.duration)) if guess is not None else horizon(instance)
    stats: dict[str, Any] = {"backend": variant, "horizon": end}
    try:
        built = build_model(instance, end, budget)
    except TimeoutError as out_of_time:
        stats.update(reason=str(out_of_time), nondeterministic=True)
        if guess is None:
            return Outcome(status=Status.NO_SOLUTION, bound=lower_bound(instance), stats=stats)
        stats["fallback"] = "heuristic"
        return Outcome(
            RCPSPSolution(guess.copy()),
            status=Status.FEASIBLE,
            bound=lower_bound(instance),
            objective=end,
            stats=stats,
        )
    if built is None:
        stats["reason"] = "an activity's window [release/lags, deadline] is empty"
        return Outcome(status=Status.INFEASIBLE, stats=stats)
    prob, x, makespan = built
    warm = warm_start and guess is not None
    if warm:
        for j, t in enumerate(guess.tolist()):
            for tt, var in x[j].items():
                var.setInitialValue(int(tt == t))
        makespan.setInitialValue(end)
    stats["variables"] = len(prob.variables())
    stats["constraints"] = prob.numConstraints()
    status, bound = solve_model(
        prob,
        variant,
        time_limit=max(0.05, budget.remaining()),
        seed=budget.seed,
        threads=budget.threads_or(1),
        warm_start=warm,
        stats=stats,
    )
    stats["nondeterministic"] = status not in (Status.OPTIMAL, Status.INFEASIBLE)
    if status is Status.NO_SOLUTION and guess is not None:
        # Nothing from the solver in time: the heuristic schedule stands.
        stats["fallback"] = "heuristic"
        return Outcome(
            RCPSPSolution(guess.copy()),
            status=Status.FEASIBLE,
            bound=max(lower_bound(instance), bound or 0),
            objective=end,
            stats=stats,
        )
    if not status.has_solution:
        return Outcome(status=status, bound=bound, stats=stats)
    start = np.array(
        [
            next(t for t, v in x[j].items() if (v.varValue or 0) > 0.5)
            for j in range(instance.num_activities)
        ],
        dtype=np.int64,
    )
    return Outcome(RCPSPSolution(start), status=status, bound=bound, stats=stats)
