"""The move-reduction repair of pod packing plans."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.core.result import Status
from schedforge.heuristics.kube import simulate
from schedforge.heuristics.pods_repair import limit_disruption, reduce_moves
from schedforge.problems.pods import PodsInstance, PodsSolution, objective_vector, validate
from schedforge.problems.pods.limits import added_pods, resolve_moves_per_pod


def two_nodes(current, plan_requests, *, anti=None, labels=None) -> PodsInstance:
    """Two nodes with room for 1000 m cpu each; pods named ``ns/p<k>``."""
    k = len(current)
    return PodsInstance(
        resources=("cpu",),
        node_names=("a", "b"),
        allocatable=[[1000], [1000]],
        pod_names=tuple(f"ns/p{i}" for i in range(k)),
        requests=[[r] for r in plan_requests],
        priority=[0] * k,
        current_node=current,
        pod_labels=labels,
        anti_affinity=anti,
    )


def test_a_needless_move_is_undone():
    inst = two_nodes([0, 1], [400, 400])
    out = reduce_moves(inst, np.array([1, 1]))
    assert out.tolist() == [0, 1]
    assert objective_vector(inst, PodsSolution(out)).moves == 0


def test_two_moved_pods_of_one_shape_swap_home():
    # Each node holds one pod only: neither can go home alone, a swap sends both.
    inst = two_nodes([0, 1], [800, 800])
    out = reduce_moves(inst, np.array([1, 0]))
    assert out.tolist() == [0, 1]


def test_an_evicted_pod_returns_when_it_fits():
    inst = two_nodes([0, 1], [600, 600])
    before = PodsSolution(np.array([-1, 1]))
    out = PodsSolution(reduce_moves(inst, before.node))
    assert out.node.tolist() == [0, 1]
    assert objective_vector(inst, out).evictions == 0
    assert objective_vector(inst, out) > objective_vector(inst, before)


def test_a_pending_pod_on_home_makes_room_if_it_can():
    # p0 runs on a; the plan gives a to its pending anti-affinity partner p1.
    labels, anti = [{"app": "x"}] * 2, [{"app": "x"}] * 2
    inst = two_nodes([0, -1], [100, 200], labels=labels, anti=anti)
    assert reduce_moves(inst, np.array([1, 0])).tolist() == [0, 1]


def test_home_taken_by_a_pod_with_nowhere_else_to_go_keeps_the_move():
    # p1 (pending, 950 m) holds a; b has 100 m left once p0 leaves: p1 cannot go there.
    inst = PodsInstance(
        resources=("cpu",),
        node_names=("a", "b"),
        allocatable=[[1000], [1000]],
        pod_names=("ns/p0", "ns/p1", "ns/p2"),
        requests=[[100], [950], [900]],
        priority=[0, 0, 0],
        current_node=[0, -1, 1],
        protected=[False, False, True],
    )
    assert reduce_moves(inst, np.array([1, 0, 1])).tolist() == [1, 0, 1]


def random_plan(inst: PodsInstance, rng: np.random.Generator) -> np.ndarray:
    """A random feasible plan: pods in random order, each on a random node if it fits."""
    node = np.where(inst.fixed, inst.current_node, -1)
    for p in rng.permutation(inst.num_pods):
        if inst.fixed[p]:
            continue
        for n in rng.permutation(inst.num_nodes)[:3]:
            node[p] = n
            if not validate(inst, PodsSolution(node)):
                break
            node[p] = -1
    return node


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    nodes=st.integers(2, 5),
    realistic=st.booleans(),
    util=st.sampled_from([0.9, 1.0, 1.05]),
)
def test_repair_keeps_validity_and_never_worsens_the_value(seed, nodes, realistic, util):
    options = dict(gpus=True, taints=True, selectors=True, anti_affinity=True) if realistic else {}
    inst = sf.generate(
        "pods", seed=seed, nodes=nodes, pods_per_node=3, priorities=2, utilisation=util, **options
    )
    inst = inst.with_placement(simulate(inst, preemption=False)[0])
    plan = random_plan(inst, np.random.default_rng(seed))
    assert validate(inst, PodsSolution(plan)) == []
    out = reduce_moves(inst, plan)
    assert validate(inst, PodsSolution(out)) == []
    before = objective_vector(inst, PodsSolution(plan))
    after = objective_vector(inst, PodsSolution(out))
    assert after >= before
    assert all(a >= b for a, b in zip(after.placed, before.placed, strict=True))
    assert after.evictions <= before.evictions and after.moves <= before.moves
    # A fixpoint: no moved or evicted running pod can go home on its own.
    for p in np.flatnonzero((inst.current_node >= 0) & (out != inst.current_node)):
        home = out.copy()
        home[p] = inst.current_node[p]
        assert validate(inst, PodsSolution(home)) != []


def test_cp_reports_the_repair_and_stays_honest():
    inst = sf.generate("pods", seed=3, nodes=6, pods_per_node=4, priorities=2, utilisation=1.0)
    inst = inst.with_placement(simulate(inst, preemption=False)[0])
    res = sf.solve(inst, "cp", time_limit=1.0, seed=0)
    (moves_before, moves_after) = res.stats["repair"]["moves"]
    assert moves_after == objective_vector(inst, res.solution).moves <= moves_before
    if moves_after < moves_before:
        assert res.status is not Status.OPTIMAL


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("caps", [{"max_moves": 0, "max_evictions": 0}, {"max_evictions": 1}])
def test_limit_disruption_keeps_the_caps_and_the_plan_valid(seed, caps):
    inst = sf.generate("pods", nodes=4, pods_per_node=4, priorities=3, utilisation=1.05, seed=seed)
    low = inst.priority <= np.median(inst.priority)
    first = np.where(low, simulate(inst, preemption=False)[0], -1)
    snapshot = inst.with_placement(first)
    plan = simulate(snapshot, preemption=True)[0]
    limited = limit_disruption(snapshot, plan, **caps)
    assert not validate(snapshot, PodsSolution(limited))
    value = objective_vector(snapshot, PodsSolution(limited))
    assert value.moves <= caps.get("max_moves", value.moves)
    assert value.evictions <= caps.get("max_evictions", value.evictions)
    res = sf.solve(snapshot, "kube", **caps)
    assert objective_vector(snapshot, res.solution).evictions <= caps["max_evictions"]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cap", [0, 1])
def test_limit_disruption_cuts_a_plan_that_moves_too_much(seed, cap):
    inst = sf.generate("pods", nodes=4, pods_per_node=4, priorities=3, utilisation=1.05, seed=seed)
    snapshot = inst.with_placement(simulate(inst, preemption=False)[0])
    plan = sf.solve(snapshot, "cp", time_limit=2).solution.node
    before = objective_vector(snapshot, PodsSolution(plan))
    assert before.moves > cap  # the cap binds
    limited = limit_disruption(snapshot, plan, max_moves=cap)
    assert not validate(snapshot, PodsSolution(limited))
    after = objective_vector(snapshot, PodsSolution(limited))
    assert after.moves <= cap
    assert after.evictions <= before.evictions


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("limits", [{"max_moves": 4}, {"moves_per_pod": 0.5}])
def test_limit_disruption_keeps_moves_per_added_pod(seed, limits):
    inst = sf.generate("pods", nodes=4, pods_per_node=4, priorities=3, utilisation=1.05, seed=seed)
    snapshot = inst.with_placement(simulate(inst, preemption=False)[0])
    plan = sf.solve(snapshot, "cp", time_limit=2, moves_per_pod=False).solution.node
    limited = limit_disruption(snapshot, plan, **limits)
    assert not validate(snapshot, PodsSolution(limited))
    # max_moves alone implies at most one move per added pod.
    ratio = limits.get("moves_per_pod", 1.0)
    after = objective_vector(snapshot, PodsSolution(limited))
    assert after.moves <= ratio * added_pods(snapshot, limited)
    for method in ("kube", "cp", "mip:highs"):
        res = sf.solve(snapshot, method, time_limit=2, **limits)
        value = objective_vector(snapshot, res.solution)
        assert value.moves <= ratio * added_pods(snapshot, res.solution.node), method


def test_moves_per_pod_defaults_to_one_with_max_moves_and_can_be_switched_off():
    assert resolve_moves_per_pod(None, None) is None
    assert resolve_moves_per_pod(3, None) == 1.0
    assert resolve_moves_per_pod(3, False) is None
    assert resolve_moves_per_pod(3, 0.5) == 0.5
    assert resolve_moves_per_pod(None, 2) == 2.0
    with pytest.raises(sf.InvalidOption):
        resolve_moves_per_pod(None, -1)
