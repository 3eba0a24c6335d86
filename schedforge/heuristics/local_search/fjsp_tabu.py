"""Tabu search for the flexible job shop with estimated moves (numba).

A solution is a machine per operation plus a sequence per machine (kept as
linked lists); its schedule is the semi-active one, evaluated as longest
paths in the disjunctive graph: ``head[o]`` is the earliest start of ``o``,
``tail[o]`` the longest path from its end to the end of the schedule.

Every iteration takes one critical path, splits it into critical blocks
(consecutive operations on one machine) and scores, without rebuilding the
schedule, three kinds of moves:

* **block moves** (the N7 neighbourhood of Zhang et al. 2007, which contains
  the N5/N6 swaps): an inner operation of a block moved to the block's front
  or back, and the block's first (last) operation moved behind (before) an
  inner one;
* **reassignments** of a critical operation to another eligible machine,
  inserted at the best position of that machine's sequence (Mastrolilli &
  Gambardella 2000).

Each move is scored by the length of the longest path through the
operations it touches, from the heads and tails of the current schedule
(the estimate of Balas & Vazacopoulos 1998 for block moves, of Mastrolilli &
Gambardella for insertions): ``O(k)`` for a move over ``k`` operations and
``O(1)`` per insertion position, against ``O(n)`` for an exact evaluation.
Only moves that provably keep the graph acyclic are scored (head and tail
conditions; see :func:`_block_moves` and :func:`_reassign_moves`). The best
move by estimate that is not tabu (or whose estimate beats the best
makespan: aspiration) is applied and the schedule re-evaluated exactly;
the reverse of the move becomes tabu for a random tenure. After
``restart_after`` iterations without improvement the search restarts from
the best schedule with a few random reassignments.

References
----------
Balas, E., & Vazacopoulos, A. (1998). Guided local search with shifting
bottleneck for job shop scheduling. Management Science 44(2), 262-275.
Mastrolilli, M., & Gambardella, L. M. (2000). Effective neighbourhood
functions for the flexible job shop problem. Journal of Scheduling 3(1), 3-20.
Zhang, C. Y., Li, P., Guan, Z., & Rao, Y. (2007). A tabu search algorithm
with a new neighborhood structure for the job shop scheduling problem.
Computers & Operations Research 34(11), 3229-3242.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.heuristics.dispatch import best_rule_schedule
from schedforge.heuristics.local_search.fjsp import evaluate_linked, trace_critical_path
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, lower_bound

__all__ = ["TabuState", "tabu", "tabu_kernel"]

_BIG = np.iinfo(np.int64).max // 4
# Move kinds (first entry of a move record).
_LEFT, _RIGHT, _REASSIGN = 0, 1, 2


@njit(cache=True)
def _rand(state):
    """xorshift64* step on ``state[0]``; a non-negative 62-bit integer.

    The generator's state lives in the caller's array, so a search cut into
    chunks draws exactly the numbers of an uncut one.
    """
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return np.int64((x * np.uint64(2685821657736338717)) >> np.uint64(2))


@njit(cache=True)
def _critical_path(dur, job_prev, mprev, head, tail, cmax, path, state):
    """One critical path, source to sink, into ``path``; returns its length.

    Among the operations ending at the makespan one is drawn at random, and
    the path is traced back from it.
    """
    n = dur.shape[0]
    ends = 0
    for o in range(n):
        if head[o] + dur[o] == cmax and tail[o] == 0:
            ends += 1
    pick = _rand(state) % max(ends, 1)
    o = -1
    for cand in range(n):
        if head[cand] + dur[cand] == cmax and tail[cand] == 0:
            if pick == 0:
                o = cand
                break
            pick -= 1
    return trace_critical_path(o, dur, job_prev, mprev, head, path)


@njit(cache=True)
def _job_head(o, dur, job_prev, release_of, head):
    jp = job_prev[o]
    if jp >= 0:
        return max(release_of[o], head[jp] + dur[jp])
    return release_of[o]


@njit(cache=True)
def _job_tail(o, dur, job_next, tail):
    js = job_next[o]
    return tail[js] + dur[js] if js >= 0 else 0


@njit(cache=True)
def _estimate(order, k, before, after, dur, job_prev, job_next, release_of, head, tail, buf):
    """Longest path through ``order[:k]`` run in that order on one machine.

    ``before``/``after`` are the machine neighbours of the run (or -1). The
    heads and tails of everything else are taken from the current schedule.
    """
    t = head[before] + dur[before] if before >= 0 else 0
    for i in range(k):
        o = order[i]
        t = max(t, _job_head(o, dur, job_prev, release_of, head))
        buf[i] = t
        t += dur[o]
    q = tail[after] + dur[after] if after >= 0 else 0
    best = 0
    for i in range(k - 1, -1, -1):
        o = order[i]
        q = max(q, _job_tail(o, dur, job_next, tail))
        if buf[i] + dur[o] + q > best:
            best = buf[i] + dur[o] + q
        q += dur[o]
    return best


@njit(cache=True)
def _unlink(o, m, mprev, mnext, mfirst):
    p, s = mprev[o], mnext[o]
    if p >= 0:
        mnext[p] = s
    else:
        mfirst[m] = s
    if s >= 0:
        mprev[s] = p
    mprev[o] = -1
    mnext[o] = -1


@njit(cache=True)
def _link_after(o, x, m, mprev, mnext, mfirst):
    """Insert ``o`` right after ``x`` on machine ``m`` (at the front when ``x`` is -1)."""
    s = mnext[x] if x >= 0 else mfirst[m]
    mprev[o] = x
    mnext[o] = s
    if x >= 0:
        mnext[x] = o
    else:
        mfirst[m] = o
    if s >= 0:
        mprev[s] = o


@njit(cache=True)
def tabu_kernel(
    op_offsets,
    machines,
    durations,
    job_prev,
    job_next,
    release_of,
    alt,
    mprev,
    mnext,
    mfirst,
    best_alt,
    best_prev,
    best_next,
    best_first,
    tabu_arc,
    tabu_machine,
    counters,
    rng,
    iterations,
    target,
    restart_after,
    tenure_min,
    tenure_span,
    stall,
):
    """Run up to ``iterations`` tabu iterations from the current solution (in place).

    ``counters`` carries ``[iteration, last improvement or restart, best
    makespan, last improvement]`` across calls; the best solution is kept in
    the ``best_*`` arrays. Stops early when the best makespan reaches
    ``target`` or after ``stall`` iterations without improving it. Returns
    the number of iterations run.
    """
    n = alt.shape[0]
    mach = np.empty(n, dtype=np.int64)
    dur = np.empty(n, dtype=np.int64)
    for o in range(n):
        mach[o] = machines[alt[o]]
        dur[o] = durations[alt[o]]
    head = np.zeros(n, dtype=np.int64)
    tail = np.zeros(n, dtype=np.int64)
    topo = np.zeros(n, dtype=np.int64)
    indeg = np.zeros(n, dtype=np.int64)
    path = np.zeros(n, dtype=np.int64)
    order = np.zeros(n, dtype=np.int64)
    buf = np.zeros(n, dtype=np.int64)
    cmax = evaluate_linked(
        dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg
    )
    best = counters[2]
    done = 0
    while done < iterations and best > target and counters[0] - counters[3] < stall:
        it = counters[0]
        counters[0] += 1
        done += 1
        length = _critical_path(dur, job_prev, mprev, head, tail, cmax, path, rng)
        # The chosen move: kind, operation, position/alternative, anchor; its score.
        mv_kind, mv_op, mv_a, mv_b = -1, -1, -1, -1
        mv_value = _BIG
        mv_ties = 0
        tb_kind, tb_op, tb_a, tb_b = -1, -1, -1, -1  # best tabu move, if all are tabu
        tb_value = _BIG
        start = 0
        while start < length:
            end = start
            while end + 1 < length and mach[path[end + 1]] == mach[path[start]]:
                end += 1
            k = end - start + 1
            # Moves of one operation u over a run of the block: to the left
            # (placed right before ``anchor``) or to the right (right after it).
            for case in range(4 * k if k >= 2 else 0):
                j = case % k
                kind = case // k
                first, last = path[start], path[end]
                if kind == 0:  # inner or last operation to the block's front
                    if j == 0:
                        continue
                    u, anchor, lo, hi, left = path[start + j], first, start, start + j - 1, True
                elif kind == 1:  # first operation behind an inner one or the last
                    if j < 2:
                        continue  # j = 1 is the swap of the first two: kind 0
                    u, anchor, lo, hi, left = first, path[start + j], start + 1, start + j, False
                elif kind == 2:  # last operation before an inner one
                    if j == 0 or j >= k - 1:
                        continue  # j = 0 is kind 0 with j = k - 1
                    u, anchor, lo, hi, left = last, path[start + j], start + j, end - 1, True
                else:  # inner operation behind the last
                    if j == 0 or j >= k - 2:
                        continue  # j = k - 2 is the swap of the last two: kind 2
                    u, anchor, lo, hi, left = path[start + j], last, start + j + 1, end, False
                # Acyclic unless the job neighbour of u on the far side of the
                # jumped run (path[lo..hi]) is reachable from it, or in it.
                if left:
                    jp = job_prev[u]
                    v = path[lo]
                    if jp >= 0 and (
                        head[jp] >= head[v] + dur[v]
                        or (mach[jp] == mach[u] and head[jp] >= head[v])
                    ):
                        continue
                    order[0] = u
                    for i in range(lo, hi + 1):
                        order[i - lo + 1] = path[i]
                    before, after = mprev[v], mnext[path[hi]]
                    if after == u:
                        after = mnext[u]
                else:
                    js = job_next[u]
                    v = path[hi]
                    if js >= 0 and (
                        tail[js] >= tail[v] + dur[v]
                        or (mach[js] == mach[u] and tail[js] >= tail[v])
                    ):
                        continue
                    for i in range(lo, hi + 1):
                        order[i - lo] = path[i]
                    order[hi - lo + 1] = u
                    before, after = mprev[path[lo]], mnext[v]
                    if before == u:
                        before = mprev[u]
                value = _estimate(
                    order, hi - lo + 2, before, after, dur, job_prev, job_next,
                    release_of, head, tail, buf,
                )  # fmt: skip
                tabu = False
                for i in range(lo, hi + 1):
                    w = path[i]
                    if (tabu_arc[u, w] if left else tabu_arc[w, u]) > it:
                        tabu = True
                        break
                kind_code = _LEFT if left else _RIGHT
                if tabu and value >= best:
                    if value < tb_value:
                        tb_kind, tb_op, tb_a, tb_b, tb_value = kind_code, u, anchor, 0, value
                    continue
                if value < mv_value:
                    mv_kind, mv_op, mv_a, mv_b, mv_value = kind_code, u, anchor, 0, value
                    mv_ties = 1
                elif value == mv_value:
                    mv_ties += 1
                    if _rand(rng) % mv_ties == 0:
                        mv_kind, mv_op, mv_a, mv_b = kind_code, u, anchor, 0
            start = end + 1
        # Reassignments of critical operations.
        for idx in range(length):
            o = path[idx]
            lo, hi = op_offsets[o], op_offsets[o + 1]
            if hi - lo < 2:
                continue
            for a in range(lo, hi):
                m = machines[a]
                if m == mach[o]:
                    continue
                tabu = tabu_machine[o, m] > it
                best_pos, best_est = _best_insertion(
                    o, m, durations[a], dur, job_prev, job_next, release_of, mfirst, mnext,
                    head, tail,
                )  # fmt: skip
                if best_pos == -2:
                    continue
                value = best_est
                if tabu and value >= best:
                    if value < tb_value:
                        tb_kind, tb_op, tb_a, tb_b, tb_value = _REASSIGN, o, a, best_pos, value
                    continue
                if value < mv_value:
                    mv_kind, mv_op, mv_a, mv_b, mv_value = _REASSIGN, o, a, best_pos, value
                    mv_ties = 1
                elif value == mv_value:
                    mv_ties += 1
                    if _rand(rng) % mv_ties == 0:
                        mv_kind, mv_op, mv_a, mv_b = _REASSIGN, o, a, best_pos
        if mv_kind < 0:
            mv_kind, mv_op, mv_a, mv_b = tb_kind, tb_op, tb_a, tb_b
        tenure = tenure_min + _rand(rng) % (tenure_span + 1)
        if mv_kind >= 0:
            _apply(
                mv_kind, mv_op, mv_a, mv_b, machines, durations, alt, mach, dur,
                mprev, mnext, mfirst, tabu_arc, tabu_machine, it + tenure,
            )  # fmt: skip
            cmax = evaluate_linked(
                dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg
            )
        if mv_kind >= 0 and 0 <= cmax < best:
            best = cmax
            counters[1] = it
            counters[3] = it
            best_alt[:] = alt
            best_prev[:] = mprev
            best_next[:] = mnext
            best_first[:] = mfirst
        elif mv_kind < 0 or cmax < 0 or it - counters[1] > restart_after:
            cmax = _restart(
                op_offsets, machines, durations, job_prev, job_next, release_of, alt, mach,
                dur, mprev, mnext, mfirst, best_alt, best_prev, best_next, best_first, head,
                tail, topo, indeg, rng,
            )  # fmt: skip
            tabu_arc[:, :] = 0
            tabu_machine[:, :] = 0
            counters[1] = it
    counters[2] = best
    return done


@njit(cache=True)
def _apply(
    kind, u, a, b, machines, durations, alt, mach, dur, mprev, mnext, mfirst,
    tabu_arc, tabu_machine, until,
):  # fmt: skip
    """Apply a move chosen in :func:`tabu_kernel`; its reverse is tabu until ``until``.

    ``_LEFT``: ``u`` goes right before ``a`` (same machine, earlier);
    ``_RIGHT``: right after ``a`` (later); ``_REASSIGN``: to alternative ``a``,
    right after operation ``b`` of the new machine (-1: at the front).
    """
    m = mach[u]
    if kind == _LEFT:
        w = a
        while w != u:
            tabu_arc[w, u] = until  # w before u again is tabu
            w = mnext[w]
        _unlink(u, m, mprev, mnext, mfirst)
        _link_after(u, mprev[a], m, mprev, mnext, mfirst)
    elif kind == _RIGHT:
        w = mnext[u]
        while True:
            tabu_arc[u, w] = until  # u before w again is tabu
            if w == a:
                break
            w = mnext[w]
        _unlink(u, m, mprev, mnext, mfirst)
        _link_after(u, a, m, mprev, mnext, mfirst)
    else:
        tabu_machine[u, m] = until
        _unlink(u, m, mprev, mnext, mfirst)
        m_new = machines[a]
        _link_after(u, b, m_new, mprev, mnext, mfirst)
        alt[u] = a
        mach[u] = m_new
        dur[u] = durations[a]


@njit(cache=True)
def _best_insertion(o, m, p, dur, job_prev, job_next, release_of, mfirst, mnext, head, tail):
    """Operation after which ``o`` (time ``p``) goes on machine ``m``: -1 front, -2 none.

    The position whose longest path through ``o`` is shortest among those
    that provably keep the graph acyclic: after ``x`` only if ``x`` cannot
    descend from ``o`` (``head[x] < head[o] + dur[o]``), before ``y`` only if
    ``y`` cannot precede it (``tail[y] < tail[o] + dur[o]``).
    """
    jh = _job_head(o, dur, job_prev, release_of, head)
    jt = _job_tail(o, dur, job_next, tail)
    reach_h = head[o] + dur[o]
    reach_t = tail[o] + dur[o]
    x = -1
    y = mfirst[m]
    best_pos, best_est = -2, _BIG
    while True:
        if (x < 0 or head[x] < reach_h) and (y < 0 or tail[y] < reach_t):
            h = jh if x < 0 else max(jh, head[x] + dur[x])
            q = jt if y < 0 else max(jt, tail[y] + dur[y])
            if h + p + q < best_est:
                best_est = h + p + q
                best_pos = x
        if y < 0:
            break
        x = y
        y = mnext[y]
    return best_pos, best_est


@njit(cache=True)
def _restart(
    op_offsets, machines, durations, job_prev, job_next, release_of, alt, mach, dur,
    mprev, mnext, mfirst, best_alt, best_prev, best_next, best_first, head, tail, topo,
    indeg, rng,
):  # fmt: skip
    """Back to the best solution, then a few random reassignments; the new makespan."""
    n = alt.shape[0]
    alt[:] = best_alt
    mprev[:] = best_prev
    mnext[:] = best_next
    mfirst[:] = best_first
    for o in range(n):
        mach[o] = machines[alt[o]]
        dur[o] = durations[alt[o]]
    cmax = evaluate_linked(
        dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg
    )
    for _ in range(1 + n // 50):
        o = _rand(rng) % n
        lo, hi = op_offsets[o], op_offsets[o + 1]
        if hi - lo < 2:
            continue
        a = lo + _rand(rng) % (hi - lo)
        m = machines[a]
        if m == mach[o]:
            continue
        pos, _ = _best_insertion(
            o, m, durations[a], dur, job_prev, job_next, release_of, mfirst, mnext, head, tail
        )
        if pos == -2:
            continue
        _unlink(o, mach[o], mprev, mnext, mfirst)
        _link_after(o, pos, m, mprev, mnext, mfirst)
        alt[o] = a
        mach[o] = m
        dur[o] = durations[a]
        cmax = evaluate_linked(
            dur, job_prev, job_next, release_of, mprev, mnext, head, tail, topo, indeg
        )
    return cmax


class TabuState:
    """A solution of the kernel: alternatives and machine sequences as linked lists.

    Built from a :class:`FJSPSolution` (sequences in order of start time);
    :meth:`solution` turns the kernel's best back into one.
    """

    def __init__(self, instance: FJSPInstance, initial: FJSPSolution) -> None:
        n = instance.num_operations
        self.instance = instance
        alt_of = {}
        for o in range(n):
            for a in range(instance.op_offsets[o], instance.op_offsets[o + 1]):
                alt_of[o, int(instance.machines[a])] = a
        self.alt = np.array([alt_of[o, int(initial.machine[o])] for o in range(n)], dtype=np.int64)
        self.mprev = np.full(n, -1, dtype=np.int64)
        self.mnext = np.full(n, -1, dtype=np.int64)
        self.mfirst = np.full(instance.num_machines, -1, dtype=np.int64)
        last = np.full(instance.num_machines, -1, dtype=np.int64)
        # Ties in start time: zero-length operations first, then by number.
        ends = np.asarray(initial.start) + instance.durations[self.alt]
        for o in np.lexsort((np.arange(n), ends, np.asarray(initial.start))):
            m = int(initial.machine[o])
            if last[m] < 0:
                self.mfirst[m] = o
            else:
                self.mnext[last[m]] = o
                self.mprev[o] = last[m]
            last[m] = o
        self.job_prev = np.arange(n, dtype=np.int64) - 1
        self.job_prev[instance.job_offsets[:-1]] = -1
        self.job_next = np.arange(n, dtype=np.int64) + 1
        self.job_next[instance.job_offsets[1:] - 1] = -1
        self.release_of = np.ascontiguousarray(instance.release[instance.job_of], dtype=np.int64)

    def schedule(self) -> tuple[FJSPSolution, int]:
        """The semi-active schedule of the current state and its makespan."""
        inst = self.instance
        n = inst.num_operations
        head = np.zeros(n, dtype=np.int64)
        cmax = evaluate_linked(
            inst.durations[self.alt].astype(np.int64),
            self.job_prev,
            self.job_next,
            self.release_of,
            self.mprev,
            self.mnext,
            head,
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
        )
        if cmax < 0:
            raise RuntimeError("tabu search produced cyclic machine sequences")
        return FJSPSolution(machine=inst.machines[self.alt].astype(np.int64), start=head), cmax


def tabu(
    instance: FJSPInstance,
    initial: FJSPSolution,
    *,
    budget: Budget,
    iterations: int | None = None,
    restart_after: int = 3000,
    tenure: tuple[int, int] | None = None,
    stall: int | None = None,
) -> tuple[FJSPSolution, dict]:
    """Improve ``initial`` by tabu search; the best schedule found and statistics.

    Stops after ``iterations`` (``None``: no limit), after ``stall``
    iterations without improvement (``None``: never), at the budget's
    deadline, or at the lower bound. The kernel runs in chunks so that the
    clock is read between them (numba code cannot read it); chunks are
    sized to about 20 ms. The random stream and all state carry over
    between chunks, so a run not cut by the deadline is reproducible.
    ``tenure=(lo, hi)``: tabu tenure drawn in ``[lo, hi]`` per move;
    default ``lo = 10 + jobs // machines``, ``hi = 2 lo``.
    """
    n = instance.num_operations
    state = TabuState(instance, initial)
    _, cmax = state.schedule()
    if tenure is None:
        # Zhang et al. (2007) use 10 + n/m (jobs over machines); drawn up to
        # twice that. Chosen on rdata la36/38/40, edata abz7, Mk06, Mk09.
        lo = 10 + instance.num_jobs // max(instance.num_machines, 1)
        tenure = (lo, 2 * lo)
    best = [a.copy() for a in (state.alt, state.mprev, state.mnext, state.mfirst)]
    tabu_arc = np.zeros((n, n), dtype=np.int64)
    tabu_machine = np.zeros((n, instance.num_machines), dtype=np.int64)
    counters = np.array([0, 0, cmax, 0], dtype=np.int64)
    stall_at = np.iinfo(np.int64).max if stall is None else stall
    rng = np.array(
        [(budget.seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % 2**64 or 1], dtype=np.uint64
    )
    target = lower_bound(instance)
    chunk = 50
    cut = False
    while iterations is None or counters[0] < iterations:
        if counters[2] <= target or counters[0] - counters[3] >= stall_at:
            break
        if budget.expired():
            cut = True
            break
        todo = chunk if iterations is None else min(chunk, iterations - int(counters[0]))
        began = time.perf_counter()
        tabu_kernel(
            instance.op_offsets, instance.machines, instance.durations, state.job_prev,
            state.job_next, state.release_of, state.alt, state.mprev, state.mnext,
            state.mfirst, *best, tabu_arc, tabu_machine, counters, rng, todo, target,
            restart_after, tenure[0], tenure[1] - tenure[0], stall_at,
        )  # fmt: skip
        spent = time.perf_counter() - began
        # Chunks of about 20 ms: the deadline is overrun by at most that.
        if spent < 0.01:
            chunk = min(chunk * 2, 1_000_000)
        elif spent > 0.04:
            chunk = max(chunk // 2, 1)
    state.alt, state.mprev, state.mnext, state.mfirst = best
    solution, _ = state.schedule()
    stats = {"iterations": int(counters[0]), "nondeterministic": cut, "initial": int(cmax)}
    return solution, stats


@method(
    "fjsp",
    "tabu",
    default_stop="after `iterations` (default 200,000) or at the lower bound",
)
def tabu_method(
    instance: FJSPInstance,
    *,
    budget: Budget,
    iterations: int | None = 200_000,
    restart_after: int = 3000,
) -> Outcome:
    """Tabu search with estimated critical-block moves and machine reassignments.

    Starts from the best of a few dispatching rules and stops after
    ``iterations`` (default 200,000; ``None`` runs until the time limit),
    at the budget's deadline, or when the makespan meets the lower bound.
    Single-threaded; runs not cut by the time limit are reproducible.
    Option ``restart_after``: iterations without improvement before a
    perturbed restart from the best schedule.
    """
    if iterations is None and budget.time_limit is None:
        raise InvalidOption("tabu: iterations=None needs a time limit (it would never stop)")
    if iterations is not None and (not isinstance(iterations, int) or iterations < 0):
        raise InvalidOption(f"tabu: iterations must be an integer >= 0 or None, got {iterations!r}")
    initial = best_rule_schedule(instance, budget=budget)
    solution, stats = tabu(
        instance, initial, budget=budget, iterations=iterations, restart_after=restart_after
    )
    return Outcome(solution=solution, stats=stats)
