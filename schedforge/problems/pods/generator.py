"""The "Priority Matters" instance generator, with realistic options."""

from __future__ import annotations

import math

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.problems.pods.model import PodsInstance

# --------------------------------------------------------------------------
# Generator: the "Priority Matters" grid, plus realistic options

GPU = "nvidia.com/gpu"
MB = 1_000_000


def generate(
    *,
    nodes: int = 4,
    pods_per_node: int = 4,
    priorities: int = 1,
    utilisation: float = 0.95,
    gpus: bool = False,
    taints: bool = False,
    selectors: bool = False,
    anti_affinity: bool = False,
    seed: int = 0,
    name: str | None = None,
) -> PodsInstance:
    """A random cluster with every pod pending, as in "Priority Matters".

    ``nodes × pods_per_node`` pods come in ReplicaSets of 1-4 replicas (the
    last one cut to size); a ReplicaSet has one CPU request U{100..1000} m,
    one memory request U{100..1000} MB and one priority drawn uniformly
    from ``priorities`` levels (priority values 0, 1000, 2000, ...). Nodes
    are identical, each resource sized
    ``max(largest request, ceil(ceil(total request / utilisation) / nodes))``
    (Christensen et al. 2025, Sec. 5).

    Parameters
    ----------
    nodes, pods_per_node
        Cluster size and average pods per node.
    priorities
        Number of priority levels.
    utilisation
        Target utilisation: total requests / total allocatable, per resource.
    gpus
        A quarter of the ReplicaSets request 1-2 ``nvidia.com/gpu``; half
        of the nodes (at least one) carry GPUs (sized like the other
        resources over the GPU nodes) and the taint
        ``nvidia.com/gpu=present:NoSchedule``, which the GPU pods tolerate.
    taints
        A quarter of the nodes (at least one) are tainted
        ``dedicated=batch:NoSchedule`` and one node in eight is
        ``PreferNoSchedule`` tainted ``spot=true``; a third of the
        ReplicaSets tolerate ``dedicated=batch``.
    selectors
        Nodes are labelled ``pool`` in {``general``, ``highmem``} and a zone;
        a quarter of the ReplicaSets select ``pool: highmem`` by
        ``nodeSelector`` and another quarter require a zone by required node
        affinity (``In`` two of three zones).
    anti_affinity
        Half of the ReplicaSets with several replicas require their replicas
        on distinct nodes (hostname anti-affinity on their ``app`` label).
    seed
        Seed; the same parameters and seed give the same instance.
    name
        Instance name; a descriptive default includes the parameters.

    References
    ----------
    Christensen, Giallorenzo & Mauro (2025). Priority Matters: Optimising
    Kubernetes Clusters Usage with Constraint-Based Pod Packing.
    arXiv:2511.08373.
    """
    if nodes < 1 or pods_per_node < 1 or priorities < 1:
        raise InvalidInstance(
            f"nodes, pods_per_node and priorities must be >= 1, got {nodes}, "
            f"{pods_per_node}, {priorities}"
        )
    if not 0 < utilisation <= 10:
        raise InvalidInstance(f"utilisation must lie in (0, 10], got {utilisation}")
    rng = np.random.default_rng(seed)
    total = nodes * pods_per_node
    sets = []  # (replicas, cpu, mem, priority, gpu)
    count = 0
    while count < total:
        replicas = min(int(rng.integers(1, 5)), total - count)
        cpu = int(rng.integers(100, 1001))
        mem = int(rng.integers(100, 1001)) * MB
        prio = 1000 * int(rng.integers(0, priorities))
        sets.append([replicas, cpu, mem, prio, 0])
        count += replicas
    # Options draw from their own streams so that switching one on keeps the
    # paper's base instance identical.
    opt_rng = np.random.default_rng([seed, 1])
    if gpus:
        for s in sets:
            if opt_rng.random() < 0.25:
                s[4] = int(opt_rng.integers(1, 3))
        if not any(s[4] for s in sets):
            sets[0][4] = 1
    resources = ("cpu", "memory", GPU) if gpus else ("cpu", "memory")
    requests, priority, pod_names, owners, labels = [], [], [], [], []
    set_of_pod = []
    for k, (replicas, cpu, mem, prio, gpu) in enumerate(sets):
        for i in range(replicas):
            requests.append([cpu, mem, gpu] if gpus else [cpu, mem])
            priority.append(prio)
            pod_names.append(f"default/rs{k}-{i}")
            owners.append(f"ReplicaSet/rs{k}")
            labels.append({"app": f"rs{k}"})
            set_of_pod.append(k)
    req = np.array(requests, dtype=np.int64)
    alloc_row = []
    for r in range(2):
        need = math.ceil(int(req[:, r].sum()) / utilisation)
        alloc_row.append(max(int(req[:, r].max()), math.ceil(need / nodes)))
    allocatable = np.tile(np.array(alloc_row, dtype=np.int64), (nodes, 1))
    node_names = [f"node-{n:02d}" for n in range(nodes)]
    node_labels = [
        {"kubernetes.io/hostname": node_names[n], "topology.kubernetes.io/zone": "zone-a"}
        for n in range(nodes)
    ]
    node_taints: list[list[dict]] = [[] for _ in range(nodes)]
    pod_tolerations: list[list[dict]] = [[] for _ in pod_names]
    pod_selector: list[dict] = [{} for _ in pod_names]
    pod_affinity: list[list] = [[] for _ in pod_names]
    pod_anti: list[dict | None] = [None for _ in pod_names]
    set_flags = [
        {"tolerate": False, "pool": False, "zone": None, "anti": False, "gpu": s[4]} for s in sets
    ]
    if gpus:
        gpu_nodes = max(1, nodes // 2)
        gpu_total = int(req[:, 2].sum())
        per_node = max(
            int(req[:, 2].max()), math.ceil(math.ceil(gpu_total / utilisation) / gpu_nodes)
        )
        gpu_col = np.zeros((nodes, 1), dtype=np.int64)
        gpu_col[nodes - gpu_nodes :, 0] = per_node
        allocatable = np.hstack([allocatable, gpu_col])
        for n in range(nodes - gpu_nodes, nodes):
            node_taints[n].append({"key": GPU, "value": "present", "effect": "NoSchedule"})
            node_labels[n]["accelerator"] = "gpu"
    if taints:
        dedicated = max(1, nodes // 4)
        for n in range(dedicated):
            node_taints[n].append({"key": "dedicated", "value": "batch", "effect": "NoSchedule"})
        for n in range(dedicated, nodes, 8):
            node_taints[n].append({"key": "spot", "value": "true", "effect": "PreferNoSchedule"})
        for flags in set_flags:
            flags["tolerate"] = bool(opt_rng.random() < 1 / 3)
    zones = ["zone-a", "zone-b", "zone-c"]
    if selectors:
        for n in range(nodes):
            node_labels[n]["pool"] = "highmem" if n % 2 else "general"
            node_labels[n]["topology.kubernetes.io/zone"] = zones[n % 3]
        for flags in set_flags:
            draw = opt_rng.random()
            if draw < 0.25:
                flags["pool"] = True
            elif draw < 0.5:
                flags["zone"] = sorted(opt_rng.choice(zones, size=2, replace=False).tolist())
    if anti_affinity:
        for k, s in enumerate(sets):
            set_flags[k]["anti"] = bool(s[0] > 1 and opt_rng.random() < 0.5)
    for p, k in enumerate(set_of_pod):
        flags = set_flags[k]
        if flags["gpu"]:
            pod_tolerations[p].append(
                {"key": GPU, "operator": "Exists", "value": "", "effect": "NoSchedule"}
            )
        if flags["tolerate"]:
            pod_tolerations[p].append(
                {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}
            )
        if flags["pool"]:
            pod_selector[p] = {"pool": "highmem"}
        if flags["zone"]:
            pod_affinity[p] = [
                [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": flags["zone"]}]
            ]
        if flags["anti"]:
            pod_anti[p] = {"app": f"rs{k}"}
    extras = [
        opt
        for opt, on in (
            ("gpu", gpus),
            ("taint", taints),
            ("sel", selectors),
            ("anti", anti_affinity),
        )
        if on
    ]
    default_name = (
        f"pods_n{nodes}_ppn{pods_per_node}_pr{priorities}_u{utilisation:g}"
        + "".join(f"_{e}" for e in extras)
        + f"_s{seed}"
    )
    return PodsInstance(
        resources=resources,
        node_names=tuple(node_names),
        allocatable=allocatable,
        pod_names=tuple(pod_names),
        requests=req,
        priority=np.array(priority, dtype=np.int64),
        max_pods=np.full(nodes, 110, dtype=np.int64),
        node_labels=tuple(node_labels),
        node_taints=tuple(tuple(t) for t in node_taints),
        pod_labels=tuple(labels),
        owner=tuple(owners),
        node_selector=tuple(pod_selector),
        node_affinity=tuple(pod_affinity),
        tolerations=tuple(tuple(t) for t in pod_tolerations),
        anti_affinity=tuple(pod_anti),
        name=name or default_name,
        metadata={
            "source": "generate",
            "generator": "priority-matters",
            "nodes": nodes,
            "pods_per_node": pods_per_node,
            "priorities": priorities,
            "utilisation": utilisation,
            "gpus": gpus,
            "taints": taints,
            "selectors": selectors,
            "anti_affinity": anti_affinity,
            "seed": seed,
        },
    )
