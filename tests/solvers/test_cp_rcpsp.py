"""The RCPSP CP-SAT method's proof machinery: order literals and the search below the heuristic."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

import schedforge as sf
from schedforge.problems.rcpsp import RCPSPInstance, lower_bound, topological_order, validate
from schedforge.solvers.cp.rcpsp import _unordered_conflicts
from tests.problems.test_rcpsp import brute_force
from tests.solvers.test_rcpsp_solvers import tiny_cases


def tight_progen_cases() -> list[RCPSPInstance]:
    """Small ProGen instances with scarce resources (RF 1, RS 0.2): many conflicting pairs.

    The seeds are ones where the critical-path/energy bound is below the
    optimum, so that CP-SAT has something to prove.
    """
    return [
        sf.generate("rcpsp", jobs=8, resources=2, rf=1.0, rs=0.2, nc=1.5, max_duration=4, seed=s)
        for s in (0, 1, 2, 3, 6, 7)
    ]


@functools.cache
def cases_with_optima() -> list[tuple[RCPSPInstance, int | None]]:
    """Tight ProGen and side-constrained tiny instances with their brute-force optima."""
    return [(inst, brute_force(inst)) for inst in [*tight_progen_cases(), *tiny_cases()]]


def sequential_schedule(instance: RCPSPInstance, *, budget=None) -> np.ndarray:
    """One activity at a time in topological order, with idle gaps: valid without lags or windows.

    Without the gaps it is already a schedule, so with them it is strictly
    longer than the optimum.
    """
    start = np.zeros(instance.num_activities, dtype=np.int64)
    t = 0
    for j in topological_order(instance):
        start[j] = t
        t += int(instance.duration[j]) + 1
    return start


def _reaches(instance: RCPSPInstance, a: int, b: int) -> bool:
    """Depth-first search along precedences from ``a`` to ``b``."""
    stack, seen = [a], set()
    while stack:
        x = stack.pop()
        for u, v in instance.precedence.tolist():
            if u == x and v not in seen:
                if v == b:
                    return True
                seen.add(v)
                stack.append(v)
    return False


@pytest.mark.parametrize("inst", [*tight_progen_cases()[:3], *tiny_cases()[:3]], ids=str)
def test_unordered_conflicts_match_their_definition(inst):
    expected = []
    for a, b in itertools.combinations(range(inst.num_activities), 2):
        if inst.duration[a] == 0 or inst.duration[b] == 0:
            continue
        clash = bool(np.any(inst.demand[a] + inst.demand[b] > inst.capacity))
        if clash and not _reaches(inst, a, b) and not _reaches(inst, b, a):
            expected.append((a, b))
    assert _unordered_conflicts(inst) == expected


OPTION_SETS = [
    # The previous default: hinted optimisation from the heuristic makespan.
    {"order_literals": False, "below_heuristic": False, "linearization_level": 1},
    {"order_literals": True, "below_heuristic": False, "linearization_level": 0},
    {"order_literals": False, "below_heuristic": True, "linearization_level": 2},
    {},  # the default
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=str)
def test_cp_options_agree_with_brute_force(options):
    """Never OPTIMAL or INFEASIBLE wrongly, with or without the search below the heuristic."""
    statuses = set()
    for inst, best in cases_with_optima():
        res = sf.solve(inst, "cp", time_limit=10, seed=0, **options)
        statuses.add(res.status)
        if best is None:
            assert res.status == sf.Status.INFEASIBLE, inst.name
        else:
            assert res.status == sf.Status.OPTIMAL, inst.name
            assert res.objective == best and res.bound == best
            assert validate(inst, res.solution) == []
    assert statuses == {sf.Status.OPTIMAL, sf.Status.INFEASIBLE}


def test_cp_finds_and_proves_the_optimum_below_a_poor_heuristic(monkeypatch):
    monkeypatch.setattr(
        "schedforge.solvers.cp.rcpsp.start_schedule",
        lambda inst, **_: sequential_schedule(inst),
    )
    for inst, best in cases_with_optima()[: len(tight_progen_cases())]:
        res = sf.solve(inst, "cp", time_limit=10, seed=0)
        assert res.stats["heuristic_makespan"] > best > lower_bound(inst)
        assert res.status == sf.Status.OPTIMAL and res.objective == best
        assert validate(inst, res.solution) == []


def test_heuristic_schedule_meeting_the_bound_is_optimal_at_once():
    # A chain: the critical path is the makespan of every schedule.
    inst = RCPSPInstance(
        duration=np.array([2, 3, 1]),
        demand=np.array([[1], [1], [1]]),
        capacity=np.array([1]),
        precedence=np.array([[0, 1], [1, 2]]),
    )
    res = sf.solve(inst, "cp", time_limit=5)
    assert res.status == sf.Status.OPTIMAL and res.objective == 6
    assert "meets" in res.stats["proof"]


def test_same_seed_same_schedule():
    inst = sf.generate("rcpsp", jobs=12, rf=1.0, rs=0.2, seed=3)
    first = sf.solve(inst, "cp", time_limit=20, seed=5)
    again = sf.solve(inst, "cp", time_limit=20, seed=5)
    assert first.status == sf.Status.OPTIMAL
    assert np.array_equal(first.solution.start, again.solution.start)


def test_time_out_below_the_heuristic_keeps_it_with_a_valid_bound():
    # The hardest j30 instance for this method; 0.3 s never proves it.
    inst = sf.read("psplib:j30/j3029_3")
    res = sf.solve(inst, "cp", time_limit=0.3, seed=0)
    optimum = inst.metadata["optimum"]
    assert res.status.has_solution and validate(inst, res.solution) == []
    if res.status == sf.Status.OPTIMAL:
        assert res.objective == optimum
    else:
        assert res.bound <= optimum <= res.objective <= res.stats["heuristic_makespan"]
        assert res.stats["nondeterministic"]


def test_cp_finds_and_proves_a_hard_j30_optimum():
    # RF 1.0, RS 0.2: the heuristic schedule is one unit too long here, so CP-SAT
    # must find the optimum below it and then prove it.
    # The proof takes 90,000-130,000 CP-SAT branches, depending on the start
    # schedule: 10-25 s alone, more on a loaded machine.
    inst = sf.read("psplib:j30/j3013_5")
    res = sf.solve(inst, "cp", time_limit=60, seed=0)
    assert res.status == sf.Status.OPTIMAL
    assert res.objective == inst.metadata["optimum"] == 67
    assert res.stats["heuristic_makespan"] >= 67


@pytest.mark.parametrize("below_heuristic", [True, False])
@pytest.mark.parametrize(
    "name", ["psplib:j30/j3029_3", "psplib:j60/j6021_2", "psplib:j120/j12013_2"]
)
def test_cp_is_never_worse_than_its_start_schedule(name, below_heuristic):
    inst = sf.read(name)
    for limit in (0.2, 0.6):
        res = sf.solve(inst, "cp", time_limit=limit, seed=0, below_heuristic=below_heuristic)
        assert res.status.has_solution and validate(inst, res.solution) == []
        stats = res.stats
        assert res.objective <= stats["heuristic_makespan"]
        assert stats["heuristic_makespan"] == min(stats["lft_makespan"], stats["ga_makespan"])


def test_cp_without_the_ga_phase_starts_from_the_lft_pass():
    inst = sf.read("psplib:j30/j3029_3")
    res = sf.solve(inst, "cp", time_limit=0.3, seed=0, ga_share=0)
    assert "ga_makespan" not in res.stats
    assert res.objective <= res.stats["heuristic_makespan"] == res.stats["lft_makespan"]
    with pytest.raises(sf.InvalidOption):
        sf.solve(inst, "cp", time_limit=0.3, ga_share=1.5)


@pytest.mark.parametrize("algorithm", ["bipop", "hartmann"])
def test_ga_stops_at_its_target_or_when_it_stalls(algorithm):
    inst = sf.read("psplib:j30/j3029_3")
    opts = {"seed": 0, "schedules": 10**9, "algorithm": algorithm}
    reached = sf.solve(inst, "ga", target=10**6, **opts)
    made = "children" if algorithm == "bipop" else "generations"
    assert reached.stats["stop"] == "target" and reached.stats[made] == 0
    stalled = sf.solve(inst, "ga", stall=2000, time_limit=30, **opts)
    assert stalled.stats["stop"] == "stall" and stalled.runtime < 30
    with pytest.raises(sf.InvalidOption):
        sf.solve(inst, "ga", stall=0, algorithm=algorithm)
