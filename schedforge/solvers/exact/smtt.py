"""Exact single-machine total (weighted) tardiness: method ``exact``.

Which algorithm runs:

* **unweighted** (all weights equal): decomposition branch and bound with
  memoisation, :mod:`schedforge.solvers.exact.smtt_bnb` (Lawler's
  decomposition on the longest job, Della Croce/Szwarc elimination rules,
  Branch & Memorize). Proves optimality for hundreds of jobs.
* **weighted**, ``n <= dp_max_jobs``: subset dynamic programming,
  :mod:`schedforge.solvers.exact.smtt_dp`.
* **weighted**, larger: a short CP-SAT slice
  (:func:`schedforge.solvers.cp.smtt.solve_from`), then dynamic programming
  over the initial sets allowed by dominance-derived precedences, with bound
  pruning, :mod:`schedforge.solvers.exact.smtt_wdp`.

Every branch starts from the best heuristic sequence
(:func:`~schedforge.solvers.exact.smtt_heuristic.heuristic_sequence`) as its
upper bound and returns it, with a valid lower bound and status
``FEASIBLE``, when the time limit or the memory cap stops the proof.
"""

from __future__ import annotations

import time

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption, SolverError
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.problems.smtt import SMTTInstance, SMTTSolution
from schedforge.solvers.exact.smtt_dp import MAX_JOBS, subset_dp

__all__ = ["DEFAULT_TIME_LIMIT", "exact"]

DEFAULT_TIME_LIMIT = 300.0


def _memo_message(limit: int) -> str:
    return (
        f"memo cap reached ({limit:,} entries): later subproblems were solved without "
        "being stored, which is slower but still exact; raise memo_limit to trade "
        "memory (50 to 100 bytes an entry) for time"
    )


