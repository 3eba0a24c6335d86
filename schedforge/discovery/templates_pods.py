"""The pods discovery template: a node score for kube-style placement.

The skeleton places the pending pods of a snapshot one at a time, in
kube-scheduler's queue order (priority, then creation order); running pods
stay where they are. For each pod it applies the filters (node eligibility
from selectors, affinity and ``NoSchedule`` taints; every requested
resource; the pod count; required anti-affinity with pods already placed),
computes features of the feasible nodes, and binds the pod to the node of
**smallest** score (ties to the lowest node index). Without preemption a pod
that no node accepts stays pending. Seeds: LeastAllocated and MostAllocated
(the NodeResourcesFit scoring strategies of the Kubernetes scheduler),
balanced allocation, and a kube-like mix with topology spreading.

Fitness is the share of pods that could run (the problem's per-tier upper
bound, :func:`schedforge.problems.pods.tier_upper_bounds`) but do not: the
gap of the number of running pods to that bound, in percent. The sets are
generated with the "Priority Matters" generator (Christensen et al. 2025)
at high utilisation, with three priority levels and anti-affinity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from schedforge.core.errors import SchedforgeError
from schedforge.discovery.templates import (
    CandidateError,
    EvalSet,
    Feature,
    Template,
    register_template,
)

_DESCRIPTION = """\
Kubernetes pod placement. Pending pods are placed one at a time, highest
priority first; a pod goes to one of the nodes that can take it (enough
free cpu, memory and pod slots; node selectors, taints and anti-affinity
respected). Your function scores all feasible nodes for the current pod at
once; the node with the SMALLEST score gets the pod (ties to the first).
Pods that find no node stay pending. The goal is to run as many pods as
possible, high-priority ones first.

