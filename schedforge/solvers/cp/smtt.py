"""CP-SAT for single-machine total (weighted) tardiness: method ``cp``."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.smtt import SMTTInstance, SMTTSolution
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat

__all__ = ["build_model", "cp", "solve_from"]

DEFAULT_TIME_LIMIT = 60.0
DEFAULT_THREADS = 2


def build_model(instance: SMTTInstance) -> tuple[Any, list[Any], list[Any]]:
    r"""The CP-SAT model of an SMTT instance.

    With :math:`P = \sum_j p_j`:

    .. math::

        \min\ & \textstyle\sum_j w_j T_j \\
        \text{s.t. } & \mathrm{NoOverlap}(\{[S_j, S_j + p_j) : j \in J\}) \\
        & T_j = \max(0, S_j + p_j - d_j) \quad \forall j \\
        & S_j \in \{0, \dots, P - p_j\}

    Every feasible schedule fits in :math:`[0, P]`, and an optimal one has no
    idle time, so the horizon loses nothing. The tardiness is linearised by
    CP-SAT's ``add_max_equality``; weightless jobs get no tardiness variable.

    Parameters
    ----------
    instance
        The instance.

    Returns
    -------
    model, starts, tardiness
        The ``CpModel``, the start variables and the tardiness variables
        (``None`` for jobs of weight 0), indexed by job.
    """
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    p = [int(v) for v in instance.processing]
    d = [int(v) for v in instance.due]
    w = [int(v) for v in instance.weight]
    horizon = sum(p)
    starts, intervals, tardiness = [], [], []
    for j in range(instance.num_jobs):
        start = model.new_int_var(0, horizon - p[j], f"S_{j}")
        starts.append(start)
        intervals.append(model.new_fixed_size_interval_var(start, p[j], f"I_{j}"))
        if w[j] == 0:
            tardiness.append(None)
            continue
        tard = model.new_int_var(0, max(0, horizon - d[j]), f"T_{j}")
        model.add_max_equality(tard, [0, start + p[j] - d[j]])
        tardiness.append(tard)
    model.add_no_overlap(intervals)
    model.minimize(sum(w[j] * t for j, t in enumerate(tardiness) if t is not None))
    return model, starts, tardiness


@method(
    "smtt",
    "cp",
    exact=True,
    default_stop="60 s, or a proven optimum",
    threads=DEFAULT_THREADS,
)
def cp(
    instance: SMTTInstance,
    *,
    budget: Budget,
    hint: bool = True,
) -> Outcome:
    """CP-SAT: intervals on one machine, no overlap, Σ w·T, a heuristic hint.

    Proven optimum → ``OPTIMAL``; an incumbent at the limit → ``FEASIBLE``
    with CP-SAT's best bound; nothing in time → ``NO_SOLUTION``.

    Parameters
    ----------
    instance
        The instance.
    budget
        Time for the hint and CP-SAT together (no time limit means 60 s);
        the seed is CP-SAT's random seed; threads are CP-SAT workers,
        **2 by default** (multi-threaded). Runs with several threads or a
        time limit that is hit may differ: ``stats["nondeterministic"]``.
    hint
        Hint CP-SAT with the best heuristic sequence
        (:func:`~schedforge.solvers.exact.smtt_heuristic.heuristic_sequence`).

    Returns
    -------
    Outcome
    """
    stats: dict[str, Any] = {}
    sequence = None
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    if hint:
        from schedforge.solvers.exact.smtt_heuristic import heuristic_sequence

        share = min(0.05 * budget.remaining(), 0.5)
        sequence, info = heuristic_sequence(instance, time_limit=share, seed=budget.seed)
        stats.update(info)
    outcome = solve_from(
        instance,
        sequence,
        time_limit=budget.remaining(),
        seed=budget.seed,
        threads=budget.threads_or(DEFAULT_THREADS),
    )
    stats.update(outcome.stats)
    return Outcome(
        solution=outcome.solution, status=outcome.status, bound=outcome.bound, stats=stats
    )


def solve_from(
    instance: SMTTInstance,
    sequence: np.ndarray | None,
    *,
    time_limit: float | None,
    seed: int,
    threads: int,
) -> Outcome:
    """Solve the CP-SAT model, hinted with ``sequence`` when given.

    The shared core of :func:`cp` and of the exact method's CP-SAT slice.

    Parameters
    ----------
    instance
        The instance.
    sequence
        A job sequence for the hint (start times and tardiness), or ``None``.
    time_limit, seed, threads
        Seconds (``None``: no limit), CP-SAT random seed and workers.

    Returns
    -------
    Outcome
        Status and bound mapped by :func:`~schedforge.solvers.cp.runner.run_cp_sat`.
    """
    model, starts, tardiness = build_model(instance)
    pairs = None
    if sequence is not None:
        completion = np.empty(instance.num_jobs, dtype=np.int64)
        completion[sequence] = np.cumsum(instance.processing[sequence])
        start_of = completion - instance.processing
        pairs = [(starts[j], int(start_of[j])) for j in range(instance.num_jobs)]
        pairs += [
            (t, max(0, int(completion[j] - instance.due[j])))
            for j, t in enumerate(tardiness)
            if t is not None
        ]
    run = run_cp_sat(
        model,
        time_limit=time_limit,
        seed=seed,
        threads=threads,
        hint=pairs,
    )
    stats = dict(run.stats)
    if not run.status.has_solution:
        return Outcome(status=run.status, stats=stats)
    start_values = np.array([run.value(s) for s in starts])
    # Ties cannot occur (no overlap, p >= 1); lexsort keeps it deterministic anyway.
    found = np.lexsort((np.arange(instance.num_jobs), start_values))
    # An incumbent may idle; the sequence closes the gaps, which can only lower
    # the objective, so solve() evaluates it rather than trusting CP-SAT's value.
    stats["cp_objective"] = run.objective
    return Outcome(solution=SMTTSolution(found), status=run.status, bound=run.bound, stats=stats)
