"""Pods data model, oracle (validate, objective, bound), generator and JSON formats."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.pods import (
    PodsInstance,
    PodsSolution,
    PodsValue,
    encode,
    from_compact,
    gantt,
    lower_bound,
    objective,
    objective_vector,
    plan,
    plan_report,
    tier_upper_bounds,
    to_compact,
    validate,
)
from tests.conftest import DATA

PODS = DATA / "pods"


def small(**changes) -> PodsInstance:
    """Two nodes, four pods: one running per node, two pending."""
    base = dict(
        resources=("cpu", "memory"),
        node_names=("a", "b"),
        allocatable=[[1000, 1000], [1000, 1000]],
        pod_names=("ns/p0", "ns/p1", "ns/p2", "ns/p3"),
        requests=[[600, 100], [500, 100], [500, 100], [400, 100]],
        priority=[10, 0, 10, 0],
        current_node=[0, 1, -1, -1],
        name="small",
    )
    base.update(changes)
    return PodsInstance(**base)


def brute_force(instance: PodsInstance) -> int:
    """The optimal scalar objective by enumerating every placement."""
    options = [range(-1, instance.num_nodes)] * instance.num_pods
    best = None
    for node in itertools.product(*options):
        sol = PodsSolution(np.array(node))
        if not validate(instance, sol):
            value = objective(instance, sol)
            best = value if best is None else min(best, value)
    return best


# -- data model -------------------------------------------------------------


def test_instance_defaults_and_derived_structure():
    inst = small()
    assert inst.num_nodes == 2 and inst.num_pods == 4 and inst.tiers == (10, 0)
    assert inst.tier_of.tolist() == [0, 1, 0, 1]
    assert inst.max_pods.tolist() == [4, 4]
    assert not inst.protected.any() and not inst.unschedulable.any()
    assert inst.eligible.all() and len(inst.conflicts) == 0
    with pytest.raises(ValueError):
        inst.requests[0, 0] = 1  # read-only arrays


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(requests=[[600, -1], [500, 100], [500, 100], [400, 100]]), "amounts must be >= 0"),
        (dict(current_node=[0, 5, -1, -1]), "outside 0..1"),
        (dict(current_node=[0, 0, -1, -1]), "overloaded on cpu"),
        (dict(resources=("cpu", "pods")), "max_pods"),
        (dict(node_names=("a", "a")), "duplicate node name"),
        (dict(priority=[1, 2]), "4 pods but 2 priorities"),
        (dict(node_taints=[[{"key": "k", "effect": "Sometimes"}], []]), "unknown taint effect"),
        (
            dict(node_affinity=[[[{"key": "z", "operator": "Near"}]], [], [], []]),
            "unknown operator",
        ),
        (dict(allocatable=[[1000, 1000, 1], [1000, 1000, 1]]), "expected (2, 2)"),
    ],
)
def test_invalid_instances_name_the_problem(changes, message):
    with pytest.raises(sf.InvalidInstance, match=re_escape(message)):
        small(**changes)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_constraints_eligibility_rules():
    inst = small(
        node_labels=[{"pool": "gpu", "rank": "7"}, {"pool": "cpu"}],
        node_taints=[[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}], []],
        node_selector=[{}, {}, {"pool": "gpu"}, {}],
        tolerations=[[], [], [{"key": "gpu", "operator": "Exists"}], []],
        node_affinity=[[], [], [], [[{"key": "rank", "operator": "Gt", "values": ["5"]}]]],
        current_node=[-1, -1, -1, -1],
    )
    # p0, p1 do not tolerate the taint of a; p2 selects a and tolerates it;
    # p3 requires rank > 5, which only a has, but a's taint repels it.
    assert inst.eligible.tolist() == [[False, True], [False, True], [True, False], [False, False]]
    cordoned = small(unschedulable=[False, True], current_node=[-1, -1, -1, -1])
    assert cordoned.eligible[:, 1].sum() == 0
    # A running pod may stay on a node it would not be admitted to.
    stays = small(unschedulable=[True, True])
    assert stays.allowed[0, 0] and not stays.eligible[0, 0]


def test_anti_affinity_conflicts_are_symmetric_and_namespaced():
    inst = small(
        pod_labels=[{"app": "w"}, {"app": "w"}, {"app": "w"}, {"app": "x"}],
        anti_affinity=[{"app": "w"}, None, None, None],
        pod_names=("ns/p0", "ns/p1", "other/p2", "ns/p3"),
    )
    assert inst.conflicts.tolist() == [[0, 1]]


# -- oracle -----------------------------------------------------------------


def test_validate_names_each_violation():
    inst = small(
        protected=[True, False, False, False],
        pod_labels=[{}, {}, {"app": "w"}, {"app": "w"}],
        anti_affinity=[None, None, {"app": "w"}, {"app": "w"}],
    )
    assert validate(inst, PodsSolution([0, 1, -1, -1])) == []
    assert "expected one node per pod" in validate(inst, PodsSolution([0, 1]))[0]
    assert "outside -1..1" in validate(inst, PodsSolution([0, 1, 2, -1]))[0]
    assert any("protected pod" in v for v in validate(inst, PodsSolution([1, 0, -1, -1])))
    assert any("overloaded on cpu" in v for v in validate(inst, PodsSolution([0, 0, -1, -1])))
    assert any("anti-affinity" in v for v in validate(inst, PodsSolution([-1, -1, 1, 1])))
    tainted = small(node_taints=[[], [{"key": "k", "effect": "NoExecute"}]])
    assert any("may not run" in v for v in validate(tainted, PodsSolution([0, 1, 1, -1])))


def test_objective_vector_and_encoding():
    inst = small()
    keep = PodsSolution([0, 1, -1, -1])
    value = objective_vector(inst, keep)
    assert value == PodsValue((10, 0), (1, 1), 0, 0)
    better = PodsSolution([0, -1, 1, -1])  # evicts p1 to run the high-priority p2
    assert objective_vector(inst, better) > value
    assert objective(inst, better) < objective(inst, keep)
    moved = PodsSolution([1, 0, -1, -1])
    assert objective_vector(inst, moved).moves == 2
    assert objective(inst, moved) > objective(inst, keep)
    assert encode(inst, value) == objective(inst, keep)
    assert "placed [p10:1, p0:1]" in str(value)


def test_objective_order_equals_lexicographic_order_exhaustively():
    inst = small()
    sols = [
        PodsSolution(np.array(node))
        for node in itertools.product(range(-1, 2), repeat=4)
        if not validate(inst, PodsSolution(np.array(node)))
    ]
    for a, b in itertools.combinations(sols, 2):
        va, vb = objective_vector(inst, a), objective_vector(inst, b)
        assert (va < vb) == (objective(inst, a) > objective(inst, b))
        assert (va == vb) == (objective(inst, a) == objective(inst, b))


def test_lower_bound_is_valid_against_brute_force():
    for seed in range(4):
        inst = sf.generate(
            "pods", nodes=2, pods_per_node=2, priorities=2, utilisation=1.05, seed=seed
        )
        assert lower_bound(inst) <= brute_force(inst)
        best_placed = sum(tier_upper_bounds(inst))
        assert best_placed <= inst.num_pods


def test_plan_report_and_gantt():
    inst = small()
    sol = PodsSolution([1, -1, 0, -1])
    info = plan(inst, sol)
    assert [m["pod"] for m in info["moves"]] == ["ns/p0"]
    assert [e["pod"] for e in info["evictions"]] == ["ns/p1"]
    assert info["placements"] == [{"pod": "ns/p2", "priority": 10, "node": "a"}]
    text = plan_report(inst, sol)
    assert "move   ns/p0 a -> b" in text and "evict  ns/p1 from b" in text
    json.dumps(info)
    bars = gantt(inst, sol)
    rows = {b.row for b in bars}
    assert rows == {"a", "b", "(not running)"}
    a_bars = [b for b in bars if b.row == "a"]
    assert a_bars[0].end == pytest.approx(50.0)


# -- generator --------------------------------------------------------------


@pytest.mark.parametrize("util", [0.9, 1.05])
def test_generator_reproduces_the_paper_sizing(util):
    inst = sf.generate("pods", nodes=8, pods_per_node=4, priorities=4, utilisation=util, seed=3)
    assert inst.num_pods == 32 and inst.num_nodes == 8
    assert set(inst.priority.tolist()) <= {0, 1000, 2000, 3000}
    assert (inst.current_node == -1).all()
    for r in range(2):
        need = math.ceil(math.ceil(inst.requests[:, r].sum() / util) / 8)
        assert (inst.allocatable[:, r] == max(inst.requests[:, r].max(), need)).all()
    assert inst.requests[:, 0].min() >= 100 and inst.requests[:, 0].max() <= 1000
    owners = {}
    for p, owner in enumerate(inst.owner):
        owners.setdefault(owner, []).append(p)
    for members in owners.values():
        assert 1 <= len(members) <= 4
        assert len({tuple(inst.requests[p]) for p in members}) == 1
        assert len({int(inst.priority[p]) for p in members}) == 1
    again = sf.generate("pods", nodes=8, pods_per_node=4, priorities=4, utilisation=util, seed=3)
    assert again == inst


def test_generator_options_keep_the_base_instance():
    base = sf.generate("pods", nodes=8, pods_per_node=4, seed=5)
    rich = sf.generate(
        "pods",
        nodes=8,
        pods_per_node=4,
        seed=5,
        gpus=True,
        taints=True,
        selectors=True,
        anti_affinity=True,
    )
    assert rich.resources == ("cpu", "memory", "nvidia.com/gpu")
    assert np.array_equal(rich.requests[:, :2], base.requests)
    assert rich.requests[:, 2].any() and rich.allocatable[:, 2].any()
    assert any(t for t in rich.node_taints) and len(rich.conflicts) > 0
    assert any(sel for sel in rich.node_selector) or any(a for a in rich.node_affinity)
    assert not rich.eligible.all()
    with pytest.raises(sf.InvalidInstance):
        sf.generate("pods", nodes=0)


# -- formats ----------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    nodes=st.integers(1, 4),
    ppn=st.integers(1, 4),
    prios=st.integers(1, 3),
    options=st.lists(st.booleans(), min_size=4, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_json_round_trip(tmp_path_factory, nodes, ppn, prios, options, seed):
    gpus, taints, selectors, anti = options
    inst = sf.generate(
        "pods",
        nodes=nodes,
        pods_per_node=ppn,
        priorities=prios,
        gpus=gpus,
        taints=taints,
        selectors=selectors,
        anti_affinity=anti,
        seed=seed,
    )
    assert PodsInstance.from_dict(json.loads(json.dumps(inst.to_dict()))) == inst
    path = sf.write(inst, tmp_path_factory.mktemp("pods") / "inst.json")
    assert sf.read(path) == inst


def test_compact_format_reads_and_round_trips(tmp_path):
    inst = sf.read(PODS / "compact_small.json")
    assert inst.node_names == ("worker-a", "worker-b")
    assert inst.pod_names[0] == "kube-system/coredns-1"
    assert inst.current_node.tolist() == [0, 0, 1, -1, -1]
    assert inst.protected.tolist() == [True, False, False, False, False]
    assert inst.allocatable[0].tolist() == [2000, 4294967296]
    data = to_compact(inst)
    assert data["pods"][0]["uid"] == "0b6c2a9e-1"
    again = from_compact(data, name=inst.name)
    assert np.array_equal(again.requests, inst.requests)
    assert np.array_equal(again.current_node, inst.current_node)
    path = sf.write(inst, tmp_path / "out.json", fmt="pods-compact")
    assert sf.read(path).pod_names == inst.pod_names
    planned = to_compact(inst, PodsSolution([0, 1, -1, 0, -1]))
    assert [p["node"] for p in planned["pods"]] == ["worker-a", "worker-b", None, "worker-a", None]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_unplacing_a_pod_keeps_validity_and_worsens_the_value(seed, data):
    inst = sf.generate("pods", nodes=3, pods_per_node=3, priorities=3, utilisation=1.0, seed=seed)
    inst = inst.with_placement(sf.solve(inst, "kube").solution.node)
    node = inst.current_node.copy()
    placed = np.flatnonzero(node >= 0).tolist()
    p = data.draw(st.sampled_from(placed))
    fewer = node.copy()
    fewer[p] = -1
    before, after = PodsSolution(node), PodsSolution(fewer)
    assert validate(inst, after) == []  # removing a pod never breaks a constraint
    assert objective_vector(inst, after) < objective_vector(inst, before)
    assert objective(inst, after) > objective(inst, before)
    assert lower_bound(inst) <= objective(inst, before)
