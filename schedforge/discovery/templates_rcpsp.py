"""The RCPSP discovery template: an activity priority for the serial SGS.

The evolved function gives every activity a priority from static features
(duration, CPM earliest start and latest finish, successor counts, resource
load); the skeleton builds a precedence-feasible activity list by
repeatedly taking the *eligible* activity of smallest priority and decodes
it with the serial schedule-generation scheme of
:mod:`schedforge.heuristics.sgs` (Kolisch 1996), the same kernels as the
``rule:*`` methods. Seeds: LFT, LST, MTS, GRPW, MSLK, SPT (Kolisch 1996,
"Serial and parallel resource-constrained project scheduling methods
revisited", EJOR 90(2)).

Sets: PSPLIB j30 (optima) for training and validation, j60 and j120 (best
known upper bounds, OR&S Solutions Update 2024) as hold-out, from the bundled
datasets ``psplib:j30``, ``psplib:j60`` and ``psplib:j120``; the ``quick`` sets
are generated ProGen-style instances with the problem's lower bound as
reference (the gap is then to a bound, an upper estimate of the true gap).
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

_ARGS = ("dur", "est", "lft", "nsucc", "nall", "grpw", "load", "cp")

_DESCRIPTION = """\
Resource-constrained project scheduling (minimise the makespan). Activities
with durations and resource demands are linked by finish-to-start
precedences; renewable resources have limited capacity. The serial
schedule-generation scheme builds an activity list: at each step, among the
activities whose predecessors are all listed (eligible), it takes the one
with the SMALLEST priority (ties to the lowest index), then starts each
activity in list order at its earliest precedence- and resource-feasible time.

