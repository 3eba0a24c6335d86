"""Local search for single-machine total (weighted) tardiness, numba-compiled.

Methods registered here
-----------------------
``ls:<rule>``
    Starts from the sequence of ``rule:<rule>`` (see
    :mod:`schedforge.heuristics.smtt`) and descends to a sequence that no
    adjacent interchange, no single insertion (a job moved to another
    position) and no dynasearch move improves. A round is an adjacent
    interchange descent, then an insertion descent, then one dynasearch
    step; rounds repeat until one changes nothing. Deterministic; ``seed``
    is unused. ``time_limit`` (default: none) is checked between rounds.
``ils:<rule>``
    Iterated dynasearch (Congram, Potts & van de Velde 2002): from the
    ``ls`` local optimum, repeat *kick* (2 to 4 random swaps of jobs at most
    ``max(2, n/5)`` positions apart, drawn from a seeded generator) and
    local search (the same rounds), accepting the new local optimum when it
    is not worse than the current one; after every 100 kicks in a row
    without a new best it restarts from the best with a big kick
    (``3 + n/10`` swaps anywhere) and accepts that local optimum whatever
    its cost. It stops after ``stall`` kicks in a
    row that did not improve the best sequence (option, default
    :data:`DEFAULT_STALL`; ``None`` means "until the time limit"), at
    ``time_limit``, or as soon as the best sequence meets the lower bound
    of :func:`schedforge.problems.smtt.lower_bound`. The same seed gives the
    same result unless the time limit cut the run short, which
    ``stats["nondeterministic"]`` then reports.

Both methods work on weighted instances; all moves are evaluated on the
weighted tardiness in integer arithmetic. ``k`` is passed to the ATC start.

Neighbourhoods
--------------
Dynasearch finds, by dynamic programming over positions, the best set of
pairwise swaps of positions ``(i, j)`` whose intervals ``[i, j]`` do not
overlap (independent swaps): ``F(j) = min(F(j−1) + c_j, min_i F(i−1) +
c(i, j))`` where ``c(i, j)`` is the cost of positions ``i..j`` after swapping
the jobs at ``i`` and ``j`` (the jobs in between shift by ``p_j − p_i``).
It needs O(n³) time per step in the worst case; a bound from prefix sums
of the current late costs skips most swaps without evaluating the jobs
between them. An insertion descent evaluates all moves of
one job in O(n) by accumulating the shift of the jobs it passes.

References
----------
Congram, R. K., Potts, C. N., & van de Velde, S. L. (2002). An iterated
dynasearch algorithm for the single-machine total weighted tardiness
scheduling problem. INFORMS Journal on Computing 14(1), 52-67.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.heuristics.smtt import BASE_RULES, rule_sequence
from schedforge.problems.smtt import SMTTInstance, SMTTSolution, lower_bound

__all__ = ["DEFAULT_STALL", "improve", "local_search", "sequence_cost"]

DEFAULT_STALL = 500
_RESTART = 100  # kicks without a new best before a restart from the best
# Entry kernels compile lazily; solve() compiles them before its clock starts
# (schedforge.core.warmup), so a first call does not spend its time limit compiling.
# One compiled chunk of kicks should take about this long, so that a time
# limit is met closely without paying the Python round trip per kick.
_CHUNK_SECONDS = 0.01


# --------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def sequence_cost(processing, due, weight, sequence):  # pragma: no cover - compiled
    """Total weighted tardiness of ``sequence`` (int64 arrays)."""
    time_ = 0
    cost = 0
    for job in sequence:
        time_ += processing[job]
        if time_ > due[job]:
            cost += weight[job] * (time_ - due[job])
    return cost


@njit(cache=True)
def _late(weight_j, due_j, completion):  # pragma: no cover - compiled
    return weight_j * (completion - due_j) if completion > due_j else 0


@njit(cache=True)
def _adjacent_descent(processing, due, weight, seq):  # pragma: no cover - compiled
    """One pass of improving neighbour swaps; returns whether anything changed.

    One pass, not a descent to the end: the caller checks the clock between
    passes, and at n = 10,000 a full descent would outlast any time limit.
    """
    n = len(seq)
    changed = False
    start = 0
    for k in range(n - 1):
        a = seq[k]
        b = seq[k + 1]
        both = start + processing[a] + processing[b]
        before = _late(weight[a], due[a], start + processing[a]) + _late(weight[b], due[b], both)
        after = _late(weight[b], due[b], start + processing[b]) + _late(weight[a], due[a], both)
        if after < before:
            seq[k] = b
            seq[k + 1] = a
            changed = True
        start += processing[seq[k]]
    return changed


@njit(cache=True)
def _completions(processing, seq, completion):  # pragma: no cover - compiled
    time_ = 0
    for k in range(len(seq)):
        time_ += processing[seq[k]]
        completion[k] = time_


@njit(cache=True)
def _insertion_descent(processing, due, weight, seq):  # pragma: no cover - compiled
    """One pass moving each job to its best position if that helps; returns whether anything changed.

    One O(n²) pass per call, for the same reason as :func:`_adjacent_descent`.
    """
    n = len(seq)
    completion = np.empty(n, dtype=np.int64)
    _completions(processing, seq, completion)
    changed = False
    for i in range(n):
        a = seq[i]
        pa = processing[a]
        own = _late(weight[a], due[a], completion[i])
        best = 0
        best_j = i
        # Later positions: the jobs passed finish p_a earlier.
        shift = 0
        for j in range(i + 1, n):
            b = seq[j]
            shift += _late(weight[b], due[b], completion[j] - pa) - _late(
                weight[b], due[b], completion[j]
            )
            delta = shift + _late(weight[a], due[a], completion[j]) - own
            if delta < best:
                best = delta
                best_j = j
        # Earlier positions: the jobs passed finish p_a later.
        shift = 0
        for j in range(i - 1, -1, -1):
            b = seq[j]
            shift += _late(weight[b], due[b], completion[j] + pa) - _late(
                weight[b], due[b], completion[j]
            )
            delta = shift + _late(weight[a], due[a], completion[j] - processing[b] + pa) - own
            if delta < best:
                best = delta
                best_j = j
        if best_j != i:
            if best_j > i:
                for k in range(i, best_j):
                    seq[k] = seq[k + 1]
            else:
                for k in range(i, best_j, -1):
                    seq[k] = seq[k - 1]
            seq[best_j] = a
            _completions(processing, seq, completion)
            changed = True
    return changed


@njit(cache=True)
def _dynasearch_step(processing, due, weight, seq):  # pragma: no cover - compiled
    """Apply the best set of independent swaps; returns whether it improved."""
    n = len(seq)
    completion = np.empty(n + 1, dtype=np.int64)  # completion[k]: end of position k-1
    completion[0] = 0
    for k in range(n):
        completion[k + 1] = completion[k] + processing[seq[k]]
    # Prefix sums of the current late costs and late weights: the jobs
    # between i and j cost at least their current total when they move later,
    # and at most |shift|·(their late weight) less when they move earlier.
    # This bound skips most swaps without their O(j − i) evaluation.
    late_cost = np.zeros(n + 1, dtype=np.int64)
    late_weight = np.zeros(n + 1, dtype=np.int64)
    for k in range(1, n + 1):
        c = seq[k - 1]
        late = _late(weight[c], due[c], completion[k])
        late_cost[k] = late_cost[k - 1] + late
        late_weight[k] = late_weight[k - 1] + (weight[c] if late > 0 else 0)
    best = np.empty(n + 1, dtype=np.int64)
    choice = np.empty(n + 1, dtype=np.int64)
    best[0] = 0
    # 1-based positions: swap (i, j) exchanges seq[i-1] and seq[j-1].
    for j in range(1, n + 1):
        b = seq[j - 1]
        end = completion[j]
        value = best[j - 1] + _late(weight[b], due[b], end)
        pick = j
        pb = processing[b]
        for i in range(j - 1, 0, -1):
            a = seq[i - 1]
            shift = pb - processing[a]
            cost = (
                best[i - 1]
                + _late(weight[b], due[b], completion[i - 1] + pb)
                + _late(weight[a], due[a], end)
            )
            middle = late_cost[j - 1] - late_cost[i]
            if shift < 0:
                middle = max(0, middle + shift * (late_weight[j - 1] - late_weight[i]))
            if cost + middle >= value:
                continue
            # Every term is a non-negative late cost: stop adding as soon as
            # this swap cannot beat the best option for prefix j.
            for k in range(i + 1, j):
                c = seq[k - 1]
                cost += _late(weight[c], due[c], completion[k] + shift)
                if cost >= value:
                    break
            if cost < value:
                value = cost
                pick = i
        best[j] = value
        choice[j] = pick
    # Unchanged cost: nothing to apply (choice == j everywhere would rebuild seq).
    if best[n] >= sequence_cost(processing, due, weight, seq):
        return False
    j = n
    while j > 0:
        i = choice[j]
        if i != j:
            tmp = seq[i - 1]
            seq[i - 1] = seq[j - 1]
            seq[j - 1] = tmp
            j = i - 1
        else:
            j -= 1
    return True


@njit(cache=True)
def local_search(processing, due, weight, seq, bound, max_rounds):  # pragma: no cover - compiled
    """Rounds of adjacent, insertion and dynasearch moves on ``seq`` (in place).

    Parameters
    ----------
    processing, due, weight
        int64 arrays of the instance.
    seq
        The sequence to improve, modified in place.
    bound
        Stop as soon as the cost reaches this lower bound.
    max_rounds
        At most this many rounds (-1: until a local optimum).

    Returns
    -------
    tuple
        ``(cost, finished)``: the cost of ``seq`` and whether it is a local
        optimum (or meets the bound).
    """
    rounds = 0
    while max_rounds < 0 or rounds < max_rounds:
        rounds += 1
        if sequence_cost(processing, due, weight, seq) <= bound:
            return sequence_cost(processing, due, weight, seq), True
        adjacent = _adjacent_descent(processing, due, weight, seq)
        inserted = _insertion_descent(processing, due, weight, seq)
        swapped = _dynasearch_step(processing, due, weight, seq)
        if not (adjacent or inserted or swapped):
            return sequence_cost(processing, due, weight, seq), True
    return sequence_cost(processing, due, weight, seq), False


@njit(cache=True)
def _next_random(rng):  # pragma: no cover - compiled
    """xorshift64* (Marsaglia 2003; Vigna 2016) on a one-element uint64 state."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return x * np.uint64(2685821657736338717)


