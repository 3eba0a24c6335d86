"""Disjunctive MIP for FJSP with CBC and HiGHS: published optima and brute force."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import schedforge as sf
from schedforge.problems.fjsp import FJSPInstance
from tests.conftest import bundled_path
from tests.problems.test_fjsp import brute_force_makespan
from tests.solvers.test_fjsp_cp import tiny


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@pytest.mark.parametrize("relative", ["fattahi/SFJS3.fjs", "fattahi/SFJS9.fjs", "kacem/Kacem1.fjs"])
def test_mip_proves_published_optima(backend, relative):
    inst = sf.read(bundled_path("fjsp", relative))
    res = sf.solve(inst, f"mip:{backend}", time_limit=20, seed=0)
    assert res.status is sf.Status.OPTIMAL and res.objective == inst.metadata["optimum"]


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@given(inst=tiny())
@settings(max_examples=8, deadline=None)
def test_mip_equals_brute_force(backend, inst):
    res = sf.solve(inst, f"mip:{backend}", time_limit=10, seed=0)
    assert res.status is sf.Status.OPTIMAL
    assert res.objective == brute_force_makespan(inst)


def test_time_limited_mip_falls_back_to_a_valid_schedule():
    inst = sf.generate("fjsp", jobs=6, machines=4, operations_per_job=(4, 5), seed=5)
    res = sf.solve(inst, "mip:highs", time_limit=0.5, seed=0)
    assert res.status.has_solution
    if res.status is not sf.Status.OPTIMAL:
        assert res.stats["nondeterministic"]
        assert res.bound is None or res.bound <= res.objective


def test_single_threaded_cbc_runs_serially(monkeypatch):
    # "-threads 1" made the bundled CBC deadlock until the time limit in about
    # 1 run in 60 on this very instance; serial mode (no option) never did.
    from schedforge.solvers.mip import backend

    seen = []
    real = backend._cbc_class

    def recording(pulp):
        make = real(pulp)

        def build(**kwargs):
            seen.append(kwargs)
            return make(**kwargs)

        return build

    monkeypatch.setattr(backend, "_cbc_class", recording)
    inst = FJSPInstance.from_dict(
        {
            "problem": "fjsp",
            "num_machines": 1,
            "job_offsets": [0, 2, 4, 5],
            "op_offsets": [0, 1, 2, 3, 4, 5],
            "machines": [0, 0, 0, 0, 0],
            "durations": [6, 6, 5, 9, 2],
            "release": [1, 4, 4],
        }
    )
    res = sf.solve(inst, "mip:cbc", time_limit=10, seed=0)
    assert res.status is sf.Status.OPTIMAL and res.objective == brute_force_makespan(inst)
    assert seen and all(kwargs["threads"] is None for kwargs in seen)
