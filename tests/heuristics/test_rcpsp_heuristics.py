"""RCPSP schedule-generation schemes, priority rules, sampling and justification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.heuristics import rcpsp as heur
from schedforge.heuristics import sgs
from schedforge.problems.rcpsp import RCPSPSolution, objective, validate
from tests.conftest import DATA
from tests.problems.test_rcpsp import brute_force

RULE_SPECS = [f"rule:{r}" for r in heur.RULES]


def side_instance(seed: int, jobs: int = 12, tightness: float = 1.6):
    return sf.generate(
        "rcpsp",
        kind="rconstraint",
        jobs=jobs,
        levels=4,
        p_downtime=0.8,
        p_window=0.4,
        p_disjunctive=0.4,
        p_lag=0.3,
        tightness=tightness,
        seed=seed,
    )


def test_kernels_compiled():
    inst = sf.read(DATA / "rcpsp" / "tiny_side.json")
    sf.solve(inst, "sample:lft", schedules=10)
    data = sgs.SGSData.from_instance(inst)
    n = inst.num_activities
    order, start, avail = np.empty(n, np.int64), np.empty(n, np.int64), np.empty_like(data.profile)
    prio = heur.priorities(inst, "lft")
    sgs.build_list(prio, 0, 1.0, 1.0, data.pred_ptr, data.succ_ptr, data.succ_idx, order)
    assert sgs.serial_decode(order, *data.decode_args(), avail, start) == 12
    out, out_order = np.empty_like(start), np.empty_like(start)
    sgs.justify(start, *data.decode_args(), avail, *data.justify_tail(), out, out_order)
    sgs.parallel_sgs(prio, 0, 1.0, 1.0, *data.parallel_args(), avail, start, order)
    # Kernels called from Python (inner calls are compiled into their callers).
    for kernel in (
        sgs.serial_decode,
        sgs.parallel_sgs,
        sgs.build_list,
        sgs.justify,
        heur.sample_kernel,
    ):
        assert kernel.nopython_signatures, f"{kernel.__name__} did not compile"


@pytest.mark.parametrize("scheme", ["serial", "parallel"])
@pytest.mark.parametrize("spec", RULE_SPECS)
def test_rules_give_valid_schedules(spec, scheme):
    for seed in range(4):
        inst = side_instance(seed)
        res = sf.solve(inst, spec, sgs=scheme)
        # solve() validates; a missed deadline must be reported, not returned.
        if res.status.has_solution:
            assert validate(inst, res.solution) == []
        else:
            assert res.status == sf.Status.NO_SOLUTION and "failed_activity" in res.stats
    plain = sf.generate("rcpsp", jobs=20, rs=0.2, seed=1)
    res = sf.solve(plain, spec, sgs=scheme)
    assert res.status.has_solution and res.objective >= res.bound


def test_missed_deadline_is_reported():
    inst = sf.read(DATA / "rcpsp" / "tiny_infeasible.json")
    for scheme in ("serial", "parallel"):
        res = sf.solve(inst, "rule:lft", sgs=scheme)
        assert res.status == sf.Status.NO_SOLUTION and res.solution is None
        assert res.stats["failed_activity"] == 3  # the activity with the deadline
        res = sf.solve(inst, "sample:lst", sgs=scheme, schedules=30)
        assert res.status == sf.Status.NO_SOLUTION


def test_bad_options():
    inst = sf.read(DATA / "rcpsp" / "tiny.sm")
    with pytest.raises(sf.InvalidOption, match="'serial' or 'parallel'"):
        sf.solve(inst, "rule:lft", sgs="both")
    with pytest.raises(sf.InvalidOption, match="schedules must be >= 1"):
        sf.solve(inst, "sample:lft", schedules=0)
    with pytest.raises(sf.UnknownMethod, match="rule:lft"):
        sf.solve(inst, "rule:lftt")


def test_priorities_on_tiny():
    inst = sf.read(DATA / "rcpsp" / "tiny.sm")
    # Activities: 0 dummy, 1 (3), 2 (2), 3 (4, after 1), 4 (1, after 2), 5 dummy.
    assert heur.priorities(inst, "lft").tolist() == [0, 3, 6, 7, 7, 7]
    assert heur.priorities(inst, "mts").tolist() == [-5, -2, -2, -1, -1, 0]
    assert heur.priorities(inst, "grpw").tolist() == [-5, -7, -3, -4, -1, 0]
    assert heur.priorities(inst, "mslk").tolist() == [0, 0, 4, 0, 4, 0]


def _data_and_random_list(inst, rng):
    data = sgs.SGSData.from_instance(inst)
    prio = rng.random(inst.num_activities)
    order = np.empty(inst.num_activities, dtype=np.int64)
    sgs.build_list(prio, 0, 1.0, 1.0, data.pred_ptr, data.succ_ptr, data.succ_idx, order)
    return data, order


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tight=st.floats(0.9, 2.0))
def test_decode_and_justify_are_valid_and_never_worse(seed, tight):
    inst = side_instance(seed, jobs=10, tightness=tight)
    rng = np.random.default_rng(seed)
    data, order = _data_and_random_list(inst, rng)
    start = np.empty(inst.num_activities, dtype=np.int64)
    avail = np.empty_like(data.profile)
    makespan = sgs.serial_decode(order, *data.decode_args(), avail, start)
    if makespan < 0:
        return
    assert validate(inst, RCPSPSolution(start)) == []
    assert makespan == objective(inst, RCPSPSolution(start))
    better, better_order = np.empty_like(start), np.empty_like(start)
    again = sgs.justify(
        start, *data.decode_args(), avail, *data.justify_tail(), better, better_order
    )
    assert validate(inst, RCPSPSolution(better)) == []
    assert again == objective(inst, RCPSPSolution(better)) <= makespan
    # Decoding the start order of a feasible schedule never starts anything later.
    redo = np.empty_like(start)
    assert sgs.serial_decode(better_order, *data.decode_args(), avail, redo) >= 0
    assert np.all(redo <= better)


def test_serial_sgs_reaches_brute_force_optimum():
    # The optimal schedule's start order, decoded, is optimal too (Kolisch 1996).
    for seed in range(3):
        inst = side_instance(seed, jobs=5, tightness=1.4)
        best = brute_force(inst)
        res = sf.solve(inst, "sample:lft", schedules=300, seed=seed)
        if best is None:
            assert res.status == sf.Status.NO_SOLUTION
        elif res.status.has_solution:
            assert res.objective >= best


def test_sampling_is_seeded_and_finds_psplib_optimum():
    inst = sf.read("psplib:j30/j301_1")
    a = sf.solve(inst, "sample:lft", schedules=500, seed=3)
    b = sf.solve(inst, "sample:lft", schedules=500, seed=3)
    assert np.array_equal(a.solution.start, b.solution.start)
    assert a.stats["schedules"] == 500
    assert a.objective == inst.metadata["optimum"] == 43
    par = sf.solve(inst, "sample:lft", schedules=200, sgs="parallel", seed=1)
    assert par.objective >= 43
    single = sf.solve(inst, "rule:lft")
    assert single.objective >= a.objective and single.stats["schedules"] == 1


def test_sampling_honours_time_limit():
    inst = sf.generate("rcpsp", jobs=60, rs=0.2, seed=0)
    res = sf.solve(inst, "sample:lft", schedules=10**7, time_limit=0.3)
    assert res.runtime < 2.0 and res.stats["schedules"] < 10**7
    assert res.stats["nondeterministic"]


def test_ga_kernels_compiled_and_valid_on_side_constraints():
    from schedforge.heuristics import rcpsp_bpga, rcpsp_ga

    for algorithm in ("hartmann", "bipop"):
        for seed in range(4):
            inst = side_instance(seed)
            res = sf.solve(inst, "ga", schedules=300, seed=seed, algorithm=algorithm)
            if res.status.has_solution:
                assert validate(inst, res.solution) == []
                assert res.stats["schedules"] <= 300
                assert res.stats["algorithm"] == algorithm
    for kernel in (
        rcpsp_ga.ga_init,
        rcpsp_ga.ga_generation,
        rcpsp_bpga.bpga_init,
        rcpsp_bpga.bpga_children,
    ):
        assert kernel.nopython_signatures


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), tight=st.floats(1.0, 2.0))
def test_bipop_ga_counts_schedules_exactly_and_stays_valid(seed, tight):
    inst = side_instance(seed, jobs=14, tightness=tight)
    wanted = 37 + seed % 50  # any count, not a multiple of a child's cost
    res = sf.solve(inst, "ga", schedules=wanted, seed=seed)
    if res.status.has_solution:
        assert validate(inst, res.solution) == []
        assert res.objective == objective(inst, res.solution)
        assert res.stats["schedules"] == wanted


@pytest.mark.parametrize("algorithm", ["bipop", "hartmann"])
def test_ga_generates_exactly_the_schedules_asked(algorithm):
    inst = sf.read("psplib:j30/j301_1")
    for wanted in (5000, 1001, 2):
        res = sf.solve(inst, "ga", schedules=wanted, seed=3, algorithm=algorithm)
        assert res.stats["schedules"] == wanted
        assert validate(inst, res.solution) == []


def test_peak_crossover_lists_are_precedence_feasible_in_both_frames():
    from schedforge.heuristics import rcpsp_bpga

    inst = sf.generate("rcpsp", jobs=25, nc=2.1, seed=4)
    data = sgs.SGSData.from_instance(inst)
    forward, backward = rcpsp_bpga._frames(data)
    n = inst.num_activities
    ranks = np.stack([data.topo_rank, n - 1 - data.topo_rank]).astype(np.int64)
    frames = (
        (forward, data.pred_ptr, data.succ_ptr, data.succ_idx),
        (backward, data.succ_ptr, data.pred_ptr, data.pred_idx),
    )
    rng = np.random.default_rng(0)
    avail = np.empty_like(data.profile)
    key, child, position = (np.empty(n, dtype=np.int64) for _ in range(3))
    for trial in range(40):
        frame = trial % 2
        args, pred_ptr, succ_ptr, succ_idx = frames[frame]
        parents = []
        for _ in range(2):
            order = np.empty(n, dtype=np.int64)
            sgs.build_list(rng.random(n), 0, 1.0, 1.0, pred_ptr, succ_ptr, succ_idx, order)
            start = np.empty(n, dtype=np.int64)
            assert sgs.serial_decode(order, *args, avail, start) > 0
            parents.append(start)
        rcpsp_bpga._peak_key(
            parents[0], parents[1], data.duration, data.demand, args[-1], ranks[frame],
            0.1, 0.5, key,
        )  # fmt: skip
        rcpsp_bpga._list_by_key(key, pred_ptr, succ_ptr, succ_idx, child)
        assert sorted(child.tolist()) == list(range(n))
        position[child] = np.arange(n)
        before, after = inst.precedence[:, 0], inst.precedence[:, 1]
        if frame == 1:
            before, after = after, before
        assert np.all(position[before] < position[after])


def test_crossover_and_mutation_keep_lists_precedence_feasible():
    from schedforge.heuristics import rcpsp_ga

    inst = sf.generate("rcpsp", jobs=25, nc=2.1, seed=4)
    data = sgs.SGSData.from_instance(inst)
    rng = np.random.default_rng(0)
    position = np.empty(inst.num_activities, dtype=np.int64)
    taken = np.empty(inst.num_activities, dtype=bool)
    for _ in range(50):
        _, mother = _data_and_random_list(inst, rng)
        _, father = _data_and_random_list(inst, rng)
        child = np.empty_like(mother)
        q1 = int(rng.integers(0, len(mother) + 1))
        rcpsp_ga._crossover(
            mother, father, q1, int(rng.integers(q1, len(mother) + 1)), child, taken
        )
        assert child[:q1].tolist() == mother[:q1].tolist()
        rcpsp_ga._mutate(child, 0.5, data.pred_ptr, data.pred_idx)
        assert sorted(child.tolist()) == list(range(inst.num_activities))
        position[child] = np.arange(len(child))
        assert np.all(position[inst.precedence[:, 0]] < position[inst.precedence[:, 1]])


def test_ga_is_seeded_and_beats_single_pass():
    inst = sf.read("psplib:j120/j12016_1")
    a = sf.solve(inst, "ga", schedules=1000, seed=5, algorithm="hartmann")
    b = sf.solve(inst, "ga", schedules=1000, seed=5, algorithm="hartmann")
    assert np.array_equal(a.solution.start, b.solution.start)
    assert a.stats["schedules"] == 1000 and a.stats["generations"] > 0
    assert a.objective <= sf.solve(inst, "rule:lft").objective
    c = sf.solve(inst, "ga", schedules=1000, seed=5)
    d = sf.solve(inst, "ga", schedules=1000, seed=5)
    assert np.array_equal(c.solution.start, d.solution.start)
    assert c.stats["schedules"] == 1000 and c.stats["children"] > 0
    assert c.objective <= sf.solve(inst, "rule:lft").objective
    with pytest.raises(sf.InvalidOption, match="algorithm"):
        sf.solve(inst, "ga", algorithm="tabu")
    with pytest.raises(sf.InvalidOption, match="mutation"):
        sf.solve(inst, "ga", mutation=2.0)


def test_bipop_sub_projects_count_exactly_stay_valid_and_are_seeded():
    from schedforge.core.budget import Budget
    from schedforge.heuristics import rcpsp_bpga

    options = {"decompose": 0.3, "sub_schedules": 40, "sub_size": 5}
    for seed in range(4):
        inst = side_instance(seed, jobs=14)
        for wanted in (401, 97):
            out = rcpsp_bpga.bpga(inst, budget=Budget(seed=seed), schedules=wanted, **options)
            assert out.stats["schedules"] == wanted
            if out.solution is not None:
                assert validate(inst, out.solution) == []
                assert out.objective == objective(inst, out.solution)
    inst = sf.read("psplib:j60/j601_1")
    runs = [
        rcpsp_bpga.bpga(inst, budget=Budget(seed=2), schedules=1500, **options) for _ in range(2)
    ]
    assert runs[0].stats["subprojects"] > 0 and runs[0].stats["schedules"] == 1500
    assert np.array_equal(runs[0].solution.start, runs[1].solution.start)
    assert validate(inst, runs[0].solution) == []
    assert rcpsp_bpga.bpga_subproject.nopython_signatures
    with pytest.raises(sf.InvalidOption, match="decompose"):
        rcpsp_bpga.bpga(inst, budget=Budget(seed=0), decompose=1.0)
