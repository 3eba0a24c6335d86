"""Numba-compiled constructive rules for single-machine total (weighted) tardiness.

Methods registered here (``rule:<name>``)
-----------------------------------------
``edd``
    Earliest due date (ties by job index). Ignores weights.
``spt``
    Shortest processing time (ties by job index). Ignores weights.
``wspt``
    Weighted shortest processing time, smallest ``p/w`` first (Smith 1956);
    a job of weight 0 goes last.
``mdd``
    Modified due date (Baker & Bertrand 1982): at time ``t`` dispatch the
    job with the smallest ``max(p, d − t)``; on weighted instances its
    weighted form WMDD, ``max(p, d − t)/w`` (Kanet & Li 2004). Ties by
    job index.
``atc``
    Apparent tardiness cost (Vepsalainen & Morton 1987): the largest
    ``(w/p)·exp(−max(0, d − p − t)/(k·p̄))`` with ``p̄`` the mean processing
    time of the unscheduled jobs and look-ahead ``k`` (option ``k``,
    default 1.0: mean gaps 3.4 %, 2.2 % and 17.9 % on the n = 20, Shang
    n = 100 and OR-Library wt40 sets against 14.3 %, 4.1 % and 21.4 % for
    the textbook 2.0). Computed in log space so that it never underflows.
``psk``
    Panneerselvam (2006): from the SPT order (ties by due date) it
    schedules the first job if it is late anyway, else looks ahead for a
    job with an earlier due date that fits. Ignores weights.
``eddc``, ``mddc``
    The two rules discovered by a language model in Çetinkaya, Büyüktahtakın,
    Shojaee & Reddy (2025), arXiv:2510.24013, in the form that reproduces
    the paper's tables (the paper's pseudocode differs from its code):

    * EDDC starts from the SPT order (ties by due date, then index). For
      ``i = 1..n−1`` it scans left from position ``j = i`` while the job at
      ``j`` has an earlier due date than the job at ``j − 1``; at each step
      it swaps the two only when the predecessor is still early (its due
      date exceeds its completion time), and it moves one position left
      whether or not it swapped.
    * MDDC dispatches, among the unscheduled jobs ``U`` at time ``t``, the
      first argmin of ``max(1.1·p + t, d)·(1 + ρ²/(1 + ρ²)) + p/(t + mean_U p)``
      with ``ρ = min(p/(t + max_U p), 1)``, scanning ``U`` in due-date order
      (ties by ``p``, then index).

    Both ignore weights (they were discovered for 1||ΣT_j).
``aug-<rule>``
    Every rule augmented as in Bean & Hall (after each job is appended,
    the best single move of an earlier job to the end is applied when it
    strictly lowers the weighted tardiness of the partial sequence; the
    first best on ties). The rule's own choices depend only on the set of
    scheduled jobs and their total time, never on their order, so this
    equals replaying the rule's sequence with the augmentation step. For
    EDDC, which is not an append-one-job procedure, the append order is
    its final sequence.

The dispatch skeleton
---------------------
EDD, SPT, WSPT, MDD, ATC and MDDC, and every priority found by
``schedforge discover smtt``, are priorities plugged into one loop
(:func:`loop`; job-shop-lib's dispatching rules, LLM4AD's numba-wrapped
evolved functions)::

    score(p, d, w, t, rem) -> float64 array      # smaller goes first

called at every step with the processing times ``p``, due dates ``d`` and
weights ``w`` of the unscheduled jobs (float64 arrays, in the scan order
``order``, a permutation of the jobs), the current time ``t`` and their
total processing time ``rem``. The skeleton appends the job with the
smallest score; ties go to the job met first in the scan order.
:func:`make_dispatcher` compiles the same skeleton around any priority of
that signature::

    dispatch = make_dispatcher(my_score)
    sequence = dispatch(processing, due, weight, order)

:data:`dispatch` is the skeleton compiled with the built-in priority (rule
code in ``params[0]``, ATC's ``k`` in ``params[1]``). For speed the
built-in rules run specialised kernels that return the same sequences (a
test checks it): stable sorts for the static EDD, SPT and WSPT, and MDD,
ATC and MDDC loops that skip jobs which provably cannot be chosen. Entry
kernels are compiled with explicit signatures and ``cache=True``: the first
import on a machine compiles them, later processes load them from the cache.

References
----------
Baker, K. R., & Bertrand, J. W. M. (1982). A dynamic priority rule for
scheduling against due-dates. Journal of Operations Management 3(1), 37-42.
Bean, J. C., & Hall, N. G., as cited by Çetinkaya et al. (2025) for the
augmentation step.
Çetinkaya, İ. O., Büyüktahtakın, İ. E., Shojaee, P., & Reddy, C. K. (2025).
Discovering heuristics with large language models (LLMs) for mixed-integer
programs: single-machine scheduling. arXiv:2510.24013.
Kanet, J. J., & Li, X. (2004). A weighted modified due date rule for
sequencing to minimize weighted tardiness. Journal of Scheduling 7, 261-276.
Panneerselvam, R. (2006). Simple heuristic to minimize total tardiness in a
single machine scheduling problem. Int. J. Adv. Manuf. Technol. 30, 722-726.
Vepsalainen, A. P. J., & Morton, T. E. (1987). Priority rules for job shops
with weighted tardiness costs. Management Science 33(8), 1035-1047.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.smtt import SMTTInstance, SMTTSolution

__all__ = [
    "BASE_RULES",
    "DEFAULT_ATC_K",
    "RULES",
    "augment",
    "builtin_priority",
    "call_score",
    "dispatch",
    "kernel_sequence",
    "loop",
    "make_dispatcher",
    "priority_signature",
    "rule_code",
    "rule_sequence",
    "run_score",
    "score_kernel",
]

BASE_RULES = ("edd", "spt", "wspt", "mdd", "atc", "psk", "eddc", "mddc")
RULES = BASE_RULES + tuple(f"aug-{r}" for r in BASE_RULES)
DEFAULT_ATC_K = 1.0

# Rule codes passed to the kernels (params[0] of the built-in priority).
_CODES = {name: code for code, name in enumerate(BASE_RULES)}
_EDD, _SPT, _WSPT, _MDD, _ATC, _PSK, _EDDC, _MDDC = range(len(BASE_RULES))


# --------------------------------------------------------------------------
# Priorities and the dispatch skeleton


_NEVER = np.finfo(np.float64).max  # the priority of a job of weight 0: last, but finite


@njit(cache=True)
def builtin_priority(score, p, d, w, t, rem, params, out):  # pragma: no cover - compiled
    """Built-in priorities; ``params[0]`` is the rule code, ``params[1]`` ATC's k.

    Written into ``out`` (no allocation per step); ``score`` is unused (the
    slot of a priority that is not built in, see :func:`call_score`).
    """
    code = int(params[0])
    left = len(p)
    max_p = 0.0
    for c in range(left):
        max_p = max(max_p, p[c])
    for c in range(left):
        if code == _EDD:
            value = d[c]
        elif code == _SPT:
            value = p[c]
        elif code == _WSPT:
            value = p[c] / w[c] if w[c] > 0 else _NEVER
        elif code == _MDD:
            # max(p, d - t) / w: for unit weights the order of Baker & Bertrand's
            # max(t + p, d), ties included (integers, exact in float64).
            value = max(p[c], d[c] - t) / w[c] if w[c] > 0 else _NEVER
        elif code == _ATC:
            if w[c] <= 0:
                value = _NEVER
            else:
                scale = 1.0 / (params[1] * (rem / left))
                value = max(0.0, d[c] - p[c] - t) * scale - math.log(w[c] / p[c])
        else:
            # MDDC, evaluated in the same floating-point order as the authors'
            # code so that ties and near-ties resolve identically.
            value = max(p[c] * 1.1 + t, d[c])
            rho = p[c] / (t + max_p)
            if rho > 1.0:
                rho = 1.0
            value *= 1.0 + rho**2 / (1.0 + rho**2)
            value += p[c] / (t + rem / left)
        out[c] = value
    return out[:left]


@njit(cache=True)
def call_score(score, p, d, w, t, rem, params, out):  # pragma: no cover - compiled
    """The rule slot for a priority ``score(p, d, w, t, rem) -> array``.

    It gets copies: a priority that writes into its arguments cannot change
    the skeleton's state.
    """
    return score(p.copy(), d.copy(), w.copy(), t, rem)


# Status codes of the skeleton: a priority that is not built in may misbehave.
OK, WRONG_LENGTH, NOT_FINITE = 0, 1, 2


def loop(processing, due, weight, order, params, score):
    """The dispatch skeleton, in plain Python or compiled by numba.

    At each step the global ``_rule`` scores the unscheduled jobs,
    ``_rule(score, p, d, w, t, rem, params, out)`` with their features as
    float64 arrays in scan order ``order``; the job of smallest score is
    appended (ties to the first in scan order). :data:`dispatch` uses
    :func:`builtin_priority`, :func:`score_kernel` and :func:`run_score`
    use :func:`call_score` around a priority ``score``.

    Returns
    -------
    (sequence, status)
        ``status`` is ``OK``, ``WRONG_LENGTH`` or ``NOT_FINITE`` (the
        sequence is then incomplete).
    """
    n = len(processing)
    # The unscheduled jobs' features, kept contiguous in scan order: the hot
    # loop reads them sequentially and removal keeps the order (ties resolve
    # to the job met first, as in the published code).
    cand = order.copy()
    cp = np.empty(n)
    cd = np.empty(n)
    cw = np.empty(n)
    for c in range(n):
        cp[c] = processing[cand[c]]
        cd[c] = due[cand[c]]
        cw[c] = weight[cand[c]]
    out = np.empty(n)
    left = n
    seq = np.empty(n, dtype=np.int64)
    t = 0.0
    remaining = 0.0
    for j in range(n):
        remaining += processing[j]
    for pos in range(n):
        values = _rule(score, cp[:left], cd[:left], cw[:left], t, remaining, params, out)
        if len(values) != left:
            return seq, WRONG_LENGTH
        best_c = 0
        for c in range(left):
            if not np.isfinite(values[c]):
                return seq, NOT_FINITE
            if values[c] < values[best_c]:
                best_c = c
        job = cand[best_c]
        seq[pos] = job
        t += processing[job]
        remaining -= processing[job]
        for c in range(best_c, left - 1):
            cand[c] = cand[c + 1]
            cp[c] = cp[c + 1]
            cd[c] = cd[c + 1]
            cw[c] = cw[c + 1]
        left -= 1
    return seq, OK


def _with_rule(rule: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A copy of :func:`loop` whose ``_rule`` is ``rule`` (same code, other global)."""
    scope = dict(loop.__globals__)
    scope["_rule"] = rule
    copy = types.FunctionType(loop.__code__, scope, name)
    copy.__qualname__ = name  # numba's disk cache is indexed by it
    return copy


