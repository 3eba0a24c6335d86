"""Decomposition branch and bound with memoisation for 1||ΣT_j (Branch & Memorize).

The algorithm
-------------
Number the jobs of a subproblem in EDD order (ties by processing time) and
let ``k`` be the longest job (largest ``p``, ties by larger due date), at EDD
position ``s``. Lawler's (1977) decomposition theorem says that for some
``r ∈ {s, ..., m-1}`` an optimal sequence puts the EDD jobs ``0..r`` other
than ``k`` first (in some order), then ``k``, completing at
``C_k(r) = t + Σ_{i≤r} p_i``, then the EDD jobs ``r+1..m-1``. Each candidate
``r`` splits the subproblem ``(J, t)`` — a job set starting at time ``t`` —
into two independent subproblems, solved recursively.

Positions are discarded by the elimination rules of Della Croce, Tadei,
Baracco & Grosso (1998) and Szwarc, Grosso & Della Croce (2001), as used by
Shang, T'kindt & Della Croce (2021):

* rule 3: ``r >= s+2`` is discarded if ``C_k(r) <= max_{s<i<r} (d_i + p_i)``;
* rule 4: with ``T(r)`` the total tardiness of the EDD sequence with ``k``
  moved to position ``r``, ``r`` is discarded if ``T(r) >= min_{s≤i<r} T(i)``
  or ``T(r) > T(r+1)``.

A subproblem is closed without branching when a lower bound meets the EDD or
SPT sequence's tardiness (the bound pairs the sorted SPT completion times
with the sorted due dates; EDD is optimal when no job is late and SPT when
every job is late — Emmons 1969). A candidate whose lower bound reaches the
best value found at the node is pruned; at the root the best heuristic
sequence's value is the initial upper bound.

Branch & Memorize (Shang, T'kindt & Della Croce 2017, 2021): the same
subproblem — the same job set starting at the same time — recurs in many
branches. Its optimal value and branching position are stored in a hash
table keyed by two 64-bit Zobrist hashes of the set plus the start time, so
it is solved once. The table is capped (``memo_limit`` entries, at most 48
bytes each); when the cap is reached the search goes on, still exact,
without storing more.

The clock is read every million job-steps of work (a few milliseconds).
Once the time limit has passed, every open subproblem returns its lower
bound instead of its optimum and every node returns the larger of its own
bound and the minimum over its candidate positions of their bounds (their
values when solved; the longest job's tardiness, plus the parts' bounds at
the root, when left open): a valid lower bound of the instance, since the
rules keep at least one optimal sequence among the candidates.

References
----------
Lawler, E. L. (1977). A "pseudopolynomial" algorithm for sequencing jobs to
minimize total tardiness. Annals of Discrete Mathematics 1, 331-342.
Emmons, H. (1969). One-machine sequencing to minimize certain functions of
job tardiness. Operations Research 17(4), 701-715.
Potts, C. N., & Van Wassenhove, L. N. (1982). A decomposition algorithm for
the single machine total tardiness problem. Oper. Res. Letters 1, 177-181.
Della Croce, F., Tadei, R., Baracco, P., & Grosso, A. (1998). A new
decomposition approach for the single machine total tardiness scheduling
problem. J. Oper. Res. Soc. 49, 1101-1106.
Szwarc, W., Grosso, A., & Della Croce, F. (2001). Algorithmic paradoxes of
the single-machine total tardiness problem. J. Scheduling 4, 93-104.
Shang, L., T'kindt, V., & Della Croce, F. (2021). Branch & Memorize exact
algorithms for sequencing problems: efficient embedding of memorization into
search trees. Computers & Operations Research 128, 105171.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from numba import njit, objmode

from schedforge.core.errors import SolverError

__all__ = ["BnBResult", "solve_unweighted"]

# Layout of the int64 state vector shared by the kernels.
NODES, ABORT, MEMO_FULL, MEMO_HITS, PRUNED, WORK, NEXT_CHECK, MEMO_COUNT, MEMO_ROWS = range(9)
STATE_SIZE = 9
# The clock is read after about this many job-steps of work (a few ms): node
# counts alone would let one node of a 20,000-job instance overrun the limit.
CHECK_EVERY = 1 << 20
# At the root, the bounds of every candidate's parts (for pruning against the
# heuristic, or for the returned bound when out of time) are computed only if
# that costs fewer job-steps than this.
ROOT_BOUND_WORK = 50_000_000
STACK_PER_JOB = 16 << 10  # bytes of thread stack per job (a numba frame is 1-3 KB)
# Codes returned for closed subproblems (a branching position is >= 0);
# HEURISTIC: only the caller's upper-bound sequence reaches the value (root only).
EDD_ORDER, SPT_ORDER, HEURISTIC = -1, -2, -3
MEMO_MIN_JOBS = 3  # subproblems of 1-2 jobs are cheaper to solve than to hash
BIG = np.int64(1) << 62

# The memo is an open-addressing hash table (linear probing, at most half
# full) of int64 rows ``(key1, key2, value + 1)``: 24 bytes a row, one cache
# line a probe, several times faster and smaller than a numba typed dict
# (about 80 bytes an entry). It is allocated once for ``memo_limit``
# entries, but only its first ``state[MEMO_ROWS]`` rows are used, doubled
# as they fill: a small search stays in a small, cache-friendly corner, and
# the operating system maps the zero pages only when first written. The key
# is the set's two Zobrist hashes with the start time folded into the second
# by an odd multiplier (a bijection on 64-bit integers, so equal sets at
# different times never share a key); the value is
# ``optimum * CODE_SPAN + code - HEURISTIC`` (a row holding 0 is empty).
MEMO_START_ROWS = 1 << 12
SLOT_MIX = np.int64(-4658895280553007687)  # 0xBF58476D1CE4E5B9, odd: spreads keys over rows
TIME_MIX = np.int64(-7046029254386353131)  # 0x9E3779B97F4A7C15, odd
CODE_SPAN = np.int64(1) << 16
MAX_JOBS = int(CODE_SPAN) + HEURISTIC - 1
MAX_VALUE = np.int64(1) << 46

# Entry kernels compile lazily; solve() compiles them before its clock starts
# (schedforge.core.warmup), so a first call does not spend its time limit compiling.

# Seconds the sequence rebuild may run past the deadline, so that an optimum
# proven just before the limit is not thrown away for want of its sequence.
REBUILD_GRACE = 0.5


@njit(cache=True)
def _now() -> float:
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def _spt_bound(jobs, spt, t, p, d):
    """(lower bound, SPT sequence's tardiness) of subproblem (jobs, t).

    ``jobs`` is the set in EDD order (due dates sorted) and ``spt`` the same
    set in SPT order; the bound pairs sorted completion times with sorted due
    dates.
    """
    bound = 0
    tard = 0
    c = t
    for i in range(jobs.shape[0]):
        j = spt[i]
        c += p[j]
        late = c - d[jobs[i]]
        if late > 0:
            bound += late
        late = c - d[j]
        if late > 0:
            tard += late
    return bound, tard


@njit(cache=True)
def _closing_values(jobs, spt, t, p, d):
    """(EDD tardiness, pairing bound, SPT tardiness) of (jobs, t) in one pass."""
    edd_tard = 0
    bound = 0
    spt_tard = 0
    c_edd = t
    c_spt = t
    for i in range(jobs.shape[0]):
        j = jobs[i]
        c_edd += p[j]
        if c_edd > d[j]:
            edd_tard += c_edd - d[j]
        js = spt[i]
        c_spt += p[js]
        if c_spt > d[j]:
            bound += c_spt - d[j]
        if c_spt > d[js]:
            spt_tard += c_spt - d[js]
    return edd_tard, bound, spt_tard


@njit(cache=True)
def _tick(state, work, deadline):
    """Count ``work`` job-steps; read the clock now and then; set ABORT when late."""
    state[WORK] += work
    if state[WORK] >= state[NEXT_CHECK]:
        state[NEXT_CHECK] = state[WORK] + CHECK_EVERY
        if _now() > deadline:
            state[ABORT] = 1


@njit(cache=True)
def _candidates(jobs, s, t, p, d, tni, out):
    """Positions of the longest job kept by rules 3 and 4 (see module docstring).

    Writes them to ``out`` and returns how many; ``tni`` (``m - s`` long) is
    scratch space.
    """
    m = jobs.shape[0]
    k = jobs[s]
    # T(r): EDD sequence with k moved to position r, by successive swaps.
    tni[0] = 0
    c = t
    start_k = t
    for i in range(m):
        if i == s:
            start_k = c
        c += p[jobs[i]]
        if c > d[jobs[i]]:
            tni[0] += c - d[jobs[i]]
    for i in range(1, m - s):
        after = jobs[s + i]
        before_pair = max(0, start_k + p[k] - d[k]) + max(0, start_k + p[k] + p[after] - d[after])
        after_pair = max(0, start_k + p[after] - d[after]) + max(
            0, start_k + p[after] + p[k] - d[k]
        )
        tni[i] = tni[i - 1] - before_pair + after_pair
        start_k += p[after]
    count = 0
    c_r = t
    for i in range(s + 1):
        c_r += p[jobs[i]]
    max_dp = -BIG
    min_t = BIG
    for r in range(s, m):
        if r > s:
            c_r += p[jobs[r]]
        if r >= s + 2:
            prev = jobs[r - 1]
            if d[prev] + p[prev] > max_dp:
                max_dp = d[prev] + p[prev]
        if r >= s + 1 and tni[r - 1 - s] < min_t:
            min_t = tni[r - 1 - s]
        if r >= s + 2 and c_r <= max_dp:
            continue  # rule 3
        t_r = tni[r - s]
        if r >= s + 1 and t_r >= min_t:
            continue  # rule 4, a better earlier position
        if r < m - 1 and t_r > tni[r + 1 - s]:
            continue  # rule 4, a better next position
        out[count] = r
        count += 1
    return count


@njit(cache=True)
def _slot(memo, mask, k1, k2):
    """Row of key ``(k1, k2)`` among the first ``mask + 1`` rows, or the empty row it would take."""
    i = (((k1 ^ k2) * SLOT_MIX) >> 20) & mask
    while memo[i, 2] != 0 and (memo[i, 0] != k1 or memo[i, 1] != k2):
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _lookup(memo, state, k1, k2):
    """The packed value stored under ``(k1, k2)``, or -1."""
    return memo[_slot(memo, state[MEMO_ROWS] - 1, k1, k2), 2] - 1  # an empty row gives -1


@njit(cache=True)
def _store(memo, state, k1, k2, value, memo_limit):
    """Store a packed value, unless ``memo_limit`` entries are stored (then flag MEMO_FULL)."""
    if state[MEMO_COUNT] >= memo_limit:
        state[MEMO_FULL] = 1
        return
    rows = state[MEMO_ROWS]
    if 2 * (state[MEMO_COUNT] + 1) > rows and rows < memo.shape[0]:
        # Half full: double the rows in use and re-place the entries.
        old = memo[:rows].copy()
        memo[:rows] = 0
        rows *= 2
        state[MEMO_ROWS] = rows
        for i in range(old.shape[0]):
            if old[i, 2] != 0:
                j = _slot(memo, rows - 1, old[i, 0], old[i, 1])
                memo[j, 0] = old[i, 0]
                memo[j, 1] = old[i, 1]
                memo[j, 2] = old[i, 2]
    i = _slot(memo, rows - 1, k1, k2)
    if memo[i, 2] == 0:
        state[MEMO_COUNT] += 1
        memo[i, 0] = k1
        memo[i, 1] = k2
        memo[i, 2] = value + 1


@njit(cache=True)
def _hash(jobs, z1, z2):
    h1 = np.int64(0)
    h2 = np.int64(0)
    for i in range(jobs.shape[0]):
        h1 ^= z1[jobs[i]]
        h2 ^= z2[jobs[i]]
    return h1, h2


@njit(cache=True)
def _split(jobs, spt, s, r, buf):
    """Left (EDD jobs 0..r but s) and right (r+1..) parts, each in EDD and SPT order.

    ``buf`` is ``2 * (m - 1)`` long: its first half holds ``jobs`` without
    ``s`` (filled by the caller, once for all candidates of a node), so the
    left part in EDD order is a prefix of it and the right part a view of
    ``jobs``; its second half receives the SPT lists. Jobs are numbered in
    global EDD order, so "EDD position <= r" is "number <= jobs[r]": the SPT
    lists are filtered, never re-sorted.
    """
    m = jobs.shape[0]
    k = jobs[s]
    cut = jobs[r]
    left = buf[:r]
    right = jobs[r + 1 :]
    left_spt = buf[m - 1 : m - 1 + r]
    right_spt = buf[m - 1 + r : 2 * m - 2]
    a = 0
    b = 0
    for i in range(m):
        j = spt[i]
        if j > cut:
            right_spt[b] = j
            b += 1
        elif j != k:
            left_spt[a] = j
            a += 1
    return left, left_spt, right, right_spt


@njit(cache=True)
def _fill_rest(jobs, s, buf):
    """Write ``jobs`` without position ``s`` to the start of ``buf`` (for :func:`_split`)."""
    n = 0
    for i in range(jobs.shape[0]):
        if i != s:
            buf[n] = jobs[i]
            n += 1


@njit(cache=True)
def _solve(jobs, spt, t, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, root_ub):
    """(value, exact, code) of subproblem (jobs, t); see the module docstring.

    ``value`` is the optimum when ``exact``, else a lower bound; ``code`` is
    the branching position, ``EDD_ORDER`` or ``SPT_ORDER``.
    """
    m = jobs.shape[0]
    if m == 0:
        return np.int64(0), True, EDD_ORDER
    if m == 1:
        return max(np.int64(0), t + p[jobs[0]] - d[jobs[0]]), True, EDD_ORDER
    state[NODES] += 1
    _tick(state, m, deadline)
    edd_tard, bound, spt_tard = _closing_values(jobs, spt, t, p, d)
    if edd_tard == 0:
        return np.int64(0), True, EDD_ORDER
    if spt_tard <= bound:
        return spt_tard, True, SPT_ORDER
    if edd_tard <= bound:
        return edd_tard, True, EDD_ORDER
    if state[ABORT]:
        return bound, False, EDD_ORDER
    use_memo = m >= MEMO_MIN_JOBS
    if use_memo:
        h1, h2 = _hash(jobs, z1, z2)
        key = (h1, h2 ^ (t * TIME_MIX))
        hit = _lookup(memo, state, key[0], key[1])
        if hit >= 0:
            state[MEMO_HITS] += 1
            return hit // CODE_SPAN, True, hit % CODE_SPAN + HEURISTIC
    s = 0
    for i in range(1, m):
        if lrank[jobs[i]] > lrank[jobs[s]]:
            s = i
    k = jobs[s]
    # One allocation for the node's scratch: prefix work, the candidates'
    # scratch and list, and the parts of the candidate being solved (reused
    # from one candidate to the next: the children are done with them).
    buf = np.empty(m + 2 * (m - s) + 2 * (m - 1), dtype=np.int64)
    n_cands = _candidates(jobs, s, t, p, d, buf[m : 2 * m - s], buf[2 * m - s : 3 * m - 2 * s])
    cands = buf[2 * m - s : 2 * m - s + n_cands]
    split_buf = buf[3 * m - 2 * s :]
    _fill_rest(jobs, s, split_buf)
    best = min(edd_tard, spt_tard)
    best_code = EDD_ORDER if edd_tard <= spt_tard else SPT_ORDER
    if root_ub < best:
        best = root_ub
        best_code = HEURISTIC
    best_exact = True
    node_lb = BIG  # min over candidates of their value or bound
    prefix = buf[:m]  # prefix[r]: work of EDD positions 0..r
    acc = t
    for i in range(m):
        acc += p[jobs[i]]
        prefix[i] = acc
    for idx in range(n_cands):
        r = cands[idx]
        c_k = prefix[r]  # k completes after EDD jobs 0..r (itself included, s <= r)
        late_k = max(np.int64(0), c_k - d[k])
        _tick(state, m, deadline)
        if state[ABORT]:
            # Out of time: this candidate stays open. Its bound is k's own
            # tardiness, plus its parts' bounds at the root when affordable.
            best_exact = False
            cand_lb = late_k
            if root_ub < BIG and m * n_cands <= ROOT_BOUND_WORK:
                left, left_spt, right, right_spt = _split(jobs, spt, s, r, split_buf)
                cand_lb += _spt_bound(left, left_spt, t, p, d)[0]
                cand_lb += _spt_bound(right, right_spt, c_k, p, d)[0]
            node_lb = min(node_lb, cand_lb)
            continue
        cand_lb = late_k
        if root_ub < BIG and m * n_cands <= ROOT_BOUND_WORK:
            # At the root the parts' bounds are worth their cost (unless the
            # instance is huge): they prune candidates against the heuristic.
            left, left_spt, right, right_spt = _split(jobs, spt, s, r, split_buf)
            cand_lb += _spt_bound(left, left_spt, t, p, d)[0]
            cand_lb += _spt_bound(right, right_spt, c_k, p, d)[0]
        if cand_lb >= best:
            state[PRUNED] += 1
            node_lb = min(node_lb, cand_lb)
            continue
        left, left_spt, right, right_spt = _split(jobs, spt, s, r, split_buf)
        v_left, e_left, _ = _solve(
            left, left_spt, t, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, BIG
        )
        v_right, e_right, _ = _solve(
            right, right_spt, c_k, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, BIG
        )
        total = v_left + late_k + v_right
        node_lb = min(node_lb, total)
        if not (e_left and e_right):
            best_exact = False
        elif total < best:
            best = total
            best_code = r
        if best_exact and best <= bound:
            break  # the bound proves the node's optimum
    if not best_exact:
        # Some candidate holds an optimal sequence: the least candidate bound is valid.
        return max(bound, min(node_lb, best)), False, EDD_ORDER
    if use_memo and best_code != HEURISTIC:
        _store(memo, state, key[0], key[1], best * CODE_SPAN + (best_code - HEURISTIC), memo_limit)
    return best, True, best_code


@njit(cache=True)
def _build(jobs, spt, t, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, out, pos):
    """Write an optimal sequence of (jobs, t) into ``out[pos:]`` (after a solve).

    Replays the solved subproblems; those the memo could not hold (cap
    reached) are solved again, which can cost as much as the search, so the
    replay honours ``deadline`` too and sets ABORT when it runs out: ``out``
    is then incomplete.
    """
    m = jobs.shape[0]
    if m == 0 or state[ABORT]:
        return
    code = _solve(jobs, spt, t, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, BIG)[2]
    if state[ABORT]:
        return
    if code == EDD_ORDER:
        out[pos : pos + m] = jobs
        return
    if code == SPT_ORDER:
        out[pos : pos + m] = spt
        return
    s = 0
    for i in range(1, m):
        if lrank[jobs[i]] > lrank[jobs[s]]:
            s = i
    split_buf = np.empty(2 * (m - 1), dtype=np.int64)
    _fill_rest(jobs, s, split_buf)
    left, left_spt, right, right_spt = _split(jobs, spt, s, code, split_buf)
    c_k = t + p[jobs[s]]
    for i in range(left.shape[0]):
        c_k += p[left[i]]
    _build(left, left_spt, t, p, d, lrank, z1, z2, memo, state, deadline, memo_limit, out, pos)
    out[pos + code] = jobs[s]
    _build(
        right,
        right_spt,
        c_k,
        p,
        d,
        lrank,
        z1,
        z2,
        memo,
        state,
        deadline,
        memo_limit,
        out,
        pos + code + 1,
    )


@dataclass
class BnBResult:
    """What :func:`solve_unweighted` found.

    Attributes
    ----------
    value
        Optimal total tardiness when ``exact``, else a valid lower bound.
    exact
        Whether ``value`` is proven optimal.
    sequence
        An optimal sequence (original job indices) when ``exact`` and the
        optimum beats the given upper bound; ``None`` otherwise (the caller's
        heuristic sequence is then optimal or the best known).
    nodes, memo_entries, memo_hits, pruned
        Search counters.
    memo_full
        Whether the memo cap was reached.
    """

    value: int
    exact: bool
    sequence: np.ndarray | None
    nodes: int
    memo_entries: int
    memo_hits: int
    pruned: int
    memo_full: bool


def solve_unweighted(
    processing: np.ndarray,
    due: np.ndarray,
    *,
    upper_bound: int,
    deadline: float,
    memo_limit: int,
) -> BnBResult:
    """Branch & Memorize for 1||ΣT_j.

    Parameters
    ----------
    processing, due
        Integer arrays of the instance (original job order).
    upper_bound
        The value of a known sequence (the heuristic start); the search
        proves it optimal or finds a better one.
    deadline
        ``time.perf_counter()`` value after which the search returns a bound.
    memo_limit
        Maximum number of memoised subproblems.

    Returns
    -------
    BnBResult

    Raises
    ------
    SolverError
        More than ``MAX_JOBS`` jobs or tardiness values beyond 2^46 (the memo
        packs values and positions into one 64-bit integer).
    """
    n = len(processing)
    p_orig = np.asarray(processing, dtype=np.int64)
    d_orig = np.asarray(due, dtype=np.int64)
    worst = int(np.maximum(0, int(p_orig.sum()) - d_orig).sum())
    if n > MAX_JOBS or worst >= MAX_VALUE:
        raise SolverError(
            f"the branch and bound packs values below 2^46 and at most {MAX_JOBS} jobs; "
            f"this instance has {n} jobs and tardiness up to {worst}"
        )
    ids = np.arange(n)
    edd = np.lexsort((ids, p_orig, d_orig))  # by d, then p, then index
    p = np.ascontiguousarray(p_orig[edd])
    d = np.ascontiguousarray(d_orig[edd])
    # Ranks within the EDD-renumbered jobs: "longest" is max (p, d, index),
    # SPT order is (p, d, index) ascending — the same key.
    order = np.lexsort((np.arange(n), d, p))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    rng = np.random.default_rng(0x5EED)
    z1 = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=n, dtype=np.int64)
    z2 = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=n, dtype=np.int64)
    rows = MEMO_START_ROWS
    while rows < 2 * memo_limit + 2:
        rows *= 2
    try:
        memo = np.zeros((rows, 3), dtype=np.int64)
    except MemoryError:
        raise SolverError(
            f"memo_limit={memo_limit:,} needs a {24 * rows:,}-byte table, more than this "
            "machine can map; lower memo_limit"
        ) from None
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[MEMO_ROWS] = MEMO_START_ROWS
    jobs = np.arange(n, dtype=np.int64)
    spt = order.astype(np.int64)
    found: dict[str, object] = {}

    def search() -> None:
        try:
            found["root"] = _solve(
                jobs, spt, 0, p, d, rank, z1, z2, memo, state, deadline, memo_limit, upper_bound
            )
            if found["root"][1] and found["root"][2] != HEURISTIC:
                state[ABORT] = 0
                rebuild_deadline = max(deadline, time.perf_counter() + REBUILD_GRACE)
                out = np.empty(n, dtype=np.int64)
                _build(
                    jobs,
                    spt,
                    0,
                    p,
                    d,
                    rank,
                    z1,
                    z2,
                    memo,
                    state,
                    rebuild_deadline,
                    memo_limit,
                    out,
                    0,
                )
                if state[ABORT]:
                    # The optimum's value is proven but its sequence could not
                    # be rebuilt in time: report the value as a bound only.
                    found["rebuild_cut"] = True
                else:
                    found["sequence"] = edd[out]
        except BaseException as exc:  # handed to the calling thread
            found["error"] = exc

    # The recursion is as deep as the instance is long (a few KB a level):
    # run it on a thread with a stack to match, not on the 8 MB main stack.
    previous = threading.stack_size()
    threading.stack_size(max(32 << 20, n * STACK_PER_JOB))
    try:
        worker = threading.Thread(target=search, name="smtt-branch-and-memorize")
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    if "error" in found:
        raise found["error"]
    value, exact, _ = found["root"]
    exact = bool(exact) and not found.get("rebuild_cut", False)
    sequence = found.get("sequence")
    return BnBResult(
        value=int(value),
        exact=bool(exact),
        sequence=sequence,
        nodes=int(state[NODES]),
        memo_entries=int(state[MEMO_COUNT]),
        memo_hits=int(state[MEMO_HITS]),
        pruned=int(state[PRUNED]),
        memo_full=bool(state[MEMO_FULL]),
    )