@njit(cache=True)
def _below(rng, m):  # pragma: no cover - compiled
    """A random integer in ``0..m-1``."""
    return np.int64((_next_random(rng) >> np.uint64(11)) % np.uint64(m))


@njit(cache=True)
def _kick(seq, rng, big):  # pragma: no cover - compiled
    """2-4 random swaps at most ``max(2, n/5)`` apart, or ``3 + n/10`` anywhere if ``big``."""
    n = len(seq)
    if n < 2:
        return
    span = n if big else max(2, n // 5)
    swaps = 3 + n // 10 if big else 2 + _below(rng, 3)
    for _ in range(swaps):
        i = _below(rng, n - 1)
        j = min(n - 1, i + 1 + _below(rng, span))
        tmp = seq[i]
        seq[i] = seq[j]
        seq[j] = tmp


@njit(cache=True)
def _ils_chunk(
    processing, due, weight, current, best, costs, rng, counters, kicks, stall, bound
):  # pragma: no cover - compiled
    """Run up to ``kicks`` kicks of iterated local search.

    ``costs = [current, best]``; ``counters = [kicks done, kicks since the
    best improved]``; ``stall < 0`` means no stall limit. Returns whether
    the search has finished (stall limit reached or bound met).
    """
    trial = current.copy()
    for _ in range(kicks):
        if costs[1] <= bound or (stall >= 0 and counters[1] >= stall):
            return True
        # Every RESTART kicks without a new best, restart from the best with
        # a big kick and accept whatever local optimum it leads to.
        big = counters[1] > 0 and counters[1] % _RESTART == 0
        trial[:] = best if big else current
        _kick(trial, rng, big)
        cost, _ = local_search(processing, due, weight, trial, bound, -1)
        counters[0] += 1
        if cost < costs[1]:
            best[:] = trial
            costs[1] = cost
            counters[1] = 0
        else:
            counters[1] += 1
        if big or cost <= costs[0]:
            current[:] = trial
            costs[0] = cost
    return costs[1] <= bound or (stall >= 0 and counters[1] >= stall)


# --------------------------------------------------------------------------
# Python layer


def _arrays(instance: SMTTInstance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array(instance.processing, dtype=np.int64),
        np.array(instance.due, dtype=np.int64),
        np.array(instance.weight, dtype=np.int64),
    )


def _seed_state(seed: int) -> np.ndarray:
    """A non-zero xorshift state from any integer seed (SplitMix64 finaliser)."""
    z = (seed * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    z ^= z >> 31
    return np.array([z or 1], dtype=np.uint64)


def _improve(
    instance: SMTTInstance,
    sequence: np.ndarray,
    *,
    time_limit: float | None,
    seed: int,
    iterated: bool,
    stall: int | None = DEFAULT_STALL,
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`improve` with its statistics."""
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    processing, due, weight = _arrays(instance)
    current = np.array(sequence, dtype=np.int64)
    if sorted(current.tolist()) != list(range(instance.num_jobs)):
        raise InvalidOption("improve() needs a permutation of all jobs of the instance")
    bound = int(lower_bound(instance))
    initial = int(sequence_cost(processing, due, weight, current))
    stats: dict[str, Any] = {"initial": initial, "lower_bound": bound, "kicks": 0}
    stopped = "local_optimum"
    # Descent, one round per call so that the time limit is checked between rounds.
    while True:
        cost, finished = local_search(processing, due, weight, current, bound, 1)
        if finished:
            stopped = "lower_bound" if cost <= bound else "local_optimum"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = "time_limit"
            break
    stats["local_optimum"] = int(cost)
    if iterated and stopped == "local_optimum":
        if stall is None and deadline is None:
            raise InvalidOption(
                "ils needs a time limit or a stall limit (stall=None and no time_limit)"
            )
        best = current.copy()
        costs = np.array([cost, cost], dtype=np.int64)
        counters = np.zeros(2, dtype=np.int64)
        rng = _seed_state(seed)
        chunk = 1
        while True:
            tick = time.perf_counter()
            done = _ils_chunk(
                processing,
                due,
                weight,
                current,
                best,
                costs,
                rng,
                counters,
                chunk,
                -1 if stall is None else stall,
                bound,
            )
            now = time.perf_counter()
            if done:
                stopped = "lower_bound" if costs[1] <= bound else "stall"
                break
            if deadline is not None and now >= deadline:
                stopped = "time_limit"
                break
            per_kick = max((now - tick) / chunk, 1e-7)
            budget = (
                _CHUNK_SECONDS if deadline is None else min(_CHUNK_SECONDS, (deadline - now) / 2)
            )
            chunk = max(1, int(budget / per_kick))
        current = best
        stats["kicks"] = int(counters[0])
    stats["stopped"] = stopped
    if stopped == "time_limit":
        stats["nondeterministic"] = True
    return current, stats


def improve(
    instance: SMTTInstance,
    sequence: np.ndarray,
    *,
    time_limit: float | None,
    seed: int,
    iterated: bool,
    stall: int | None = DEFAULT_STALL,
) -> np.ndarray:
    """Improve a sequence by local search (``iterated=False``) or iterated dynasearch.

    Parameters
    ----------
    instance
        An SMTT instance (weighted or not).
    sequence
        A permutation of the jobs to start from (not modified).
    time_limit
        Seconds, or ``None``: the descent then runs to a local optimum and the
        iterated search stops after ``stall`` kicks without improvement.
    seed
        Seed of the kicks.
    iterated
        Run iterated dynasearch after the descent.
    stall
        Kicks in a row without improving the best before the iterated search
        stops; ``None`` runs until ``time_limit``.

    Returns
    -------
    numpy.ndarray
        The best sequence found; never worse than ``sequence``.

    Raises
    ------
    InvalidOption
        When ``sequence`` is not a permutation of the jobs, or when neither a
        time limit nor a stall limit would stop the iterated search.
    """
    return _improve(
        instance, sequence, time_limit=time_limit, seed=seed, iterated=iterated, stall=stall
    )[0]


def _start(instance: SMTTInstance, rule: str, k: float | None) -> np.ndarray:
    return rule_sequence(instance, rule, **({} if k is None else {"k": k}))


def _outcome(instance: SMTTInstance, sequence: np.ndarray, stats: dict[str, Any]) -> Outcome:
    processing, due, weight = _arrays(instance)
    return Outcome(
        solution=SMTTSolution(sequence),
        objective=int(sequence_cost(processing, due, weight, sequence)),
        stats=stats,
    )


@method("smtt", "ls", variants=BASE_RULES, default_stop="at a local optimum")
def solve_ls(
    instance: SMTTInstance,
    variant: str,
    *,
    budget: Budget,
    k: float | None = None,
) -> Outcome:
    """Descent (adjacent interchange, insertion, dynasearch) from ``rule:<variant>``.

    Runs to a local optimum unless the budget's deadline stops it first; the
    seed is unused; single-threaded; ``k`` is the ATC look-ahead for ``ls:atc``.
    """
    start = _start(instance, variant, k)
    sequence, stats = _improve(
        instance, start, time_limit=budget.remaining(), seed=budget.seed, iterated=False
    )
    return _outcome(instance, sequence, {"start": variant, **stats})


@method(
    "smtt",
    "ils",
    variants=BASE_RULES,
    default_stop="after `stall` kicks without improvement (default 500)",
)
def solve_ils(
    instance: SMTTInstance,
    variant: str,
    *,
    budget: Budget,
    k: float | None = None,
    stall: int | None = DEFAULT_STALL,
) -> Outcome:
    """Iterated dynasearch with seeded random kicks from ``rule:<variant>``.

    Stops at the budget's deadline, after ``stall`` kicks without
    improvement (default 500; ``None``: only the time limit), or at the
    lower bound. Single-threaded.
    """
    if stall is not None and (not isinstance(stall, int) or stall < 1):
        raise InvalidOption(f"stall must be a positive integer or None, got {stall!r}")
    start = _start(instance, variant, k)
    sequence, stats = _improve(
        instance,
        start,
        time_limit=budget.remaining(),
        seed=budget.seed,
        iterated=True,
        stall=stall,
    )
    return _outcome(instance, sequence, {"start": variant, **stats})
