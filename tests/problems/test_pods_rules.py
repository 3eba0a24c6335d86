"""Scheduling rules of a snapshot: modelled in validate(), the plan check and every method."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import schedforge as sf
from schedforge.core.errors import ParseError
from schedforge.problems.pods import PodsInstance, PodsSolution, objective, validate
from schedforge.problems.pods.apply import check_steps, kubectl_script, plan_steps, replay
from schedforge.problems.pods.kubectl import RULES, read_kubectl

RULES_DIR = Path(__file__).parents[1] / "data" / "pods" / "rules"

# Fixture -> words the violation message must hold (the rule's name).
BROKEN = {
    "hostport": "hostPort",
    "anti_affinity": "anti-affinity",
    "namespace_selector": "anti-affinity",
    "scheduling_gates": "schedulingGates",
    "scheduler_name": "schedulerName",
    "noexecute": "NoExecute",
    "pdb": "PodDisruptionBudget",
    "pdb_max_unavailable": "PodDisruptionBudget",
    "terminating": "terminating",
    "preemption_never": "preemptionPolicy Never",
}
METHODS = ["kube", "rule:ffd", "rule:bfd", "rule:most-allocated", "cp", "mip:highs"]


def load(name: str) -> PodsInstance:
    return read_kubectl(RULES_DIR / f"{name}.json")


def bad_plan(name: str) -> dict:
    return json.loads((RULES_DIR / f"{name}.bad.json").read_text())


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_bad_plan_of_each_rule_is_named_by_validate_and_the_check(name):
    inst = load(name)
    plan = bad_plan(name)
    checked = check_steps(inst, plan)
    assert checked and BROKEN[name] in checked[0], checked
    # validate() names the same rule on the placement the steps reach.
    problems = validate(inst, PodsSolution(replay(inst, plan)))
    assert any(BROKEN[name] in p for p in problems), problems


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("method", METHODS)
def test_every_method_plan_on_every_fixture_passes_the_check(name, method):
    inst = load(name)
    result = sf.solve(inst, method, time_limit=2)
    plan = plan_steps(inst, result.solution)
    assert check_steps(inst, plan) == []
    assert "kubectl create --raw" in kubectl_script(plan)


def test_what_the_methods_do_with_the_rules():
    # The PodDisruptionBudget allows no disruption: the batch pod stays pending.
    inst = load("pdb")
    for method in ("kube", "cp", "mip:highs"):
        node = sf.solve(inst, method, time_limit=2).solution.node
        assert node[inst.pod_names.index("default/batch-0")] == -1
    # maxUnavailable 33 % of 3 lets one replica go: the ETL pod takes node-b.
    inst = load("pdb_max_unavailable")
    for method in ("kube", "cp"):
        res = sf.solve(inst, method, time_limit=2)
        assert res.solution.node[inst.pod_names.index("default/etl-0")] >= 0
    # The NoExecute taint evicts api-0: it moves to node-b, and so does api-1,
    # which tolerates the taint for 300 s only.
    inst = load("noexecute")
    node_b = inst.node_names.index("node-b")
    for method in ("kube", "cp", "mip:highs"):
        assert sf.solve(inst, method, time_limit=2).solution.node.tolist() == [node_b, node_b]
    # A gated pod and another scheduler's pod stay pending whatever the room.
    for name in ("scheduling_gates", "scheduler_name"):
        assert sf.solve(load(name), "cp", time_limit=2).solution.node.tolist() == [-1]
    # preemptionPolicy Never: the polite pod does not push the low one out.
    inst = load("preemption_never")
    for method in ("kube", "cp", "mip:highs"):
        node = sf.solve(inst, method, time_limit=2).solution.node
        assert node.tolist() == [0, -1]


@pytest.mark.parametrize(
    "name, rule",
    [
        ("refused_topology_spread", "topology-spread"),
        ("refused_pod_affinity", "pod-affinity"),
        ("refused_preferred_node_affinity", "preferred-node-affinity"),
        ("refused_preferred_pod_affinity", "preferred-pod-affinity"),
        ("refused_pod_anti_affinity_topology", "pod-anti-affinity-topology"),
        ("refused_namespace_selector", "namespace-selector"),
    ],
)
def test_unmodelled_rules_are_refused_by_name_or_listed_when_ignored(name, rule):
    with pytest.raises(ParseError, match=rf"rule '{rule}'.*--ignore {rule}") as info:
        load(name)
    assert "items[1]" in str(info.value)  # the JSON path of the object
    inst = read_kubectl(RULES_DIR / f"{name}.json", ignore=[rule])
    assert any(f"({rule})" in item for item in inst.metadata["ignored"])
    assert rule in RULES


def tiny_ruled(seed: int) -> PodsInstance:
    """A random tiny snapshot with host ports, budgets, Never pods, anti-affinity and taints."""
    rng = np.random.default_rng(seed)
    pods, nodes = 5, 2
    current = rng.integers(-1, nodes, size=pods)
    ports = [("TCP//80",) if rng.random() < 0.4 else () for _ in range(pods)]
    labels = [{"app": "a" if p % 2 else "b"} for p in range(pods)]
    while True:
        inst_kwargs = dict(
            resources=("cpu",),
            node_names=("n0", "n1"),
            allocatable=[[1000], [1000]],
            pod_names=tuple(f"ns/p{p}" for p in range(pods)),
            requests=rng.integers(2, 7, size=(pods, 1)) * 100,
            priority=rng.integers(0, 2, size=pods) * 10,
            current_node=current,
            pod_labels=labels,
            anti_affinity_terms=[
                (
                    {
                        "selector": [{"key": "app", "operator": "In", "values": ["a"]}],
                        "namespaces": ["ns"],
                    },
                )
                if p == 1
                else ()
                for p in range(pods)
            ],
            host_ports=ports,
            preempt_never=rng.random(pods) < 0.3,
            pdb=[0 if p < 2 else -1 for p in range(pods)],
            pdb_names=("ns/first-two",),
            pdb_allowed=[int(rng.integers(0, 2))],
            node_taints=[[], [{"key": "k", "value": "v", "effect": "NoExecute"}]],
            tolerations=[
                [{"key": "k", "operator": "Exists", "effect": "NoExecute"}] if p % 3 else []
                for p in range(pods)
            ],
            name=f"tiny{seed}",
        )
        try:
            return PodsInstance(**inst_kwargs)
        except sf.InvalidInstance:
            current = np.where(rng.random(pods) < 0.5, -1, current)  # retry with fewer running


def brute_force(instance: PodsInstance, max_moves=None, max_evictions=None) -> int:
    best = None
    running = instance.current_node >= 0
    for node in itertools.product(range(-1, instance.num_nodes), repeat=instance.num_pods):
        node = np.array(node)
        if validate(instance, PodsSolution(node)):
            continue
        evictions = int(np.sum(running & (node < 0)))
        moves = int(np.sum(running & (node >= 0) & (node != instance.current_node)))
        if max_evictions is not None and evictions > max_evictions:
            continue
        if max_moves is not None and moves > max_moves:
            continue
        value = objective(instance, PodsSolution(node))
        best = value if best is None else min(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limits", [{}, {"max_moves": 0}, {"max_evictions": 0, "max_moves": 1}])
def test_cp_and_mip_match_brute_force_with_rules(seed, limits):
    inst = tiny_ruled(seed)
    forced = int(np.sum((inst.current_node >= 0) & ~inst.stay_ok))
    # The caps never go below what a NoExecute taint forces.
    caps = {k: max(v, forced) for k, v in limits.items()}
    best = brute_force(inst, **caps)
    for method in ("cp", "mip:highs"):
        res = sf.solve(inst, method, time_limit=5, **limits)
        assert not validate(inst, res.solution)
        assert res.objective >= best
        value = res.solution.node
        running = inst.current_node >= 0
        for key, count in (
            ("max_evictions", int(np.sum(running & (value < 0)))),
            ("max_moves", int(np.sum(running & (value >= 0) & (value != inst.current_node)))),
        ):
            if key in caps:
                assert count <= caps[key]
        if res.status is sf.Status.OPTIMAL:
            assert res.objective == best, (method, res.stats)
        if not inst.preempt_never.any():
            assert res.objective == best
