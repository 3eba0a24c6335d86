"""The kube-scheduler simulation and the packing rules."""

from __future__ import annotations

import numpy as np
import pytest

import schedforge as sf
from schedforge.heuristics.kube import pick_node, simulate
from schedforge.problems.pods import PodsInstance, objective_vector, validate


def cluster(**changes) -> PodsInstance:
    base = dict(
        resources=("cpu", "memory"),
        node_names=("node-b", "node-a", "node-c"),
        allocatable=[[1000, 1000]] * 3,
        pod_names=("ns/p0",),
        requests=[[100, 100]],
        priority=[0],
        name="cluster",
    )
    base.update(changes)
    return PodsInstance(**base)


def test_numba_kernel_compiled():
    simulate(cluster())
    assert pick_node.signatures, "pick_node did not compile with numba"


def test_ties_go_to_the_first_node_by_name():
    node, _ = simulate(cluster())
    assert node.tolist() == [1]  # node-a


def test_least_allocated_prefers_the_emptiest_node():
    inst = cluster(
        pod_names=("ns/run0", "ns/run1", "ns/new"),
        requests=[[500, 500], [200, 200], [100, 100]],
        priority=[0, 0, 0],
        current_node=[1, 0, -1],
    )
    node, _ = simulate(inst)
    assert node[2] == 2  # node-c is empty
    most, _ = simulate(inst, strategy="most-allocated")
    assert most[2] == 1  # node-a is the fullest
    ffd, _ = simulate(inst, strategy="ffd")
    assert ffd[2] == 1  # first node by name that fits


def test_filters_taints_selectors_and_cordon():
    inst = cluster(
        node_labels=[{"disk": "ssd"}, {}, {"disk": "ssd"}],
        node_taints=[[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}], [], []],
        unschedulable=[False, False, True],
        node_selector=[{"disk": "ssd"}],
    )
    node, _ = simulate(inst)
    assert node[0] == -1  # b is tainted, c cordoned, a has no ssd
    tolerant = inst.replace(tolerations=[[{"key": "dedicated", "operator": "Exists"}]])
    assert simulate(tolerant)[0][0] == 0


def test_prefer_no_schedule_taint_steers_scoring():
    inst = cluster(node_taints=[[], [{"key": "spot", "effect": "PreferNoSchedule"}], []])
    assert simulate(inst)[0][0] == 0  # node-b: node-a is avoided, b before c by name


def test_default_spreading_separates_replicas():
    inst = cluster(
        allocatable=[[10_000, 10_000]] * 3,
        pod_names=tuple(f"ns/web-{k}" for k in range(3)),
        requests=[[10, 10]] * 3,
        priority=[0, 0, 0],
        owner=("ReplicaSet/web",) * 3,
    )
    node, _ = simulate(inst)
    assert sorted(node.tolist()) == [0, 1, 2]


def test_anti_affinity_filter():
    inst = cluster(
        node_names=("a", "b"),
        allocatable=[[1000, 1000]] * 2,
        pod_names=("ns/w0", "ns/w1", "ns/w2"),
        requests=[[10, 10]] * 3,
        priority=[0, 0, 0],
        pod_labels=[{"app": "w"}] * 3,
        anti_affinity=[{"app": "w"}] * 3,
    )
    node, _ = simulate(inst)
    assert sorted(node.tolist()) == [-1, 0, 1]


def preemption_case(**changes) -> PodsInstance:
    """Node a holds two low-priority pods; a high-priority pod needs room."""
    base = dict(
        resources=("cpu", "memory"),
        node_names=("a", "b"),
        allocatable=[[1000, 1000], [1000, 1000]],
        pod_names=("ns/low-big", "ns/low-small", "ns/mid", "ns/high"),
        requests=[[500, 100], [300, 100], [900, 100], [600, 100]],
        priority=[0, 0, 5, 10],
        current_node=[0, 0, 1, -1],
        owner=("ReplicaSet/low", "ReplicaSet/low", "", ""),
    )
    base.update(changes)
    return PodsInstance(**base)


def test_preemption_evicts_the_fewest_lower_priority_pods_and_reprieves():
    inst = preemption_case()
    off, _ = simulate(inst, preemption=False)
    assert off[3] == -1
    node, stats = simulate(inst)
    # On a only low-big must go (reprieving low-small keeps 300+600 <= 1000);
    # on b the victim would be mid (priority 5): a wins with the lower victim priority.
    assert node[3] == 0 and node[1] == 0 and node[0] == -1
    assert stats["preemptions"] == 1 and stats["victims"] == 1
    assert validate(inst, sf.get_problem("pods").solution_type(node)) == []


def test_preemption_never_touches_protected_pods_and_requeues_victims():
    inst = preemption_case(protected=[True, True, False, False])
    node, _ = simulate(inst)
    assert node[3] == 1 and node[2] == -1  # mid is the victim on b; it has no owner


def test_victims_with_an_owner_are_rescheduled_elsewhere():
    inst = preemption_case(
        allocatable=[[1000, 1000], [1800, 1000]],
        requests=[[500, 100], [300, 100], [900, 100], [1000, 100]],
    )
    node, stats = simulate(inst)
    # high needs all of a; both low pods are recreated and fit on b.
    assert stats["preemptions"] == 1 and stats["victims"] == 2
    assert node.tolist() == [1, 1, 1, 0]
    value = objective_vector(inst, sf.get_problem("pods").solution_type(node))
    assert value.placed == (1, 1, 2) and value.moves == 2 and value.evictions == 0


