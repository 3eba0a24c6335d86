"""One conformance suite over every registered method of every problem.

For each method spec: the result is a valid ``Result``, the solution passes
the independent validator (``solve`` raises otherwise), the objective equals
the evaluator, the time limit is honoured (also a tiny one, compilation kept
out of it), and the same seed with one thread gives the same result
(scikit-learn ``check_estimator``, pymoo determinism tests).
"""

from __future__ import annotations

import pytest

import schedforge as sf
from schedforge.core.registry import problems

# Small instances per problem: generator parameters. A problem module added
# to the library adds its line here.
TINY = {
    "smtt": [dict(jobs=8, tf=0.6, rdd=0.4, seed=3), dict(jobs=9, weighted=True, seed=4)],
    "rcpsp": [
        dict(jobs=8, nc=1.8, rf=0.5, rs=0.3, seed=1),
        dict(
            kind="rconstraint",
            jobs=8,
            levels=3,
            p_downtime=0.7,
            p_window=0.4,
            p_disjunctive=0.3,
            p_lag=0.3,
            tightness=1.8,
            seed=2,
        ),
    ],
    "fjsp": [
        dict(jobs=3, machines=3, operations_per_job=(2, 3), seed=1),
        dict(scheme="sd2", jobs=3, machines=3, operations_per_job=3, seed=2),
    ],
    "pods": [
        dict(nodes=4, pods_per_node=4, priorities=2, utilisation=1.05, seed=1),
        dict(nodes=4, pods_per_node=3, priorities=2, gpus=True, anti_affinity=True, seed=2),
    ],
}

TIME_LIMIT = 2.0
SLACK = 3.0  # seconds of model building and process noise tolerated on top
TINY_LIMIT = 0.05  # far below what most methods would like to spend


def _cases():
    for problem in problems():
        for spec in sf.methods(problem):
            yield pytest.param(problem, spec, id=f"{problem}-{spec}")


@pytest.mark.parametrize(("problem", "spec"), list(_cases()))
def test_method_conformance(problem, spec):
    assert problem in TINY, f"add tiny instances for {problem} to TINY"
    for params in TINY[problem]:
        instance = sf.generate(problem, **params)
        result = sf.solve(instance, spec, time_limit=TIME_LIMIT, seed=7, threads=1)
        assert isinstance(result, sf.Result)
        assert result.method == spec and result.problem == problem
        assert result.runtime >= 0
        assert result.runtime <= TIME_LIMIT + SLACK, f"{spec} ignored its time limit"
        if result.status.has_solution:
            pb = sf.get_problem(problem)
            assert pb.validate(instance, result.solution) == []
            assert result.objective == pb.objective(instance, result.solution)
            if result.bound is not None:
                assert result.bound <= result.objective + 1e-6
        again = sf.solve(instance, spec, time_limit=TIME_LIMIT, seed=7, threads=1)
        if params is TINY[problem][0]:
            # On the first tiny instance every method finishes by its own rule
            # well inside the limit: with one thread it must be reproducible.
            assert not result.stats.get("nondeterministic"), f"{spec}: nondeterministic"
        if result.status.has_solution and not result.stats.get("nondeterministic"):
            assert again.objective == result.objective, f"{spec}: same seed, different result"
            assert again.status == result.status, f"{spec}: same seed, different status"


@pytest.mark.parametrize(("problem", "spec"), list(_cases()))
def test_method_honours_a_tiny_limit(problem, spec):
    """Every phase takes its time from the budget: a tiny limit is overrun by
    seconds only if some phase ignores it. Compiling is reported apart."""
    for params in TINY[problem]:
        instance = sf.generate(problem, **params)
        result = sf.solve(instance, spec, time_limit=TINY_LIMIT, seed=1)
        assert result.runtime <= TINY_LIMIT + SLACK, f"{spec} overran a tiny limit"
        assert result.stats["compile_s"] >= 0
        if result.status.has_solution:
            assert sf.get_problem(problem).validate(instance, result.solution) == []


def test_every_problem_has_methods():
    for problem in problems():
        assert sf.methods(problem), f"{problem} has no method"
