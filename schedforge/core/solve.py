"""``solve()``: the one entry point that runs every method."""

from __future__ import annotations

import math
import time
from typing import Any

from schedforge.core.budget import Budget
from schedforge.core.errors import InfeasibleSolution, SolverError
from schedforge.core.registry import check_options, problem_of, resolve
from schedforge.core.result import Outcome, Result, Status, relative_gap
from schedforge.core.warmup import compile_method, watch_compiles


def solve(
    instance: Any,
    method: str,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    threads: int | None = None,
    **options: Any,
) -> Result:
    """Solve ``instance`` with ``method`` and return a checked :class:`Result`.

    The wrapper looks the method up, runs it, times it on a monotonic clock,
    validates the returned solution with the problem's independent
    validator, evaluates its objective independently, takes the method's
    bound (or the problem's own lower bound when the method has none) and
    fills ``gap``. A heuristic whose objective meets a valid bound is
    reported ``OPTIMAL``: the bound proves it. Before the clock starts it
    compiles the numba kernels the method needs (once per process, see
    :mod:`schedforge.core.warmup`) and reports the seconds in
    ``stats["compile_s"]``; ``runtime`` never includes them. A kernel that
    still compiles inside the call (a path the warm-up missed) is reported
    in ``stats["compile_in_call_s"]``.

    Parameters
    ----------
    instance
        An instance of any registered problem.
    method
        A method spec: ``"cp"``, ``"mip:highs"``, ``"rule:edd"``, ...
        (``schedforge.methods(problem)`` lists them).
    time_limit
        Wall-clock seconds for the whole method call (every phase: warm
        start, model building, solver, local search, repair), or ``None``
        for the method's own stopping rule (``Method.default_stop``; the
        README's table lists them).
    seed
        Seed for every random choice, ``0 <= seed < 2**31``; the same seed
        with ``threads=1`` gives the same result.
    threads
        Threads the method may use (>= 1), or ``None`` for its documented
        default.
    **options
        Method-specific options; names the method does not accept raise
        :class:`~schedforge.core.errors.InvalidOption`.

    Returns
    -------
    Result

    Raises
    ------
    UnknownMethod
        The spec is not registered for the instance's problem.
    InvalidOption
        An option name the method does not accept, or a bad time limit,
        seed or thread count.
    InfeasibleSolution
        The method returned a solution that fails validation (a bug).
    """
    problem = problem_of(instance)
    entry, variant = resolve(problem.name, method)
    check_options(entry, method, options)
    # Validates the limit, seed and threads before anything runs.
    Budget(time_limit=time_limit, seed=seed, threads=threads)

    kwargs: dict[str, Any] = dict(options)
    if variant is not None:
        kwargs["variant"] = variant
    # Compilation happens here, before the clock, once per process and method.
    compile_s = compile_method(problem.name, method, options)
    # The clock starts here, after lookup and validation: one budget for the call.
    budget = Budget(
        time_limit=time_limit, seed=seed, threads=entry.threads if threads is None else threads
    )
    with watch_compiles() as compiled:
        outcome = entry.func(instance, budget=budget, **kwargs)
    runtime = time.perf_counter() - budget.start
    if not isinstance(outcome, Outcome):
        raise SolverError(f"method {method!r} returned {type(outcome).__name__}, not Outcome")
    result = _checked_result(instance, problem, method, seed, outcome, runtime)
    # Kept out of runtime; stats tell how long compiling took (0 when cached in this process).
    result.stats["compile_s"] = round(compile_s, 4)
    if compiled.seconds:
        # A code path the warm-up did not reach compiled inside the limit.
        result.stats["compile_in_call_s"] = round(compiled.seconds, 4)
    return result


def _checked_result(instance, problem, spec: str, seed: int, outcome: Outcome, runtime: float):
    """Validate, evaluate and wrap a method's outcome."""
    solution = outcome.solution
    status = outcome.status
    objective = None
    if solution is not None:
        violations = problem.validate(instance, solution)
        if violations:
            shown = "; ".join(violations[:5])
            more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
            raise InfeasibleSolution(
                f"method {spec!r} returned an invalid solution for {instance.name}: {shown}{more}"
            )
        objective = problem.objective(instance, solution)
        if outcome.objective is not None and not math.isclose(
            outcome.objective, objective, rel_tol=1e-9, abs_tol=1e-6
        ):
            raise InfeasibleSolution(
                f"method {spec!r} reports objective {outcome.objective} for {instance.name} "
                f"but the evaluator gives {objective}"
            )
        status = status or Status.FEASIBLE
        if not status.has_solution:
            raise SolverError(f"method {spec!r} returned a solution with status {status}")
    else:
        status = status or Status.NO_SOLUTION
        if status.has_solution:
            raise SolverError(f"method {spec!r} reports {status} but returned no solution")

    bound = outcome.bound
    if status is Status.INFEASIBLE:
        bound = None
    elif status is Status.OPTIMAL:
        bound = objective
    elif problem.lower_bound is not None:
        own = problem.lower_bound(instance)
        bound = own if bound is None else max(bound, own)
    if objective is not None and bound is not None:
        if bound > objective + 1e-6:
            raise SolverError(
                f"method {spec!r}: bound {bound} exceeds its own objective {objective} "
                f"on {instance.name}"
            )
        if objective <= bound:
            status = Status.OPTIMAL
    return Result(
        status=status,
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        solution=solution,
        runtime=runtime,
        method=spec,
        seed=seed,
        stats=dict(outcome.stats),
        problem=problem.name,
        instance=instance.name,
    )