_rule = builtin_priority
_builtin_loop = njit(loop)


@njit(cache=True)
def dispatch(processing, due, weight, order, params):  # pragma: no cover - compiled
    """:func:`loop` with the built-in priority (rule code in ``params[0]``); the sequence."""
    return _builtin_loop(processing, due, weight, order, params, None)[0]


run_score = _with_rule(call_score.py_func, "run_score")
run_score.__doc__ = """:func:`loop` in plain Python around a Python priority ``score``."""


def priority_signature() -> Any:
    """The numba signature of a priority ``score(p, d, w, t, rem) -> array``."""
    from numba import types as nb

    arr = nb.float64[:]
    return arr(arr, arr, arr, nb.float64, nb.float64)


_score_kernels: list[Any] = []


def score_kernel() -> Any:
    """:func:`loop` compiled once for any priority passed as a first-class function.

    ``kernel(processing, due, weight, order, params, score)`` with float64
    ``processing``, ``due``, ``weight``, int64 ``order``, ``params`` a
    float64 2-tuple (unused) and ``score`` compiled for
    :func:`priority_signature`; returns ``(sequence, status)``. Cached on
    disk, so a new priority costs only its own compilation.
    """
    if not _score_kernels:
        from numba import types as nb

        arr = nb.float64[:]
        sig = (
            arr,
            arr,
            arr,
            nb.int64[:],
            nb.UniTuple(nb.float64, 2),
            nb.FunctionType(priority_signature()),
        )
        _score_kernels.append(njit(sig, cache=True)(_with_rule(call_score, "score_loop")))
    return _score_kernels[0]


