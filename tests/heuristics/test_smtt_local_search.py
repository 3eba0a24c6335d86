"""SMTT local search: neighbourhood optimality, dynasearch against brute force, ILS behaviour."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import schedforge as sf
from schedforge.heuristics import smtt as rules
from schedforge.heuristics.local_search import smtt as ls
from schedforge.problems.smtt import SMTTInstance


def _cost(inst: SMTTInstance, seq) -> int:
    time, cost = 0, 0
    for job in seq:
        time += int(inst.processing[job])
        cost += int(inst.weight[job]) * max(0, time - int(inst.due[job]))
    return cost


def _arrays(inst):
    return tuple(np.array(a, dtype=np.int64) for a in (inst.processing, inst.due, inst.weight))


def _instances(count, *, jobs, weighted, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(count):
        yield sf.generate(
            "smtt",
            jobs=jobs,
            tf=float(rng.choice([0.2, 0.6, 1.0])),
            rdd=float(rng.choice([0.2, 0.6, 1.0])),
            weighted=weighted,
            seed=seed * 1000 + k,
        )


def _brute_force(inst) -> int:
    return min(_cost(inst, perm) for perm in itertools.permutations(range(inst.num_jobs)))


@pytest.mark.parametrize("weighted", [False, True])
def test_ls_and_ils_never_worse_than_their_start(weighted):
    for inst in _instances(15, jobs=25, weighted=weighted, seed=1):
        for rule in ("edd", "atc", "mddc"):
            start = _cost(inst, rules.rule_sequence(inst, rule))
            local = sf.solve(inst, f"ls:{rule}")
            iterated = sf.solve(inst, f"ils:{rule}", seed=3, stall=30)
            assert local.objective <= start
            assert iterated.objective <= local.objective
            assert iterated.objective == _cost(inst, iterated.solution.sequence)


def test_ls_result_is_a_local_optimum():
    for inst in _instances(10, jobs=12, weighted=True, seed=2):
        seq = sf.solve(inst, "ls:edd").solution.sequence.tolist()
        value = _cost(inst, seq)
        n = len(seq)
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                moved = seq[:i] + seq[i + 1 :]
                moved.insert(j, seq[i])
                assert _cost(inst, moved) >= value, "an insertion improves the ls result"
                swapped = list(seq)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                assert _cost(inst, swapped) >= value, "a swap improves the ls result"


def _independent_swap_sets(n):
    """Every set of pairwise swaps of positions with disjoint intervals."""

    def extend(start):
        yield []
        for i in range(start, n):
            for j in range(i + 1, n):
                for rest in extend(j + 1):
                    yield [(i, j), *rest]

    yield from extend(0)


def test_dynasearch_step_finds_the_best_independent_swap_set():
    for inst in _instances(25, jobs=7, weighted=True, seed=3):
        seq = rules.rule_sequence(inst, "spt")
        best = _cost(inst, seq)
        for swaps in _independent_swap_sets(len(seq)):
            trial = seq.tolist()
            for i, j in swaps:
                trial[i], trial[j] = trial[j], trial[i]
            best = min(best, _cost(inst, trial))
        work = seq.copy()
        ls._dynasearch_step(*_arrays(inst), work)
        assert _cost(inst, work) == best
        assert sorted(work.tolist()) == list(range(len(seq)))


def test_ils_reaches_brute_force_optima_on_small_instances():
    for weighted in (False, True):
        for inst in _instances(8, jobs=7, weighted=weighted, seed=4):
            res = sf.solve(inst, "ils:atc", seed=0, stall=200)
            assert res.objective == _brute_force(inst), inst.name


def test_same_seed_same_result_and_stats():
    inst = sf.generate("smtt", jobs=60, weighted=True, tf=0.8, rdd=0.4, seed=11)
    first = sf.solve(inst, "ils:mddc", seed=5, stall=40)
    again = sf.solve(inst, "ils:mddc", seed=5, stall=40)
    assert first.solution.sequence.tolist() == again.solution.sequence.tolist()
    assert first.stats["kicks"] == again.stats["kicks"]
    assert first.stats["stopped"] == "stall" and "nondeterministic" not in first.stats


def test_time_limit_is_honoured_and_reported():
    inst = sf.generate("smtt", jobs=150, tf=0.8, rdd=0.4, seed=12)
    res = sf.solve(inst, "ils:edd", time_limit=0.3, seed=0, stall=None)
    assert res.runtime < 0.3 + 0.5
    assert res.stats["stopped"] == "time_limit"
    assert res.stats["nondeterministic"] is True


def test_search_stops_at_the_lower_bound():
    # Loose due dates: the optimum is 0, which the lower bound proves.
    inst = SMTTInstance(processing=[3, 4, 5, 6], due=[100, 4, 100, 100], name="loose")
    res = sf.solve(inst, "ils:spt", seed=0)
    assert res.objective == 0 and res.status is sf.Status.OPTIMAL
    assert res.stats["stopped"] == "lower_bound" and res.stats["kicks"] == 0


def test_improve_public_api():
    inst = sf.generate("smtt", jobs=20, seed=13)
    start = rules.rule_sequence(inst, "edd")
    better = ls.improve(inst, start, time_limit=None, seed=0, iterated=False)
    assert _cost(inst, better) <= _cost(inst, start)
    assert start.tolist() == rules.rule_sequence(inst, "edd").tolist(), "start was modified"
    with pytest.raises(sf.InvalidOption, match="permutation"):
        ls.improve(inst, start[:-1], time_limit=None, seed=0, iterated=False)
    hard = sf.generate("smtt", jobs=30, tf=0.8, rdd=0.2, seed=14)
    with pytest.raises(sf.InvalidOption, match="time limit or a stall limit"):
        ls.improve(
            hard,
            rules.rule_sequence(hard, "spt"),
            time_limit=None,
            seed=0,
            iterated=True,
            stall=None,
        )
    with pytest.raises(sf.InvalidOption, match="stall"):
        sf.solve(inst, "ils:edd", stall=0)


def test_local_search_kernels_are_compiled():
    inst = sf.generate("smtt", jobs=10, seed=0)
    sf.solve(inst, "ils:mdd", stall=5)
    for kernel in (ls.local_search, ls.sequence_cost, ls._ils_chunk):
        assert kernel.nopython_signatures, f"{kernel.__name__} did not compile"


def test_ils_atc_reaches_published_optima_on_wt40_sample():
    instances = list(sf.read_all("orlib:wt40"))
    sample = instances[::12]  # 11 instances across all TF/RDD classes
    hits = sum(
        sf.solve(inst, "ils:atc", time_limit=1.0, seed=0).objective == inst.reference
        for inst in sample
    )
    assert hits >= len(sample) - 1
