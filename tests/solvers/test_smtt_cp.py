"""``cp`` (CP-SAT) for SMTT: brute-force agreement, hint, honest statuses."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import schedforge as sf
from schedforge.core.result import Status
from tests.solvers.smtt_brute import brute_force, tiny_instances

HYPO = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@pytest.mark.parametrize("weighted", [False, True])
def test_agrees_with_brute_force(weighted):
    @HYPO
    @given(tiny_instances(weighted=weighted, max_jobs=8))
    def check(instance):
        result = sf.solve(instance, "cp", time_limit=20, seed=0, threads=1)
        assert result.status is Status.OPTIMAL
        assert result.objective == brute_force(instance)
        assert result.stats["cp_status"] == "OPTIMAL"

    check()


def test_without_hint_same_optimum():
    instance = sf.generate("smtt", jobs=8, weighted=True, seed=5)
    hinted = sf.solve(instance, "cp", time_limit=20, threads=1)
    plain = sf.solve(instance, "cp", time_limit=20, threads=1, hint=False)
    assert hinted.objective == plain.objective == brute_force(instance)
    assert plain.stats["hinted"] == 0 and hinted.stats["hinted"] > 0


def test_tiny_time_limit_is_honest():
    (instance,) = [i for k, i in enumerate(sf.read_all("orlib:wt40")) if k == 60]
    result = sf.solve(instance, "cp", time_limit=0.05, seed=0, threads=1)
    assert result.status in (Status.FEASIBLE, Status.NO_SOLUTION)
    assert result.bound is not None and result.bound <= instance.metadata["optimum"]
    if result.status is Status.FEASIBLE:
        assert result.objective >= instance.metadata["optimum"]
        assert result.stats["nondeterministic"] is True


def test_same_seed_same_result_single_worker():
    instance = sf.generate("smtt", jobs=8, seed=2)
    a = sf.solve(instance, "cp", time_limit=20, seed=3, threads=1)
    b = sf.solve(instance, "cp", time_limit=20, seed=3, threads=1)
    assert a.objective == b.objective and a.status is Status.OPTIMAL
    assert a.stats["nondeterministic"] is False
