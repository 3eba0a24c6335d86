"""Numba-compiled schedule-generation schemes (SGS) for the RCPSP with side constraints.

Both schemes of Kolisch (1996) work on a time-indexed table of free
capacity ``avail[r, t]`` (the capacity profile minus what is already
booked), so downtime windows cost nothing extra:

* **serial**: take activities one by one (from an activity list, or the
  eligible one of best priority) and start each at the earliest time that
  respects releases, precedences with lags, disjunctive partners already
  placed and the free capacity over its whole duration;
* **parallel**: advance a clock over decision points (finishes, release
  and ready times, capacity changes) and start, in priority order, every
  eligible activity that fits at the current time.

Deadlines are checked, never repaired: an activity that cannot start by
``deadline - duration`` makes the scheme stop and report that activity, so
no invalid schedule ever leaves this module.

The **forward-backward improvement** (justification) of Tormos & Lova
(2001) and Valls, Ballestín & Quintanilla (2005) runs the serial scheme on
the time-mirrored instance with activities in order of decreasing finish
time (right-justification), then forwards in order of increasing start
time. Decoding any feasible schedule's start order with the serial scheme
starts no activity later (the capacity used after any time can only
shrink), so neither pass can fail or lengthen the schedule, whatever the
side constraints.

References
----------
Kolisch, R. (1996). Serial and parallel resource-constrained project
scheduling methods revisited: theory and computation. European Journal of
Operational Research 90(2), 320-333.

Valls, V., Ballestín, F., & Quintanilla, S. (2005). Justification and RCPSP:
a technique that pays. European Journal of Operational Research 165(2), 375-386.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from schedforge.problems.rcpsp import (
    NO_DEADLINE,
    RCPSPInstance,
    capacity_profile,
    horizon,
    topological_order,
)

__all__ = [
    "SGSData",
    "build_list",
    "justify",
    "parallel_sgs",
    "serial_decode",
]

# Selection modes of the priority-based kernels.
DETERMINISTIC = 0
REGRET_SAMPLING = 1


def _csr(n: int, keys: np.ndarray, values: np.ndarray, extra: np.ndarray):
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, keys + 1, 1)
    return np.cumsum(ptr), values[order].astype(np.int64), extra[order].astype(np.int64)


@dataclass(frozen=True)
class SGSData:
    """The arrays the kernels work on, converted once per instance.

    Attributes
    ----------
    duration, demand
        ``d_j`` and ``q_jr``.
    pred_ptr, pred_idx, pred_lag
        Predecessors of each activity (CSR) with their lags.
    succ_ptr, succ_idx, succ_lag
        Successors of each activity (CSR) with their lags.
    disj_ptr, disj_idx
        Disjunctive partners of each activity (CSR, both directions).
    release, latest_start
        Earliest and latest start per activity (``latest_start`` is
        ``deadline - d`` or ``horizon - d``).
    profile
        ``(R, H)`` capacity per period up to the horizon ``H``.
    change_times
        Sorted times at which some capacity changes (parallel SGS events).
    topo_rank
        Position of each activity in a topological order (tie-breaks).
    """

    duration: np.ndarray
    demand: np.ndarray
    pred_ptr: np.ndarray
    pred_idx: np.ndarray
    pred_lag: np.ndarray
    succ_ptr: np.ndarray
    succ_idx: np.ndarray
    succ_lag: np.ndarray
    disj_ptr: np.ndarray
    disj_idx: np.ndarray
    release: np.ndarray
    latest_start: np.ndarray
    profile: np.ndarray
    change_times: np.ndarray
    topo_rank: np.ndarray

    @classmethod
    def from_instance(cls, inst: RCPSPInstance) -> SGSData:
        """Convert ``inst`` (the horizon is :func:`~schedforge.problems.rcpsp.horizon`)."""
        n = inst.num_activities
        length = horizon(inst) + 1
        pairs = inst.precedence
        pred_ptr, pred_idx, pred_lag = _csr(n, pairs[:, 1], pairs[:, 0], inst.lag)
        succ_ptr, succ_idx, succ_lag = _csr(n, pairs[:, 0], pairs[:, 1], inst.lag)
        both = np.concatenate([inst.disjunctive, inst.disjunctive[:, ::-1]])
        disj_ptr, disj_idx, _ = _csr(n, both[:, 0], both[:, 1], both[:, 1])
        deadline = np.where(inst.deadline == NO_DEADLINE, length - 1, inst.deadline)
        latest = np.minimum(deadline, length - 1) - inst.duration
        change = np.unique(inst.downtime[:, 1:3]) if len(inst.downtime) else np.zeros(0)
        rank = np.empty(n, dtype=np.int64)
        rank[topological_order(inst)] = np.arange(n)
        return cls(
            duration=np.ascontiguousarray(inst.duration, dtype=np.int64),
            demand=np.ascontiguousarray(inst.demand, dtype=np.int64),
            pred_ptr=pred_ptr,
            pred_idx=pred_idx,
            pred_lag=pred_lag,
            succ_ptr=succ_ptr,
            succ_idx=succ_idx,
            succ_lag=succ_lag,
            disj_ptr=disj_ptr,
            disj_idx=disj_idx,
            release=np.ascontiguousarray(inst.release, dtype=np.int64),
            latest_start=latest.astype(np.int64),
            profile=np.ascontiguousarray(capacity_profile(inst, length)),
            change_times=change.astype(np.int64),
            topo_rank=rank,
        )

    @property
    def num_activities(self) -> int:
        """Number of activities."""
        return len(self.duration)

    def decode_args(self) -> tuple:
        """Arguments of :func:`serial_decode` after the activity list."""
        return (
            self.duration,
            self.demand,
            self.pred_ptr,
            self.pred_idx,
            self.pred_lag,
            self.disj_ptr,
            self.disj_idx,
            self.release,
            self.latest_start,
            self.profile,
        )

    def parallel_args(self) -> tuple:
        """Arguments of :func:`parallel_sgs` after ``priority, mode, alpha, eps``."""
        return (
            self.duration,
            self.demand,
            self.pred_ptr,
            self.succ_ptr,
            self.succ_idx,
            self.succ_lag,
            self.disj_ptr,
            self.disj_idx,
            self.release,
            self.latest_start,
            self.profile,
            self.change_times,
        )

    def justify_tail(self) -> tuple:
        """Arguments of :func:`justify` after the scratch ``avail`` array."""
        return (self.succ_ptr, self.succ_idx, self.succ_lag, self.topo_rank)


# --------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def _earliest_fit(j, t, latest, duration, demand, avail, start, placed, disj_ptr, disj_idx):
    """Earliest ``s >= t`` where ``j`` fits the free capacity and its placed partners; -1 if > latest."""
    d = duration[j]
    num_res = demand.shape[1]
    while t <= latest:
        moved = False
        if d > 0:
            for k in range(disj_ptr[j], disj_ptr[j + 1]):
                p = disj_idx[k]
                if (
                    placed[p]
                    and duration[p] > 0
                    and start[p] < t + d
                    and t < start[p] + duration[p]
                ):
                    t = start[p] + duration[p]
                    moved = True
                    break
            if moved:
                continue
            # Scan backwards so that one conflict skips past the latest clash.
            for tau in range(t + d - 1, t - 1, -1):
                for r in range(num_res):
                    if avail[r, tau] < demand[j, r]:
                        t = tau + 1
                        moved = True
                        break
                if moved:
                    break
        if not moved:
            return t
    return -1


@njit(cache=True)
def _book(j, t, duration, demand, avail):
    for tau in range(t, t + duration[j]):
        for r in range(demand.shape[1]):
            avail[r, tau] -= demand[j, r]


@njit(cache=True)
def serial_decode(
    order,
    duration,
    demand,
    pred_ptr,
    pred_idx,
    pred_lag,
    disj_ptr,
    disj_idx,
    release,
    latest_start,
    profile,
    avail,
    start,
):
    """Serial SGS over a precedence-feasible activity list ``order``.

    Writes start times into ``start`` (``avail`` is scratch space shaped
    like ``profile``). Returns the makespan, or ``-1 - j`` when activity
    ``j`` cannot start by its latest start.
    """
    n = duration.shape[0]
    avail[:, :] = profile
    placed = np.zeros(n, dtype=np.bool_)
    makespan = 0
    for pos in range(n):
        j = order[pos]
        t = release[j]
        for k in range(pred_ptr[j], pred_ptr[j + 1]):
            p = pred_idx[k]
            ready = start[p] + duration[p] + pred_lag[k]
            if ready > t:
                t = ready
        t = _earliest_fit(
            j, t, latest_start[j], duration, demand, avail, start, placed, disj_ptr, disj_idx
        )
        if t < 0:
            return -1 - j
        start[j] = t
        placed[j] = True
        _book(j, t, duration, demand, avail)
        if t + duration[j] > makespan:
            makespan = t + duration[j]
    return makespan


@njit(cache=True)
def _choose(cand, m, priority, mode, alpha, eps, weight):
    """Index into ``cand[:m]`` of the chosen activity (smallest priority, or regret sampling).

    ``weight`` is scratch space of at least ``m`` entries.
    """
    if mode == DETERMINISTIC:
        best = 0
        for i in range(1, m):
            a, b = cand[i], cand[best]
            if priority[a] < priority[b] or (priority[a] == priority[b] and a < b):
                best = i
        return best
    # Regret-based biased random sampling (Drexl 1991): weight (max v - v_j + eps)^alpha.
    worst = priority[cand[0]]
    for i in range(1, m):
        if priority[cand[i]] > worst:
            worst = priority[cand[i]]
    total = 0.0
    for i in range(m):
        w = worst - priority[cand[i]] + eps
        if alpha != 1.0:  # pow is the cost of a sample; skip it in the usual case
            w = w**alpha
        weight[i] = w
        total += w
    pick = np.random.random() * total
    for i in range(m):
        pick -= weight[i]
        if pick <= 0.0:
            return i
    return m - 1


@njit(cache=True)
def build_list(priority, mode, alpha, eps, pred_ptr, succ_ptr, succ_idx, out):
    """A precedence-feasible activity list: repeatedly take an eligible activity.

    ``mode`` 0 takes the smallest ``priority`` (ties: smaller index); mode
    1 draws by regret-based biased random sampling with ``alpha``, ``eps``.
    """
    n = priority.shape[0]
    missing = np.empty(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    weight = np.empty(n, dtype=np.float64)
    m = 0
    for j in range(n):
        missing[j] = pred_ptr[j + 1] - pred_ptr[j]
        if missing[j] == 0:
            cand[m] = j
            m += 1
    for pos in range(n):
        i = _choose(cand, m, priority, mode, alpha, eps, weight)
        j = cand[i]
        cand[i] = cand[m - 1]
        m -= 1
        out[pos] = j
        for k in range(succ_ptr[j], succ_ptr[j + 1]):
            s = succ_idx[k]
            missing[s] -= 1
            if missing[s] == 0:
                cand[m] = s
                m += 1


@njit(cache=True)
def parallel_sgs(
    priority,
    mode,
    alpha,
    eps,
    duration,
    demand,
    pred_ptr,
    succ_ptr,
    succ_idx,
    succ_lag,
    disj_ptr,
    disj_idx,
    release,
    latest_start,
    profile,
    change_times,
    avail,
    start,
    order,
):
    """Parallel SGS with priority selection (``mode`` as in :func:`build_list`).

    Writes start times into ``start`` and the order of starting into
    ``order``. Returns the makespan, or ``-1 - j`` when activity ``j``
    cannot start by its latest start.
    """
    n = duration.shape[0]
    horizon_len = profile.shape[1]
    avail[:, :] = profile
    missing = np.empty(n, dtype=np.int64)
    ready = release.copy()
    placed = np.zeros(n, dtype=np.bool_)
    for j in range(n):
        missing[j] = pred_ptr[j + 1] - pred_ptr[j]
    cand = np.empty(n, dtype=np.int64)
    weight = np.empty(n, dtype=np.float64)
    count = 0
    makespan = 0
    t = 0
    while count < n:
        progress = True
        while progress:
            progress = False
            m = 0
            for j in range(n):
                if not placed[j] and missing[j] == 0 and ready[j] <= t:
                    if t > latest_start[j]:
                        return -1 - j
                    cand[m] = j
                    m += 1
            while m > 0:
                i = _choose(cand, m, priority, mode, alpha, eps, weight)
                j = cand[i]
                cand[i] = cand[m - 1]
                m -= 1
                if (
                    _earliest_fit(
                        j, t, t, duration, demand, avail, start, placed, disj_ptr, disj_idx
                    )
                    == t
                ):
                    start[j] = t
                    placed[j] = True
                    order[count] = j
                    count += 1
                    _book(j, t, duration, demand, avail)
                    f = t + duration[j]
                    if f > makespan:
                        makespan = f
                    for k in range(succ_ptr[j], succ_ptr[j + 1]):
                        s = succ_idx[k]
                        missing[s] -= 1
                        if f + succ_lag[k] > ready[s]:
                            ready[s] = f + succ_lag[k]
                    if duration[j] == 0:
                        progress = True
        if count == n:
            break
        # Next decision point: a finish, a ready time or a capacity change after t.
        nxt = horizon_len
        for j in range(n):
            if placed[j]:
                f = start[j] + duration[j]
                if t < f < nxt:
                    nxt = f
            elif missing[j] == 0 and t < ready[j] < nxt:
                nxt = ready[j]
        for c in change_times:
            if t < c < nxt:
                nxt = c
                break
        if nxt >= horizon_len:
            for j in range(n):
                if not placed[j]:
                    return -1 - j
        t = nxt
    return makespan


@njit(cache=True)
def _mirror(profile, length):
    """Capacity of the time-mirrored instance: period ``tau`` is ``length - 1 - tau``."""
    out = profile.copy()
    for tau in range(length):
        out[:, tau] = profile[:, length - 1 - tau]
    return out


@njit(cache=True)
def justify(
    start,
    duration,
    demand,
    pred_ptr,
    pred_idx,
    pred_lag,
    disj_ptr,
    disj_idx,
    release,
    latest_start,
    profile,
    avail,
    succ_ptr,
    succ_idx,
    succ_lag,
    topo_rank,
    out_start,
    out_order,
):
    """Forward-backward improvement of a feasible schedule ``start``.

    Writes the improved schedule to ``out_start`` and its start order (an
    activity list) to ``out_order``; returns its makespan (never larger).
    """
    n = duration.shape[0]
    length = 0
    for j in range(n):
        if start[j] + duration[j] > length:
            length = start[j] + duration[j]
    # Backward: serial SGS on the mirror, by decreasing finish (successors first).
    key = np.empty(n, dtype=np.int64)
    for j in range(n):
        key[j] = -((start[j] + duration[j]) * (n + 1) + topo_rank[j])
    order = np.argsort(key)
    m_release = np.empty(n, dtype=np.int64)
    m_latest = np.empty(n, dtype=np.int64)
    for j in range(n):
        # finish <= deadline becomes a release; start >= release a deadline.
        m_release[j] = max(0, length - (latest_start[j] + duration[j]))
        m_latest[j] = length - release[j] - duration[j]
    mirrored = _mirror(profile, length)
    back = np.empty(n, dtype=np.int64)
    res = serial_decode(
        order, duration, demand, succ_ptr, succ_idx, succ_lag, disj_ptr, disj_idx,
        m_release, m_latest, mirrored, avail, back,
    )  # fmt: skip
    if res < 0:
        out_start[:] = start
        return length
    for j in range(n):
        back[j] = length - back[j] - duration[j]
        key[j] = back[j] * (n + 1) + topo_rank[j]
    forward_order = np.argsort(key)
    res = serial_decode(
        forward_order, duration, demand, pred_ptr, pred_idx, pred_lag, disj_ptr, disj_idx,
        release, latest_start, profile, avail, out_start,
    )  # fmt: skip
    if res < 0 or res > length:
        out_start[:] = start
        return length
    for j in range(n):
        key[j] = out_start[j] * (n + 1) + topo_rank[j]
    out_order[:] = np.argsort(key)
    return res
