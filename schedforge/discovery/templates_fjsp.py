"""The FJSP discovery template: a score over (operation, machine) pairs for a dispatcher.

At every step the skeleton lists the candidates, i.e. each job's next
operation paired with each eligible machine, computes their features as
arrays, asks the evolved function for one score per candidate and
schedules the candidate of **smallest** score at its earliest start, which is
the first idle gap on the machine long enough for it, after the job is
ready (an *active* schedule builder with insertion, as in Giffler &
Thompson 1960). The same loop function runs as plain Python (calling a
Python candidate) or compiled by numba with the candidate as a first-class
function. Seeds combine the classic operation rules with EET (earliest end
time) for the machine: FIFO, SPT, MOR and MWKR (Panwalkar & Iskander 1977;
Brandimarte 1993).

Sets: Fattahi et al. (2007) SFJS/MFJS (optima) for training, Brandimarte
(1993) Mk01-05 for validation, Mk06-10 and Barnes' mt10 instances for
hold-out, with the known optima or best upper bounds (the bundled datasets
``fjsp:fattahi``, ``fjsp:brandimarte``, ``fjsp:barnes``); the ``quick`` sets
are generated instances with the problem's lower bound as reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.templates import (
    CandidateError,
    EvalSet,
    Feature,
    Template,
    register_template,
)

_DESCRIPTION = """\
Flexible job shop (minimise the makespan). Each job is a chain of
operations; each operation can run on one of several machines, with a
machine-dependent processing time. A dispatcher builds the schedule: at each
step the candidates are every job's next unscheduled operation paired with
each of its eligible machines; your function scores all candidates at once
and the candidate with the SMALLEST score is scheduled (ties to the first),
at its earliest start on that machine.

