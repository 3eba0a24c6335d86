"""Bi-population genetic algorithm for the RCPSP with peak crossover (numba).

After Debels & Vanhoucke (2005, 2007): two populations, one of
left-justified schedules (decoded forwards by the serial SGS) and one of
right-justified schedules (decoded on the time-mirrored instance, i.e.
backwards). Children alternate between them. A child's activity list comes
from two parents of one population, either by the **peak crossover** (the
child takes from the father the activities that start inside the father's
busiest time window, of random length, at the father's times, and every
other activity at the mother's time; the list is the eligible activity of
smallest time, repeatedly) or by Hartmann's two-point crossover on the start
orders. Each child is decoded in its parents' direction and then improved
by forward-backward improvement (justification): the schedule is decoded in
the other direction by its start order there, then back again. Both results
enter their population (steady state: a child replaces the worst member
when it is not worse and not a copy of a member).

Schedules are counted honestly, one per SGS decoding, justification passes
included; a run asked for ``schedules`` generates exactly that many (the
last child may stop after its first decoding). Every side constraint of the
instance holds: backward decoding works on the mirrored capacity profile,
with releases and deadlines swapped, over the whole horizon, and only
forward-decoded schedules become the result.

References
----------
Debels, D., & Vanhoucke, M. (2005). A bi-population based genetic algorithm
for the resource-constrained project scheduling problem. ICCSA 2005, LNCS
3483, 378-387.

Debels, D., & Vanhoucke, M. (2007). A decomposition-based genetic algorithm
for the resource-constrained project scheduling problem. Operations Research
55(3), 457-469.

Valls, V., Ballestín, F., & Quintanilla, S. (2008). A hybrid genetic algorithm
for the resource-constrained project scheduling problem. European Journal of
Operational Research 185(2), 495-508.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.result import Outcome
from schedforge.heuristics.rcpsp import priorities, seed_numba
from schedforge.heuristics.rcpsp_ga import _FAILED, _mutate, ga_outcome, stop_reason
from schedforge.heuristics.rcpsp_ga import _crossover as _two_point
from schedforge.heuristics.sgs import REGRET_SAMPLING, SGSData, build_list, serial_decode
from schedforge.problems.rcpsp import RCPSPInstance

__all__ = ["bpga"]


def _frames(data: SGSData) -> tuple[tuple, tuple]:
    """SGS arguments of the forward instance and of its mirror over the whole horizon."""
    length = data.profile.shape[1]
    mirrored = np.ascontiguousarray(data.profile[:, ::-1])
    # In the mirror a finish <= deadline is a release and a release a deadline.
    m_release = np.maximum(0, length - (data.latest_start + data.duration))
    m_latest = length - data.release - data.duration
    backward = (
        data.duration, data.demand, data.succ_ptr, data.succ_idx, data.succ_lag,
        data.disj_ptr, data.disj_idx, m_release.astype(np.int64), m_latest.astype(np.int64),
        mirrored,
    )  # fmt: skip
    return data.decode_args(), backward


@njit(cache=True)
def _decode(order, direction, forward, backward, avail, start):
    """Serial SGS of ``order`` forwards (0) or on the mirror (1); the span, or < 0 on failure."""
    if direction == 0:
        return serial_decode(order, *forward, avail, start)
    return serial_decode(order, *backward, avail, start)


@njit(cache=True)
def _start_order(start, rank, out):
    """Activities by increasing start, ties by ``rank`` (a topological rank of the frame)."""
    n = start.shape[0]
    key = np.empty(n, dtype=np.int64)
    for j in range(n):
        key[j] = start[j] * (n + 1) + rank[j]
    out[:] = np.argsort(key)


@njit(cache=True)
def _list_by_key(key, pred_ptr, succ_ptr, succ_idx, out):
    """A precedence-feasible list: repeatedly the eligible activity of smallest ``key``."""
    n = key.shape[0]
    missing = np.empty(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    m = 0
    for j in range(n):
        missing[j] = pred_ptr[j + 1] - pred_ptr[j]
        if missing[j] == 0:
            cand[m] = j
            m += 1
    for pos in range(n):
        best = 0
        for i in range(1, m):
            if key[cand[i]] < key[cand[best]]:
                best = i
        j = cand[best]
        cand[best] = cand[m - 1]
        m -= 1
        out[pos] = j
        for k in range(succ_ptr[j], succ_ptr[j + 1]):
            s = succ_idx[k]
            missing[s] -= 1
            if missing[s] == 0:
                cand[m] = s
                m += 1


@njit(cache=True)
def _peak_key(mother, father, duration, demand, profile, rank, lo, hi, key):
    """Keys of the peak crossover: the father's busiest window at his times, the rest the mother's.

    The window's length is a random share in ``[lo, hi]`` of the father's
    span; busy means the sum over periods of the used share of each
    resource's capacity (``profile`` in the frame of the start times).
    """
    n = duration.shape[0]
    num_res = demand.shape[1]
    first_start, last_finish = father[0], 0
    for j in range(n):
        first_start = min(first_start, father[j])
        last_finish = max(last_finish, father[j] + duration[j])
    span = max(1, last_finish - first_start)
    use = np.zeros(span, dtype=np.float64)
    for j in range(n):
        for t in range(father[j], father[j] + duration[j]):
            for r in range(num_res):
                cap = profile[r, t]
                if cap > 0:
                    use[t - first_start] += demand[j, r] / cap
    width = np.random.randint(max(1, int(lo * span)), max(1, int(hi * span)) + 1)
    width = min(width, span)
    total = 0.0
    for t in range(width):
        total += use[t]
    best, first = total, 0
    for t in range(1, span - width + 1):
        total += use[t + width - 1] - use[t - 1]
        if total > best:
            best, first = total, t
    first += first_start
    for j in range(n):
        if first <= father[j] < first + width:
            key[j] = (2 * father[j]) * (n + 1) + rank[j]
        else:
            key[j] = (2 * mother[j] + 1) * (n + 1) + rank[j]


@njit(cache=True)
def _insert(starts, fitness, cand, cand_fit):
    """Steady-state replacement: ``cand`` replaces the worst member unless worse or a copy."""
    worst = 0
    for i in range(fitness.shape[0]):
        if fitness[i] == cand_fit and np.array_equal(starts[i], cand):
            return
        if fitness[i] > fitness[worst]:
            worst = i
    if cand_fit <= fitness[worst]:
        starts[worst] = cand
        fitness[worst] = cand_fit


@njit(cache=True)
def _tournament(fitness):
    """Binary tournament; the best member when both drawn are empty slots."""
    size = fitness.shape[0]
    a = np.random.randint(size)
    b = np.random.randint(size)
    pick = a if fitness[a] <= fitness[b] else b
    if fitness[pick] >= _FAILED:
        pick = np.argmin(fitness)
    return pick


@njit(cache=True)
def _keep(span, start, best, best_start):
    if span >= 0 and (best[0] < 0 or span < best[0]):
        best[0] = span
        best_start[:] = start


@njit(cache=True)
def _improve(
    order, direction, passes, budget, forward, backward, duration, ranks, frame_len,
    starts, fitness, best, best_start, avail, work, other, scratch,
):  # fmt: skip
    """Decode ``order`` in ``direction``, then justify ``passes`` times; returns the schedules used.

    Every schedule enters the population of its direction; forward ones
    (direction 0) are feasible in the instance and update ``best``.
    """
    if budget <= 0:
        return 0
    span = _decode(order, direction, forward, backward, avail, work)
    used = 1
    if span < 0:
        return used
    if passes == 0:  # otherwise the passes below improve on it
        _insert(starts[direction], fitness[direction], work, span)
    if direction == 0:
        _keep(span, work, best, best_start)
    for _ in range(passes):
        if used >= budget:
            break
        # The start order in the other frame: mirrored finish times.
        direction = 1 - direction
        for j in range(work.shape[0]):
            other[j] = frame_len - work[j] - duration[j]
        _start_order(other, ranks[direction], scratch)
        span = _decode(scratch, direction, forward, backward, avail, work)
        used += 1
        if span < 0:  # cannot happen (decoding a feasible start order), kept safe
            return used
        _insert(starts[direction], fitness[direction], work, span)
        if direction == 0:
            _keep(span, work, best, best_start)
    return used


@njit(cache=True)
def bpga_init(
    size, priority, budget, forward, backward, duration, ranks, frame_len, graph,
    starts, fitness, best, best_start,
):  # fmt: skip
    """Fill both populations from regret-based LFT sampling; returns the schedules used."""
    n = duration.shape[0]
    avail = np.empty_like(forward[-1])
    work = np.empty(n, dtype=np.int64)
    other = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    fitness[:, :] = _FAILED
    used = 0
    for _ in range(size):
        if used >= budget:
            break
        build_list(priority, REGRET_SAMPLING, 1.0, 1.0, graph[0], graph[2], graph[3], order)
        used += _improve(
            order, 0, 2, budget - used, forward, backward, duration, ranks, frame_len,
            starts, fitness, best, best_start, avail, work, other, scratch,
        )  # fmt: skip
    return used


@njit(cache=True)
def bpga_children(
    count, budget, peak, lo, hi, rate, passes, swap, forward, backward, duration, demand, ranks,
    frame_len, graph, starts, fitness, best, best_start, turn,
):  # fmt: skip
    """Make up to ``count`` children within ``budget`` schedules; returns (schedules, children).

    ``graph`` holds pred_ptr, pred_idx, succ_ptr, succ_idx; the mirror frame
    swaps predecessors and successors. ``turn[0]`` is the population of the
    next child (alternating).
    """
    n = duration.shape[0]
    avail = np.empty_like(forward[-1])
    work = np.empty(n, dtype=np.int64)
    other = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    child = np.empty(n, dtype=np.int64)
    key = np.empty(n, dtype=np.int64)
    mother_list = np.empty(n, dtype=np.int64)
    father_list = np.empty(n, dtype=np.int64)
    taken = np.empty(n, dtype=np.bool_)
    mother = np.empty(n, dtype=np.int64)
    father = np.empty(n, dtype=np.int64)
    used = made = 0
    for _ in range(count):
        if used >= budget:
            break
        d = turn[0]
        turn[0] = 1 - d
        pop, fit = starts[d], fitness[d]
        m = _tournament(fit)
        f = _tournament(fit)
        if fit[m] >= _FAILED or fit[f] >= _FAILED:
            continue
        # The child is built and decoded in frame e: its parents' (d), or with
        # ``swap`` the mirror, where the parents' finish order is justification.
        e = 1 - d if swap else d
        for j in range(n):
            if swap:
                mother[j] = frame_len - pop[m, j] - duration[j]
                father[j] = frame_len - pop[f, j] - duration[j]
            else:
                mother[j] = pop[m, j]
                father[j] = pop[f, j]
        if e == 0:
            pred_ptr, pred_idx, succ_ptr, succ_idx = graph[0], graph[1], graph[2], graph[3]
            profile = forward[-1]
        else:
            pred_ptr, pred_idx, succ_ptr, succ_idx = graph[2], graph[3], graph[0], graph[1]
            profile = backward[-1]
        if np.random.random() < peak:
            _peak_key(mother, father, duration, demand, profile, ranks[e], lo, hi, key)
            _list_by_key(key, pred_ptr, succ_ptr, succ_idx, child)
        else:
            _start_order(mother, ranks[e], mother_list)
            _start_order(father, ranks[e], father_list)
            q1 = np.random.randint(0, n + 1)
            q2 = np.random.randint(q1, n + 1)
            _two_point(mother_list, father_list, q1, q2, child, taken)
        _mutate(child, rate, pred_ptr, pred_idx)
        used += _improve(
            child, e, passes, budget - used, forward, backward, duration, ranks, frame_len,
            starts, fitness, best, best_start, avail, work, other, scratch,
        )  # fmt: skip
        made += 1
    return used, made


@njit(cache=True)
def _span_of(start, duration):
    span = 0
    for j in range(start.shape[0]):
        span = max(span, start[j] + duration[j])
    return span


@njit(cache=True)
def bpga_subproject(
    budget, width, size, rate, forward, backward, duration, ranks, frame_len, graph,
    starts, fitness, best, best_start,
):  # fmt: skip
    """One sub-project of the best schedule, solved by a small GA; returns the schedules used.

    After Debels & Vanhoucke's decomposition: the activities at positions
    ``[p, p + width)`` of the best schedule's start order (``p`` random)
    form the sub-project; every other activity keeps its place in the list.
    A population of ``size`` orders of the sub-project (the best's, and
    those of the forward population's members, restricted to it) evolves by
    two-point crossover and mutation; each child is put back between the
    fixed prefix and suffix, decoded and justified on the whole instance
    (three schedules, all counted), so every side constraint holds. Its
    fitness is the span, then the total start. A better schedule becomes the
    best at once and enters the forward population at the end.
    """
    n = duration.shape[0]
    pred_ptr, pred_idx = graph[0], graph[1]
    avail = np.empty_like(forward[-1])
    work = np.empty(n, dtype=np.int64)
    other = np.empty(n, dtype=np.int64)
    scratch = np.empty(n, dtype=np.int64)
    full = np.empty(n, dtype=np.int64)
    taken = np.empty(n, dtype=np.bool_)
    inside = np.zeros(n, dtype=np.bool_)
    member = np.empty(n, dtype=np.int64)
    _start_order(best_start, ranks[0], full)
    width = min(width, n)
    p = np.random.randint(0, n - width + 1)
    for i in range(p, p + width):
        inside[full[i]] = True
    subs = np.empty((size, width), dtype=np.int64)
    sub_fit = np.full(size, _FAILED, dtype=np.int64)
    child = np.empty(width, dtype=np.int64)
    pop, fit = starts[0], fitness[0]
    # Children stay out of the populations (near-copies of the best would
    # crowd them out); only a better best enters, at the end.
    no_starts = np.zeros((2, 1, n), dtype=np.int64)
    no_fitness = np.full((2, 1), -1, dtype=np.int64)
    before = best[0]
    used = 0
    # Seeds: the best's own order, then members' orders (best members first).
    ranked = np.argsort(fit)
    filled = 0
    for k in range(-1, ranked.shape[0]):
        if filled >= size or used >= budget:
            break
        if k < 0:
            member[:] = full
        else:
            if fit[ranked[k]] >= _FAILED:
                break
            _start_order(pop[ranked[k]], ranks[0], member)
        m = 0
        for i in range(n):
            if inside[member[i]]:
                child[m] = member[i]
                m += 1
        same = False
        for i in range(filled):
            if np.array_equal(subs[i], child):
                same = True
                break
        if same:
            continue
        span, spent = _sub_evaluate(
            child, full, p, budget - used, forward, backward, duration, ranks, frame_len,
            no_starts, no_fitness, best, best_start, avail, work, other, scratch,
        )  # fmt: skip
        used += spent
        subs[filled] = child
        sub_fit[filled] = span
        filled += 1
    while used < budget and filled >= 2:
        a = _tournament(sub_fit[:filled])
        b = _tournament(sub_fit[:filled])
        q1 = np.random.randint(0, width + 1)
        q2 = np.random.randint(q1, width + 1)
        _two_point(subs[a], subs[b], q1, q2, child, taken)
        _mutate(child, rate, pred_ptr, pred_idx)
        span, spent = _sub_evaluate(
            child, full, p, budget - used, forward, backward, duration, ranks, frame_len,
            no_starts, no_fitness, best, best_start, avail, work, other, scratch,
        )  # fmt: skip
        used += spent
        _insert_list(subs[:filled], sub_fit[:filled], child, span)
    if best[0] != before:
        _insert(starts[0], fitness[0], best_start, best[0])
    return used


@njit(cache=True)
def _sub_evaluate(
    child, full, p, budget, forward, backward, duration, ranks, frame_len,
    starts, fitness, best, best_start, avail, work, other, scratch,
):  # fmt: skip
    """Decode and justify the whole list with ``child`` at positions ``p...``.

    Returns the fitness of the final forward schedule (span, then total
    start; ``_FAILED`` on a missed deadline or when the budget ends the
    justification in the mirror) and the schedules used.
    """
    order = full.copy()
    order[p : p + child.shape[0]] = child
    passes = min(2, budget - 1)
    used = _improve(
        order, 0, passes, budget, forward, backward, duration, ranks, frame_len,
        starts, fitness, best, best_start, avail, work, other, scratch,
    )  # fmt: skip
    if used < passes + 1 or passes % 2 == 1:
        return _FAILED, used
    # Ties in the span (most children) go to the schedule of smaller total
    # start: work moved earlier leaves room for the next sub-project.
    n = work.shape[0]
    return _span_of(work, duration) * n * frame_len + np.sum(work), used


@njit(cache=True)
def _insert_list(lists, fitness, cand, cand_fit):
    """Steady-state replacement of the worst list unless ``cand`` is worse or a copy."""
    worst = 0
    for i in range(fitness.shape[0]):
        if fitness[i] == cand_fit and np.array_equal(lists[i], cand):
            return
        if fitness[i] > fitness[worst]:
            worst = i
    if cand_fit <= fitness[worst]:
        lists[worst] = cand
        fitness[worst] = cand_fit


def bpga(
    instance: RCPSPInstance,
    *,
    budget: Budget,
    schedules: int = 1000,
    population: int | None = None,
    mutation: float = 0.02,
    peak: float = 0.5,
    window: tuple[float, float] = (0.1, 0.5),
    passes: int = 2,
    swap: bool = False,
    decompose: float = 0.0,
    sub_width: float = 0.3,
    sub_size: int = 10,
    sub_schedules: int = 300,
    target: int | None = None,
    stall: int | None = None,
) -> Outcome:
    """Bi-population GA with peak crossover and justification of every child.

    Parameters
    ----------
    schedules
        Schedules to generate (each SGS decoding counts one; exact).
    population
        Size of each of the two populations; by default 50, and 80 from
        4,000 schedules on (larger budgets gain from more diversity; chosen
        on PSPLIB j120 with seed 1 at 1,000 and 5,000 schedules).
    mutation
        Probability of swapping each pair of neighbours in a child's list.
    peak
        Share of children made by the peak crossover (the rest: two-point).
    window
        Length of the peak window as fractions (low, high) of the father's span.
    passes
        Justification passes after each child's decoding (0 to 2).
    swap
        Build and decode each child in the mirror frame of its parents.
    decompose
        Share of the schedules spent on sub-projects of the best schedule
        (:func:`bpga_subproject`), one after every GA stretch of the
        matching length; 0 (default) turns them off. Measured on PSPLIB
        j120 (seed 1) and j60, no share tried beat the plain GA by more than
        the noise (``benchmarks/results/rcpsp_ga.md``).
    sub_width
        Sub-project size as a fraction of the activities.
    sub_size
        Population of the sub-project GA.
    sub_schedules
        Schedules per sub-project.
    target
        Stop as soon as the best makespan is at most ``target``.
    stall
        Stop after this many schedules without a better best makespan.
    """
    if population is None:
        population = 80 if schedules >= 4000 else 50
    if schedules < 1 or population < 2:
        raise InvalidOption(
            f"need schedules >= 1 and population >= 2, got {schedules}, {population}"
        )
    if not 0 <= mutation <= 1 or not 0 <= peak <= 1:
        raise InvalidOption(f"mutation and peak must lie in [0, 1], got {mutation}, {peak}")
    lo, hi = (float(w) for w in window)
    if not 0 < lo <= hi <= 1:
        raise InvalidOption(f"window must satisfy 0 < low <= high <= 1, got {window}")
    if passes not in (0, 1, 2):
        raise InvalidOption(f"passes must be 0, 1 or 2, got {passes}")
    if not 0 <= decompose < 1 or not 0 < sub_width <= 1 or sub_size < 2 or sub_schedules < 1:
        raise InvalidOption(
            "need 0 <= decompose < 1, 0 < sub_width <= 1, sub_size >= 2 and "
            f"sub_schedules >= 1, got {decompose}, {sub_width}, {sub_size}, {sub_schedules}"
        )
    data = SGSData.from_instance(instance)
    n = data.num_activities
    forward, backward = _frames(data)
    frame_len = data.profile.shape[1]
    ranks = np.stack([data.topo_rank, n - 1 - data.topo_rank]).astype(np.int64)
    graph = (data.pred_ptr, data.pred_idx, data.succ_ptr, data.succ_idx)
    seed_numba(budget.seed)
    starts = np.zeros((2, population, n), dtype=np.int64)
    fitness = np.empty((2, population), dtype=np.int64)
    best = np.array([-1], dtype=np.int64)
    best_start = np.zeros(n, dtype=np.int64)
    used = bpga_init(
        population, priorities(instance, "lft"), schedules, forward, backward,
        data.duration, ranks, frame_len, graph, starts, fitness, best, best_start,
    )  # fmt: skip
    turn = np.zeros(1, dtype=np.int64)
    children, subprojects, stopped_by_time = 0, 0, False
    last_gain, stop = used, "schedules"
    # A ``decompose`` share of the schedules goes to sub-projects, one of
    # ``sub_schedules`` after every ``period`` schedules of the GA.
    period = (
        schedules if decompose <= 0 else max(1, round(sub_schedules * (1 - decompose) / decompose))
    )
    ga_until = used + period
    width = max(2, round(sub_width * n))
    while used < schedules:
        reason = stop_reason(best, target, stall, used - last_gain, budget)
        if reason is not None:
            stop, stopped_by_time = reason, reason == "time"
            break
        previous = best[0]
        if used >= ga_until and best[0] >= 0:
            spent = bpga_subproject(
                min(sub_schedules, schedules - used), width, sub_size, mutation, forward,
                backward, data.duration, ranks, frame_len, graph, starts, fitness, best,
                best_start,
            )  # fmt: skip
            used += spent
            subprojects += 1
            if best[0] != previous:
                last_gain = used
            if spent == 0:
                break
            ga_until = used + period
            continue
        limit = min(ga_until, schedules) if used < ga_until else schedules
        spent, made = bpga_children(
            64, limit - used, peak, lo, hi, mutation, passes, swap, forward, backward,
            data.duration, data.demand, ranks, frame_len, graph, starts, fitness,
            best, best_start, turn,
        )  # fmt: skip
        used += spent
        children += made
        if best[0] != previous:
            last_gain = used
        if spent == 0:  # no feasible parents anywhere: nothing left to do
            break
    stats = {
        "algorithm": "bipop",
        "stop": stop,
        "schedules": used,
        "children": children,
        "subprojects": subprojects,
        "population": population,
        "nondeterministic": stopped_by_time,
    }
    return ga_outcome(best, best_start, stats)