def make_dispatcher(score: Callable[..., Any]) -> Callable[..., Any]:
    """The dispatch skeleton around another priority.

    Parameters
    ----------
    score
        ``score(p, d, w, t, rem) -> array`` over the unscheduled jobs (a
        Python or ``numba.njit`` function; it is compiled for
        :func:`priority_signature`): smaller is dispatched first.

    Returns
    -------
    callable
        ``dispatch(processing, due, weight, order) -> sequence``.

    Raises
    ------
    InvalidOption
        When the priority returns the wrong number of values or non-finite ones.
    """
    compiled = njit(priority_signature())(getattr(score, "py_func", score))
    kernel = score_kernel()

    def custom(processing, due, weight, order):
        seq, status = kernel(
            np.array(processing, dtype=np.float64),
            np.array(due, dtype=np.float64),
            np.array(weight, dtype=np.float64),
            np.array(order, dtype=np.int64),
            (0.0, 0.0),
            compiled,
        )
        if status != OK:
            what = "one value per job" if status == WRONG_LENGTH else "finite values"
            raise InvalidOption(f"the priority must return {what}")
        return seq

    return custom


# --------------------------------------------------------------------------
# Procedures that are not plain priorities


@njit(cache=True)
def _stable_order(primary, secondary):  # pragma: no cover - compiled
    """Jobs sorted by ``primary``, then ``secondary``, then index (a stable lexsort)."""
    by_second = np.argsort(secondary, kind="mergesort")
    keyed = primary[by_second]
    return by_second[np.argsort(keyed, kind="mergesort")]


