"""Dominance-restricted dynamic programming for 1||Σw_jT_j.

The approach
------------
1. **Precedences from dominance rules** (Rinnooy Kan, Lageweg & Lenstra
   1975, as used by Potts & Van Wassenhove 1985). With ``B_j`` the known
   predecessors and ``A_j`` the known successors of job ``j``, ``P`` the
   total processing time, ``E_j = Σ_{B_j} p + p_j``:

   * rule 1: job ``i`` precedes ``j`` if ``p_i <= p_j``, ``w_i >= w_j`` and
     ``d_i <= max(d_j, E_j)`` (ties between identical ``p`` and ``w``
     broken by due date, then index);
   * rule 2: with ``T`` the jobs already fixed at the end, a job ``j`` whose
     known successors all lie in ``T`` and with ``d_j >= P − Σ_T p`` is on
     time just before ``T``: it joins the front of ``T`` and every other job
     precedes it.

   The rules are applied, with transitive closure, until nothing changes.
   (RLL's general form of rule 2, "``d_j >= L_j`` ⇒ every job outside
   ``A_j`` precedes ``j``", with ``L_j = P − Σ_{A_j} p``, is not safe
   together with rule 1 — a counterexample is in the tests — hence the
   restricted form.)
2. **Dynamic programming over initial sets** (Schrage & Baker 1978;
   Lawler 1979): only sets closed under the precedences can start a
   sequence, so layer ``k`` holds the feasible initial sets of size ``k``
   and ``F(S ∪ {j}) = min F(S) + w_j max(0, P(S) + p_j − d_j)``, jobs
   held as 64-bit masks (``n <= 63``).
3. **Bound pruning**: a state is dropped when ``F(S)`` plus a lower bound
   for the remaining jobs (the larger of Σ w_j max(0, P(S) + p_j − d_j) and
   the SPT/EDD pairing bound times the smallest remaining weight) reaches the
   heuristic upper bound.

When time runs out or the states exceed ``state_limit``, the smallest
``F(S) + bound(S)`` over the last complete layer is a valid lower bound:
some optimal sequence respects every precedence, and its initial set of
that size is either in the layer or was pruned because it cannot beat the
upper bound.

References
----------
Rinnooy Kan, A. H. G., Lageweg, B. J., & Lenstra, J. K. (1975). Minimizing
total costs in one-machine scheduling. Operations Research 23(5), 908-927.
Schrage, L., & Baker, K. R. (1978). Dynamic programming solution of
sequencing problems with precedence constraints. Operations Research 26(3),
444-449.
Potts, C. N., & Van Wassenhove, L. N. (1985). A branch and bound algorithm
for the total weighted tardiness problem. Operations Research 33(2), 363-377.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit, objmode

__all__ = ["WDPResult", "precedences", "solve_weighted"]

MAX_JOBS = 63  # job sets are int64 bit masks
BIG = np.int64(1) << 62
# Entry kernels compile lazily; solve() compiles them before its clock starts
# (schedforge.core.warmup), so a first call does not spend its time limit compiling.


@njit(cache=True)
def _now() -> float:
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def _close(before, i, j):
    """Add ``i -> j`` and keep ``before`` transitively closed."""
    n = before.shape[0]
    for a in range(n):
        if a == i or before[a, i]:
            for b in range(n):
                if (b == j or before[j, b]) and a != b:
                    before[a, b] = True


@njit(cache=True)
def precedence_kernel(p, d, w):
    """``before[i, j]``: job i precedes job j (transitively closed)."""
    n = p.shape[0]
    before = np.zeros((n, n), dtype=np.bool_)
    in_tail = np.zeros(n, dtype=np.bool_)
    tail_p = 0
    total = p.sum()
    changed = True
    while changed:
        changed = False
        # Rule 2: a job without successors outside the fixed tail that is on
        # time just before the tail goes there.
        for j in range(n):
            if in_tail[j] or d[j] < total - tail_p:
                continue
            free = True
            for k in range(n):
                if before[j, k] and not in_tail[k]:
                    free = False
                    break
            if not free:
                continue
            in_tail[j] = True
            tail_p += p[j]
            for k in range(n):
                if k != j and not in_tail[k] and not before[k, j]:
                    _close(before, k, j)
            changed = True
        # Rule 1 (RLL 1975): p_i <= p_j, w_i >= w_j, d_i <= max(d_j, E_j).
        for j in range(n):
            e_j = p[j]
            for k in range(n):
                if before[k, j]:
                    e_j += p[k]
            for i in range(n):
                if i == j or before[i, j] or before[j, i]:
                    continue
                if (
                    p[i] <= p[j]
                    and w[i] >= w[j]
                    and d[i] <= max(d[j], e_j)
                    and (
                        p[i] < p[j]
                        or w[i] > w[j]
                        or d[i] < d[j]
                        or (d[i] == d[j] and i < j)  # identical p and w: EDD, then index
                    )
                ):
                    _close(before, i, j)
                    changed = True
    return before


def precedences(processing: np.ndarray, due: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The dominance precedences of an instance as a boolean ``n × n`` matrix."""
    # Writable int64 copies: the kernels are compiled for int64[::1].
    return precedence_kernel(
        np.array(processing, dtype=np.int64),
        np.array(due, dtype=np.int64),
        np.array(weight, dtype=np.int64),
    )


