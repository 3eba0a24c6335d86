"""Compile a method's numba kernels before its clock starts.

numba compiles a kernel on its first call (and stores it in its on-disk
cache, so later processes only load it). A first call inside a timed method
would spend the time limit compiling, so :func:`schedforge.solve` first runs
the chosen method on a few tiny generated instances of its family
(:data:`TINY`), first with its default options, then with the caller's:
that compiles exactly the kernels the method's code paths use, with the
dtypes every instance has (instances normalise their arrays to ``int64``
when constructed). This happens once per process
and method; ``Result.stats["compile_s"]`` reports the seconds it took, and
the method's ``runtime`` never includes them. ``schedforge warmup`` runs it
ahead of time for every method of a family.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from schedforge.core.budget import Budget
from schedforge.core.errors import SchedforgeError

# Tiny instances per family (generator parameters; ``only`` restricts one to
# the method of that name, ``options`` are method options for its run) that
# between them reach
# every compiled code path of the family's methods: unweighted SMTT, and
# weighted SMTT for the exact method only (its subset DP up to 20 jobs, its
# dominance DP above; the other methods run the same kernels on any weights,
# and a MIP would only spend seconds solving), plain and extended RCPSP, Brandimarte and
# sd2 FJSP, pods with and without GPUs and anti-affinity.
TINY: dict[str, tuple[dict[str, Any], ...]] = {
    "smtt": (
        # Seed 7: the rules' start is not optimal here, so the exact method's
        # branch and bound finds a better sequence and rebuilds it (a kernel
        # an instance solved by its start never reaches).
        {"jobs": 8, "tf": 0.6, "rdd": 0.4, "seed": 7},
        {"jobs": 9, "weighted": True, "seed": 4, "only": "exact"},
        # Late jobs enough that CP-SAT's opening slice proves nothing and the
        # dominance DP runs; a start-heuristic time long enough that its
        # iterated local search runs even after compiling its descent took
        # tens of seconds (the search itself stops by its stall rule).
        {
            "jobs": 22,
            "weighted": True,
            "tf": 0.6,
            "rdd": 0.4,
            "seed": 5,
            "only": "exact",
            "options": {"start_time_limit": 60.0},
        },
    ),
    "rcpsp": (
        {"jobs": 8, "nc": 1.8, "rf": 0.5, "rs": 0.3, "seed": 1},
        {
            "kind": "rconstraint",
            "jobs": 8,
            "levels": 3,
            "p_downtime": 0.7,
            "p_window": 0.4,
            "p_disjunctive": 0.3,
            "p_lag": 0.3,
            "tightness": 1.8,
            "seed": 2,
        },
    ),
    "fjsp": (
        {"jobs": 3, "machines": 3, "operations_per_job": (2, 3), "seed": 1},
        {"scheme": "sd2", "jobs": 3, "machines": 3, "operations_per_job": 3, "seed": 2},
    ),
    "pods": (
        {"nodes": 4, "pods_per_node": 4, "priorities": 2, "utilisation": 1.05, "seed": 1},
        {
            "nodes": 4,
            "pods_per_node": 3,
            "priorities": 2,
            "gpus": True,
            "anti_affinity": True,
            "seed": 2,
        },
    ),
}

# Seconds a tiny run with the method's default options may take: far more
# than compiling needs, so no phase is skipped for lack of time.
TINY_RUN_LIMIT = 120.0
# Seconds a tiny run with the caller's options may take. The default run has
# compiled the common kernels by then; this run reaches what the options
# switch on, and options that make even a tiny run long (``iterations=10**9``)
# cost this much, not TINY_RUN_LIMIT.
TINY_OPTIONS_RUN_LIMIT = 0.5

# A tiny run is repeated while it compiles something, at most this often.
MAX_PASSES = 5

Reporter = Callable[[str], AbstractContextManager[Any]]


def _silent(problem: str) -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


# What the CLI shows while a family compiles (a spinner); silent in the library.
_reporter: Reporter = _silent
_done: set[tuple[str, str, str]] = set()
_instances: dict[str, list[Any]] = {}


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Show ``reporter(problem)`` (a context manager) around every compilation."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield
    finally:
        _reporter = previous


def tiny_instances(problem: str) -> list[tuple[str | None, dict[str, Any], Any]]:
    """``(only, options, instance)`` for the tiny warm-up instances of ``problem`` (made once)."""
    from schedforge.core.io import generate

    if problem not in _instances:
        _instances[problem] = [
            (
                params.get("only"),
                params.get("options", {}),
                generate(
                    problem, **{k: v for k, v in params.items() if k not in ("only", "options")}
                ),
            )
            for params in TINY.get(problem, ())
        ]
    return _instances[problem]


def compile_method(problem: str, spec: str, options: dict[str, Any] | None = None) -> float:
    """Compile what ``spec`` (with ``options``) needs; seconds spent, 0 when done before.

    Runs the method on the tiny instances of its family, single-threaded,
    with its default options under a generous budget
    (:data:`TINY_RUN_LIMIT`), then, when ``options`` are given, with them
    under a short one (:data:`TINY_OPTIONS_RUN_LIMIT`), and discards the
    results. Errors are left to the
    real call, which raises them with its own instance. Methods registered
    by plugins (outside the ``schedforge`` package) are not run.
    """
    from schedforge.core.registry import resolve

    # The budget's own settings are not method options; threads do not change kernels.
    options = {
        k: v for k, v in (options or {}).items() if k not in ("time_limit", "seed", "threads")
    }
    key = (problem, spec, json.dumps(options, sort_keys=True, default=str))
    if key in _done:
        return 0.0
    entry, variant = resolve(problem, spec)
    if not entry.func.__module__.startswith("schedforge."):
        # A plugin's method: its code is unknown here, and running it on
        # other instances could cost anything (or never return).
        return 0.0
    # ``None`` where the method has a default turns a stopping rule off
    # (``stall=None``: run until the limit); a tiny run would then last the
    # whole TINY_RUN_LIMIT. The default reaches the same kernels.
    kwargs = {
        k: entry.options.get(k) if v is None and entry.options.get(k) is not None else v
        for k, v in options.items()
    }
    base = {"variant": variant} if variant is not None else {}
    default_key = (problem, spec, json.dumps({}))
    runs = [] if default_key in _done else [(base, TINY_RUN_LIMIT)]
    if options:
        runs.append(({**base, **kwargs}, TINY_OPTIONS_RUN_LIMIT))
    start = time.perf_counter()
    with _reporter(problem):
        for run_options, limit in runs:
            for only, tiny_options, instance in tiny_instances(problem):
                if only is not None and only != entry.name:
                    continue
                # A run that compiled a kernel spent part of its time (or of
                # a phase's share of it) compiling, and may have stopped
                # before the phases after it: run again until a pass
                # compiles nothing (each pass reaches further).
                for _ in range(MAX_PASSES):
                    budget = Budget(time_limit=limit, seed=0, threads=1)
                    with watch_compiles() as compiled, contextlib.suppress(SchedforgeError):
                        entry.func(instance, budget=budget, **{**run_options, **tiny_options})
                    if not compiled.seconds:
                        break
    _done.update({key, default_key})
    return time.perf_counter() - start


class _CompileTimer:
    """Seconds numba spends compiling (not loading from its cache), outermost compiles only."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._open = threading.local()

    def on_start(self, event: Any) -> None:
        depth = getattr(self._open, "depth", 0)
        if depth == 0:
            self._open.since = time.perf_counter()
        self._open.depth = depth + 1

    def on_end(self, event: Any) -> None:
        self._open.depth -= 1
        if self._open.depth == 0:
            self.seconds += time.perf_counter() - self._open.since


@contextlib.contextmanager
def watch_compiles() -> Iterator[_CompileTimer]:
    """Time every numba compilation inside the block (any thread).

    :func:`schedforge.solve` wraps the method call in it: compilation there
    means the warm-up missed a code path (``stats["compile_in_call_s"]``).
    """
    from numba.core import event

    timer = _CompileTimer()

    class Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            timer.on_start(ev)

        def on_end(self, ev: Any) -> None:
            timer.on_end(ev)

    with event.install_listener("numba:compile", Listener()):
        yield timer


def compile_family(problem: str) -> float:
    """Compile every method of ``problem`` (``schedforge warmup``); seconds spent."""
    from schedforge.core.registry import methods

    return sum(compile_method(problem, spec) for spec in methods(problem))