@njit(cache=True)
def _eddc(processing, due):  # pragma: no cover - compiled
    spt = _stable_order(processing, due)
    seq = spt.copy()
    n = len(seq)
    # Positions 0..i-1 always hold the first i jobs of the SPT order, so the
    # completion time of position i-1 is a prefix sum of that order.
    avail_i = 0
    for i in range(1, n):
        avail_i += processing[spt[i - 1]]
        avail = avail_i
        j = i
        while j > 0 and due[seq[j]] < due[seq[j - 1]]:
            before = seq[j - 1]
            if due[before] > avail:
                seq[j - 1] = seq[j]
                seq[j] = before
            avail -= processing[before]
            j -= 1
    return seq


@njit(cache=True)
def _psk(processing, due):  # pragma: no cover - compiled
    order = _stable_order(processing, due)
    n = len(order)
    cp = np.empty(n, dtype=np.int64)
    cd = np.empty(n, dtype=np.int64)
    for c in range(n):
        cp[c] = processing[order[c]]
        cd[c] = due[order[c]]
    # The unscheduled jobs as a linked list in SPT order: O(1) removal.
    after = np.arange(1, n + 1)
    before = np.arange(-1, n - 1)
    head = 0
    seq = np.empty(n, dtype=np.int64)
    time = 0
    for pos in range(n):
        pick = head
        if after[head] < n and time + cp[head] < cd[head]:
            c = after[head]
            while c < n:
                if cd[pick] <= time + cp[c]:
                    break  # the active job cannot be beaten by waiting
                if cd[pick] > cd[c]:
                    pick = c  # a later job with an earlier due date takes over
                c = after[c]
        seq[pos] = order[pick]
        time += cp[pick]
        if pick == head:
            head = after[pick]
        else:
            after[before[pick]] = after[pick]
        if after[pick] < n:
            before[after[pick]] = before[pick]
    return seq


@njit(cache=True)
def _static(processing, due, weight, code):  # pragma: no cover - compiled
    """EDD, SPT, WSPT: a stable sort equals the skeleton (ties by index) in O(n log n)."""
    if code == _EDD:
        return np.argsort(due, kind="mergesort")
    if code == _SPT:
        return np.argsort(processing, kind="mergesort")
    key = np.empty(len(processing))
    for j in range(len(processing)):
        key[j] = processing[j] / weight[j] if weight[j] > 0 else np.inf
    return np.argsort(key, kind="mergesort")


