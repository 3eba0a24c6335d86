"""Exact single-machine total (weighted) tardiness: method ``exact``."""

from __future__ import annotations

from typing import Any

from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.problems.smtt import SMTTInstance, SMTTSolution
from schedforge.solvers.exact.smtt_dp import MAX_JOBS, subset_dp

__all__ = ["exact"]


@method("smtt", "exact", exact=True)
def exact(
    instance: SMTTInstance,
    *,
    time_limit: float | None,
    seed: int,
    dp_max_jobs: int = 20,
) -> Outcome:
    """Exact SMTT by subset dynamic programming (n <= 25).

    Parameters
    ----------
    instance
        The instance.
    time_limit
        Not used by the DP, which finishes in well under a second for
        ``n <= 20``.
    seed
        Unused (the method is deterministic).
    dp_max_jobs
        Largest ``n`` solved by the subset DP (at most 25: 2^n table).

    Returns
    -------
    Outcome
        ``OPTIMAL`` with an optimal sequence.
    """
    if not 1 <= dp_max_jobs <= MAX_JOBS:
        raise InvalidOption(f"dp_max_jobs must lie in 1..{MAX_JOBS}, got {dp_max_jobs}")
    n = instance.num_jobs
    if n > dp_max_jobs:
        raise InvalidOption(f"{instance.name}: {n} jobs exceed dp_max_jobs={dp_max_jobs}")
    value, sequence = subset_dp(instance.processing, instance.due, instance.weight)
    stats: dict[str, Any] = {"algorithm": "subset-dp"}
    return Outcome(
        solution=SMTTSolution(sequence), status=Status.OPTIMAL, objective=value, stats=stats
    )
