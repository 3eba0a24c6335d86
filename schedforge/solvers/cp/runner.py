"""A small shared runner for OR-Tools CP-SAT models.

Every CP-SAT method builds its own ``cp_model.CpModel`` and hands it to
:func:`run_cp_sat`, which sets the parameters (time limit, seed, threads),
adds a solution hint, solves, and maps CP-SAT's status and bound onto
schedforge's honest :class:`~schedforge.core.result.Status`:

=================  ==============  ==========================================
CP-SAT status      schedforge      bound
=================  ==============  ==========================================
``OPTIMAL``        ``OPTIMAL``     the objective value
``FEASIBLE``       ``FEASIBLE``    ``BestObjectiveBound()`` (a proven bound)
``INFEASIBLE``     ``INFEASIBLE``  ``None``
``UNKNOWN``        ``NO_SOLUTION`` ``None`` (a limit was hit first)
``MODEL_INVALID``  raises :class:`~schedforge.core.errors.SolverError`
=================  ==============  ==========================================

Example
-------
>>> from ortools.sat.python import cp_model            # doctest: +SKIP
>>> model = cp_model.CpModel(); x = model.new_int_var(0, 9, "x")
>>> model.minimize(x)
>>> run = run_cp_sat(model, time_limit=1.0, seed=0, threads=1, hint=[(x, 3)])
>>> run.status, run.objective, run.value(x)
(<Status.OPTIMAL: 'OPTIMAL'>, 0.0, 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schedforge.core.errors import SolverError, SolverUnavailable
from schedforge.core.result import Status

__all__ = ["CPRun", "import_cp_model", "run_cp_sat"]


def import_cp_model() -> Any:
    """The ``ortools.sat.python.cp_model`` module, or :class:`SolverUnavailable`.

    Imported lazily so that ``import schedforge`` stays fast.
    """
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - ortools is a dependency
        raise SolverUnavailable(
            f"CP-SAT is not available ({exc}); install it with 'pip install ortools'"
        ) from None
    return cp_model


@dataclass
class CPRun:
    """What one CP-SAT solve produced.

    Attributes
    ----------
    status
        The mapped status (see the module docstring).
    objective
        The incumbent's objective value, or ``None`` without a solution.
    bound
        A proven lower bound of a minimisation, or ``None``.
    solver
        The ``CpSolver`` used; read variable values with :meth:`value`.
    stats
        ``cp_status``, ``wall_time``, ``branches``, ``conflicts``,
        ``threads``, ``hinted`` and ``nondeterministic``: ready to merge into
        a method's ``Outcome.stats``.
    """

    status: Status
    objective: float | None
    bound: float | None
    solver: Any
    stats: dict[str, Any] = field(default_factory=dict)

    def value(self, expr: Any) -> int:
        """The value of a variable or linear expression in the incumbent."""
        return int(self.solver.value(expr))


def run_cp_sat(
    model: Any,
    *,
    time_limit: float | None,
    seed: int,
    threads: int,
    hint: Iterable[tuple[Any, int]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> CPRun:
    """Solve a CP-SAT ``model`` with schedforge's conventions.

    Parameters
    ----------
    model
        A ``cp_model.CpModel``, minimising its objective if it has one.
    time_limit
        Wall-clock seconds for the solver call (what is left of the
        caller's budget), or ``None`` for no limit.
    seed
        CP-SAT ``random_seed``. With one worker and a proven result the run
        is reproducible; otherwise ``stats["nondeterministic"]`` is set.
    threads
        CP-SAT ``num_workers`` (>= 1). Keep it small on shared machines.
    hint
        ``(variable, value)`` pairs passed to ``model.add_hint``, e.g. the
        start times of a heuristic schedule.
    params
        Further ``SatParameters`` fields by name (``{"log_search_progress":
        True}``); an unknown name raises :class:`SolverError`.

    Returns
    -------
    CPRun

    Raises
    ------
    SolverError
        CP-SAT rejected the model (``MODEL_INVALID``) or a parameter.
    """
    cp_model = import_cp_model()
    if threads < 1:
        raise SolverError(f"threads must be >= 1, got {threads}")
    hinted = 0
    if hint is not None:
        model.clear_hints()
        for var, value in hint:
            model.add_hint(var, int(value))
            hinted += 1
    solver = cp_model.CpSolver()
    if time_limit is not None:
        # CP-SAT treats 0 as "no time at all"; a spent budget still gets a
        # token slice so the status comes back as "no solution in time".
        solver.parameters.max_time_in_seconds = max(float(time_limit), 1e-3)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(threads)
    for name, value in (params or {}).items():
        if not hasattr(solver.parameters, name):
            raise SolverError(f"unknown CP-SAT parameter {name!r}")
        setattr(solver.parameters, name, value)

    code = solver.solve(model)
    name = solver.status_name(code)
    has_objective = model.has_objective()
    if code == cp_model.MODEL_INVALID:
        raise SolverError(f"CP-SAT rejected the model: {model.validate() or 'MODEL_INVALID'}")
    if code == cp_model.OPTIMAL:
        status = Status.OPTIMAL
    elif code == cp_model.FEASIBLE:
        status = Status.FEASIBLE
    elif code == cp_model.INFEASIBLE:
        status = Status.INFEASIBLE
    else:
        status = Status.NO_SOLUTION
    objective = bound = None
    if status.has_solution and has_objective:
        objective = float(solver.objective_value)
        bound = objective if status is Status.OPTIMAL else float(solver.best_objective_bound)
    stats = {
        "cp_status": name,
        "wall_time": solver.wall_time,
        "branches": solver.num_branches,
        "conflicts": solver.num_conflicts,
        "threads": threads,
        "hinted": hinted,
        # Several workers race, and a time limit stops the search at a
        # wall-clock-dependent point: the same seed may then give another answer.
        "nondeterministic": threads > 1 or status not in (Status.OPTIMAL, Status.INFEASIBLE),
    }
    return CPRun(status=status, objective=objective, bound=bound, solver=solver, stats=stats)