@njit(cache=True)
def _atc(processing, due, weight, k):  # pragma: no cover - compiled
    """ATC with the skeleton's values and choices (smallest value, then index).

    ``log(w/p)`` is computed once per job and the jobs are scanned, from a
    linked list, in increasing ``d − p``: the value of a job is at least
    ``(d − p − t)·scale − max log(w/p)``, which grows along the scan, so the
    scan stops once that bound exceeds the best value so far.
    """
    n = len(processing)
    log_ratio = np.empty(n)
    top = -np.inf
    for j in range(n):
        log_ratio[j] = math.log(weight[j] / processing[j]) if weight[j] > 0 else -np.inf
        top = max(top, log_ratio[j])
    cand = np.argsort(due - processing, kind="mergesort")
    cp = np.empty(n)
    cs = np.empty(n)
    cl = np.empty(n)
    for c in range(n):
        cp[c] = processing[cand[c]]
        cs[c] = due[cand[c]] - processing[cand[c]]
        cl[c] = log_ratio[cand[c]]
    after = np.arange(1, n + 1)
    before = np.arange(-1, n - 1)
    head = 0
    seq = np.empty(n, dtype=np.int64)
    t = 0.0
    remaining = float(processing.sum())
    for pos in range(n):
        scale = 1.0 / (k * (remaining / (n - pos)))
        best_c = head
        best = np.inf
        c = head
        while c < n:
            slack = max(0.0, cs[c] - t)
            if slack * scale - top > best:
                break
            value = slack * scale - cl[c]
            if value < best or (value == best and cand[c] < cand[best_c]):
                best = value
                best_c = c
            c = after[c]
        seq[pos] = cand[best_c]
        t += cp[best_c]
        remaining -= cp[best_c]
        if best_c == head:
            head = after[best_c]
        else:
            after[before[best_c]] = after[best_c]
        if after[best_c] < n:
            before[after[best_c]] = before[best_c]
    return seq


@njit(cache=True)
def _mdd(processing, due, weight):  # pragma: no cover - compiled
    """MDD/WMDD with the skeleton's choices (smallest value, then smallest index).

    Jobs are scanned in due-date order from a linked list. With unit weights
    the value ``max(p, d − t) >= d − t`` lets the scan stop at the first due
    date with ``d − t`` above the best value so far.
    """
    n = len(processing)
    unit = True
    for j in range(n):
        if weight[j] != 1:
            unit = False
    cand = np.argsort(due, kind="mergesort")
    cp = np.empty(n)
    cd = np.empty(n)
    cw = np.empty(n)
    for c in range(n):
        cp[c] = processing[cand[c]]
        cd[c] = due[cand[c]]
        cw[c] = weight[cand[c]]
    after = np.arange(1, n + 1)
    before = np.arange(-1, n - 1)
    head = 0
    seq = np.empty(n, dtype=np.int64)
    t = 0.0
    for pos in range(n):
        best_c = head
        best = np.inf
        c = head
        while c < n:
            if unit and cd[c] - t > best:
                break
            w = cw[c]
            value = max(cp[c], cd[c] - t) / w if w > 0 else np.inf
            if value < best or (value == best and cand[c] < cand[best_c]):
                best = value
                best_c = c
            c = after[c]
        seq[pos] = cand[best_c]
        t += cp[best_c]
        if best_c == head:
            head = after[best_c]
        else:
            after[before[best_c]] = after[best_c]
        if after[best_c] < n:
            before[after[best_c]] = before[best_c]
    return seq


