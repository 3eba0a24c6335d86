"""A good SMTT sequence quickly: the start of the model-based and exact methods.

The CP-SAT hint, the MIP warm start and the branch and bound's initial upper
bound all start from the best sequence this module finds. It uses the
library's numba rules and local search (:mod:`schedforge.heuristics.smtt`,
:mod:`schedforge.heuristics.local_search.smtt`) and falls back to a few plain
NumPy rules when those modules are not importable.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from schedforge.core.errors import SchedforgeError
from schedforge.problems.smtt import SMTTInstance

__all__ = ["ILS_MAX_JOBS", "heuristic_sequence", "polish", "sequence_cost"]

# Rules tried (Çetinkaya et al. 2025 rank the augmented MDDC first on the
# unweighted sets; ATC and WSPT serve the weighted ones). A name the rules
# module does not offer is skipped.
# Above this size the library's local search can overrun its time limit by
# far (one dynasearch pass is quadratic): the rules' best sequence is used as is.
ILS_MAX_JOBS = 2000

_RULES = ("aug-mddc", "mddc", "mdd", "psk", "aug-atc", "atc", "wspt", "edd")


def sequence_cost(instance: SMTTInstance, sequence: np.ndarray) -> int:
    """Total weighted tardiness of ``sequence`` (a permutation of the jobs)."""
    completion = np.cumsum(instance.processing[sequence])
    late = np.maximum(0, completion - instance.due[sequence])
    return int(np.dot(instance.weight[sequence], late))


def _numpy_rules(instance: SMTTInstance) -> list[np.ndarray]:
    """EDD, MDD (Baker & Bertrand 1982) and ATC (Vepsalainen & Morton 1987, k=2)."""
    p = instance.processing.astype(np.float64)
    d = instance.due.astype(np.float64)
    w = instance.weight.astype(np.float64)
    n = len(p)
    edd = np.lexsort((p, d))
    mean_p = p.mean()
    sequences = [edd]
    for rule in ("mdd", "atc"):
        left = np.ones(n, dtype=bool)
        seq = np.empty(n, dtype=np.int64)
        t = 0.0
        for k in range(n):
            idx = np.flatnonzero(left)
            if rule == "mdd":
                # Weighted MDD: smallest max(t + p, d) / w; ties by due date.
                prio = np.maximum(t + p[idx], d[idx]) / np.maximum(w[idx], 1e-9)
                pick = idx[np.lexsort((d[idx], prio))[0]]
            else:
                slack = np.maximum(0.0, d[idx] - p[idx] - t)
                prio = w[idx] / p[idx] * np.exp(-slack / (2.0 * mean_p))
                pick = idx[np.argmax(prio)]
            seq[k] = pick
            left[pick] = False
            t += p[pick]
        sequences.append(seq)
    return sequences


def _library_rules(instance: SMTTInstance) -> list[np.ndarray] | None:
    """The library's rule sequences, or ``None`` when the module is absent."""
    try:
        rules = importlib.import_module("schedforge.heuristics.smtt")
    except ImportError:
        return None
    rule_sequence = getattr(rules, "rule_sequence", None)
    if rule_sequence is None:
        return None
    names = getattr(rules, "RULES", _RULES)
    return [
        np.asarray(rule_sequence(instance, name), dtype=np.int64)
        for name in _RULES
        if name in names
    ] or None


def _improve(instance: SMTTInstance, sequence: np.ndarray, time_limit: float, seed: int):
    """Iterated local search from ``sequence`` when the library offers it."""
    try:
        local_search = importlib.import_module("schedforge.heuristics.local_search.smtt")
    except ImportError:
        return sequence
    improve = getattr(local_search, "improve", None)
    if improve is None:
        return sequence
    better = improve(instance, sequence, time_limit=time_limit, seed=seed, iterated=True)
    return np.asarray(better, dtype=np.int64)


def polish(
    instance: SMTTInstance, sequence: np.ndarray, *, time_limit: float, seed: int
) -> tuple[np.ndarray, str | None]:
    """Iterated local search from ``sequence`` (the library's, when present).

    Returns the improved sequence (or ``sequence`` itself when there is
    nothing to do: no time, zero cost, more than ``ILS_MAX_JOBS`` jobs, no
    local-search module) and an error text when the local search failed.

    Raises
    ------
    SchedforgeError
        The local search returned something that is not a permutation.
    """
    if (
        time_limit <= 0
        or instance.num_jobs > ILS_MAX_JOBS
        or sequence_cost(instance, sequence) == 0
    ):
        return sequence, None
    try:
        improved = _improve(instance, sequence, time_limit, seed)
    except Exception as exc:  # a start heuristic must not sink an exact method
        return sequence, f"{type(exc).__name__}: {exc}"
    if not np.array_equal(np.sort(improved), np.arange(instance.num_jobs)):
        raise SchedforgeError("local search returned a sequence that is not a permutation")
    if sequence_cost(instance, improved) < sequence_cost(instance, sequence):
        return np.asarray(improved, dtype=np.int64), None
    return sequence, None


def heuristic_sequence(
    instance: SMTTInstance, *, time_limit: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, dict[str, object]]:
    """The best sequence of several rules, improved by iterated local search.

    Parameters
    ----------
    instance
        The instance.
    time_limit
        Seconds for the local search (the rules themselves take microseconds
        to milliseconds); no local search above ``ILS_MAX_JOBS`` jobs.
    seed
        Seed of the local search.

    Returns
    -------
    sequence, info
        The best permutation found and ``{"start": source, "start_cost": ...,
        "start_time": seconds}``.
    """
    start = time.perf_counter()
    error: str | None = None
    try:
        candidates = _library_rules(instance)
    except Exception as exc:  # as in polish()
        candidates, error = None, f"{type(exc).__name__}: {exc}"
    source = "rules"
    if candidates is None:
        candidates = _numpy_rules(instance)
        source = "numpy-rules"
    costs = [sequence_cost(instance, s) for s in candidates]
    best = candidates[int(np.argmin(costs))]
    best_cost = min(costs)
    if error is None:
        polished, polish_error = polish(instance, best, time_limit=time_limit, seed=seed)
        error = polish_error
        polished_cost = sequence_cost(instance, polished)
        if polished_cost < best_cost:
            best, best_cost = polished, polished_cost
            source += "+ils"
    info = {
        "start": source,
        "start_cost": best_cost,
        "start_time": time.perf_counter() - start,
    }
    if error is not None:
        # The library heuristics failed; the numpy rules stood in. Visible, not fatal.
        info["start_error"] = error
    return np.array(best, dtype=np.int64), info
