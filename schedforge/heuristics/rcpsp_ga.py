"""Genetic algorithms for the RCPSP: the ``ga`` method and Hartmann's activity-list GA.

``ga`` runs the bi-population GA of :mod:`schedforge.heuristics.rcpsp_bpga`
by default and this module's Hartmann GA with ``algorithm="hartmann"``.

Individuals are precedence-feasible activity lists decoded by the serial
SGS (:mod:`schedforge.heuristics.sgs`), so every side constraint holds. The
initial population comes from regret-based LFT sampling; two-point
crossover and adjacent-swap mutation keep lists precedence-feasible;
survival keeps the best ``population`` of parents and children (ranking),
distinct schedules before copies (copies of one schedule otherwise take over
the population once justification makes children coincide).
Each decoded child is improved by forward-backward justification, and its
list is replaced by the start order of the improved schedule (Lamarckian,
as in Valls, Ballestín & Quintanilla 2005). The budget counts schedules the
way Kolisch & Hartmann (2006) do: one per decoding, one per justification pass.

References
----------
Hartmann, S. (1998). A competitive genetic algorithm for resource-constrained
project scheduling. Naval Research Logistics 45(7), 733-750.

Kolisch, R., & Hartmann, S. (2006). Experimental investigation of heuristics
for resource-constrained project scheduling: an update. European Journal of
Operational Research 174(1), 23-37.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.rcpsp import priorities, seed_numba
from schedforge.heuristics.sgs import REGRET_SAMPLING, SGSData, build_list, serial_decode
from schedforge.heuristics.sgs import justify as fbi
from schedforge.problems.rcpsp import RCPSPInstance, RCPSPSolution

__all__ = ["ga"]

# Fitness of a list whose decoding misses a deadline: worse than any schedule.
_FAILED = np.int64(1) << np.int64(50)


@njit(cache=True)
def _evaluate(order, do_justify, decode_args, justify_tail, start, avail, improved, improved_order):
    """Decode ``order`` (and justify, updating ``order``); returns (fitness, schedules used)."""
    makespan = serial_decode(order, *decode_args, avail, start)
    if makespan < 0:
        return _FAILED, 1
    if not do_justify:
        return makespan, 1
    makespan = fbi(start, *decode_args, avail, *justify_tail, improved, improved_order)
    start[:] = improved
    order[:] = improved_order
    return makespan, 3


@njit(cache=True)
def _crossover(mother, father, q1, q2, child, taken):
    """Hartmann's two-point crossover: mother's prefix, father's middle, mother's rest."""
    n = mother.shape[0]
    taken[:] = False
    pos = 0
    for i in range(q1):
        child[pos] = mother[i]
        taken[mother[i]] = True
        pos += 1
    for i in range(n):
        if pos >= q2:
            break
        if not taken[father[i]]:
            child[pos] = father[i]
            taken[father[i]] = True
            pos += 1
    for i in range(n):
        if pos >= n:
            break
        if not taken[mother[i]]:
            child[pos] = mother[i]
            taken[mother[i]] = True
            pos += 1


@njit(cache=True)
def _mutate(child, rate, pred_ptr, pred_idx):
    """Swap neighbours with probability ``rate`` unless the first precedes the second."""
    for i in range(child.shape[0] - 1):
        if np.random.random() < rate:
            a, b = child[i], child[i + 1]
            related = False
            for k in range(pred_ptr[b], pred_ptr[b + 1]):
                if pred_idx[k] == a:
                    related = True
                    break
            if not related:
                child[i], child[i + 1] = b, a


@njit(cache=True)
def _keep_best(fitness, starts, best_start, best):
    for i in range(fitness.shape[0]):
        if fitness[i] < _FAILED and (best[0] < 0 or fitness[i] < best[0]):
            best[0] = fitness[i]
            best_start[:] = starts[i]


@njit(cache=True)
def ga_init(
    pop,
    fitness,
    starts,
    priority,
    alpha,
    eps,
    do_justify,
    decode_args,
    justify_tail,
    succ_ptr,
    succ_idx,
):
    """Fill the population by regret-based sampling; returns the schedules used."""
    size, n = pop.shape
    avail = np.empty_like(decode_args[-1])
    improved = np.empty(n, dtype=np.int64)
    improved_order = np.empty(n, dtype=np.int64)
    used = 0
    for i in range(size):
        build_list(
            priority, REGRET_SAMPLING, alpha, eps, decode_args[2], succ_ptr, succ_idx, pop[i]
        )
        fitness[i], cost = _evaluate(
            pop[i],
            do_justify,
            decode_args,
            justify_tail,
            starts[i],
            avail,
            improved,
            improved_order,
        )
        used += cost
    return used


@njit(cache=True)
def ga_generation(pop, fitness, starts, budget, rate, do_justify, decode_args, justify_tail):
    """One generation: pair up, cross, mutate, evaluate within ``budget``, keep the best.

    Returns the schedules used (0 when the budget allows no child). When
    fewer schedules are left than a justified child costs, the last
    children are decoded without justification, so the count comes out exact.
    """
    size, n = pop.shape
    if do_justify and budget < 3:
        do_justify = False
    cost = 3 if do_justify else 1
    pred_ptr, pred_idx = decode_args[2], decode_args[3]
    count = min(size, budget // cost)
    if count == 0:
        return 0
    children = np.empty((count, n), dtype=np.int64)
    child_fit = np.empty(count, dtype=np.int64)
    child_starts = np.empty((count, n), dtype=np.int64)
    taken = np.empty(n, dtype=np.bool_)
    avail = np.empty_like(decode_args[-1])
    improved = np.empty(n, dtype=np.int64)
    improved_order = np.empty(n, dtype=np.int64)
    perm = np.random.permutation(size)
    used = 0
    for c in range(count):
        mother = pop[perm[(c // 2) * 2 % size]]
        father = pop[perm[((c // 2) * 2 + 1) % size]]
        if c % 2 == 1:
            mother, father = father, mother
        q1 = np.random.randint(0, n + 1)
        q2 = np.random.randint(q1, n + 1)
        _crossover(mother, father, q1, q2, children[c], taken)
        _mutate(children[c], rate, pred_ptr, pred_idx)
        child_fit[c], spent = _evaluate(
            children[c],
            do_justify,
            decode_args,
            justify_tail,
            child_starts[c],
            avail,
            improved,
            improved_order,
        )
        used += spent
    # Ranking survival over parents and children, children first among equals;
    # copies of a kept schedule wait until no distinct one is left (justified
    # children often coincide, and copies would shrink the population).
    all_fit = np.concatenate((child_fit, fitness))
    order = np.argsort(all_fit, kind="mergesort")
    new_pop = np.empty_like(pop)
    new_starts = np.empty_like(starts)
    new_fit = np.empty_like(fitness)
    chosen = np.zeros(order.shape[0], dtype=np.bool_)
    filled = 0
    for unique_only in (True, False):
        for k in order:
            if filled == size:
                break
            if chosen[k]:
                continue
            cand = child_starts[k] if k < count else starts[k - count]
            if unique_only:
                copy = False
                for i in range(filled):
                    if new_fit[i] == all_fit[k] and np.array_equal(new_starts[i], cand):
                        copy = True
                        break
                if copy:
                    continue
            chosen[k] = True
            new_pop[filled] = children[k] if k < count else pop[k - count]
            new_starts[filled] = cand
            new_fit[filled] = all_fit[k]
            filled += 1
    pop[:] = new_pop
    starts[:] = new_starts
    fitness[:] = new_fit
    return used


@method("rcpsp", "ga", default_stop="after `schedules` generated schedules (default 1,000)")
def ga(
    instance: RCPSPInstance,
    *,
    budget: Budget,
    schedules: int = 1000,
    algorithm: str = "bipop",
    population: int | None = None,
    mutation: float | None = None,
    justify: bool = True,
    target: int | None = None,
    stall: int | None = None,
) -> Outcome:
    """Genetic algorithm with forward-backward justification of every child (numba).

    Parameters
    ----------
    schedules
        Budget of generated schedules (each SGS decoding, justification
        passes included, counts one; the count is exact).
    algorithm
        ``"bipop"`` (default): the bi-population GA with peak crossover of
        :func:`schedforge.heuristics.rcpsp_bpga.bpga` (population 50 each,
        80 from 4,000 schedules on, mutation 0.02); ``"hartmann"``: Hartmann's (1998) activity-list GA
        (population 40, mutation 0.05).
    population
        Population size (each of the two populations for ``bipop``).
    mutation
        Probability of swapping each pair of neighbours in a child's list.
    justify
        Apply forward-backward improvement to every decoded list.
    target
        Stop as soon as the best makespan is at most ``target`` (e.g. a
        known lower bound: nothing better exists).
    stall
        Stop after this many schedules without a better best makespan.

    The budget's time limit stops earlier if given; without one the
    schedule count alone stops it. Single-threaded.
    Returns ``NO_SOLUTION`` when no decoded list meets every deadline.
    """
    if stall is not None and stall < 1:
        raise InvalidOption(f"stall must be >= 1 schedules, got {stall}")
    if algorithm == "bipop":
        from schedforge.heuristics.rcpsp_bpga import bpga  # it imports this module's kernels

        options = {"population": population, "mutation": mutation}
        options = {k: v for k, v in options.items() if v is not None}
        return bpga(
            instance, budget=budget, schedules=schedules, passes=2 if justify else 0,
            target=target, stall=stall, **options,
        )  # fmt: skip
    if algorithm != "hartmann":
        raise InvalidOption(f"algorithm must be 'bipop' or 'hartmann', got {algorithm!r}")
    population = 40 if population is None else population
    mutation = 0.05 if mutation is None else mutation
    if schedules < 1 or population < 2:
        raise InvalidOption(
            f"need schedules >= 1 and population >= 2, got {schedules}, {population}"
        )
    if not 0 <= mutation <= 1:
        raise InvalidOption(f"mutation must lie in [0, 1], got {mutation}")
    data = SGSData.from_instance(instance)
    n = data.num_activities
    cost = 3 if justify else 1
    size = min(schedules, max(2, min(population, schedules // cost)))
    # A budget too small for a justified population decodes it unjustified.
    init_justify = justify and size * cost <= schedules
    seed_numba(budget.seed)
    pop = np.empty((size, n), dtype=np.int64)
    fitness = np.empty(size, dtype=np.int64)
    starts = np.zeros((size, n), dtype=np.int64)
    decode_args, tail = data.decode_args(), data.justify_tail()
    used = ga_init(
        pop, fitness, starts, priorities(instance, "lft"), 1.0, 1.0, init_justify,
        decode_args, tail, data.succ_ptr, data.succ_idx,
    )  # fmt: skip
    best = np.array([-1], dtype=np.int64)
    best_start = np.zeros(n, dtype=np.int64)
    _keep_best(fitness, starts, best_start, best)
    generations, stopped_by_time = 0, False
    last_gain, stop = used, "schedules"
    while used < schedules:
        reason = stop_reason(best, target, stall, used - last_gain, budget)
        if reason is not None:
            stop, stopped_by_time = reason, reason == "time"
            break
        spent = ga_generation(
            pop, fitness, starts, schedules - used, mutation, justify, decode_args, tail
        )
        if spent == 0:
            break
        used += spent
        generations += 1
        previous = best[0]
        _keep_best(fitness, starts, best_start, best)
        if best[0] != previous:
            last_gain = used
    stats = {
        "algorithm": "hartmann",
        "stop": stop,
        "schedules": used,
        "generations": generations,
        "population": size,
        "nondeterministic": stopped_by_time,
    }
    return ga_outcome(best, best_start, stats)


def stop_reason(best, target, stall, since_gain: int, budget: Budget) -> str | None:
    """Why a GA stops before its schedule count (``target``, ``stall``, ``time``), or ``None``.

    ``best[0]`` is the best makespan so far (-1: none yet); ``since_gain``
    the schedules generated since it last improved.
    """
    if target is not None and 0 <= best[0] <= target:
        return "target"
    if stall is not None and since_gain >= stall:
        return "stall"
    if budget.expired():
        return "time"
    return None


def ga_outcome(best, best_start, stats: dict) -> Outcome:
    """The GA's result: its best schedule, or NO_SOLUTION when no list was feasible."""
    if best[0] < 0:
        stats["reason"] = "no decoded activity list met every deadline"
        return Outcome(status=Status.NO_SOLUTION, stats=stats)
    return Outcome(RCPSPSolution(best_start), objective=int(best[0]), stats=stats)