@njit(cache=True)
def _mddc(processing, due):  # pragma: no cover - compiled
    """MDDC with pruning tests that never change the choice.

    ``urgency > max(1.1·p + t, d) >= d``, so a job whose first factor is not
    below the best urgency so far cannot become the (first) argmin and its
    three divisions are skipped; and since the scan follows ascending due
    dates (a linked list of the unscheduled jobs), it stops at the first due
    date that is not below it.
    """
    n = len(processing)
    cand = _stable_order(due, processing)
    cp = np.empty(n)
    cd = np.empty(n)
    for c in range(n):
        cp[c] = processing[cand[c]]
        cd[c] = due[cand[c]]
    after = np.arange(1, n + 1)
    before = np.arange(-1, n - 1)
    head = 0
    seq = np.empty(n, dtype=np.int64)
    t = 0.0
    remaining = float(processing.sum())
    max_p = float(processing.max())
    for pos in range(n):
        left = n - pos
        best_c = -1
        best = np.inf
        c = head
        while c < n:
            if best_c >= 0 and cd[c] >= best:
                break  # due dates ascend along the scan: no later job can win
            p = cp[c]
            urgency = max(p * 1.1 + t, cd[c])
            if best_c < 0 or urgency < best:
                rho = p / (t + max_p)
                if rho > 1.0:
                    rho = 1.0
                urgency *= 1.0 + rho**2 / (1.0 + rho**2)
                urgency += p / (t + remaining / left)
                if urgency < best or best_c < 0:
                    best = urgency
                    best_c = c
            c = after[c]
        seq[pos] = cand[best_c]
        t += cp[best_c]
        remaining -= cp[best_c]
        if best_c == head:
            head = after[best_c]
        else:
            after[before[best_c]] = after[best_c]
        if after[best_c] < n:
            before[after[best_c]] = before[best_c]
        if cp[best_c] == max_p:
            max_p = 0.0
            c = head
            while c < n:
                max_p = max(max_p, cp[c])
                c = after[c]
    return seq


# Entry kernels compile lazily; solve() compiles them before its clock starts
# (schedforge.core.warmup), so a first call does not spend its time limit compiling.


@njit(cache=True)
def augment(processing, due, weight, sequence):  # pragma: no cover - compiled
    """Bean & Hall augmentation of an append order (see the module docstring).

    Parameters
    ----------
    processing, due, weight
        int64 arrays of the instance.
    sequence
        The order in which the rule appended the jobs.

    Returns
    -------
    numpy.ndarray
        The augmented sequence.
    """
    n = len(sequence)
    out = np.empty(n, dtype=np.int64)
    completion = np.empty(n, dtype=np.int64)
    # Per position: the job's weight and tardiness, contiguous so that the
    # exact evaluation is a branch-free loop the compiler can vectorise.
    pos_weight = np.zeros(n, dtype=np.int64)
    pos_tard = np.zeros(n, dtype=np.int64)
    # Prefix sums over positions of w·[late] and w·tardiness bound what moving
    # one job to the end can save (``min(p_a·Σw, Σw·T)`` over the jobs after
    # it), so most candidates are skipped without their O(m) exact
    # evaluation; the choice is unchanged. Appending a job extends the sums
    # in O(1); a move recomputes them from the moved position on.
    late_weight = np.zeros(n + 1, dtype=np.int64)
    late_cost = np.zeros(n + 1, dtype=np.int64)
    time = 0
    for m in range(n):
        job = sequence[m]
        out[m] = job
        time += processing[job]
        completion[m] = time
        tard = max(0, time - due[job])
        pos_weight[m] = weight[job]
        pos_tard[m] = tard
        late_weight[m + 1] = late_weight[m] + (weight[job] if tard > 0 else 0)
        late_cost[m + 1] = late_cost[m] + weight[job] * tard
        if late_cost[m + 1] == late_cost[1]:
            continue  # no late job after the first position: no move can help
        best_delta = 0
        best_i = -1
        for i in range(m):
            a = out[i]
            pa = processing[a]
            increase = weight[a] * (max(0, time - due[a]) - pos_tard[i])
            saving = min(
                pa * (late_weight[m + 1] - late_weight[i + 1]),
                late_cost[m + 1] - late_cost[i + 1],
            )
            if increase - saving >= best_delta:
                continue
            saved = 0
            for k in range(i + 1, m + 1):
                saved += pos_weight[k] * min(pa, pos_tard[k])
            delta = increase - saved
            if delta < best_delta:
                best_delta = delta
                best_i = i
        if best_i >= 0:
            a = out[best_i]
            for k in range(best_i, m):
                out[k] = out[k + 1]
                completion[k] = completion[k + 1] - processing[a]
            out[m] = a
            completion[m] = time
            for k in range(best_i, m + 1):
                b = out[k]
                tard = max(0, completion[k] - due[b])
                pos_weight[k] = weight[b]
                pos_tard[k] = tard
                late_weight[k + 1] = late_weight[k] + (weight[b] if tard > 0 else 0)
                late_cost[k + 1] = late_cost[k] + weight[b] * tard
    return out


