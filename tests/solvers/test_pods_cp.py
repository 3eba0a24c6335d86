"""Lexicographic CP-SAT and the weighted MIP for pod packing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import schedforge as sf
from schedforge.core.result import Status
from schedforge.heuristics.kube import simulate
from schedforge.problems.pods import (
    PodsInstance,
    PodsSolution,
    objective,
    objective_vector,
    validate,
)
from schedforge.solvers.cp.pods import aggregate, disaggregate, pod_classes, relabel


def brute_force(instance: PodsInstance) -> int:
    best = None
    for node in itertools.product(range(-1, instance.num_nodes), repeat=instance.num_pods):
        sol = PodsSolution(np.array(node))
        if not validate(instance, sol):
            value = objective(instance, sol)
            best = value if best is None else min(best, value)
    return best


def snapshot(seed: int, **params) -> PodsInstance:
    """A generated cluster after kube-scheduler (no preemption) placed its pods."""
    inst = sf.generate("pods", seed=seed, **params)
    return inst.with_placement(simulate(inst, preemption=False)[0])


def tiny_cases() -> list[PodsInstance]:
    cases = [
        snapshot(seed, nodes=2, pods_per_node=3, priorities=2, utilisation=1.05)
        for seed in range(3)
    ]
    # Running low-priority pods block a pending high-priority one; one pod is protected.
    cases.append(
        PodsInstance(
            resources=("cpu", "memory"),
            node_names=("a", "b"),
            allocatable=[[1000, 1000], [1000, 1000]],
            pod_names=("ns/l0", "ns/l1", "ns/l2", "ns/h0", "ns/h1"),
            requests=[[500, 100], [400, 100], [600, 100], [500, 100], [900, 100]],
            priority=[0, 0, 0, 10, 10],
            current_node=[0, 0, 1, -1, -1],
            protected=[False, True, False, False, False],
            pod_labels=[{}, {}, {}, {"app": "h"}, {"app": "h"}],
            anti_affinity=[None, None, None, {"app": "h"}, {"app": "h"}],
            name="blocked",
        )
    )
    return cases


@pytest.mark.parametrize("spec", ["cp", "mip:highs"])
def test_exact_methods_match_brute_force(spec):
    for inst in tiny_cases():
        res = sf.solve(inst, spec, time_limit=10)
        assert res.status is Status.OPTIMAL, inst.name
        assert res.objective == brute_force(inst), inst.name


def test_cp_is_never_worse_than_kube_and_bounds_are_valid():
    for seed in range(3):
        inst = snapshot(seed, nodes=8, pods_per_node=8, priorities=4, utilisation=1.05)
        res = sf.solve(inst, "cp", time_limit=0.6, seed=seed)
        for preemption in (False, True):
            kube = sf.solve(inst, "kube", preemption=preemption)
            assert res.objective <= kube.objective
            assert objective_vector(inst, res.solution) >= objective_vector(inst, kube.solution)
        assert res.bound is None or res.bound <= res.objective


def test_cp_certifies_an_optimal_default_placement():
    inst = snapshot(0, nodes=4, pods_per_node=4, priorities=2, utilisation=0.6)
    assert (inst.current_node >= 0).all()
    res = sf.solve(inst, "cp", time_limit=5)
    assert res.status is Status.OPTIMAL and res.stats["tiers_proven"]
    assert np.array_equal(res.solution.node, inst.current_node)


def test_cp_handles_taints_selectors_anti_affinity_and_gpus():
    inst = snapshot(
        1,
        nodes=8,
        pods_per_node=4,
        priorities=2,
        gpus=True,
        taints=True,
        selectors=True,
        anti_affinity=True,
        utilisation=1.0,
    )
    res = sf.solve(inst, "cp", time_limit=2)
    assert res.status.has_solution
    kube = sf.solve(inst, "kube", preemption=False)
    assert res.objective <= kube.objective


def test_aggregate_disaggregate_and_relabel_keep_plans_valid():
    inst = snapshot(4, nodes=6, pods_per_node=4, priorities=2, utilisation=1.0)
    classes = pod_classes(inst)
    assert sum(len(m) for m in classes.members) == inst.num_pods
    y = aggregate(classes, inst, inst.current_node)
    node = disaggregate(classes, inst, y)
    assert np.array_equal(node, inst.current_node)
    # Rotate the nodes: every pod moves; relabelling the identical nodes undoes it.
    rotated = np.roll(y, 1, axis=1)
    moved = disaggregate(classes, inst, rotated)
    assert validate(inst, PodsSolution(moved)) == []
    assert objective_vector(inst, PodsSolution(moved)).moves > 0
    back = disaggregate(classes, inst, relabel(classes, rotated))
    assert objective_vector(inst, PodsSolution(back)).moves == 0


def test_cp_is_deterministic_with_one_worker_when_proven():
    inst = tiny_cases()[0]
    first = sf.solve(inst, "cp", time_limit=5, seed=3)
    again = sf.solve(inst, "cp", time_limit=5, seed=3)
    assert first.status is Status.OPTIMAL
    assert np.array_equal(first.solution.node, again.solution.node)
