"""MIP for single-machine total (weighted) tardiness: method ``mip`` (``mip:cbc``, ``mip:highs``).

The positional-assignment (positional date) formulation compared by Keha,
Khowala & Fowler (2009), built with PuLP and solved by CBC or HiGHS. The
formulation is in :func:`build_model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.errors import SolverError
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.problems.smtt import SMTTInstance, SMTTSolution, lower_bound
from schedforge.solvers.mip.backend import import_pulp, solve_model

__all__ = ["build_model", "mip"]

DEFAULT_TIME_LIMIT = 60.0


def build_model(
    instance: SMTTInstance, budget: Budget | None = None
) -> tuple[Any, dict[tuple[int, int], Any]] | None:
    r"""The positional-assignment MIP of an SMTT instance; ``None`` if ``budget`` expires first.

    Jobs :math:`j \in J = \{0..n-1\}`, positions :math:`k \in K = \{1..n\}`,
    :math:`p_{(1)} \le \dots \le p_{(n)}` the sorted processing times and
    :math:`P^{\max}_k` the sum of the :math:`k` largest.

    .. math::

        \min\ & \textstyle\sum_j w_j T_j \\
        \text{s.t. } & \textstyle\sum_{k} x_{jk} = 1 \quad \forall j, \qquad
                       \sum_{j} x_{jk} = 1 \quad \forall k \\
        & \gamma_k = \gamma_{k-1} + \textstyle\sum_j p_j x_{jk}
            \quad \forall k, \ \gamma_0 = 0 \\
        & \gamma_k \ge \textstyle\sum_{i \le k} p_{(i)} \quad \forall k
            \quad \text{(valid inequality)} \\
        & T_j \ge \gamma_k - d_j - M_{jk} (1 - x_{jk}) \quad \forall j, k,
            \qquad M_{jk} = \max(0, P^{\max}_k - d_j) \\
        & T_j \ge 0, \ x_{jk} \in \{0, 1\}

    :math:`x_{jk} = 1` when job :math:`j` is in position :math:`k`,
    :math:`\gamma_k` is the completion time of position :math:`k` (the
    *positional date*) and :math:`T_j` the tardiness of job :math:`j`. The
    machine never idles, so the positional dates are equalities. The valid
    inequality of Keha et al. bounds a positional date below by the work that
    must precede it; here the cheapest :math:`k` jobs (SPT order). Each big-M
    is the smallest that is valid at position :math:`k`; a pair
    :math:`(j, k)` with :math:`M_{jk} = 0` and :math:`\gamma_k \le d_j` for
    every sequence needs no constraint and is skipped.

    When every weight is equal (the unweighted problem) the tardiness is
    attached to positions instead, which needs no big-M at all:
    :math:`T_k \ge \gamma_k - \sum_j d_j x_{jk}`, :math:`T_k \ge 0`, objective
    :math:`w \sum_k T_k`.

    Parameters
    ----------
    instance
        The instance.
    budget
        Building stops, returning ``None``, when it expires (the model has
        n² binaries and up to n² big-M rows: seconds at n = 200).

    Returns
    -------
    problem, x
        The ``pulp.LpProblem`` and the assignment variables keyed by
        ``(job, position)`` with 0-based positions.

    References
    ----------
    Keha, A. B., Khowala, K., & Fowler, J. W. (2009). Mixed integer
    programming formulations for single machine scheduling problems.
    Computers & Industrial Engineering 56(1), 357-367.
    """
    pulp = import_pulp()
    n = instance.num_jobs
    p = [int(v) for v in instance.processing]
    d = [int(v) for v in instance.due]
    w = [int(v) for v in instance.weight]
    spt_prefix = np.cumsum(np.sort(instance.processing)).tolist()
    lpt_prefix = np.cumsum(np.sort(instance.processing)[::-1]).tolist()

    prob = pulp.LpProblem(f"smtt_{instance.name}", pulp.LpMinimize)
    # PuLP >= 3.3 creates variables through the problem (the 4.0 API).
    new_var = getattr(prob, "add_variable", pulp.LpVariable)
    x = {(j, k): new_var(f"x_{j}_{k}", 0, 1, cat=pulp.LpBinary) for j in range(n) for k in range(n)}
    gamma = [new_var(f"gamma_{k}", spt_prefix[k], lpt_prefix[k]) for k in range(n)]
    expired = budget.expired if budget is not None else lambda: False
    for j in range(n):
        prob += pulp.lpSum(x[j, k] for k in range(n)) == 1, f"job_{j}"
    if expired():
        return None
    for k in range(n):
        if expired():
            return None
        prob += pulp.lpSum(x[j, k] for j in range(n)) == 1, f"pos_{k}"
        work = pulp.lpSum(p[j] * x[j, k] for j in range(n))
        previous = gamma[k - 1] if k else 0
        prob += gamma[k] == previous + work, f"date_{k}"

    if len(set(w)) == 1:
        tard = [new_var(f"T_pos_{k}", 0) for k in range(n)]
        for k in range(n):
            if expired():
                return None
            due_k = pulp.lpSum(d[j] * x[j, k] for j in range(n))
            prob += tard[k] >= gamma[k] - due_k, f"tard_{k}"
        prob += w[0] * pulp.lpSum(tard)
    else:
        tard = [new_var(f"T_{j}", 0) for j in range(n)]
        for j in range(n):
            if expired():
                return None
            if w[j] == 0:
                continue  # a weightless job's tardiness costs nothing
            for k in range(n):
                big_m = max(0, lpt_prefix[k] - d[j])
                if lpt_prefix[k] <= d[j]:
                    continue  # job j cannot be late in position k
                prob += tard[j] >= gamma[k] - d[j] - big_m * (1 - x[j, k]), f"tard_{j}_{k}"
        prob += pulp.lpSum(w[j] * tard[j] for j in range(n))
    return prob, x


def _warm_start(x: dict[tuple[int, int], Any], sequence: np.ndarray) -> None:
    """Set initial values of the assignment variables from a sequence."""
    position = np.empty(len(sequence), dtype=np.int64)
    position[sequence] = np.arange(len(sequence))
    for (j, k), var in x.items():
        var.setInitialValue(1 if position[j] == k else 0)


def _sequence(x: dict[tuple[int, int], Any], n: int) -> np.ndarray:
    """The job sequence of an integer solution (largest x per position)."""
    values = np.zeros((n, n))
    for (j, k), var in x.items():
        values[j, k] = var.value() or 0.0
    sequence = values.argmax(axis=0)
    if len(set(sequence.tolist())) != n:
        raise SolverError("the MIP solution is not an assignment of jobs to positions")
    return sequence


@method(
    "smtt",
    "mip",
    variants=("cbc", "highs"),
    exact=True,
    default_stop="60 s, or a proven optimum",
)
def mip(
    instance: SMTTInstance,
    variant: str,
    *,
    budget: Budget,
    warm_start: bool = True,
) -> Outcome:
    """Positional-assignment MIP (Keha et al. 2009) solved by CBC or HiGHS.

    Proven optimum → ``OPTIMAL``; an incumbent at the time limit →
    ``FEASIBLE`` with the solver's best bound; nothing found in time (or
    the model not built in time) → the warm start's sequence as
    ``FEASIBLE`` (``stats["fallback"]``), or ``NO_SOLUTION`` without a warm
    start. The model has n² binaries: practical up to n ≈ 40-50.

    Parameters
    ----------
    instance
        The instance.
    variant
        ``"cbc"`` or ``"highs"``.
    budget
        Wall time of model building, the warm start's heuristic and the
        solver together (no time limit means 60 s); the seed is the
        solver's random seed; threads default to 1.
    warm_start
        Start from the best heuristic sequence
        (:func:`~schedforge.solvers.exact.smtt_heuristic.heuristic_sequence`).

    Returns
    -------
    Outcome
        ``stats`` holds ``backend``, ``variables``, ``constraints``,
        ``solver_status`` and the warm start's cost.
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    stats: dict[str, Any] = {"backend": variant}
    start = None
    if warm_start:
        from schedforge.solvers.exact.smtt_heuristic import heuristic_sequence

        share = min(0.05 * budget.remaining(), 0.5)
        start, info = heuristic_sequence(instance, time_limit=share, seed=budget.seed)
        stats.update(info)
    built = build_model(instance, budget)
    if built is None:
        stats["reason"] = "the time limit expired while the model was built"
        stats["nondeterministic"] = True
        bound = lower_bound(instance)
        if start is None:
            return Outcome(status=Status.NO_SOLUTION, bound=bound, stats=stats)
        stats["fallback"] = "warm start"
        return Outcome(
            solution=SMTTSolution(start), status=Status.FEASIBLE, bound=bound, stats=stats
        )
    prob, x = built
    if start is not None:
        _warm_start(x, start)
    stats["variables"] = len(prob.variables())
    stats["constraints"] = prob.numConstraints()
    # The solver gets what is left after building the model and the start.
    status, bound = solve_model(
        prob,
        variant,
        time_limit=max(0.05, budget.remaining()),
        seed=budget.seed,
        threads=budget.threads_or(1),
        warm_start=warm_start,
        stats=stats,
    )
    # A run stopped by the clock ends at a load-dependent point.
    stats["nondeterministic"] = status is not Status.OPTIMAL
    if status is Status.INFEASIBLE:
        # Every permutation is a solution, so "infeasible" is a solver failure:
        # CBC 2.10.3 says so when a tiny time limit cuts its preprocessing short.
        stats["solver_claimed_infeasible"] = True
        status, bound = Status.NO_SOLUTION, None
    if not status.has_solution:
        if start is None:
            return Outcome(status=status, bound=bound, stats=stats)
        # No solver solution in time (or no time to start it): the warm start
        # is a schedule all the same, and never worse than nothing.
        stats["fallback"] = "warm start"
        bound = max(lower_bound(instance), bound or 0)
        return Outcome(
            solution=SMTTSolution(start), status=Status.FEASIBLE, bound=bound, stats=stats
        )
    sequence = _sequence(x, instance.num_jobs)
    return Outcome(solution=SMTTSolution(sequence), status=status, bound=bound, stats=stats)