@njit(cache=True)
def kernel_sequence(processing, due, weight, code, k, augmented):  # pragma: no cover - compiled
    """The sequence of a built-in rule from plain arrays (the compiled entry point).

    Parameters
    ----------
    processing, due, weight
        int64 arrays of the instance.
    code
        The rule code (:func:`rule_code`).
    k
        ATC look-ahead parameter (ignored by the other rules).
    augmented
        Apply the Bean & Hall augmentation.
    """
    if code == _PSK:
        seq = _psk(processing, due)
    elif code == _EDDC:
        seq = _eddc(processing, due)
    elif code == _MDDC:
        seq = _mddc(processing, due)
    elif code == _ATC:
        seq = _atc(processing, due, weight, k)
    elif code == _MDD:
        seq = _mdd(processing, due, weight)
    else:
        seq = _static(processing, due, weight, code)
    if augmented:
        seq = augment(processing, due, weight, seq)
    return seq


# --------------------------------------------------------------------------
# Python layer


def rule_code(rule: str) -> tuple[int, bool]:
    """The kernel code of a rule name and whether it is augmented.

    Raises
    ------
    InvalidOption
        For a name that is not in :data:`RULES`.
    """
    augmented = rule.startswith("aug-")
    base = rule[4:] if augmented else rule
    if base not in _CODES:
        raise InvalidOption(f"unknown smtt rule {rule!r}; available: {', '.join(RULES)}")
    return _CODES[base], augmented


def _arrays(instance: SMTTInstance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable contiguous int64 copies, the kernels' signature (instance arrays are read-only)."""
    return (
        np.array(instance.processing, dtype=np.int64),
        np.array(instance.due, dtype=np.int64),
        np.array(instance.weight, dtype=np.int64),
    )


def rule_sequence(instance: SMTTInstance, rule: str, **params: Any) -> np.ndarray:
    """The job sequence a constructive rule builds for ``instance``.

    Parameters
    ----------
    instance
        An SMTT instance.
    rule
        One of :data:`RULES` (``"edd"``, ``"mddc"``, ``"aug-atc"``, ...).
    **params
        ``k`` (ATC look-ahead, default 1.0) for ``atc`` and ``aug-atc``.

    Returns
    -------
    numpy.ndarray
        int64 permutation of ``0..n-1``.

    Raises
    ------
    InvalidOption
        Unknown rule, a parameter the rule does not take, or ``k <= 0``.

    Examples
    --------
    >>> import schedforge as sf
    >>> inst = sf.generate("smtt", jobs=5, seed=1)
    >>> sorted(rule_sequence(inst, "mddc").tolist())
    [0, 1, 2, 3, 4]
    """
    code, augmented = rule_code(rule)
    k = _check_k(rule, code, params.pop("k", None))
    if params:
        raise InvalidOption(f"rule {rule!r} does not take {', '.join(sorted(params))}")
    return kernel_sequence(*_arrays(instance), code, k, augmented)


def _check_k(rule: str, code: int, k: float | None) -> float:
    if k is None:
        return DEFAULT_ATC_K
    if code != _ATC:
        raise InvalidOption(f"option k is the ATC look-ahead; rule {rule!r} does not take it")
    if not isinstance(k, int | float) or not math.isfinite(k) or k <= 0:
        raise InvalidOption(f"k must be a positive number, got {k!r}")
    return float(k)


def _tardiness(instance: SMTTInstance, sequence: np.ndarray) -> int:
    completion = np.cumsum(instance.processing[sequence])
    late = np.maximum(0, completion - instance.due[sequence])
    return int(np.dot(instance.weight[sequence], late))


@method("smtt", "rule", variants=RULES, default_stop="one constructive pass")
def solve_rule(
    instance: SMTTInstance,
    variant: str,
    *,
    budget: Budget,
    k: float | None = None,
) -> Outcome:
    """Constructive dispatching rule (numba); ``k`` is ATC's look-ahead (default 1.0).

    Rules finish in microseconds, so the budget's time limit never binds and
    its seed is unused (the rules are deterministic); single-threaded.
    """
    sequence = rule_sequence(instance, variant, **({} if k is None else {"k": k}))
    return Outcome(
        solution=SMTTSolution(sequence),
        objective=_tardiness(instance, sequence),
        stats={"rule": variant},
    )