Write a node-scoring function (arrays of equal length, one entry per
feasible node). Use only arithmetic, comparisons, if/else, for-loops over
range(...), and numpy (as np) and math functions. No imports, no file or
network access; return one finite float per node.
"""

_SIG = "def score(cpu_free, mem_free, cpu_req, mem_req, slots_free, same_owner, soft_taints, tier):"
_SEEDS = {
    "least_allocated": f'{_SIG}\n    """LeastAllocated: most free room first (kube default)."""\n'
    "    return -(cpu_free + mem_free)\n",
    "most_allocated": f'{_SIG}\n    """MostAllocated: tightest fit first (bin packing)."""\n'
    "    return cpu_free + mem_free\n",
    "balanced": f'{_SIG}\n    """Balanced allocation: equal cpu and memory use."""\n'
    "    return np.abs(cpu_free - mem_free) - 0.01 * (cpu_free + mem_free)\n",
    "kube_like": f'{_SIG}\n    """Least allocated, balanced, spread over owners, avoid soft taints."""\n'
    "    fit = (cpu_free + mem_free) / 2.0\n"
    "    balance = 1.0 - np.abs(cpu_free - mem_free) / 2.0\n"
    "    return -(fit + balance) + 0.5 * same_owner + 3.0 * soft_taints\n",
}


def _encode(instance: Any) -> dict[str, np.ndarray]:
    from schedforge.heuristics.kube import SPREAD_OWNER_KINDS

    resources = list(instance.resources)
    owners = sorted({o for o in instance.owner if o and o.split("/")[0] in SPREAD_OWNER_KINDS})
    owner_id = {o: k for k, o in enumerate(owners)}
    conflicts = np.asarray(instance.conflicts, dtype=np.int64).reshape(-1, 2)
    return {
        "alloc": np.asarray(instance.allocatable, dtype=np.float64),
        "requests": np.asarray(instance.requests, dtype=np.float64),
        "priority": np.asarray(instance.priority, dtype=np.int64),
        "tier": np.asarray(instance.tier_of, dtype=np.float64),
        # A running pod a NoExecute taint evicts is pending again (its controller recreates it).
        "current": np.where(instance.stay_ok, instance.current_node, -1).astype(np.int64),
        "eligible": np.asarray(instance.eligible, dtype=np.bool_),
        "max_pods": np.asarray(instance.max_pods, dtype=np.int64),
        "conflicts": conflicts,
        "zone_pairs": np.asarray(instance.zone_pairs, dtype=np.int64).reshape(-1, 3),
        "domain": np.asarray(instance.domain, dtype=np.int64).reshape(-1, instance.num_nodes),
        "prefer": np.asarray(instance.prefer_no_schedule, dtype=np.float64),
        "owner": np.array([owner_id.get(o, -1) for o in instance.owner], dtype=np.int64),
        "resource_index": np.array(
            [resources.index(r) if r in resources else -1 for r in ("cpu", "memory")],
            dtype=np.int64,
        ),
    }


def _place(score: Callable[..., Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Place the pending pods in queue order on the node of smallest score."""
    alloc, requests = arrays["alloc"], arrays["requests"]
    num_pods, num_nodes = arrays["eligible"].shape
    node = arrays["current"].copy()
    used = np.zeros_like(alloc)
    count = np.zeros(num_nodes, dtype=np.int64)
    owner_count = np.zeros((max(int(arrays["owner"].max(initial=-1)) + 1, 1), num_nodes))
    for p in np.flatnonzero(node >= 0):
        used[node[p]] += requests[p]
        count[node[p]] += 1
        if arrays["owner"][p] >= 0:
            owner_count[arrays["owner"][p], node[p]] += 1
    # Conflicting pods: (q, -1) on one node, (q, k) in one domain of topology key k.
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(num_pods)]
    for p, q in arrays["conflicts"].tolist():
        neighbours[p].append((q, -1))
        neighbours[q].append((p, -1))
    for p, q, k in arrays["zone_pairs"].tolist():
        neighbours[p].append((q, k))
        neighbours[q].append((p, k))
    domain = arrays["domain"]
    cpu, mem = (int(i) for i in arrays["resource_index"])
    safe = np.where(alloc > 0, alloc, 1.0)
    pending = [p for p in range(num_pods) if node[p] < 0]
    pending.sort(key=lambda p: (-int(arrays["priority"][p]), p))
    for p in pending:
        req = requests[p]
        ok = arrays["eligible"][p] & (count + 1 <= arrays["max_pods"])
        ok &= np.all((req <= 0) | (used + req <= alloc), axis=1)
        for q, k in neighbours[p]:
            if node[q] >= 0 and k < 0:
                ok[node[q]] = False
            elif node[q] >= 0 and domain[k, node[q]] >= 0:
                ok &= domain[k] != domain[k, node[q]]
        feasible = np.flatnonzero(ok)
        if len(feasible) == 0:
            continue
        after = (alloc[feasible] - used[feasible] - req) / safe[feasible]
        zero = np.zeros(len(feasible))
        features = (
            after[:, cpu] if cpu >= 0 else zero,
            after[:, mem] if mem >= 0 else zero,
            req[cpu] / safe[feasible, cpu] if cpu >= 0 else zero,
            req[mem] / safe[feasible, mem] if mem >= 0 else zero,
            (arrays["max_pods"][feasible] - count[feasible] - 1) / arrays["max_pods"][feasible],
            owner_count[arrays["owner"][p], feasible] if arrays["owner"][p] >= 0 else zero,
            arrays["prefer"][p, feasible],
        )
        args = [np.ascontiguousarray(f, dtype=np.float64) for f in features]
        values = _checked(score(*args, float(arrays["tier"][p])), len(feasible))
        n = int(feasible[int(np.argmin(values))])
        node[p] = n
        used[n] += req
        count[n] += 1
        if arrays["owner"][p] >= 0:
            owner_count[arrays["owner"][p], n] += 1
    return node


