"""Numba dispatching for the flexible job shop: one compiled loop, pluggable priorities.

At every step the skeleton lists the *candidates*: each job's next
unscheduled operation paired with each of its eligible machines. It writes a
row of features for every candidate, asks a priority function for a score
(**lower is better**), schedules the best candidate at its earliest start
and repeats until every operation is placed.

Priority signature
------------------
``priority(features, params) -> float``, compiled with ``numba.njit``, where
``features`` is a ``float64`` vector indexed by the ``F_*`` constants below
and ``params`` a ``float64`` vector of parameters the caller passes through:

==================  =========================================================
``F_DURATION``      processing time of the operation on this machine
``F_START``         earliest start on this machine (builder-dependent)
``F_END``           ``F_START + F_DURATION``
``F_JOB_READY``     when the job's previous operation ends (or its release)
``F_MACHINE_READY`` when the machine's last scheduled operation ends
``F_OPS_LEFT``      unscheduled operations of the job, this one included
``F_WORK_LEFT``     sum of mean processing times of those operations
``F_MIN_DURATION``  shortest processing time of the operation on any machine
``F_MEAN_DURATION`` mean processing time of the operation over its machines
``F_FLEXIBILITY``   number of eligible machines of the operation
``F_JOB``           job index
``F_NOW``           smallest ``F_START`` over all candidates of this step
``F_MACHINE_LOAD``  processing time already scheduled on the machine
``F_DUE``           due date of the job (0 when the instance has none)
``F_POSITION``      position of the operation in its job (0-based)
==================  =========================================================

The built-in rules (:func:`builtin_priority`) combine an operation rule and a
machine rule lexicographically; :func:`compile_dispatcher` compiles the same
loop around any other priority, e.g. an evolved one.

Builders
--------
``active``
    the candidate's earliest start is the first idle gap on the machine,
    after the job is ready, that is long enough (insertion), so no
    operation could start earlier without delaying another;
``append``
    operations are appended after the machine's last operation;
``non-delay``
    only candidates that can start at the earliest possible time ``F_NOW``
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
    "RULES",
    "best_rule_schedule",
    "builtin_priority",
    "compile_dispatcher",
    "dispatch",
    "dispatch_kernel",
]

(
    F_DURATION,
    F_START,
    F_END,
    F_JOB_READY,
    F_MACHINE_READY,
    F_OPS_LEFT,
    F_WORK_LEFT,
    F_MIN_DURATION,
    F_MEAN_DURATION,
    F_FLEXIBILITY,
    F_JOB,
    F_NOW,
    F_MACHINE_LOAD,
    F_DUE,
    F_POSITION,
) = range(15)
NUM_FEATURES = 15

OPERATION_RULES = ("fifo", "spt", "mor", "lor", "mwkr", "lwkr")
MACHINE_RULES = ("eet", "spt")
BUILDERS = ("active", "append", "non-delay")


@njit(cache=True)
def builtin_priority(features, params):
    """Operation rule, then machine rule: ``params = [op_rule, machine_rule, scale]``.

    Operation rules (index into :data:`OPERATION_RULES`): FIFO (earliest
    job-ready time), SPT (shortest processing time), MOR/LOR (most/least
    operations remaining), MWKR/LWKR (most/least work remaining). Machine
    rules: EET (earliest end time), SPT (shortest time on the machine).
    ``scale`` exceeds every machine key, so the operation key dominates.
    """
    rule = int(params[0])
    if rule == 0:
        key = features[F_JOB_READY]
    elif rule == 1:
        key = features[F_MIN_DURATION]
    elif rule == 2:
        key = -features[F_OPS_LEFT]
    elif rule == 3:
        key = features[F_OPS_LEFT]
    elif rule == 4:
        key = -features[F_WORK_LEFT]
    else:
        key = features[F_WORK_LEFT]
    if int(params[1]) == 0:
        return key * params[2] + features[F_END]
    return key * params[2] + features[F_DURATION]


@njit(cache=True)
def _earliest_gap(starts, ends, count, ready, duration):
    """(start, insertion index) of the first gap after ``ready`` that fits ``duration``."""
    t = ready
    for k in range(count):
        if t + duration <= starts[k]:
            return t, k
        if ends[k] > t:
            t = ends[k]
    return t, count


_NEVER = np.iinfo(np.int64).max
_priority = builtin_priority  # the priority the cached kernel is compiled with


def _dispatch_loop(
    job_offsets, op_offsets, machines, durations, release, due, num_machines, builder, params
):
    """The dispatching skeleton (compiled by numba; see the module docstring).

    ``builder``: 0 active, 1 append, 2 non-delay. Returns ``(machine, start)``
    arrays indexed by operation. The priority is the global ``_priority``.
    """
    num_jobs = job_offsets.shape[0] - 1
    num_ops = op_offsets.shape[0] - 1
    mean_p = np.empty(num_ops)
    min_p = np.empty(num_ops)
    for o in range(num_ops):
        lo, hi = op_offsets[o], op_offsets[o + 1]
        total = 0.0
        best = durations[lo]
        for a in range(lo, hi):
            total += durations[a]
            best = min(best, durations[a])
        mean_p[o] = total / (hi - lo)
        min_p[o] = best
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
    cand_start = np.zeros(num_jobs * max_alts, dtype=np.int64)
    cand_slot = np.zeros(num_jobs * max_alts, dtype=np.int64)
    features = np.zeros(NUM_FEATURES)
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
        # Pass 2: score the candidates (non-delay: only those starting now).
        best_score = np.inf
        best_a = -1
        best_j = -1
        best_c = -1
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
                features[F_DURATION] = durations[a]
                features[F_START] = s
                features[F_END] = s + durations[a]
                features[F_JOB_READY] = job_ready[j]
                features[F_MACHINE_READY] = mach_ready[m]
                features[F_OPS_LEFT] = job_offsets[j + 1] - o
                features[F_WORK_LEFT] = work_left[o]
                features[F_MIN_DURATION] = min_p[o]
                features[F_MEAN_DURATION] = mean_p[o]
                features[F_FLEXIBILITY] = op_offsets[o + 1] - op_offsets[o]
                features[F_JOB] = j
                features[F_NOW] = now
                features[F_MACHINE_LOAD] = mach_load[m]
                features[F_DUE] = due[j]
                features[F_POSITION] = o - job_offsets[j]
                score = _priority(features, params)
                if score < best_score or best_a < 0:
                    best_score = score
                    best_a = a
                    best_j = j
                    best_c = c
                c += 1
        # Schedule the chosen candidate, keeping the machine's list sorted.
        o = next_op[best_j]
        m = machines[best_a]
        s = cand_start[best_c]
        e = s + durations[best_a]
        slot = cand_slot[best_c]
        for k in range(mach_count[m], slot, -1):
            mach_starts[m, k] = mach_starts[m, k - 1]
            mach_ends[m, k] = mach_ends[m, k - 1]
        mach_starts[m, slot] = s
        mach_ends[m, slot] = e
        mach_count[m] += 1
        mach_ready[m] = max(mach_ready[m], e)
        mach_load[m] += durations[best_a]
        job_ready[best_j] = e
        next_op[best_j] += 1
        out_machine[o] = m
        out_start[o] = s
    return out_machine, out_start


dispatch_kernel = njit(cache=True)(_dispatch_loop)


def compile_dispatcher(priority: Callable) -> Callable:
    """The dispatching loop compiled around another ``priority`` (not cached on disk).

    Parameters
    ----------
    priority
        A ``numba.njit`` function ``priority(features, params) -> float``
        (see the module docstring); lower scores are scheduled first.

    Returns
    -------
    callable
        A kernel with the signature of :data:`dispatch_kernel`; pass it to
        :func:`dispatch` as ``kernel``.
    """
    scope = dict(_dispatch_loop.__globals__)
    scope["_priority"] = priority
    loop = types.FunctionType(_dispatch_loop.__code__, scope, "dispatch_custom")
    return njit(loop)


def _arrays(instance: FJSPInstance) -> tuple[np.ndarray, ...]:
    due = np.zeros(instance.num_jobs, dtype=np.int64) if instance.due is None else instance.due
    return (
        np.ascontiguousarray(instance.job_offsets),
        np.ascontiguousarray(instance.op_offsets),
        np.ascontiguousarray(instance.machines),
        np.ascontiguousarray(instance.durations),
        np.ascontiguousarray(instance.release),
        np.ascontiguousarray(due, dtype=np.int64),
    )


def _scale(instance: FJSPInstance) -> float:
    """A number above every machine key (any end time or duration)."""
    longest = np.maximum.reduceat(instance.durations, instance.op_offsets[:-1]).sum()
    return float(longest + instance.release.max() + 1)


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
        Parameters for a custom kernel's priority (``float64`` vector).

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
        kernel = dispatch_kernel
        params = np.array(
            [
                OPERATION_RULES.index(op_rule),
                MACHINE_RULES.index(machine_rule),
                _scale(instance),
            ],
            dtype=np.float64,
        )
    elif params is None:
        params = np.zeros(1, dtype=np.float64)
    machine, start = kernel(
        *_arrays(instance),
        int(instance.num_machines),
        BUILDERS.index(builder),
        np.asarray(params, dtype=np.float64),
    )
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
