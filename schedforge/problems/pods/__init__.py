"""Kubernetes pod packing with priorities.

Pods are placed on the nodes of a cluster snapshot so that, tier by tier
from the highest priority down, as many pods as possible run, and then as
few running pods as possible are evicted and moved.

Data model
----------
Nodes ``n = 0..N-1`` have an allocatable amount of every resource (``cpu`` in
millicores, ``memory`` in bytes, extended resources such as
``nvidia.com/gpu`` in units), a pod-count limit ``max_pods``, labels, taints
and an ``unschedulable`` flag. Pods ``p = 0..P-1`` — in creation order,
which is the kube-scheduler's tie-break after priority — have requests per
resource, a priority, a current node (``-1`` for pending), a ``protected``
flag (a running protected pod must stay where it is), labels, an owner (the
ReplicaSet), a ``nodeSelector``, required node affinity (terms ORed, the
expressions of a term ANDed), tolerations, required anti-affinity by topology key
(a simple selector, or full terms with namespaces), host ports, a flag
saying whether the pod is ours to place (no ``schedulingGates``, the
default scheduler), ``preemptionPolicy: Never``, and a PodDisruptionBudget
with the disruptions it allows.

A pod may be newly placed on node ``n`` when it is ours to place, the node
is schedulable (or the pod tolerates ``node.kubernetes.io/unschedulable``),
matches the pod's ``nodeSelector`` and required node affinity, and has no
``NoSchedule`` taint the pod does not tolerate and no ``NoExecute`` taint it
does not tolerate for good (without ``tolerationSeconds``). Like Kubernetes
(``IgnoredDuringExecution``), a running pod may stay on its current node,
unless a ``NoExecute`` taint evicts it. On every node the requests of its
pods fit the allocatable amounts, their number fits ``max_pods``, and no two
conflict by anti-affinity or host port. At most ``pdb_allowed`` running pods
of a budget leave their node, and a ``preemptionPolicy: Never`` pod is only
newly placed on a node no running pod leaves (:mod:`.oracle`). The modules:
:mod:`.model` (data), :mod:`.fields` (normalising its fields), :mod:`.rules`
(matching), :mod:`.topology` (required pod affinity and topology spread, and
the order that binds a plan's pods), :mod:`.oracle` (validate, objective,
bounds), :mod:`.plan` and :mod:`.apply` (what changes, ordered steps, their
check, a ``kubectl`` script), :mod:`.chart`, :mod:`.generator`, and the
formats :mod:`.json_format`, :mod:`.compact`, :mod:`.kubectl` (with
:mod:`.kubectl_rules`).

Solution and objective
----------------------
A solution gives a node per pod (``-1`` = not running). Relative to the
current placement, a running pod given ``-1`` is *evicted*, one given another
node is *moved*, a pending pod given a node is *newly placed*.

The lexicographic value, larger is better, is :class:`PodsValue`:
``(placed pods of the highest tier, ..., placed pods of the lowest tier,
-evictions, -moves)`` (see :func:`objective_vector`). ``Result.objective``
holds its exact scalar encoding, which is **minimised**: a mixed-radix
number whose digits, most significant first, are the *unplaced* pods of each
tier (highest priority first), then the evictions, then the moves; the radix
of a digit is one more than its largest possible value, so comparing
scalars is comparing the vectors lexicographically (:func:`objective`,
:func:`digit_weights`).

File formats
------------
``pods-json``
    The project's own JSON (``PodsInstance.to_dict``), ``"problem": "pods"``.
``pods-compact``
    The compact JSON of the "Priority Matters" solver:
    ``{"nodes": [{name, cap_cpu_m, cap_mem_bytes}], "pods": [{uid, namespace,
    name, req_cpu_m, req_mem_bytes, priority, protected, node}]}``.
``kubectl``
    ``kubectl get nodes,pods,priorityclasses -A -o json`` (or ``-o yaml``)
    output; see :mod:`schedforge.problems.pods.kubectl`.

References
----------
Christensen, Giallorenzo & Mauro (2025). Priority Matters: Optimising
Kubernetes Clusters Usage with Constraint-Based Pod Packing. arXiv:2511.08373.
"""

from __future__ import annotations

from schedforge.core.registry import Problem, register_problem
from schedforge.problems.pods.chart import gantt
from schedforge.problems.pods.compact import from_compact, to_compact
from schedforge.problems.pods.generator import generate
from schedforge.problems.pods.kubectl import parse_quantity, read_kubectl, to_kubectl
from schedforge.problems.pods.model import PodsInstance, PodsSolution
from schedforge.problems.pods.oracle import (
    PodsValue,
    digit_weights,
    encode,
    lower_bound,
    objective,
    objective_vector,
    tier_upper_bounds,
    validate,
)
from schedforge.problems.pods.plan import plan, plan_report
from schedforge.problems.pods.rules import tolerates

__all__ = [
    "PodsInstance",
    "PodsSolution",
    "PodsValue",
    "digit_weights",
    "encode",
    "from_compact",
    "gantt",
    "generate",
    "lower_bound",
    "objective",
    "objective_vector",
    "parse_quantity",
    "plan",
    "plan_report",
    "read_kubectl",
    "tier_upper_bounds",
    "to_compact",
    "to_kubectl",
    "tolerates",
    "validate",
]


register_problem(
    Problem(
        name="pods",
        title="Kubernetes pod packing with priorities",
        instance_type=PodsInstance,
        solution_type=PodsSolution,
        validate=validate,
        objective=objective,
        lower_bound=lower_bound,
        generate=generate,
        gantt=gantt,
    )
)