@njit(cache=True)
def _rest_bound(mask, t, p, d, w, spt, edd, wspt, work, succ_mask):
    """Lower bound of the jobs outside ``mask`` scheduled from time ``t``.

    The largest of: each job alone (``Σ w_j max(0, t + p_j − d_j)``), with
    the job that may come last (no successor outside ``mask``) charged for
    ending at ``t + Σ p`` — the cheapest such swap; the
    SPT/EDD pairing bound times the least weight; and the Lagrangian bound
    with multipliers ``w_j`` on a set ``L`` and 0 elsewhere,
    ``Σ_{j∈L} w_j (C_j − d_j)`` with ``L`` in WSPT order from ``t`` — a valid
    bound for any ``L`` since ``w_j T_j >= w_j (C_j − d_j)`` and WSPT
    minimises ``Σ_L w_j C_j`` (Potts & Van Wassenhove 1985). ``L`` starts as
    the jobs late in that WSPT sequence and drops its early jobs twice.
    ``work`` is scratch space of length ``n``.
    """
    n = p.shape[0]
    single = 0
    w_min = BIG
    end = t
    for j in range(n):
        if not (mask >> j) & 1:
            end += p[j]
            late = t + p[j] - d[j]
            if late > 0:
                single += w[j] * late
            if w[j] < w_min:
                w_min = w[j]
    # The last job ends at ``end``: swap its single-job term for its real one,
    # taking the cheapest job that may come last (no successor left).
    extra = BIG
    for j in range(n):
        if not (mask >> j) & 1 and (succ_mask[j] & ~mask) == 0:
            own = w[j] * max(0, t + p[j] - d[j])
            last = w[j] * max(0, end - d[j])
            if last - own < extra:
                extra = last - own
    best = single + (extra if extra < BIG else 0)
    if w_min == BIG:
        return best
    if w_min > 0:
        pair = 0
        c = t
        a = 0
        for b in range(n):
            j = spt[b]
            if (mask >> j) & 1:
                continue
            c += p[j]
            while (mask >> edd[a]) & 1:
                a += 1
            late = c - d[edd[a]]
            a += 1
            if late > 0:
                pair += late
        best = max(best, pair * w_min)
    # Lagrangian bound; work[j] = 1 marks L.
    for j in range(n):
        work[j] = 0 if (mask >> j) & 1 else 1
    for _round in range(3):
        c = t
        lag = 0
        for b in range(n):
            j = wspt[b]
            if work[j] == 0:
                continue
            c += p[j]
            lag += w[j] * (c - d[j])
            if c <= d[j]:
                work[j] = 2  # early here: leave L for the next round
        if lag > best:
            best = lag
        for j in range(n):
            if work[j] == 2:
                work[j] = 0
    return best