@pytest.mark.parametrize("spec", ["kube", "rule:ffd", "rule:bfd", "rule:most-allocated"])
def test_methods_through_solve(spec):
    inst = sf.generate(
        "pods",
        nodes=8,
        pods_per_node=8,
        priorities=4,
        utilisation=1.05,
        seed=2,
        taints=True,
        selectors=True,
        anti_affinity=True,
        gpus=True,
    )
    res = sf.solve(inst, spec)
    assert res.status.has_solution
    value = objective_vector(inst, res.solution)
    assert sum(value.placed) == res.stats["scheduled"]
    assert value.evictions == 0 and value.moves == 0
    again = sf.solve(inst, spec)
    assert np.array_equal(again.solution.node, res.solution.node)


def test_kube_honours_a_tiny_time_limit():
    inst = sf.generate("pods", nodes=4, pods_per_node=4, seed=0)
    res = sf.solve(inst, "kube", time_limit=1e-9)
    assert res.stats["truncated"] and validate(inst, res.solution) == []


# Expected scores ported from the upstream plugin test tables
# (kubernetes/kubernetes pkg/scheduler/framework/plugins/noderesources/
# least_allocated_test.go and balanced_allocation_test.go): (requested, capacity)
# per resource for cpu and memory, and the node score.
LEAST_ALLOCATED = [
    (((0, 4000), (0, 10000)), 100),  # nothing scheduled, nothing requested
    (((3000, 4000), (5000, 10000)), 37),  # differently sized nodes, node1
    (((3000, 6000), (5000, 10000)), 50),  # node2
    (((6000, 10000), (0, 20000)), 70),  # pods scheduled with resources, node1
    (((6000, 10000), (5000, 20000)), 57),  # node2
    (((6000, 10000), (10000, 20000)), 45),  # resources requested, pods scheduled
    (((6000, 10000), (10000, 50000)), 60),  # differently sized nodes
    (((6000, 4000), (0, 10000)), 50),  # requested resources exceed node capacity
    (((6000, 4000), (5000, 10000)), 25),
]
BALANCED = [
    ((3000 / 4000, 5000 / 10000), 87),
    ((3000 / 6000, 5000 / 10000), 100),
    ((6000 / 10000, 5000 / 20000), 82),
    ((6000 / 10000, 10000 / 20000), 95),
    ((6000 / 10000, 10000 / 50000), 80),
    ((6000 / 6000, 0 / 10000), 50),  # requested resources at node capacity
    ((6000 / 6000, 5000 / 10000), 75),
    ((3000 / 3500, 5000 / 40000), 63),  # node without the scalar resource
    ((3000 / 3500, 5000 / 40000, 4 / 8), 70),  # with the GPU fraction
    ((3000 / 3500, 5000 / 40000, 1 / 8), 65),
]


@pytest.mark.parametrize("pairs, expected", LEAST_ALLOCATED)
def test_least_allocated_scores_match_upstream(pairs, expected):
    from schedforge.heuristics.kube import fit_score

    scores = [fit_score(req, cap, 0) for req, cap in pairs]
    assert sum(scores) // len(scores) == expected


@pytest.mark.parametrize("fractions, expected", BALANCED)
def test_balanced_allocation_scores_match_upstream(fractions, expected):
    from schedforge.heuristics.kube import balanced_score

    assert balanced_score(np.array(fractions), len(fractions)) == expected


# TaintToleration score table (pkg/scheduler/framework/plugins/tainttoleration/
# taint_toleration_test.go, TestTaintTolerationScore): the pod's tolerations,
# each node's taints, the expected scores. Taints and tolerations are
# (key, value, effect).
PNS, NS = "PreferNoSchedule", "NoSchedule"
TAINT_TABLE = [
    # tolerated taints score higher than intolerable ones
    ([("foo", "bar", PNS)], [[("foo", "bar", PNS)], [("foo", "blah", PNS)]], [100, 0]),
    # every taint tolerated: the same score, however many
    (
        [("cpu-type", "arm64", PNS), ("disk-type", "ssd", PNS)],
        [[], [("cpu-type", "arm64", PNS)], [("cpu-type", "arm64", PNS), ("disk-type", "ssd", PNS)]],
        [100, 100, 100],
    ),
    # the more intolerable taints, the lower the score
    (
        [("foo", "bar", PNS)],
        [[], [("cpu-type", "arm64", PNS)], [("cpu-type", "arm64", PNS), ("disk-type", "ssd", PNS)]],
        [100, 50, 0],
    ),
    # only PreferNoSchedule counts
    (
        [("cpu-type", "arm64", NS), ("disk-type", "ssd", NS)],
        [[], [("cpu-type", "arm64", NS)], [("cpu-type", "arm64", PNS), ("disk-type", "ssd", PNS)]],
        [100, 100, 0],
    ),
    # no tolerations: the node without taints
    ([], [[], [("cpu-type", "arm64", PNS)]], [100, 0]),
]


@pytest.mark.parametrize("tolerations, taints, expected", TAINT_TABLE)
def test_taint_toleration_scores_match_upstream(tolerations, taints, expected):
    from schedforge.heuristics.kube import taint_score
    from schedforge.problems.pods import PodsInstance

    inst = PodsInstance(
        resources=("cpu",),
        node_names=tuple(f"n{k}" for k in range(len(taints))),
        allocatable=[[1000]] * len(taints),
        pod_names=("ns/p",),
        requests=[[100]],
        priority=[0],
        node_taints=[[{"key": k, "value": v, "effect": e} for k, v, e in node] for node in taints],
        tolerations=[
            [{"key": k, "operator": "Equal", "value": v, "effect": e} for k, v, e in tolerations]
        ],
    )
    counts = inst.prefer_no_schedule[0]
    assert [taint_score(c, counts.max()) for c in counts] == expected
