"""RCPSP exact methods (CP-SAT, time-indexed MIP) against brute force and PSPLIB optima."""

from __future__ import annotations

import pytest

import schedforge as sf
from schedforge.problems.rcpsp import validate
from tests.conftest import DATA, bundled_path
from tests.problems.test_rcpsp import brute_force

EXACT = ["cp", "mip:cbc", "mip:highs"]


def tiny_cases():
    """Tiny generated instances with every side constraint; some are infeasible."""
    cases = []
    for seed in range(8):
        cases.append(
            sf.generate(
                "rcpsp",
                kind="rconstraint",
                jobs=5,
                resources=2,
                levels=3,
                max_duration=4,
                p_downtime=0.8,
                p_window=0.6,
                p_disjunctive=0.4,
                p_lag=0.4,
                tightness=(0.8, 1.3, 2.0)[seed % 3],
                seed=seed,
            )
        )
    return cases


@pytest.mark.parametrize("spec", EXACT)
def test_exact_methods_agree_with_brute_force(spec):
    statuses = set()
    for inst in [*tiny_cases(), sf.read(DATA / "rcpsp" / "tiny_side.json")]:
        best = brute_force(inst)
        res = sf.solve(inst, spec, time_limit=10, seed=0)
        statuses.add(res.status)
        if best is None:
            assert res.status == sf.Status.INFEASIBLE, inst.name
            assert res.solution is None and res.bound is None
        else:
            assert res.status == sf.Status.OPTIMAL, inst.name
            assert res.objective == best and validate(inst, res.solution) == []
    assert statuses == {sf.Status.OPTIMAL, sf.Status.INFEASIBLE}


@pytest.mark.parametrize("spec", EXACT)
def test_proven_infeasible_file(spec):
    inst = sf.read(DATA / "rcpsp" / "tiny_infeasible.json")
    assert brute_force(inst) is None
    assert sf.solve(inst, spec, time_limit=5).status == sf.Status.INFEASIBLE


def test_cp_without_hint_uses_the_safe_horizon():
    for inst in tiny_cases()[:4]:
        best = brute_force(inst)
        res = sf.solve(inst, "cp", time_limit=10, hint=False)
        assert res.stats["heuristic_makespan"] is None
        assert (res.objective if res.status.has_solution else None) == best


def test_cp_proves_psplib_optima():
    root = bundled_path("psplib", "j30")
    for name in ("j301_1", "j3014_2", "j3037_5"):
        inst = sf.read(root / f"{name}.sm")
        res = sf.solve(inst, "cp", time_limit=20, seed=0)
        assert res.status == sf.Status.OPTIMAL
        assert res.objective == inst.metadata["optimum"]


def test_mip_on_psplib_j30_sample():
    inst = sf.read("psplib:j30/j301_1")
    res = sf.solve(inst, "mip:highs", time_limit=20)
    assert res.status.has_solution and res.objective >= inst.metadata["optimum"]
    if res.status == sf.Status.OPTIMAL:
        assert res.objective == 43


def test_cp_time_limit_on_j120_gives_feasible_with_bound():
    inst = sf.read("psplib:j120/j12016_1")
    res = sf.solve(inst, "cp", time_limit=1.0)
    assert res.status.has_solution
    assert res.bound is not None and res.bound <= res.objective
    assert res.runtime < 5.0