Write a priority function over ALL activities (arrays of equal length) that
gives short makespans. Use only arithmetic, comparisons, if/else, for-loops
over range(...), and numpy (as np) and math functions. No imports, no file
or network access; return one finite float per activity.
"""

_SEEDS = {
    "lft": '''\
def priority(dur, est, lft, nsucc, nall, grpw, load, cp):
    """Latest finish time (Kolisch 1996)."""
    return lft * 1.0
''',
    "lst": '''\
def priority(dur, est, lft, nsucc, nall, grpw, load, cp):
    """Latest start time."""
    return lft - dur
''',
    "mts": '''\
def priority(dur, est, lft, nsucc, nall, grpw, load, cp):
    """Most total successors."""
    return -nall * 1.0
''',
    "grpw": '''\
def priority(dur, est, lft, nsucc, nall, grpw, load, cp):
    """Greatest rank positional weight."""
    return -grpw * 1.0
''',
    "mslk": '''\
def priority(dur, est, lft, nsucc, nall, grpw, load, cp):
    """Minimum slack."""
    return lft - dur - est
''',
}


def _encode(instance: Any) -> dict[str, np.ndarray]:
    """Features and the SGS arrays of an instance (converted once, in the parent)."""
    from schedforge.heuristics.rcpsp import latest_finishes, priorities
    from schedforge.heuristics.sgs import SGSData
    from schedforge.problems.rcpsp import earliest_starts

    if instance.has_deadlines:
        raise SchedforgeError(
            f"{instance.name}: the RCPSP discovery template takes instances without deadlines"
        )
    dur = instance.duration.astype(np.float64)
    est = earliest_starts(instance).astype(np.float64)
    lft = latest_finishes(instance).astype(np.float64)
    nsucc = np.bincount(instance.precedence[:, 0], minlength=len(dur)).astype(np.float64)
    capacity = np.maximum(instance.capacity, 1).astype(np.float64)
    load = (instance.demand / capacity).sum(axis=1) if instance.demand.size else dur * 0
    data = SGSData.from_instance(instance)
    arrays = {
        "dur": dur,
        "est": est,
        "lft": lft,
        "nsucc": nsucc,
        "nall": -priorities(instance, "mts"),
        "grpw": -priorities(instance, "grpw"),
        "load": np.asarray(load, dtype=np.float64),
        "cp": np.array([float(np.max(est + dur))]),
    }
    for name, value in vars(data).items():
        arrays[f"sgs_{name}"] = value
    return arrays


def _schedule(priority: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Serial SGS over the list built from ``priority`` (eligible, smallest first)."""
    from schedforge.heuristics.rcpsp import DETERMINISTIC, generate_schedule
    from schedforge.heuristics.sgs import SGSData

    n = len(arrays["dur"])
    if priority.shape != (n,):
        raise CandidateError(
            f"must return one priority per activity: expected shape ({n},), got {priority.shape}"
        )
    if not np.all(np.isfinite(priority)):
        raise CandidateError("returned NaN or infinite priorities")
    data = SGSData(**{k[4:]: v for k, v in arrays.items() if k.startswith("sgs_")})
    order = np.empty(n, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    avail = np.empty_like(data.profile)
    makespan = generate_schedule(
        0,
        np.ascontiguousarray(priority),
        DETERMINISTIC,
        1.0,
        1.0,
        data.decode_args(),
        data.parallel_args(),
        order,
        avail,
        start,
    )
    if makespan < 0:
        raise CandidateError("the serial SGS found no schedule within the horizon")
    return start


def _call(func: Callable[..., Any], arrays: dict[str, np.ndarray]) -> Any:
    # Copies: a candidate that writes into its arguments must not change the
    # features the next candidate sees in the same worker.
    args = [arrays[name].copy() for name in _ARGS[:-1]]
    return func(*args, float(arrays["cp"][0]))


def _run_python(func: Callable[..., Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
    values = _call(func, arrays)
    try:
        priority = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CandidateError(f"the priorities are not numbers ({exc})") from None
    return _schedule(priority, arrays)


def _run_numba(compiled: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    return _schedule(np.asarray(_call(compiled, arrays), dtype=np.float64), arrays)


def _signature():
    from numba import types

    arr = types.float64[:]
    return arr(arr, arr, arr, arr, arr, arr, arr, types.float64)


def _decode(instance: Any, raw: Any) -> Any:
    from schedforge.problems.rcpsp import RCPSPSolution

    return RCPSPSolution(start=np.asarray(raw, dtype=np.int64))


def _psplib_set(name: str, folder: str, index: int, groups: range) -> EvalSet:
    from schedforge.core.io import read

    instances = [read(f"psplib:{folder}/{folder}{group}_{index}") for group in groups]
    refs = [float(inst.reference) for inst in instances]
    return EvalSet(name, tuple(instances), tuple(refs), f"PSPLIB {folder}, instance {index}/group")


def _generated_set(name: str, count: int, jobs: int, seed: int) -> EvalSet:
    from schedforge.problems.rcpsp import generate, lower_bound

    instances = [generate(jobs=jobs, seed=seed + k) for k in range(count)]
    refs = tuple(float(lower_bound(i)) for i in instances)
    return EvalSet(name, tuple(instances), refs, f"generated n={jobs}, lower bound as reference")


def _joined(name: str, parts: list[EvalSet], description: str = "") -> EvalSet:
    """One set made of ``parts``."""
    return EvalSet(
        name,
        sum((p.instances for p in parts), ()),
        sum((p.references for p in parts), ()),
        description or ", ".join(p.description for p in parts),
    )


def _sets(size: str = "default") -> dict[str, EvalSet]:
    """RCPSP sets (see the module docstring); ``quick`` for tests.

    ``large`` trains on instance 3 and validates on instance 5 of PSPLIB
    j60 (every other parameter group) and j120 (every third), the sizes of
    the hold-out, which is instance 1 of its groups and is never used here.
    """
    if size == "quick":
        return {
            "train": _generated_set("train", 4, 10, 100),
            "validation": _generated_set("validation", 3, 10, 200),
            "holdout": _generated_set("holdout", 3, 12, 300),
        }
    if size not in ("default", "large"):
        raise SchedforgeError(f"unknown set size {size!r}; use default, large or quick")
    if size == "large":
        # The hold-out's sizes, other instances: j60/j120 instance 1 is the hold-out.
        train = _joined(
            "train",
            [
                _psplib_set("t60", "j60", 3, range(1, 49, 2)),
                _psplib_set("t120", "j120", 3, range(1, 61, 3)),
            ],
        )
        validation = _joined(
            "validation",
            [
                _psplib_set("v60", "j60", 5, range(2, 49, 2)),
                _psplib_set("v120", "j120", 5, range(2, 61, 3)),
            ],
        )
    else:
        train = _psplib_set("train", "j30", 1, range(1, 49, 2))
        validation = _psplib_set("validation", "j30", 2, range(2, 49, 2))
    parts = [
        _psplib_set("h60", "j60", 1, range(1, 49, 4)),
        _psplib_set("h120", "j120", 1, range(1, 61, 5)),
    ]
    holdout = _joined("holdout", parts, "PSPLIB j60 and j120, best known makespans")
    return {"train": train, "validation": validation, "holdout": holdout}


RCPSP = register_template(
    Template(
        problem="rcpsp",
        function_name="priority",
        features=(
            Feature("dur", "array", "durations of all activities"),
            Feature("est", "array", "earliest starts (critical path, ignoring resources)"),
            Feature("lft", "array", "latest finish times (backward pass from the CPM length)"),
            Feature("nsucc", "array", "number of direct successors"),
            Feature("nall", "array", "number of all (transitive) successors"),
            Feature("grpw", "array", "duration plus durations of direct successors"),
            Feature("load", "array", "sum over resources of demand / capacity"),
            Feature("cp", "scalar", "critical-path length of the project"),
        ),
        returns="a float array with one value per activity; smaller goes first",
        description=_DESCRIPTION,
        seeds=_SEEDS,
        encode=_encode,
        run_python=_run_python,
        run_numba=_run_numba,
        numba_signature=_signature,
        decode=_decode,
        sets=_sets,
        size_of=lambda arrays: 1,  # one call per instance: compiling never pays off
        gp_seeds={
            "lft": ["var", "lft"],
            "lst": ["sub", ["var", "lft"], ["var", "dur"]],
            "mts": ["neg", ["var", "nall"]],
            "grpw": ["neg", ["var", "grpw"]],
            "mslk": ["var", "slack"],
        },
        # Derived features for GP: latest start, total slack, resource work.
        gp_terminals={
            "lst": "lft - dur",
            "slack": "lft - dur - est",
            "work": "load * dur",
        },
    )
)
