"""``mip:cbc`` and ``mip:highs`` for SMTT: brute-force agreement and honest statuses."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import schedforge as sf
from schedforge.core.result import Status
from schedforge.problems.smtt import SMTTInstance
from tests.solvers.smtt_brute import brute_force, tiny_instances

BACKENDS = ["mip:cbc", "mip:highs"]
HYPO = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@pytest.mark.parametrize("spec", BACKENDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_agrees_with_brute_force(spec, weighted):
    @HYPO
    @given(tiny_instances(weighted=weighted, max_jobs=7))
    def check(instance):
        result = sf.solve(instance, spec, time_limit=20, seed=0)
        assert result.status is Status.OPTIMAL
        assert result.objective == brute_force(instance)

    check()


@pytest.mark.parametrize("spec", BACKENDS)
def test_no_warm_start_still_optimal(spec):
    instance = sf.generate("smtt", jobs=6, weighted=True, seed=11)
    result = sf.solve(instance, spec, time_limit=20, warm_start=False)
    assert result.status is Status.OPTIMAL
    assert result.objective == brute_force(instance)


@pytest.mark.parametrize("spec", BACKENDS)
def test_tiny_time_limit_is_honest(spec):
    # wt40 #61 is far from solved in 0.05 s: never OPTIMAL unless the bound proves it.
    (instance,) = [i for k, i in enumerate(sf.read_all("orlib:wt40")) if k == 60]
    result = sf.solve(instance, spec, time_limit=0.05, seed=0)
    assert result.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    assert result.bound is not None and result.bound <= instance.metadata["optimum"]
    if result.status is Status.FEASIBLE:
        assert result.objective >= instance.metadata["optimum"]
    else:
        assert result.solution is None and result.objective is None


def test_unweighted_model_has_no_big_m():
    from schedforge.solvers.mip.smtt import build_model

    instance = SMTTInstance(processing=[3, 2, 4], due=[2, 5, 6])
    prob, x = build_model(instance)
    assert len(x) == 9
    assert {c.name for c in prob.constraints() if c.name.startswith("tard_")} == {
        "tard_0",
        "tard_1",
        "tard_2",
    }


def test_bad_threads_option():
    instance = sf.generate("smtt", jobs=4, seed=0)
    with pytest.raises(sf.SchedforgeError, match="threads"):
        sf.solve(instance, "mip:highs", threads=0)