def _checked(values: Any, count: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CandidateError(f"the scores are not numbers ({exc})") from None
    if arr.shape != (count,):
        raise CandidateError(
            f"must return one score per feasible node: expected shape ({count},), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise CandidateError("returned NaN or infinite scores")
    return arr


def _signature():
    from numba import types

    arr = types.float64[:]
    return arr(arr, arr, arr, arr, arr, arr, arr, types.float64)


def _decode(instance: Any, raw: Any) -> Any:
    from schedforge.problems.pods import PodsSolution
    from schedforge.problems.pods.topology import topology_repair

    # The skeleton ignores pod affinity and topology spread: drop what breaks them.
    node, _ = topology_repair(instance, np.asarray(raw, dtype=np.int64))
    return PodsSolution(node=node)


def _running(instance: Any, solution: Any) -> float:
    """Number of pods that run in ``solution`` (compared with the upper bound)."""
    return float(np.sum(np.asarray(solution.node) >= 0))


def _gap(value: float, reference: float) -> float:
    """Pods short of the upper bound on running pods, in percent of the bound."""
    return 100.0 * (reference - value) / reference


def _generated_set(name: str, count: int, nodes: int, seed: int) -> EvalSet:
    from schedforge.problems.pods import generate, tier_upper_bounds

    instances, refs = [], []
    for k in range(count):
        inst = generate(
            nodes=nodes,
            pods_per_node=5,
            priorities=3,
            utilisation=1.0 + 0.05 * (k % 3),
            anti_affinity=k % 2 == 1,
            seed=seed + k,
        )
        instances.append(inst)
        refs.append(float(sum(tier_upper_bounds(inst))))
    return EvalSet(name, tuple(instances), tuple(refs), f"generated, {nodes} nodes, seed {seed}")


def _sets(size: str = "default") -> dict[str, EvalSet]:
    """Generated pod sets (see the module docstring); ``quick`` for tests."""
    if size == "quick":
        return {
            "train": _generated_set("train", 3, 4, 100),
            "validation": _generated_set("validation", 2, 4, 200),
            "holdout": _generated_set("holdout", 2, 6, 300),
        }
    if size != "default":
        raise SchedforgeError(f"unknown set size {size!r}; use default or quick")
    return {
        "train": _generated_set("train", 24, 8, 1000),
        "validation": _generated_set("validation", 16, 8, 2000),
        "holdout": _generated_set("holdout", 16, 20, 3000),
    }


PODS = register_template(
    Template(
        problem="pods",
        function_name="score",
        features=(
            Feature("cpu_free", "array", "fraction of the node's cpu free after placing the pod"),
            Feature("mem_free", "array", "fraction of the node's memory free after placing it"),
            Feature("cpu_req", "array", "the pod's cpu request / the node's allocatable cpu"),
            Feature("mem_req", "array", "the pod's memory request / the node's memory"),
            Feature("slots_free", "array", "fraction of the node's pod slots free after"),
            Feature("same_owner", "array", "pods of the same ReplicaSet already on the node"),
            Feature("soft_taints", "array", "untolerated PreferNoSchedule taints of the node"),
            Feature("tier", "scalar", "priority tier of the pod (0 = highest)"),
        ),
        returns="a float array, one score per feasible node; the smallest gets the pod",
        description=_DESCRIPTION,
        seeds=_SEEDS,
        encode=_encode,
        run_python=_place,
        # The loop is NumPy over nodes; the compiled candidate plugs into it.
        run_numba=_place,
        numba_signature=_signature,
        decode=_decode,
        sets=_sets,
        size_of=lambda arrays: 1,  # compiling the candidate alone never pays off
        gp_seeds={
            "least_allocated": ["neg", ["add", ["var", "cpu_free"], ["var", "mem_free"]]],
            "most_allocated": ["add", ["var", "cpu_free"], ["var", "mem_free"]],
            "balanced": [
                "sub",
                ["var", "balance"],
                ["mul", ["const", 0.02], ["var", "fit"]],
            ],
        },
        # Derived features for GP: imbalance, mean free share, request size.
        gp_terminals={
            "balance": "np.abs(cpu_free - mem_free)",
            "fit": "(cpu_free + mem_free) / 2.0",
            "req": "cpu_req + mem_req",
        },
        measure=_running,
        gap=_gap,
    )
)