@njit(cache=True)
def _dp(p, d, w, pred_mask, succ_mask, upper, deadline, state_limit):
    """Layered DP; returns (value, exact, sequence or empty, layers, states, cap_hit)."""
    n = p.shape[0]
    spt = np.argsort(p, kind="mergesort")
    edd = np.argsort(d, kind="mergesort")
    # WSPT (p/w ascending); weightless jobs last, where they cost nothing.
    ratio = np.empty(n)
    for j in range(n):
        ratio[j] = p[j] / w[j] if w[j] > 0 else np.inf
    wspt = np.argsort(ratio, kind="mergesort")
    work = np.zeros(n, dtype=np.int64)
    full = (np.int64(1) << n) - 1
    # All layers kept for the walk back: masks, values, parent index, last job;
    # times[k][s] is the processing time of the set (its last completion).
    masks = [np.zeros(1, dtype=np.int64)]
    values = [np.zeros(1, dtype=np.int64)]
    parents = [np.full(1, -1, dtype=np.int64)]
    lasts = [np.full(1, -1, dtype=np.int64)]
    times = [np.zeros(1, dtype=np.int64)]
    stored = 1
    bound = _rest_bound(np.int64(0), np.int64(0), p, d, w, spt, edd, wspt, work, succ_mask)
    for k in range(n):
        cur_mask = masks[k]
        cur_val = values[k]
        cur_time = times[k]
        m = cur_mask.shape[0]
        cap = m * (n - k)
        if stored + cap > state_limit:
            cap = state_limit - stored
        if cap <= 0:
            return min(bound, upper), bound >= upper, np.empty(0, dtype=np.int64), k, stored, True
        new_mask = np.empty(cap, dtype=np.int64)
        new_val = np.empty(cap, dtype=np.int64)
        new_par = np.empty(cap, dtype=np.int64)
        new_last = np.empty(cap, dtype=np.int64)
        new_time = np.empty(cap, dtype=np.int64)
        count = 0
        cap_hit = False
        for s in range(m):
            if (s & 4095) == 0 and _now() > deadline:
                return (
                    min(bound, upper),
                    bound >= upper,
                    np.empty(0, dtype=np.int64),
                    k,
                    stored,
                    False,
                )
            mask = cur_mask[s]
            t = cur_time[s]
            for j in range(n):
                if (mask >> j) & 1 or (pred_mask[j] & ~mask) != 0:
                    continue
                c = t + p[j]
                late = c - d[j]
                v = cur_val[s] + (w[j] * late if late > 0 else 0)
                nm = mask | (np.int64(1) << j)
                if v + _rest_bound(nm, c, p, d, w, spt, edd, wspt, work, succ_mask) >= upper:
                    continue
                if count == cap:
                    cap_hit = True
                    break
                new_mask[count] = nm
                new_val[count] = v
                new_par[count] = s
                new_last[count] = j
                new_time[count] = c
                count += 1
            if cap_hit:
                break
        if cap_hit:
            return min(bound, upper), bound >= upper, np.empty(0, dtype=np.int64), k, stored, True
        # Keep the best value per set: sort by mask, take the least value of each run.
        order = np.argsort(new_mask[:count], kind="mergesort")
        keep = np.empty(count, dtype=np.int64)
        kept = 0
        for idx in range(count):
            o = order[idx]
            if kept > 0 and new_mask[keep[kept - 1]] == new_mask[o]:
                if new_val[o] < new_val[keep[kept - 1]]:
                    keep[kept - 1] = o
                continue
            keep[kept] = o
            kept += 1
        keep = keep[:kept]
        masks.append(new_mask[keep])
        values.append(new_val[keep])
        parents.append(new_par[keep])
        lasts.append(new_last[keep])
        times.append(new_time[keep])
        stored += kept
        if kept == 0:
            # Every extension reaches the upper bound: the heuristic is optimal.
            return upper, True, np.empty(0, dtype=np.int64), k + 1, stored, False
        # Bound of this complete layer, for a stop in the next one.
        layer_bound = BIG
        lm = masks[k + 1]
        lv = values[k + 1]
        lt = times[k + 1]
        for s in range(kept):
            b = lv[s] + _rest_bound(lm[s], lt[s], p, d, w, spt, edd, wspt, work, succ_mask)
            if b < layer_bound:
                layer_bound = b
        bound = max(bound, layer_bound)
    # The last layer holds the full set (at most one state).
    last_val = values[n]
    if last_val.shape[0] == 0 or masks[n][0] != full or last_val[0] >= upper:
        return upper, True, np.empty(0, dtype=np.int64), n, stored, False
    sequence = np.empty(n, dtype=np.int64)
    idx = 0
    for k in range(n, 0, -1):
        sequence[k - 1] = lasts[k][idx]
        idx = parents[k][idx]
    return last_val[0], True, sequence, n, stored, False


@dataclass
class WDPResult:
    """What :func:`solve_weighted` found.

    Attributes
    ----------
    value
        The optimum when ``exact``, else a valid lower bound.
    exact
        Whether ``value`` is proven optimal.
    sequence
        An optimal sequence better than the upper bound, or ``None`` (the
        caller's upper-bound sequence is then optimal, or the best known).
    stats
        ``precedences``, ``layers``, ``states``, ``state_cap_hit``.
    """

    value: int
    exact: bool
    sequence: np.ndarray | None
    stats: dict[str, Any] = field(default_factory=dict)


def solve_weighted(
    processing: np.ndarray,
    due: np.ndarray,
    weight: np.ndarray,
    *,
    upper_bound: int,
    deadline: float,
    state_limit: int,
) -> WDPResult:
    """Exact 1||Σw_jT_j by dominance-restricted DP (module docstring).

    Parameters
    ----------
    processing, due, weight
        Integer arrays of the instance, at most 63 jobs.
    upper_bound
        The value of a known sequence.
    deadline
        ``time.perf_counter()`` value after which a bound is returned.
    state_limit
        Most DP states kept in memory over all layers.

    Returns
    -------
    WDPResult
    """
    # Writable int64 copies: the kernels are compiled for int64[::1].
    p = np.array(processing, dtype=np.int64)
    d = np.array(due, dtype=np.int64)
    w = np.array(weight, dtype=np.int64)
    n = len(p)
    if n > MAX_JOBS:
        return WDPResult(
            value=0,
            exact=False,
            sequence=None,
            stats={"skipped": f"the weighted DP handles at most {MAX_JOBS} jobs"},
        )
    before = precedence_kernel(p, d, w)
    pred_mask = np.zeros(n, dtype=np.int64)
    succ_mask = np.zeros(n, dtype=np.int64)
    for j in range(n):
        for i in np.flatnonzero(before[:, j]):
            pred_mask[j] |= np.int64(1) << np.int64(i)
            succ_mask[i] |= np.int64(1) << np.int64(j)
    value, exact, sequence, layers, states, cap_hit = _dp(
        p, d, w, pred_mask, succ_mask, np.int64(upper_bound), deadline, state_limit
    )
    return WDPResult(
        value=int(value),
        exact=bool(exact),
        sequence=sequence if len(sequence) else None,
        stats={
            "precedences": int(before.sum()),
            "layers": int(layers),
            "states": int(states),
            "state_cap_hit": bool(cap_hit),
        },
    )
