"""FJSP tabu search: feasibility, improvement, reproducibility, compiled kernel."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.heuristics.dispatch import dispatch
from schedforge.heuristics.local_search.fjsp import tabu_search, tabu_search_kernel
from schedforge.problems.fjsp import FJSPInstance, objective, validate


@st.composite
def instances(draw):
    machines = draw(st.integers(1, 3))
    op = st.dictionaries(st.integers(0, machines - 1), st.integers(0, 15), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=4))
    release = draw(st.lists(st.integers(0, 8), min_size=len(jobs), max_size=len(jobs)))
    return FJSPInstance.from_jobs(jobs, machines, release=release)


@given(inst=instances(), seed=st.integers(0, 5))
@settings(max_examples=60, deadline=None)
def test_tabu_search_returns_feasible_no_worse_schedules(inst, seed):
    start = dispatch(inst, "fifo-eet", builder="append")
    best, stats = tabu_search(inst, start, time_limit=None, seed=seed, iterations=300)
    assert validate(inst, best) == []
    assert objective(inst, best) <= objective(inst, start)
    assert stats["iterations"] <= 300


def test_kernel_really_compiled():
    inst = sf.generate("fjsp", jobs=3, machines=2, seed=0)
    tabu_search(inst, dispatch(inst), time_limit=None, seed=0, iterations=5)
    assert tabu_search_kernel.signatures


@pytest.mark.parametrize("name", ["SFJS9", "SFJS10", "MFJS1"])
def test_ls_reaches_published_optima_on_small_instances(name):
    inst = sf.read(f"fjsp:fattahi/{name}")
    res = sf.solve(inst, "ls", time_limit=20, seed=0, iterations=3000)
    assert res.objective == inst.metadata["optimum"]


def test_ls_improves_a_brandimarte_instance_and_is_reproducible():
    inst = sf.read("fjsp:brandimarte/Mk01")
    rule = sf.solve(inst, "rule:mwkr-eet")
    first = sf.solve(inst, "ls", seed=3, iterations=1500)
    again = sf.solve(inst, "ls", seed=3, iterations=1500)
    assert first.objective < rule.objective
    assert first.objective == again.objective and not first.stats["nondeterministic"]
    assert (first.solution.start == again.solution.start).all()
