"""FJSP tabu search with estimated moves: feasibility, improvement, reproducibility."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.heuristics.dispatch import dispatch
from schedforge.heuristics.local_search.fjsp_tabu import tabu, tabu_kernel
from schedforge.problems.fjsp import FJSPInstance, objective, validate


@st.composite
def instances(draw):
    machines = draw(st.integers(1, 4))
    op = st.dictionaries(st.integers(0, machines - 1), st.integers(0, 15), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=5), min_size=1, max_size=5))
    release = draw(st.lists(st.integers(0, 8), min_size=len(jobs), max_size=len(jobs)))
    return FJSPInstance.from_jobs(jobs, machines, release=release)


@given(inst=instances(), seed=st.integers(0, 5), restart=st.sampled_from([5, 3000]))
@settings(max_examples=150, deadline=None)
def test_tabu_returns_feasible_no_worse_schedules(inst, seed, restart):
    """Zero durations, releases, consecutive operations of a job on one machine:
    every move kept acyclic, every result valid and no worse than its start."""
    start = dispatch(inst, "fifo-eet", builder="append")
    best, stats = tabu(inst, start, budget=Budget(seed=seed), iterations=300, restart_after=restart)
    assert validate(inst, best) == []
    assert objective(inst, best) <= objective(inst, start)
    assert stats["iterations"] <= 300


def test_kernel_really_compiled():
    inst = sf.generate("fjsp", jobs=3, machines=2, seed=0)
    tabu(inst, dispatch(inst), budget=Budget(), iterations=5)
    assert tabu_kernel.signatures


@pytest.mark.parametrize("name", ["SFJS9", "SFJS10", "MFJS1", "MFJS3"])
def test_tabu_reaches_published_optima_on_small_instances(name):
    inst = sf.read(f"fjsp:fattahi/{name}")
    res = sf.solve(inst, "tabu", time_limit=20, seed=0, iterations=20_000)
    assert res.objective == inst.metadata["optimum"]


def test_tabu_beats_rules_on_brandimarte_and_is_reproducible():
    inst = sf.read("fjsp:brandimarte/Mk04")
    rule = sf.solve(inst, "rule:mwkr-eet")
    first = sf.solve(inst, "tabu", seed=3, iterations=20_000)
    again = sf.solve(inst, "tabu", seed=3, iterations=20_000)
    assert first.objective < rule.objective
    assert first.objective == again.objective and not first.stats["nondeterministic"]
    assert (first.solution.start == again.solution.start).all()
    assert first.stats["iterations"] == 20_000 or first.objective == first.bound


def test_tabu_refuses_to_run_forever():
    inst = sf.generate("fjsp", jobs=3, machines=2, seed=0)
    with pytest.raises(InvalidOption, match="time limit"):
        sf.solve(inst, "tabu", iterations=None)
    with pytest.raises(InvalidOption, match="iterations"):
        sf.solve(inst, "tabu", iterations=-1)
    assert sf.solve(inst, "tabu", time_limit=0.5, iterations=None).status.has_solution
