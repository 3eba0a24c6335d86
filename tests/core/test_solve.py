"""The solve() wrapper: lookup, options, validation, bound and gap."""

from __future__ import annotations

import math

import numpy as np
import pytest

import schedforge as sf
from schedforge.core import registry
from schedforge.core.result import Outcome, Status, relative_gap
from schedforge.problems.smtt import SMTTSolution


@pytest.fixture
def fake_methods():
    """Register throwaway smtt methods for the duration of one test."""
    added = []

    def add(name, func, **kw):
        kw.setdefault("default_stop", "one pass")
        registry.method("smtt", name, **kw)(func)
        added.append(("smtt", name))

    yield add
    for key in added:
        registry._methods.pop(key, None)


def identity(instance, *, budget, reverse: bool = False):
    seq = np.arange(instance.num_jobs)
    return Outcome(SMTTSolution(seq[::-1] if reverse else seq))


def broken(instance, *, budget):
    return Outcome(SMTTSolution([0, 0]))


def liar(instance, *, budget):
    return Outcome(SMTTSolution(np.arange(instance.num_jobs)), objective=-1)


def test_solve_validates_times_and_fills_gap(fake_methods):
    fake_methods("test-identity", identity)
    inst = sf.generate("smtt", jobs=6, seed=0)
    res = sf.solve(inst, "test-identity", reverse=True)
    assert res.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert res.objective == sf.get_problem("smtt").objective(inst, res.solution)
    assert res.bound is not None and res.bound <= res.objective
    assert res.gap == relative_gap(res.objective, res.bound)
    assert res.runtime >= 0
    assert res.to_dict()["solution"]["sequence"] == list(range(6))[::-1]


def test_invalid_solution_fails_loudly(fake_methods):
    fake_methods("test-broken", broken)
    fake_methods("test-liar", liar)
    inst = sf.generate("smtt", jobs=4, seed=0)
    with pytest.raises(sf.InfeasibleSolution, match="not scheduled"):
        sf.solve(inst, "test-broken")
    with pytest.raises(sf.InfeasibleSolution, match="evaluator"):
        sf.solve(inst, "test-liar")


def test_unknown_method_lists_valid_ones(fake_methods):
    fake_methods("test-identity", identity)
    inst = sf.generate("smtt", jobs=4, seed=0)
    with pytest.raises(sf.UnknownMethod, match=r"available: .*test-identity"):
        sf.solve(inst, "test-identiy")
    with pytest.raises(sf.UnknownMethod):
        sf.solve(inst, "test-identity:variant")


def test_unknown_option_fails_loudly(fake_methods):
    fake_methods("test-identity", identity)
    inst = sf.generate("smtt", jobs=4, seed=0)
    with pytest.raises(sf.InvalidOption, match="reverse"):
        sf.solve(inst, "test-identity", revers=True)
    with pytest.raises(sf.InvalidOption):
        sf.solve(inst, "test-identity", time_limit=-1)
    for bad in ({"time_limit": 0}, {"time_limit": math.nan}, {"time_limit": math.inf}):
        with pytest.raises(sf.InvalidOption, match="time_limit"):
            sf.solve(inst, "test-identity", **bad)
    for bad in ({"threads": 0}, {"threads": 1.5}, {"seed": -1}, {"seed": 2**31}):
        with pytest.raises(sf.InvalidOption, match=next(iter(bad))):
            sf.solve(inst, "test-identity", **bad)


def test_method_receives_one_budget(fake_methods):
    seen = []

    def spy(instance, *, budget):
        seen.append(budget)
        return identity(instance, budget=budget)

    fake_methods("test-spy", spy)
    inst = sf.generate("smtt", jobs=4, seed=0)
    res = sf.solve(inst, "test-spy", time_limit=2.5, seed=7, threads=3)
    (budget,) = seen
    assert (budget.time_limit, budget.seed, budget.threads) == (2.5, 7, 3)
    assert res.seed == 7 and res.runtime < 2.5


def test_relative_gap_cases():
    assert relative_gap(None, 1) is None
    assert relative_gap(5, None) is None
    assert relative_gap(0, 0) == 0.0
    assert relative_gap(10, 5) == 0.5
    assert math.isinf(relative_gap(0, -1))


def test_registration_requires_contract():
    with pytest.raises(TypeError, match="budget"):
        registry.method("smtt", "test-bad", default_stop="x")(lambda instance, *, time_limit: None)
    with pytest.raises(TypeError, match="budget"):
        registry.method("smtt", "test-bad", default_stop="x")(
            lambda instance, *, budget, workers=1: None
        )
    with pytest.raises(TypeError, match="default_stop"):
        registry.method("smtt", "test-bad", default_stop="")(lambda instance, *, budget: None)


def test_options_that_lengthen_every_run_do_not_lengthen_the_warm_up():
    # The warm-up runs the method with the caller's options too (to reach the
    # code they switch on), but under a short budget of its own: an option
    # that makes even a tiny run long costs a fraction of a second there.
    from schedforge.core.warmup import TINY_OPTIONS_RUN_LIMIT, TINY_RUN_LIMIT

    instance = sf.generate("fjsp", jobs=3, machines=2, seed=0)
    sf.solve(instance, "ls", time_limit=0.2)  # the defaults' warm-up, done before
    result = sf.solve(instance, "ls", time_limit=0.2, iterations=10**9)
    assert TINY_OPTIONS_RUN_LIMIT < TINY_RUN_LIMIT
    assert result.stats["compile_s"] < 10 * TINY_OPTIONS_RUN_LIMIT + 5
