"""Numba dispatching for the flexible job shop: one compiled loop, pluggable priorities.

At every step the skeleton lists the *candidates*: each job's next
unscheduled operation paired with each of its eligible machines. It fills
one feature array per feature (one entry per candidate), asks a priority
function for one score per candidate (**lower is better**, ties to the
first candidate: jobs in index order, then the operation's machines in
instance order), schedules the best candidate at its earliest start and
repeats until every operation is placed.

Priority signature
------------------
The built-in rules and any other priority, e.g. one found by
``schedforge discover fjsp``, run in this same loop (:func:`loop`). A
priority is a numba-compiled function over the candidates of one step::

    score(dur, start, end, job_ready, ops_left, work_left, min_dur, flex,
          load, now, horizon) -> float64 array

===============  ==============================================================
``dur``          processing time of the operation on this machine
``start``        earliest start on this machine (builder-dependent)
``end``          ``start + dur``
``job_ready``    when the job's previous operation ends (or its release)
``ops_left``     unscheduled operations of the job, this one included
``work_left``    sum of mean processing times of those operations
``min_dur``      shortest processing time of the operation on any machine
``flex``         number of eligible machines of the operation
``load``         processing time already scheduled on the machine
``now``          (scalar) smallest ``start`` over all candidates of this step
``horizon``      (scalar) sum over operations of their longest processing
                 time, plus the latest release, plus one: above every end
===============  ==============================================================

The arrays are float64 and only valid during the call. The built-in rules
(:func:`builtin_priority`) combine an operation rule and a machine rule
lexicographically; :func:`compile_dispatcher` compiles the loop around any
other priority of the signature above.

Builders
--------
``active``
    the candidate's earliest start is the first idle gap on the machine,
    after the job is ready, that is long enough (insertion), so no
    operation could start earlier without delaying another;
``append``
    operations are appended after the machine's last operation;
``non-delay``
    only candidates that can start at the earliest possible time ``now``
    compete (appending), so no machine idles while work waits.

References
----------
Panwalkar, S. S., & Iskander, W. (1977). A survey of scheduling rules.
Operations Research 25(1), 45-61.
Giffler, B., & Thompson, G. L. (1960). Algorithms for solving
production-scheduling problems. Operations Research 8(4), 487-503.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, makespan

__all__ = [
    "BUILDERS",
    "MACHINE_RULES",
    "OPERATION_RULES",
    "PRIORITY_ARGS",
    "RULES",
    "best_rule_schedule",
    "builtin_priority",
    "call_score",
    "compile_dispatcher",
    "dispatch",
    "dispatch_kernel",
    "loop",
    "priority_signature",
    "run_score",
    "score_kernel",
]

OPERATION_RULES = ("fifo", "spt", "mor", "lor", "mwkr", "lwkr")
MACHINE_RULES = ("eet", "spt")
BUILDERS = ("active", "append", "non-delay")
PRIORITY_ARGS = (
    "dur",
    "start",
    "end",
    "job_ready",
    "ops_left",
    "work_left",
    "min_dur",
    "flex",
    "load",
    "now",
    "horizon",
)

# Status codes of :func:`loop`: a priority that is not built in may misbehave.
OK, WRONG_LENGTH, NOT_FINITE = 0, 1, 2


@njit(cache=True)
def builtin_priority(
    score,
    dur,
    start,
    end,
    job_ready,
    ops_left,
    work_left,
    min_dur,
    flex,
    load,
    now,
    horizon,
    params,
    out,
):  # pragma: no cover - compiled
    """Operation rule, then machine rule: ``params = [op_rule, machine_rule]``.

    Operation rules (index into :data:`OPERATION_RULES`): FIFO (earliest
    job-ready time), SPT (shortest processing time), MOR/LOR (most/least
    operations remaining), MWKR/LWKR (most/least work remaining). Machine
    rules: EET (earliest end time), SPT (shortest time on the machine).
    ``horizon`` exceeds every machine key, so the operation key dominates.
    The scores are written into ``out`` (no allocation per step); ``score``
    is unused (the slot of a priority that is not built in).
    """
    rule = int(params[0])
    machine_key = end if int(params[1]) == 0 else dur
    for i in range(len(dur)):
        if rule == 0:
            key = job_ready[i]
        elif rule == 1:
            key = min_dur[i]
        elif rule == 2:
            key = -ops_left[i]
        elif rule == 3:
            key = ops_left[i]
        elif rule == 4:
            key = -work_left[i]
        else:
            key = work_left[i]
        out[i] = key * horizon + machine_key[i]
    return out[: len(dur)]


@njit(cache=True)
def call_score(
    score,
    dur,
    start,
    end,
    job_ready,
    ops_left,
    work_left,
    min_dur,
    flex,
    load,
    now,
    horizon,
    params,
    out,
):  # pragma: no cover - compiled
    """The rule slot for a priority ``score`` of the documented signature."""
    return score(dur, start, end, job_ready, ops_left, work_left, min_dur, flex, load, now, horizon)


@njit(cache=True)
def _earliest_gap(starts, ends, count, ready, duration):  # pragma: no cover - compiled
    """(start, insertion index) of the first gap after ``ready`` that fits ``duration``."""
    t = ready
    for k in range(count):
        if t + duration <= starts[k]:
            return t, k
        if ends[k] > t:
            t = ends[k]
    return t, count


_NEVER = np.iinfo(np.int64).max


def loop(
    job_offsets,
    op_offsets,
    machines,
    durations,
    release,
    num_machines,
    builder,
    params,
    score,
):
    """The dispatching skeleton, in plain Python or compiled by numba.

    ``builder``: 0 active, 1 append, 2 non-delay. The global ``_rule``
    scores the candidates, ``_rule(score, <features>, params, out)``: in
    :data:`dispatch_kernel` it is :func:`builtin_priority` (``score`` is
    ``None``), in :func:`score_kernel` and :func:`run_score` it is
    :func:`call_score`, which calls the priority ``score``. Returns
    ``(machine, start, status)``, arrays indexed by operation and ``OK``,
    ``WRONG_LENGTH`` or ``NOT_FINITE`` (the schedule is then incomplete).
    """
    num_jobs = job_offsets.shape[0] - 1
    num_ops = op_offsets.shape[0] - 1
    mean_p = np.empty(num_ops)
    min_p = np.empty(num_ops)
    longest = 0
    for o in range(num_ops):
        lo, hi = op_offsets[o], op_offsets[o + 1]
        total = 0.0
        best = durations[lo]
        top = durations[lo]
        for a in range(lo, hi):
            total += durations[a]
            best = min(best, durations[a])
            top = max(top, durations[a])
        mean_p[o] = total / (hi - lo)
        min_p[o] = best
        longest += top
    horizon = float(longest + release.max() + 1)
    work_left = np.empty(num_ops)
    for j in range(num_jobs):
        acc = 0.0
        for o in range(job_offsets[j + 1] - 1, job_offsets[j] - 1, -1):
            acc += mean_p[o]
            work_left[o] = acc
    next_op = job_offsets[:-1].copy()
    job_ready = release.copy()
    mach_ready = np.zeros(num_machines, dtype=np.int64)
    mach_load = np.zeros(num_machines, dtype=np.int64)
    mach_count = np.zeros(num_machines, dtype=np.int64)
    mach_starts = np.zeros((num_machines, num_ops), dtype=np.int64)
    mach_ends = np.zeros((num_machines, num_ops), dtype=np.int64)
    out_machine = np.full(num_ops, -1, dtype=np.int64)
    out_start = np.zeros(num_ops, dtype=np.int64)
    max_alts = 0
    for o in range(num_ops):
        max_alts = max(max_alts, op_offsets[o + 1] - op_offsets[o])
    size = num_jobs * max_alts
    cand_start = np.zeros(size, dtype=np.int64)
    cand_slot = np.zeros(size, dtype=np.int64)
    cand_alt = np.zeros(size, dtype=np.int64)
    cand_job = np.zeros(size, dtype=np.int64)
    f_dur = np.zeros(size)
    f_start = np.zeros(size)
    f_end = np.zeros(size)
    f_ready = np.zeros(size)
    f_ops = np.zeros(size)
    f_work = np.zeros(size)
    f_min = np.zeros(size)
    f_flex = np.zeros(size)
    f_load = np.zeros(size)
    out = np.zeros(size)
    for _ in range(num_ops):
        # Pass 1: earliest start of every candidate, and the earliest of all.
        now = _NEVER
        c = 0
        for j in range(num_jobs):
            o = next_op[j]
            if o >= job_offsets[j + 1]:
                continue
            for a in range(op_offsets[o], op_offsets[o + 1]):
                m = machines[a]
                if builder == 0:
                    s, slot = _earliest_gap(
                        mach_starts[m], mach_ends[m], mach_count[m], job_ready[j], durations[a]
                    )
                else:
                    s, slot = max(job_ready[j], mach_ready[m]), mach_count[m]
                cand_start[c] = s
                cand_slot[c] = slot
                now = min(now, s)
                c += 1
        # Pass 2: the features of the competing candidates (non-delay: those
        # starting now), in their own arrays: the skeleton keeps its copy of
        # each start, so a priority that writes into its arguments changes nothing.
        k = 0
        c = 0
        for j in range(num_jobs):
            o = next_op[j]
            if o >= job_offsets[j + 1]:
                continue
            for a in range(op_offsets[o], op_offsets[o + 1]):
                s = cand_start[c]
                if builder == 2 and s != now:
                    c += 1
                    continue
                m = machines[a]
                f_dur[k] = durations[a]
                f_start[k] = s
                f_end[k] = s + durations[a]
                f_ready[k] = job_ready[j]
                f_ops[k] = job_offsets[j + 1] - o
                f_work[k] = work_left[o]
                f_min[k] = min_p[o]
                f_flex[k] = op_offsets[o + 1] - op_offsets[o]
                f_load[k] = mach_load[m]
                cand_alt[k] = a
                cand_job[k] = j
                cand_start[k] = s
                cand_slot[k] = cand_slot[c]
                k += 1
                c += 1
        values = _rule(
            score,
            f_dur[:k],
            f_start[:k],
            f_end[:k],
            f_ready[:k],
            f_ops[:k],
            f_work[:k],
            f_min[:k],
            f_flex[:k],
            f_load[:k],
            float(now),
            horizon,
            params,
            out,
        )
        if len(values) != k:
            return out_machine, out_start, WRONG_LENGTH
        best = 0
        for i in range(k):
            if not np.isfinite(values[i]):
                return out_machine, out_start, NOT_FINITE
            if values[i] < values[best]:
                best = i
        # Schedule the chosen candidate, keeping the machine's list sorted.
        a = cand_alt[best]
        j = cand_job[best]
        o = next_op[j]
        m = machines[a]
        s = cand_start[best]
        e = s + durations[a]
        slot = cand_slot[best]
        for q in range(mach_count[m], slot, -1):
            mach_starts[m, q] = mach_starts[m, q - 1]
            mach_ends[m, q] = mach_ends[m, q - 1]
        mach_starts[m, slot] = s
        mach_ends[m, slot] = e
        mach_count[m] += 1
        mach_ready[m] = max(mach_ready[m], e)
        mach_load[m] += durations[a]
        job_ready[j] = e
        next_op[j] += 1
        out_machine[o] = m
        out_start[o] = s
    return out_machine, out_start, OK


_rule = builtin_priority
dispatch_kernel = njit(cache=True)(loop)
dispatch_kernel.__doc__ = (
    """The skeleton compiled with :func:`builtin_priority` (``score=None``)."""
)


def _with_rule(rule: Callable, name: str) -> Callable:
    """A copy of :func:`loop` whose ``_rule`` is ``rule`` (same code, other global)."""
    scope = dict(loop.__globals__)
    scope["_rule"] = rule
    copy = types.FunctionType(loop.__code__, scope, name)
    # Its own qualified name: numba's disk cache is indexed by it.
    copy.__qualname__ = name
    return copy


run_score = _with_rule(call_score.py_func, "run_score")
run_score.__doc__ = """:func:`loop` in plain Python around a Python priority ``score``."""


def priority_signature():
    """The numba signature of a priority (see the module docstring)."""
    from numba import types as nb

    arr = nb.float64[:]
    return arr(arr, arr, arr, arr, arr, arr, arr, arr, arr, nb.float64, nb.float64)


def _builtin(*args):
    return dispatch_kernel(*args, None)


_score_kernels: list[Callable] = []


def score_kernel() -> Callable:
    """The skeleton compiled once for any priority passed as a first-class function.

    ``kernel(job_offsets, op_offsets, machines, durations, release,
    num_machines, builder, params, score)`` with a ``score`` compiled for
    :func:`priority_signature` (e.g. ``numba.njit(priority_signature())(f)``);
    cached on disk, so a new priority costs only its own compilation.
    """
    if not _score_kernels:
        from numba import types as nb

        i64 = nb.int64[:]
        fn = nb.FunctionType(priority_signature())
        sig = (i64, i64, i64, i64, i64, nb.int64, nb.int64, nb.float64[:], fn)
        _score_kernels.append(njit(sig, cache=True)(_with_rule(call_score, "score_loop")))
    return _score_kernels[0]


def compile_dispatcher(priority: Callable) -> Callable:
    """A kernel for :func:`dispatch` around another priority.

    Parameters
    ----------
    priority
        A ``numba.njit`` function of the signature in the module docstring;
        lower scores are scheduled first.

    Returns
    -------
    callable
        A kernel with the signature of :data:`dispatch_kernel`; pass it to
        :func:`dispatch` as ``kernel``.
    """
    compiled = njit(priority_signature())(getattr(priority, "py_func", priority))
    kernel = score_kernel()

    def custom(*args):
        # The kernel is compiled for writable arrays; instance arrays are read-only.
        arrays = [np.array(a, dtype=np.int64) for a in args[:5]]
        return kernel(*arrays, *args[5:], compiled)

    return custom


def _arrays(instance: FJSPInstance) -> tuple[np.ndarray, ...]:
    return (
        np.ascontiguousarray(instance.job_offsets, dtype=np.int64),
        np.ascontiguousarray(instance.op_offsets, dtype=np.int64),
        np.ascontiguousarray(instance.machines, dtype=np.int64),
        np.ascontiguousarray(instance.durations, dtype=np.int64),
        np.ascontiguousarray(instance.release, dtype=np.int64),
    )


def dispatch(
    instance: FJSPInstance,
    rule: str = "fifo-eet",
    *,
    builder: str = "active",
    kernel: Callable | None = None,
    params: np.ndarray | None = None,
) -> FJSPSolution:
    """Build a schedule with a dispatching rule.

    Parameters
    ----------
    instance
        The flexible job shop.
    rule
        ``"<operation rule>-<machine rule>"`` with an operation rule from
        :data:`OPERATION_RULES` and a machine rule from :data:`MACHINE_RULES`;
        ignored when ``kernel`` is given.
    builder
        ``"active"``, ``"append"`` or ``"non-delay"`` (see the module docstring).
    kernel
        A kernel from :func:`compile_dispatcher`; ``None`` uses the built-in rules.
    params
        Parameters for the built-in priority; custom kernels ignore them.

    Returns
    -------
    FJSPSolution
    """
    if builder not in BUILDERS:
        raise InvalidOption(f"builder must be one of {', '.join(BUILDERS)}, got {builder!r}")
    if kernel is None:
        op_rule, _, machine_rule = rule.partition("-")
        if op_rule not in OPERATION_RULES or machine_rule not in MACHINE_RULES:
            raise InvalidOption(
                f"unknown rule {rule!r}; expected <{'|'.join(OPERATION_RULES)}>-"
                f"<{'|'.join(MACHINE_RULES)}>"
            )
        kernel = _builtin
        params = np.array(
            [OPERATION_RULES.index(op_rule), MACHINE_RULES.index(machine_rule)], dtype=np.float64
        )
    elif params is None:
        params = np.zeros(1, dtype=np.float64)
    machine, start, status = kernel(
        *_arrays(instance),
        int(instance.num_machines),
        BUILDERS.index(builder),
        np.asarray(params, dtype=np.float64),
    )
    if status != OK:
        what = "one score per candidate" if status == WRONG_LENGTH else "finite scores"
        raise InvalidOption(f"the priority must return {what}")
    return FJSPSolution(machine=machine, start=start)


RULES = tuple(f"{o}-{m}" for o in OPERATION_RULES for m in MACHINE_RULES)


def best_rule_schedule(
    instance: FJSPInstance,
    rules: tuple[str, ...] = ("mwkr-eet", "mor-eet", "fifo-eet", "lwkr-spt"),
    builders: tuple[str, ...] = ("active", "non-delay"),
    budget: Budget | None = None,
) -> FJSPSolution:
    """The schedule of smallest makespan over a few rules and builders.

    A cheap, robust start for search methods (warm start, horizon, initial
    solution); the first one found wins ties. When ``budget`` expires no
    further rule is tried (the first always runs).
    """
    best = None
    for rule in rules:
        for builder in builders:
            if best is not None and budget is not None and budget.expired():
                return best[1]
            solution = dispatch(instance, rule, builder=builder)
            value = makespan(instance, solution.machine, solution.start)
            if best is None or value < best[0]:
                best = (value, solution)
    return best[1]


@method("fjsp", "rule", variants=RULES, default_stop="one constructive pass")
def rule_method(
    instance: FJSPInstance,
    variant: str,
    *,
    budget: Budget,
    builder: str = "active",
) -> Outcome:
    """Dispatching rule ``<operation>-<machine>`` (FIFO/SPT/MOR/LOR/MWKR/LWKR x EET/SPT).

    Deterministic, constructive and single-threaded: the budget's time limit
    and seed do not change the result (one schedule is built). Option ``builder``: ``active``
    (insertion into idle gaps, the default), ``append`` or ``non-delay``.
    """
    solution = dispatch(instance, variant, builder=builder)
    return Outcome(solution=solution, stats={"builder": builder, "rule": variant})