@method("smtt", "exact", exact=True, default_stop="300 s, or a proven optimum")
def exact(
    instance: SMTTInstance,
    *,
    budget: Budget,
    memo_limit: int = 4_000_000,
    dp_max_jobs: int = 20,
    start_time_limit: float | None = None,
    cp_slice: float | None = None,
) -> Outcome:
    """Exact SMTT: Branch & Memorize (unweighted), dominance DP (weighted).

    Returns ``OPTIMAL`` when proven; when the time limit (or the weighted
    DP's state cap) stops the search first, the best sequence found with
    status ``FEASIBLE`` and a valid lower bound: never an unproven optimum.

    Parameters
    ----------
    instance
        The instance.
    budget
        Wall time including the start heuristic (no time limit means
        300 s); the seed is the start heuristic's local search seed.
        Single-threaded.
    memo_limit
        Most subproblems (unweighted) or DP states (weighted) kept in
        memory; at most 48 bytes each unweighted (a table for this many
        entries is reserved, its pages mapped as they fill), about 100
        weighted. Reaching it is reported in
        ``stats["memo_message"]``.
    dp_max_jobs
        Weighted instances up to this size use the subset DP (at most 25:
        its table has 2^n entries).
    start_time_limit
        Seconds of iterated local search for the start sequence before the
        search. ``None``: weighted instances get ``min(2 % of the limit,
        2 ms × n, 1 s)``; unweighted ones start from the rules alone (the
        branch and bound usually proves optimality at once) and the local
        search runs afterwards, in the last 10 % of the time limit, only when
        the proof did not finish.
    cp_slice
        Weighted instances only: seconds of CP-SAT (one worker, hinted with
        the start) tried before the DP; ``None`` means ``min(10 % of the
        limit, 1 s)``, 0 skips it. Its incumbent and bound feed the DP.

    Returns
    -------
    Outcome
        ``stats``: ``algorithm``, the start heuristic's ``start_cost``, and
        the search counters (``nodes``, ``memo_entries``, ``memo_hits``,
        ``memo_full``, ...).
    """
    if not 1 <= dp_max_jobs <= MAX_JOBS:
        raise InvalidOption(f"dp_max_jobs must lie in 1..{MAX_JOBS}, got {dp_max_jobs}")
    if memo_limit < 0:
        raise InvalidOption(f"memo_limit must be >= 0, got {memo_limit}")
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    seed = budget.seed
    begin, limit, deadline = budget.start, budget.time_limit, budget.deadline
    n = instance.num_jobs
    weights = instance.weight
    if np.all(weights == 0):
        # Nothing can cost anything: every sequence is optimal.
        return Outcome(
            solution=SMTTSolution(np.arange(n)),
            status=Status.OPTIMAL,
            objective=0,
            stats={"algorithm": "trivial"},
        )
    unweighted = bool(np.all(weights == weights[0]))
    if not unweighted and n <= dp_max_jobs:
        value, sequence = subset_dp(instance.processing, instance.due, weights)
        return Outcome(
            solution=SMTTSolution(sequence),
            status=Status.OPTIMAL,
            objective=value,
            stats={"algorithm": "subset-dp"},
        )

    from schedforge.solvers.exact.smtt_heuristic import (
        heuristic_sequence,
        polish,
        sequence_cost,
    )

    if start_time_limit is not None:
        ls_time = start_time_limit
    elif unweighted:
        ls_time = 0.0
    else:
        ls_time = min(0.02 * limit, 0.002 * n, 1.0)
    start, stats = heuristic_sequence(instance, time_limit=ls_time, seed=seed)
    upper = sequence_cost(instance, start)
    stats = dict(stats)
    cp_bound = 0
    if unweighted:
        from schedforge.solvers.exact.smtt_bnb import solve_unweighted

        scale = int(weights[0])
        # Keep the last 10 % for the local search in case the proof does not finish.
        search_deadline = deadline if ls_time > 0 else begin + 0.9 * limit
        result = solve_unweighted(
            instance.processing,
            instance.due,
            upper_bound=upper // scale,
            deadline=search_deadline,
            memo_limit=memo_limit,
        )
        stats.update(
            algorithm="branch-and-memorize",
            nodes=result.nodes,
            memo_entries=result.memo_entries,
            memo_hits=result.memo_hits,
            pruned=result.pruned,
            memo_full=result.memo_full,
        )
        value, proven, sequence = result.value * scale, result.exact, result.sequence
        if result.memo_full:
            stats["memo_message"] = _memo_message(memo_limit)
        if not proven and ls_time == 0:
            left = deadline - time.perf_counter()
            if left > 0:
                start, _ = polish(instance, start, time_limit=left, seed=seed)
                stats["start_cost_after_search"] = sequence_cost(instance, start)
    else:
        from schedforge.solvers.cp.smtt import solve_from
        from schedforge.solvers.exact.smtt_wdp import solve_weighted

        # A short CP-SAT slice first: it proves in milliseconds some instances
        # with few late jobs on which the DP's bound is weak (wt40 #26).
        cp_time = min(0.1 * limit, 1.0) if cp_slice is None else cp_slice
        if cp_time > 0:
            cp_out = solve_from(
                instance, start, time_limit=min(cp_time, budget.remaining()), seed=seed, threads=1
            )
            stats["cp_slice_status"] = str(cp_out.status)
            if cp_out.solution is not None:
                cost = sequence_cost(instance, cp_out.solution.sequence)
                if cost < upper:
                    start, upper = cp_out.solution.sequence, cost
            if cp_out.status is Status.OPTIMAL or (
                cp_out.bound is not None and cp_out.bound >= upper
            ):
                stats["algorithm"] = "cp-sat-slice"
                return Outcome(
                    solution=SMTTSolution(start),
                    status=Status.OPTIMAL,
                    objective=upper,
                    stats=stats,
                )
            if cp_out.bound is not None:
                cp_bound = int(cp_out.bound)
        wres = solve_weighted(
            instance.processing,
            instance.due,
            weights,
            upper_bound=upper,
            deadline=deadline,
            state_limit=memo_limit,
        )
        stats.update(algorithm="dominance-dp", **wres.stats)
        value, proven, sequence = wres.value, wres.exact, wres.sequence
        if wres.stats.get("state_cap_hit"):
            stats["memo_message"] = _memo_message(memo_limit)

    if sequence is None:
        sequence = start  # the heuristic start is optimal, or the best known
    objective = sequence_cost(instance, sequence)
    if not proven and max(value, cp_bound) >= objective:
        proven, value = True, objective  # the bounds together prove it
    status = Status.OPTIMAL if proven else Status.FEASIBLE
    bound = None if proven else max(value, cp_bound)
    if proven and objective != value:
        raise SolverError(f"exact: sequence costs {objective} but the search proved {value}")
    return Outcome(
        solution=SMTTSolution(sequence),
        status=status,
        bound=bound,
        objective=objective,
        stats=stats,
    )
