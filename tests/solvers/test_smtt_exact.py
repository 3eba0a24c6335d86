"""``exact`` for SMTT: brute force, the subset DP, published optima, honest limits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import schedforge as sf
from schedforge.core.result import Status
from schedforge.problems.smtt import SMTTInstance
from schedforge.solvers.exact import smtt_bnb, smtt_wdp
from schedforge.solvers.exact.smtt_dp import subset_dp, subset_dp_kernel
from tests.conftest import bundled_path
from tests.solvers.smtt_brute import brute_force, tiny_instances

HYPO = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
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


@HYPO
@given(tiny_instances(weighted=True, max_jobs=8))
def test_weighted_dominance_dp_agrees_with_brute_force(instance):
    # dp_max_jobs=1 sends every weighted instance to the dominance DP.
    result = sf.solve(instance, "exact", dp_max_jobs=1)
    assert result.status is Status.OPTIMAL
    assert result.objective == brute_force(instance)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(tiny_instances(weighted=False, max_jobs=14))
def test_branch_and_memorize_agrees_with_subset_dp(instance):
    result = sf.solve(instance, "exact")
    value, _ = subset_dp(instance.processing, instance.due, instance.weight)
    assert result.status is Status.OPTIMAL and result.objective == value


@settings(max_examples=30, deadline=None, derandomize=True)
@given(tiny_instances(weighted=True, max_jobs=12))
def test_weighted_dp_agrees_with_subset_dp(instance):
    result = sf.solve(instance, "exact", dp_max_jobs=1)
    value, _ = subset_dp(instance.processing, instance.due, instance.weight)
    assert result.status is Status.OPTIMAL and result.objective == value


def test_equal_weights_scale_the_unweighted_search():
    base = sf.generate("smtt", jobs=30, tf=0.6, rdd=0.4, seed=8)
    tripled = SMTTInstance(processing=base.processing, due=base.due, weight=np.full(30, 3))
    a = sf.solve(base, "exact")
    b = sf.solve(tripled, "exact")
    assert a.status is b.status is Status.OPTIMAL
    assert b.objective == 3 * a.objective
    assert b.stats["algorithm"] == "branch-and-memorize"


def test_zero_weights_are_trivially_optimal():
    instance = SMTTInstance(processing=[3, 4, 5], due=[0, 0, 0], weight=[0, 0, 0])
    result = sf.solve(instance, "exact")
    assert result.status is Status.OPTIMAL and result.objective == 0


def test_rll_general_rule_two_is_not_used():
    # RLL's "d_j >= L_j => every job outside A_j precedes j" would force job 3
    # (weight 0) before job 0 here, although the optimum 0 puts job 3 last.
    p, d, w = [6, 14, 6, 1], [26, 18, 26, 22], [3, 5, 1, 0]
    before = smtt_wdp.precedences(np.array(p), np.array(d), np.array(w))
    assert not before[3, 0]
    instance = SMTTInstance(processing=p, due=d, weight=w)
    assert sf.solve(instance, "exact", dp_max_jobs=1).objective == 0


def _published(name: str) -> list[SMTTInstance]:
    """Instances of a published JSON Lines set, skipping physically invalid ones."""
    out = []
    with bundled_path("smtt", name).open() as fh:
        for line in fh:
            rec = json.loads(line)
            if min(rec["p"]) >= 1:  # the 'normal' set has p <= 0 (see its README)
                out.append(
                    SMTTInstance(
                        processing=rec["p"],
                        due=rec["d"],
                        name=rec["id"],
                        metadata={"optimum": rec["opt"]},
                    )
                )
    return out


@pytest.mark.parametrize(
    "name",
    [
        "cetinkaya2025_n20_uniform.jsonl",
        "cetinkaya2025_n20_uniform_alt.jsonl",
        "cetinkaya2025_n20_normal.jsonl",
    ],
)
def test_all_n20_published_optima(name):
    instances = _published(name)
    assert len(instances) >= 600
    for instance in instances:
        result = sf.solve(instance, "exact", time_limit=30)
        assert result.status is Status.OPTIMAL, instance.name
        assert result.objective == instance.metadata["optimum"], instance.name


@pytest.mark.parametrize(("name", "step"), [("smtt:shang-n100", 1), ("smtt:shang-n200", 2)])
def test_shang_published_optima_sample(name, step):
    instances = list(sf.read_all(name))[::step]
    for instance in instances:
        result = sf.solve(instance, "exact", time_limit=60)
        assert result.status is Status.OPTIMAL, instance.name
        assert result.objective == instance.metadata["optimum"], instance.name


def _orlib(size: int, indices: list[int]) -> list[SMTTInstance]:
    wanted = set(indices)
    path = f"orlib:wt{size}"
    return [inst for k, inst in enumerate(sf.read_all(path), start=1) if k in wanted]


# wt40/wt50 instances the dominance DP proves in well under a second.
@pytest.mark.parametrize(
    ("size", "indices"), [(40, [21, 46, 51, 66, 71, 96, 121]), (50, [21, 46, 76, 121])]
)
def test_orlib_weighted_optima_sample(size, indices):
    for instance in _orlib(size, indices):
        result = sf.solve(instance, "exact", time_limit=60)
        assert result.status is Status.OPTIMAL, instance.name
        assert result.objective == instance.metadata["optimum"], instance.name


def test_unweighted_time_limit_gives_feasible_and_valid_bound():
    # A hard class at n = 500: far from proven in 0.3 s.
    instance = sf.generate("smtt", jobs=500, tf=0.6, rdd=0.2, seed=1, clip_due=True)
    result = sf.solve(instance, "exact", time_limit=0.3, start_time_limit=0.05)
    assert result.status is Status.FEASIBLE
    assert result.bound is not None and result.bound < result.objective
    # The optimum (from a full run recorded in benchmarks/) is 1,257,329.
    assert result.bound <= 1_257_329 <= result.objective


def test_deep_recursion_on_large_instance_is_safe():
    # Longest job first in EDD order at every level: the decomposition nests
    # about one level per job. 6,000 levels overflowed the 8 MB main stack
    # before the search moved to its own thread.
    n = 6000
    instance = SMTTInstance(processing=np.arange(n, 0, -1) + 10, due=np.arange(n) * 5)
    result = sf.solve(instance, "exact", time_limit=4.0)
    assert result.status is Status.FEASIBLE
    assert result.bound is not None and result.bound <= result.objective
    assert result.stats["nodes"] > 1000, "the search never left the root"


def test_weighted_time_limit_gives_feasible_and_valid_bound():
    (instance,) = _orlib(40, [1])
    result = sf.solve(instance, "exact", time_limit=0.2)
    assert result.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert result.bound <= instance.metadata["optimum"] <= result.objective


def test_memo_cap_is_reported_and_search_stays_exact():
    (instance,) = [i for k, i in enumerate(sf.read_all("smtt:shang-n100")) if k == 30]
    result = sf.solve(instance, "exact", memo_limit=5, time_limit=60)
    assert result.status is Status.OPTIMAL
    assert result.objective == instance.metadata["optimum"]
    assert result.stats["memo_full"] is True
    assert "memo cap reached" in result.stats["memo_message"]


def test_bad_options():
    instance = sf.generate("smtt", jobs=5, seed=0)
    with pytest.raises(sf.InvalidOption, match="dp_max_jobs"):
        sf.solve(instance, "exact", dp_max_jobs=40)
    with pytest.raises(sf.InvalidOption, match="memo_limit"):
        sf.solve(instance, "exact", memo_limit=-1)


def test_kernels_compiled():
    sf.solve(sf.generate("smtt", jobs=30, seed=1), "exact")
    sf.solve(sf.generate("smtt", jobs=30, weighted=True, seed=1), "exact")
    subset_dp(np.array([1, 2]), np.array([1, 1]), np.array([1, 1]))
    assert subset_dp_kernel.signatures, "the subset DP did not compile with numba"
    assert smtt_bnb._solve.signatures, "the branch and bound did not compile with numba"
    assert smtt_wdp._dp.signatures, "the weighted DP did not compile with numba"
    assert smtt_wdp.precedence_kernel.signatures


def test_dp_refuses_large_n():
    with pytest.raises(ValueError, match="limited to 25"):
        subset_dp(np.ones(26), np.ones(26), np.ones(26))


def test_time_limit_holds_when_the_memo_is_full():
    """With the memo capped, rebuilding the optimal sequence re-solves
    subproblems; that replay honours the deadline too (it once ran 205 s
    past a 60 s limit at n = 500) and never turns into a false OPTIMAL."""
    inst = sf.generate("smtt", jobs=300, tf=0.6, rdd=0.2, seed=6, clip_due=True)
    res = sf.solve(inst, "exact", time_limit=1.0, memo_limit=1000)
    assert res.runtime < 1.0 + 2.0
    assert res.stats["memo_full"]
    if res.status is sf.Status.OPTIMAL:
        assert res.bound == res.objective
    else:
        assert res.status is sf.Status.FEASIBLE and res.bound <= res.objective


def test_memo_table_beyond_memory_is_a_clear_error():
    instance = sf.generate("smtt", jobs=30, tf=0.6, rdd=0.2, seed=0)
    with pytest.raises(sf.SolverError, match=r"memo_limit=.*lower memo_limit"):
        sf.solve(instance, "exact", memo_limit=10**13)
