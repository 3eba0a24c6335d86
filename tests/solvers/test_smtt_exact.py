"""``exact`` for SMTT: brute force, the subset DP, published optima, honest limits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import schedforge as sf
from schedforge.core.result import Status
from schedforge.solvers.exact.smtt_dp import subset_dp, subset_dp_kernel
from tests.solvers.smtt_brute import brute_force, tiny_instances

HYPO = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_agrees_with_brute_force(weighted):
    @HYPO
    @given(tiny_instances(weighted=weighted, max_jobs=8))
    def check(instance):
        result = sf.solve(instance, "exact", seed=0)
        assert result.status is Status.OPTIMAL
        assert result.objective == brute_force(instance)

    check()


def test_dp_kernel_compiled():
    subset_dp(np.array([1, 2]), np.array([1, 1]), np.array([1, 1]))
    assert subset_dp_kernel.signatures, "the subset DP did not compile with numba"


def test_dp_refuses_large_n():
    with pytest.raises(ValueError, match="limited to 25"):
        subset_dp(np.ones(26), np.ones(26), np.ones(26))