Write a scoring function (arrays of equal length, one entry per candidate)
that gives short makespans. Use only arithmetic, comparisons, if/else,
for-loops over range(...), and numpy (as np) and math functions. No
imports, no file or network access; return one finite float per candidate.
"""

_SIG = "def score(dur, start, end, job_ready, ops_left, work_left, min_dur, flex, load, now):"
_SEEDS = {
    "eet": f'{_SIG}\n    """Earliest end time."""\n    return end * 1.0\n',
    "fifo_eet": f'{_SIG}\n    """FIFO, then earliest end time."""\n    return job_ready * 1000.0 + end\n',
    "spt_eet": f'{_SIG}\n    """Shortest processing time, then EET."""\n    return min_dur * 1000.0 + end\n',
    "mor_eet": f'{_SIG}\n    """Most operations remaining, then EET."""\n    return -ops_left * 1000.0 + end\n',
    "mwkr_eet": f'{_SIG}\n    """Most work remaining, then EET."""\n    return -work_left * 1000.0 + end\n',
}


def fjsp_loop(job_offsets, op_offsets, machines, durations, release, num_machines, score):
    """The dispatcher (plain Python, or compiled by numba around a compiled ``score``).

    Returns ``(machine, start, status)`` with ``status`` 0 on success, 1 when
    the scores have the wrong length, 2 when one is not finite.
    """
    num_jobs = job_offsets.shape[0] - 1
    num_ops = op_offsets.shape[0] - 1
    mean_p = np.zeros(num_ops)
    min_p = np.zeros(num_ops)
    for o in range(num_ops):
        total = 0.0
        best = durations[op_offsets[o]]
        for a in range(op_offsets[o], op_offsets[o + 1]):
            total += durations[a]
            best = min(best, durations[a])
        mean_p[o] = total / (op_offsets[o + 1] - op_offsets[o])
        min_p[o] = best
    work_left = np.zeros(num_ops)
    for j in range(num_jobs):
        acc = 0.0
        for o in range(job_offsets[j + 1] - 1, job_offsets[j] - 1, -1):
            acc += mean_p[o]
            work_left[o] = acc
    next_op = job_offsets[:-1].copy()
    job_ready = release.copy()
    mach_load = np.zeros(num_machines)
    mach_count = np.zeros(num_machines, dtype=np.int64)
    mach_starts = np.zeros((num_machines, num_ops), dtype=np.int64)
    mach_ends = np.zeros((num_machines, num_ops), dtype=np.int64)
    out_machine = np.full(num_ops, -1, dtype=np.int64)
    out_start = np.zeros(num_ops, dtype=np.int64)
    size = len(machines)
    f_dur = np.zeros(size)
    f_start = np.zeros(size)
    f_end = np.zeros(size)
    f_ready = np.zeros(size)
    f_ops = np.zeros(size)
    f_work = np.zeros(size)
    f_min = np.zeros(size)
    f_flex = np.zeros(size)
    f_load = np.zeros(size)
    c_alt = np.zeros(size, dtype=np.int64)
    c_job = np.zeros(size, dtype=np.int64)
    c_slot = np.zeros(size, dtype=np.int64)
    # The skeleton keeps its own copy of each start: the feature arrays are
    # handed to the candidate, which may write into them.
    c_start = np.zeros(size, dtype=np.int64)
    for _ in range(num_ops):
        c = 0
        now = np.inf
        for j in range(num_jobs):
            o = next_op[j]
            if o >= job_offsets[j + 1]:
                continue
            for a in range(op_offsets[o], op_offsets[o + 1]):
                m = machines[a]
                # First idle gap on m after the job is ready that fits (insertion).
                s = job_ready[j]
                slot = mach_count[m]
                for k in range(mach_count[m]):
                    if s + durations[a] <= mach_starts[m, k]:
                        slot = k
                        break
                    s = max(s, mach_ends[m, k])
                f_dur[c] = durations[a]
                f_start[c] = s
                f_end[c] = s + durations[a]
                f_ready[c] = job_ready[j]
                f_ops[c] = job_offsets[j + 1] - o
                f_work[c] = work_left[o]
                f_min[c] = min_p[o]
                f_flex[c] = op_offsets[o + 1] - op_offsets[o]
                f_load[c] = mach_load[m]
                c_alt[c] = a
                c_job[c] = j
                c_slot[c] = slot
                c_start[c] = s
                now = min(now, float(s))
                c += 1
        values = score(
            f_dur[:c],
            f_start[:c],
            f_end[:c],
            f_ready[:c],
            f_ops[:c],
            f_work[:c],
            f_min[:c],
            f_flex[:c],
            f_load[:c],
            now,
        )
        if len(values) != c:
            return out_machine, out_start, 1
        best = 0
        for i in range(c):
            if not np.isfinite(values[i]):
                return out_machine, out_start, 2
            if values[i] < values[best]:
                best = i
        a = c_alt[best]
        j = c_job[best]
        o = next_op[j]
        m = machines[a]
        s = c_start[best]
        slot = c_slot[best]
        for k in range(mach_count[m], slot, -1):
            mach_starts[m, k] = mach_starts[m, k - 1]
            mach_ends[m, k] = mach_ends[m, k - 1]
        mach_starts[m, slot] = s
        mach_ends[m, slot] = s + durations[a]
        mach_count[m] += 1
        mach_load[m] += durations[a]
        job_ready[j] = s + durations[a]
        next_op[j] += 1
        out_machine[o] = m
        out_start[o] = s
    return out_machine, out_start, 0


def _encode(instance: Any) -> dict[str, np.ndarray]:
    return {
        "job_offsets": np.array(instance.job_offsets, dtype=np.int64),
        "op_offsets": np.array(instance.op_offsets, dtype=np.int64),
        "machines": np.array(instance.machines, dtype=np.int64),
        "durations": np.array(instance.durations, dtype=np.int64),
        "release": np.array(instance.release, dtype=np.int64),
        "num_machines": np.array([int(instance.num_machines)], dtype=np.int64),
    }


def _args(arrays: dict[str, np.ndarray]) -> tuple:
    return (
        arrays["job_offsets"],
        arrays["op_offsets"],
        arrays["machines"],
        arrays["durations"],
        arrays["release"],
        int(arrays["num_machines"][0]),
    )


def _finish(result: tuple) -> np.ndarray:
    machine, start, status = result
    if status == 1:
        raise CandidateError("must return one score per candidate (wrong length)")
    if status == 2:
        raise CandidateError("returned NaN or infinite scores")
    return np.stack([machine, start])


def _checked(func: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """Wrap a Python candidate: its output must be a float array of the right length."""

    def wrapped(*args):
        values = func(*args)
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CandidateError(f"the scores are not numbers ({exc})") from None
        if arr.shape != (len(args[0]),):
            raise CandidateError(
                f"must return one score per candidate: expected shape ({len(args[0])},), "
                f"got {arr.shape}"
            )
        return arr

    return wrapped


def _run_python(func: Callable[..., Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
    return _finish(fjsp_loop(*_args(arrays), _checked(func)))


_kernel: list[Any] = []


def _run_numba(compiled: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if not _kernel:
        from numba import njit, types

        i64 = types.int64[:]
        fn = types.FunctionType(_signature())
        _kernel.append(njit((i64, i64, i64, i64, i64, types.int64, fn), cache=True)(fjsp_loop))
    return _finish(_kernel[0](*_args(arrays), compiled))


def _signature():
    from numba import types

    arr = types.float64[:]
    return arr(arr, arr, arr, arr, arr, arr, arr, arr, arr, types.float64)


def _decode(instance: Any, raw: Any) -> Any:
    from schedforge.problems.fjsp import FJSPSolution

    machine, start = raw
    return FJSPSolution(machine=np.asarray(machine), start=np.asarray(start))


def _public_set(name: str, members: list[str]) -> EvalSet:
    from schedforge.core.io import read

    instances = [read(f"fjsp:{member}") for member in members]
    refs = tuple(float(i.reference) for i in instances)
    return EvalSet(name, tuple(instances), refs, f"{len(instances)} public FJSP instances")


def _generated_set(name: str, count: int, jobs: int, seed: int) -> EvalSet:
    from schedforge.problems.fjsp import generate, lower_bound

    instances = [
        generate(jobs=jobs, machines=3, operations_per_job=3, seed=seed + k) for k in range(count)
    ]
    refs = tuple(float(lower_bound(i)) for i in instances)
    return EvalSet(name, tuple(instances), refs, f"generated {jobs} jobs, lower bound reference")


def _sets(size: str = "default") -> dict[str, EvalSet]:
    """Default FJSP sets (see the module docstring); ``quick`` for tests."""
    if size == "quick":
        return {
            "train": _generated_set("train", 3, 4, 100),
            "validation": _generated_set("validation", 2, 4, 200),
            "holdout": _generated_set("holdout", 2, 5, 300),
        }
    if size != "default":
        raise SchedforgeError(f"unknown set size {size!r}; use default or quick")
    fattahi = [f"fattahi/{k}FJS{i}" for k in ("S", "M") for i in range(1, 11)]
    train = _public_set("train", fattahi)
    validation = _public_set("validation", [f"brandimarte/Mk0{i}" for i in range(1, 6)])
    holdout = _public_set(
        "holdout",
        [f"brandimarte/Mk{i:02d}" for i in range(6, 11)]
        + [f"barnes/mt10{s}" for s in ("c1", "cc", "x", "xx", "xxx", "xy", "xyz")],
    )
    return {"train": train, "validation": validation, "holdout": holdout}


FJSP = register_template(
    Template(
        problem="fjsp",
        function_name="score",
        features=(
            Feature("dur", "array", "processing time of the operation on this machine"),
            Feature("start", "array", "earliest start of the operation on this machine"),
            Feature("end", "array", "start + dur"),
            Feature("job_ready", "array", "when the job's previous operation ends"),
            Feature("ops_left", "array", "unscheduled operations of the job, this one included"),
            Feature("work_left", "array", "mean processing time of those operations, summed"),
            Feature("min_dur", "array", "shortest processing time of the operation on any machine"),
            Feature("flex", "array", "number of machines that can process the operation"),
            Feature("load", "array", "processing time already scheduled on this machine"),
            Feature("now", "scalar", "smallest start over all candidates of this step"),
        ),
        returns="a float array, one score per candidate; the smallest is scheduled",
        description=_DESCRIPTION,
        seeds=_SEEDS,
        encode=_encode,
        run_python=_run_python,
        run_numba=_run_numba,
        numba_signature=_signature,
        decode=_decode,
        sets=_sets,
        size_of=lambda arrays: len(arrays["op_offsets"]) - 1,
        gp_seeds={
            "eet": ["var", "end"],
            "mwkr_eet": ["add", ["mul", ["const", -1000.0], ["var", "work_left"]], ["var", "end"]],
        },
    )
)
