"""The FJSP discovery template: a score over (operation, machine) pairs for a dispatcher.

At every step the skeleton lists the candidates, i.e. each job's next
operation paired with each eligible machine, computes their features as
arrays, asks the evolved function for one score per candidate and
schedules the candidate of **smallest** score at its earliest start, which is
the first idle gap on the machine long enough for it, after the job is
ready (an *active* schedule builder with insertion, as in Giffler &
Thompson 1960). The same loop function runs as plain Python (calling a
Python candidate) or compiled by numba with the candidate as a first-class
function; it is the loop of the built-in ``rule:*`` methods,
:func:`schedforge.heuristics.dispatch.loop`, so an evolved score runs in
exactly the code the built-in rules run in. Seeds are built-in rules
written as scores (a test checks they give the built-in schedules): EET
alone, and FIFO, SPT, MOR, MWKR and LWKR with EET for the machine
(Panwalkar & Iskander 1977; Brandimarte 1993).

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
from schedforge.heuristics.dispatch import (
    NOT_FINITE,
    PRIORITY_ARGS,
    WRONG_LENGTH,
    priority_signature,
    run_score,
    score_kernel,
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

_SIG = f"def score({', '.join(PRIORITY_ARGS)}):"
_SEEDS = {
    "eet": f'{_SIG}\n    """Earliest end time."""\n    return end * 1.0\n',
    "fifo_eet": f'{_SIG}\n    """FIFO, then earliest end time."""\n    return job_ready * horizon + end\n',
    "spt_eet": f'{_SIG}\n    """Shortest processing time, then EET."""\n    return min_dur * horizon + end\n',
    "mor_eet": f'{_SIG}\n    """Most operations remaining, then EET."""\n    return -ops_left * horizon + end\n',
    "mwkr_eet": f'{_SIG}\n    """Most work remaining, then EET."""\n    return -work_left * horizon + end\n',
    "lwkr_eet": f'{_SIG}\n    """Least work remaining, then EET."""\n    return work_left * horizon + end\n',
}


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
        0,  # the active builder
        np.zeros(1),  # no parameters
    )


def _finish(result: tuple) -> np.ndarray:
    machine, start, status = result
    if status == WRONG_LENGTH:
        raise CandidateError("must return one score per candidate (wrong length)")
    if status == NOT_FINITE:
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
    return _finish(run_score(*_args(arrays), _checked(func)))


def _run_numba(compiled: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    return _finish(score_kernel()(*_args(arrays), compiled))


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
            Feature(
                "horizon",
                "scalar",
                "sum over operations of their longest processing time, plus the latest "
                "release, plus 1: larger than any end time",
            ),
        ),
        returns="a float array, one score per candidate; the smallest is scheduled",
        description=_DESCRIPTION,
        seeds=_SEEDS,
        encode=_encode,
        run_python=_run_python,
        run_numba=_run_numba,
        numba_signature=priority_signature,
        decode=_decode,
        sets=_sets,
        size_of=lambda arrays: len(arrays["op_offsets"]) - 1,
        gp_seeds={
            "eet": ["var", "end"],
            "mwkr_eet": [
                "add",
                ["mul", ["neg", ["var", "work_left"]], ["var", "horizon"]],
                ["var", "end"],
            ],
        },
    )
)
