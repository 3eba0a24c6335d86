"""Tabu search on the critical path of the flexible job shop (numba).

A solution is a machine per operation plus a sequence per machine; its
schedule is the semi-active one (every operation as early as the job and
machine orders allow), evaluated as longest paths in the disjunctive graph.
Each iteration extracts one critical path, splits it into critical blocks
(consecutive operations on one machine) and evaluates exactly:

* swaps of the first two and of the last two operations of every block
  (the N5/N6-type moves of Nowicki & Smutnicki 1996 and Balas &
  Vazacopoulos 1998), and
* reassignments of a critical operation to another eligible machine, inserted
  near the position its current start time suggests (the flexible-machine
  moves of Mastrolilli & Gambardella 2000).

The best move that is not tabu (or that beats the best schedule found:
aspiration) is applied; its reverse (the swapped pair in the old order, or
the operation back on its old machine) becomes tabu for a random tenure. After a stretch without improvement the search restarts from the
best schedule with a few random reassignments.

References
----------
Nowicki, E., & Smutnicki, C. (1996). A fast taboo search algorithm for the
job shop problem. Management Science 42(6), 797-813.
Mastrolilli, M., & Gambardella, L. M. (2000). Effective neighbourhood
functions for the flexible job shop problem. Journal of Scheduling 3(1), 3-20.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.heuristics.dispatch import best_rule_schedule
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, lower_bound

__all__ = [
    "evaluate",
    "evaluate_linked",
    "tabu_search",
    "tabu_search_kernel",
    "trace_critical_path",
]


@njit(cache=True)
def evaluate_linked(dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg):
    """Heads, tails (in place) and the makespan; -1 when the graph has a cycle.

    The machine orders are given as links: ``mprev[o]``/``mnext[o]`` are the
    operations before and after ``o`` on its machine (-1: none). ``indeg``
    is scratch space of length n.
    """
    n = dur.shape[0]
    count = 0
    for o in range(n):
        indeg[o] = (job_prev[o] >= 0) + (mprev[o] >= 0)
        if indeg[o] == 0:
            topo[count] = o
            count += 1
    k = 0
    while k < count:
        o = topo[k]
        k += 1
        h = release_of[o]
        jp = job_prev[o]
        if jp >= 0 and head[jp] + dur[jp] > h:
            h = head[jp] + dur[jp]
        mp = mprev[o]
        if mp >= 0 and head[mp] + dur[mp] > h:
            h = head[mp] + dur[mp]
        head[o] = h
        nxt = job_next[o]
        if nxt >= 0:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                topo[count] = nxt
                count += 1
        nxt = mnext[o]
        if nxt >= 0:
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                topo[count] = nxt
                count += 1
    if count < n:
        return -1
    cmax = 0
    for k in range(n - 1, -1, -1):
        o = topo[k]
        t = 0
        nxt = job_next[o]
        if nxt >= 0 and tail[nxt] + dur[nxt] > t:
            t = tail[nxt] + dur[nxt]
        nxt = mnext[o]
        if nxt >= 0 and tail[nxt] + dur[nxt] > t:
            t = tail[nxt] + dur[nxt]
        tail[o] = t
        if head[o] + dur[o] + t > cmax:
            cmax = head[o] + dur[o] + t
    return cmax


@njit(cache=True)
def evaluate(dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo):
    """Heads, tails and makespan of the sequences; -1 when they contain a cycle.

    ``dur[o]`` is the duration of ``o`` on its current machine ``mach[o]``;
    ``seq[m, :seq_len[m]]`` the order on machine ``m``. ``head`` (earliest
    start), ``tail`` (longest path after the end) and ``topo`` (a topological
    order) are written in place.
    """
    n = dur.shape[0]
    mprev = np.full(n, -1, dtype=np.int64)
    mnext = np.full(n, -1, dtype=np.int64)
    for m in range(seq.shape[0]):
        for k in range(1, seq_len[m]):
            mprev[seq[m, k]] = seq[m, k - 1]
            mnext[seq[m, k - 1]] = seq[m, k]
    indeg = np.zeros(n, dtype=np.int64)
    return evaluate_linked(
        dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg
    )


@njit(cache=True)
def trace_critical_path(o, dur, job_prev, mprev, head, path):
    """The critical path that ends with ``o``, source to sink, into ``path``; its length.

    Walking back, a machine predecessor that ends as ``o`` starts is
    preferred to a job predecessor: it keeps blocks long and moves useful.
    """
    length = 0
    while o >= 0:
        path[length] = o
        length += 1
        nxt = -1
        mp = mprev[o]
        if mp >= 0 and head[mp] + dur[mp] == head[o]:
            nxt = mp
        else:
            jp = job_prev[o]
            if jp >= 0 and head[jp] + dur[jp] == head[o]:
                nxt = jp
        o = nxt
    for i in range(length // 2):
        path[i], path[length - 1 - i] = path[length - 1 - i], path[i]
    return length


@njit(cache=True)
def _critical_path(dur, job_prev, mach, seq, seq_len, head, tail, cmax, path):
    """One critical path, source to sink, written into ``path``; returns its length."""
    n = dur.shape[0]
    mprev = np.full(n, -1, dtype=np.int64)
    for m in range(seq.shape[0]):
        for k in range(1, seq_len[m]):
            mprev[seq[m, k]] = seq[m, k - 1]
    o = -1
    for cand in range(n):
        if head[cand] + dur[cand] == cmax and tail[cand] == 0:
            o = cand
            break
    return trace_critical_path(o, dur, job_prev, mprev, head, path)


@njit(cache=True)
def _position(seq, m, o, seq_len):
    for k in range(seq_len[m]):
        if seq[m, k] == o:
            return k
    return -1


@njit(cache=True)
def _remove(seq, seq_len, m, k):
    for i in range(k, seq_len[m] - 1):
        seq[m, i] = seq[m, i + 1]
    seq_len[m] -= 1


@njit(cache=True)
def _insert(seq, seq_len, m, k, o):
    for i in range(seq_len[m], k, -1):
        seq[m, i] = seq[m, i - 1]
    seq[m, k] = o
    seq_len[m] += 1


@njit(cache=True)
def _reassign(op_offsets, machines, durations, alt, mach, dur, seq, seq_len, head, o, a):
    """Move ``o`` to alternative ``a``, inserted by its current start; returns the old slot."""
    m_old = mach[o]
    k_old = _position(seq, m_old, o, seq_len)
    _remove(seq, seq_len, m_old, k_old)
    m_new = machines[a]
    k = 0
    while k < seq_len[m_new] and head[seq[m_new, k]] < head[o]:
        k += 1
    _insert(seq, seq_len, m_new, k, o)
    alt[o] = a
    mach[o] = m_new
    dur[o] = durations[a]
    return k_old


@njit(cache=True)
def _undo_reassign(durations, alt, mach, dur, seq, seq_len, o, a_old, m_old, k_old):
    m_new = mach[o]
    _remove(seq, seq_len, m_new, _position(seq, m_new, o, seq_len))
    _insert(seq, seq_len, m_old, k_old, o)
    alt[o] = a_old
    mach[o] = m_old
    dur[o] = durations[a_old]


@njit(cache=True)
def tabu_search_kernel(
    op_offsets,
    machines,
    durations,
    job_prev,
    job_next,
    release_of,
    alt,
    seq,
    seq_len,
    best_alt,
    best_seq,
    best_len,
    tabu_arc,
    tabu_machine,
    iteration,
    iterations,
    target,
    rng_seed,
    restart_after,
    last_gain_box,
):
    """Run ``iterations`` tabu iterations from the current solution (in place).

    Returns ``(best makespan, iterations done)``; the best solution is kept
    in ``best_alt``/``best_seq``/``best_len``, and ``last_gain_box[0]``
    carries the iteration of the last improvement (or restart) across calls.
    ``target`` (a lower bound) stops the search early when reached.
    """
    np.random.seed(rng_seed)
    n = alt.shape[0]
    num_machines = seq.shape[0]
    mach = np.empty(n, dtype=np.int64)
    dur = np.empty(n, dtype=np.int64)
    for o in range(n):
        mach[o] = machines[alt[o]]
        dur[o] = durations[alt[o]]
    head = np.zeros(n, dtype=np.int64)
    tail = np.zeros(n, dtype=np.int64)
    topo = np.zeros(n, dtype=np.int64)
    path = np.zeros(n, dtype=np.int64)
    scratch_h = np.zeros(n, dtype=np.int64)
    scratch_t = np.zeros(n, dtype=np.int64)
    best_dur = np.empty(n, dtype=np.int64)
    for o in range(n):
        best_dur[o] = durations[best_alt[o]]
    best_mach = np.empty(n, dtype=np.int64)
    for o in range(n):
        best_mach[o] = machines[best_alt[o]]
    best = evaluate(
        best_dur,
        job_prev,
        job_next,
        release_of,
        best_mach,
        best_seq,
        best_len,
        scratch_h,
        scratch_t,
        topo,
    )
    cmax = evaluate(dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo)
    last_gain = last_gain_box[0]
    done = 0
    # Tenure around 10 + n/m, as is usual for job-shop tabu search (Nowicki &
    # Smutnicki 1996 use a fixed list of 8; longer lists suit flexible moves).
    tenure_lo = 5 + n // (2 * num_machines)
    for _ in range(iterations):
        if best <= target:
            break
        it = iteration + done
        done += 1
        length = _critical_path(dur, job_prev, mach, seq, seq_len, head, tail, cmax, path)
        move_kind = -1  # 0 swap, 1 reassign
        move_a = -1
        move_b = -1
        move_value = np.iinfo(np.int64).max
        # Swap moves at both ends of every critical block.
        start = 0
        while start < length:
            end = start
            while end + 1 < length and mach[path[end + 1]] == mach[path[start]]:
                end += 1
            if end > start:
                for which in range(2):
                    if which == 1 and end - 1 == start:
                        break  # a block of two has one swap
                    first = start if which == 0 else end - 1
                    u = path[first]
                    v = path[first + 1]
                    m = mach[u]
                    k = _position(seq, m, u, seq_len)
                    if k + 1 >= seq_len[m] or seq[m, k + 1] != v:
                        continue
                    seq[m, k] = v
                    seq[m, k + 1] = u
                    value = evaluate(
                        dur,
                        job_prev,
                        job_next,
                        release_of,
                        mach,
                        seq,
                        seq_len,
                        scratch_h,
                        scratch_t,
                        topo,
                    )
                    seq[m, k] = u
                    seq[m, k + 1] = v
                    if value < 0:
                        continue
                    # Tabu: putting v before u again after u-before-v was undone.
                    allowed = tabu_arc[v, u] <= it or value < best
                    if allowed and (
                        value < move_value or (value == move_value and np.random.random() < 0.5)
                    ):
                        move_kind, move_a, move_b, move_value = 0, u, v, value
            start = end + 1
        # Reassignment moves of critical operations.
        for idx in range(length):
            o = path[idx]
            lo, hi = op_offsets[o], op_offsets[o + 1]
            if hi - lo < 2:
                continue
            a_old = alt[o]
            m_old = mach[o]
            for a in range(lo, hi):
                if a == a_old:
                    continue
                k_old = _reassign(
                    op_offsets, machines, durations, alt, mach, dur, seq, seq_len, head, o, a
                )
                value = evaluate(
                    dur,
                    job_prev,
                    job_next,
                    release_of,
                    mach,
                    seq,
                    seq_len,
                    scratch_h,
                    scratch_t,
                    topo,
                )
                _undo_reassign(durations, alt, mach, dur, seq, seq_len, o, a_old, m_old, k_old)
                if value < 0:
                    continue
                allowed = tabu_machine[o, machines[a]] <= it or value < best
                if allowed and (
                    value < move_value or (value == move_value and np.random.random() < 0.5)
                ):
                    move_kind, move_a, move_b, move_value = 1, o, a, value
        tenure = tenure_lo + np.random.randint(0, tenure_lo + 1)
        if move_kind == 0:
            m = mach[move_a]
            k = _position(seq, m, move_a, seq_len)
            seq[m, k] = move_b
            seq[m, k + 1] = move_a
            tabu_arc[move_a, move_b] = it + tenure  # forbid restoring move_a before move_b
        elif move_kind == 1:
            m_from = mach[move_a]
            _reassign(
                op_offsets, machines, durations, alt, mach, dur, seq, seq_len, head, move_a, move_b
            )
            tabu_machine[move_a, m_from] = it + tenure  # forbid moving back
        if move_kind >= 0:
            cmax = evaluate(
                dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo
            )
        if move_kind >= 0 and cmax < best:
            best = cmax
            last_gain = it
            best_alt[:] = alt
            best_seq[:, :] = seq
            best_len[:] = seq_len
        elif move_kind < 0 or it - last_gain > restart_after:
            # Restart from the best schedule with a few random reassignments.
            alt[:] = best_alt
            seq[:, :] = best_seq
            seq_len[:] = best_len
            for o in range(n):
                mach[o] = machines[alt[o]]
                dur[o] = durations[alt[o]]
            cmax = evaluate(
                dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo
            )
            for _k in range(1 + n // 50):
                o = np.random.randint(0, n)
                lo, hi = op_offsets[o], op_offsets[o + 1]
                if hi - lo < 2:
                    continue
                a = lo + np.random.randint(0, hi - lo)
                if a == alt[o]:
                    continue
                a_old, m_old = alt[o], mach[o]
                k_old = _reassign(
                    op_offsets, machines, durations, alt, mach, dur, seq, seq_len, head, o, a
                )
                value = evaluate(
                    dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo
                )
                if value < 0:
                    _undo_reassign(durations, alt, mach, dur, seq, seq_len, o, a_old, m_old, k_old)
            cmax = evaluate(
                dur, job_prev, job_next, release_of, mach, seq, seq_len, head, tail, topo
            )
            tabu_arc[:, :] = 0
            tabu_machine[:, :] = 0
            last_gain = it
    last_gain_box[0] = last_gain
    return best, done


def tabu_search(
    instance: FJSPInstance,
    initial: FJSPSolution,
    *,
    time_limit: float | None,
    seed: int,
    iterations: int,
    restart_after: int = 2000,
    chunk: int = 200,
) -> tuple[FJSPSolution, dict]:
    """Improve ``initial`` by tabu search; returns the best solution and statistics.

    The search runs in chunks of ``chunk`` iterations so that the time limit
    is checked between them (numba code cannot read the clock); each chunk's
    random stream is seeded from ``seed`` and the chunk index, so a run that
    is not cut by the time limit is reproducible.
    """
    clock = time.perf_counter()
    n = instance.num_operations
    alt_of = {}
    for o in range(n):
        for a in range(instance.op_offsets[o], instance.op_offsets[o + 1]):
            alt_of[o, int(instance.machines[a])] = a
    alt = np.array([alt_of[o, int(initial.machine[o])] for o in range(n)], dtype=np.int64)
    seq = np.zeros((instance.num_machines, n), dtype=np.int64)
    seq_len = np.zeros(instance.num_machines, dtype=np.int64)
    for o in np.lexsort((np.arange(n), np.asarray(initial.start))):
        m = int(initial.machine[o])
        seq[m, seq_len[m]] = o
        seq_len[m] += 1
    job_of = instance.job_of
    job_prev = np.arange(n, dtype=np.int64) - 1
    job_prev[instance.job_offsets[:-1]] = -1
    job_next = np.arange(n, dtype=np.int64) + 1
    job_next[instance.job_offsets[1:] - 1] = -1
    release_of = np.ascontiguousarray(instance.release[job_of], dtype=np.int64)
    best_alt, best_seq, best_len = alt.copy(), seq.copy(), seq_len.copy()
    # Attribute-based tabu lists: machine order pairs and (operation, machine).
    tabu_arc = np.zeros((n, n), dtype=np.int64)
    tabu_machine = np.zeros((n, instance.num_machines), dtype=np.int64)
    target = lower_bound(instance)
    last_gain_box = np.zeros(1, dtype=np.int64)
    done = chunks = 0
    best = None
    cut = False
    while done < iterations:
        if time_limit is not None and time.perf_counter() - clock >= time_limit:
            cut = True
            break
        best, ran = tabu_search_kernel(
            instance.op_offsets,
            instance.machines,
            instance.durations,
            job_prev,
            job_next,
            release_of,
            alt,
            seq,
            seq_len,
            best_alt,
            best_seq,
            best_len,
            tabu_arc,
            tabu_machine,
            done,
            min(chunk, iterations - done),
            target,
            (seed * 1_000_003 + chunks) % (2**31),
            restart_after,
            last_gain_box,
        )
        done += ran
        chunks += 1
        if best <= target or ran == 0:
            break
    machine = instance.machines[best_alt]
    dur = instance.durations[best_alt].astype(np.int64)
    head = np.zeros(n, dtype=np.int64)
    evaluate(
        dur,
        job_prev,
        job_next,
        release_of,
        machine.astype(np.int64),
        best_seq,
        best_len,
        head,
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
    )
    stats = {"iterations": done, "nondeterministic": cut}
    return FJSPSolution(machine=machine, start=head), stats


@method(
    "fjsp",
    "ls",
    default_stop="after `iterations` (default 50,000) or at the lower bound",
)
def ls_method(
    instance: FJSPInstance,
    *,
    budget: Budget,
    iterations: int = 50_000,
    restart_after: int = 2000,
) -> Outcome:
    """Tabu search on the critical path (block swaps + machine reassignments).

    Starts from the best of a few dispatching rules and stops after
    ``iterations`` (default 50,000), at the budget's deadline, or when the
    makespan meets the lower bound. Single-threaded; runs not cut by the
    time limit are reproducible.
    Option ``restart_after``: iterations without improvement before a
    perturbed restart from the best schedule.
    """
    initial = best_rule_schedule(instance)
    solution, stats = tabu_search(
        instance,
        initial,
        time_limit=budget.remaining(),
        seed=budget.seed,
        iterations=iterations,
        restart_after=restart_after,
    )
    return Outcome(solution=solution, stats=stats)
