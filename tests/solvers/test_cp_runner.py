"""The shared CP-SAT runner: parameters, hints and honest status mapping."""

from __future__ import annotations

import pytest

from schedforge.core.errors import SolverError
from schedforge.core.result import Status
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat


def test_optimal_with_hint():
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    x = model.new_int_var(0, 9, "x")
    y = model.new_int_var(0, 9, "y")
    model.add(x + y >= 7)
    model.minimize(2 * x + 3 * y)
    run = run_cp_sat(model, time_limit=5, seed=0, threads=1, hint=[(x, 7), (y, 0)])
    assert run.status is Status.OPTIMAL
    assert run.objective == run.bound == 14
    assert (run.value(x), run.value(y)) == (7, 0)
    assert run.stats["hinted"] == 2
    assert run.stats["nondeterministic"] is False


def test_infeasible_is_proven():
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    x = model.new_int_var(0, 3, "x")
    model.add(x >= 5)
    model.minimize(x)
    run = run_cp_sat(model, time_limit=5, seed=0, threads=1)
    assert run.status is Status.INFEASIBLE
    assert run.objective is None and run.bound is None


def test_bad_parameter_and_threads():
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    model.new_int_var(0, 3, "x")
    with pytest.raises(SolverError, match="unknown CP-SAT parameter"):
        run_cp_sat(model, time_limit=1, seed=0, threads=1, params={"no_such_param": 1})
    with pytest.raises(SolverError, match="threads"):
        run_cp_sat(model, time_limit=1, seed=0, threads=0)


def test_extra_parameters_are_applied():
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    x = model.new_int_var(0, 3, "x")
    model.minimize(x)
    run = run_cp_sat(model, time_limit=1, seed=0, threads=1, params={"max_number_of_conflicts": 5})
    assert run.status is Status.OPTIMAL
    assert run.solver.parameters.max_number_of_conflicts == 5
