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
expressions of a term ANDed), tolerations and an optional hostname
anti-affinity selector: a pod with selector ``S`` may not share a node with
another pod of its namespace whose labels match ``S`` (and symmetrically).

A pod may be placed on node ``n`` when the node is schedulable (or the pod
tolerates ``node.kubernetes.io/unschedulable``), matches the pod's
``nodeSelector`` and required node affinity, and has no ``NoSchedule`` or
``NoExecute`` taint the pod does not tolerate. Like Kubernetes
(``IgnoredDuringExecution``), a running pod may always stay on its current
node. On every node the requests of its pods fit the allocatable amounts,
their number fits ``max_pods``, and no two conflict by anti-affinity.

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
    output; see :mod:`schedforge.problems.pods_formats`.

References
----------
Christensen, Giallorenzo & Mauro (2025). Priority Matters: Optimising
Kubernetes Clusters Usage with Constraint-Based Pod Packing. arXiv:2511.08373.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, total_ordering
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from schedforge.core.errors import InvalidInstance, ParseError
from schedforge.core.instance import Bar, Instance, Solution, frozen_mapping, int_array
from schedforge.core.registry import Format, Problem, register_format, register_problem

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
    "plan",
    "plan_report",
    "tier_upper_bounds",
    "to_compact",
    "tolerates",
    "validate",
]

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
# A node field, not a label: required node affinity ``matchFields`` may only
# use it, and it matches the node's name.
NODE_NAME_FIELD = "metadata.name"


# --------------------------------------------------------------------------
# Normalisation helpers for the label/taint/affinity fields


def _labels(value: Any, where: str) -> Mapping[str, str]:
    if value is None:
        return frozen_mapping({})
    if not isinstance(value, Mapping):
        raise InvalidInstance(f"{where}: expected a mapping of label key to value")
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise InvalidInstance(f"{where}: label {key!r}={val!r} must map a string to a string")
    return frozen_mapping(value)


def _no_labels() -> Mapping[str, str]:
    return frozen_mapping({})


def _requirement(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or "key" not in value or "operator" not in value:
        raise InvalidInstance(f"{where}: a requirement needs 'key' and 'operator'")
    op = value["operator"]
    if op not in SELECTOR_OPERATORS:
        raise InvalidInstance(
            f"{where}: unknown operator {op!r}; expected one of {', '.join(SELECTOR_OPERATORS)}"
        )
    values = tuple(str(v) for v in value.get("values") or ())
    if op in ("In", "NotIn") and not values:
        raise InvalidInstance(f"{where}: operator {op} needs at least one value")
    if op in ("Gt", "Lt") and (len(values) != 1 or not re.fullmatch(r"-?\d+", values[0])):
        raise InvalidInstance(f"{where}: operator {op} needs exactly one integer value")
    return frozen_mapping({"key": str(value["key"]), "operator": op, "values": values})


def _taint(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or "key" not in value or "effect" not in value:
        raise InvalidInstance(f"{where}: a taint needs 'key' and 'effect'")
    if value["effect"] not in TAINT_EFFECTS:
        raise InvalidInstance(
            f"{where}: unknown taint effect {value['effect']!r}; "
            f"expected one of {', '.join(TAINT_EFFECTS)}"
        )
    return frozen_mapping(
        {
            "key": str(value["key"]),
            "value": str(value.get("value") or ""),
            "effect": value["effect"],
        }
    )


def _toleration(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInstance(f"{where}: a toleration must be a mapping")
    op = value.get("operator") or "Equal"
    if op not in ("Equal", "Exists"):
        raise InvalidInstance(f"{where}: toleration operator {op!r} must be Equal or Exists")
    key = str(value.get("key") or "")
    if not key and op != "Exists":
        raise InvalidInstance(f"{where}: a toleration without a key needs operator Exists")
    effect = str(value.get("effect") or "")
    if effect and effect not in TAINT_EFFECTS:
        raise InvalidInstance(f"{where}: unknown toleration effect {effect!r}")
    return frozen_mapping(
        {"key": key, "operator": op, "value": str(value.get("value") or ""), "effect": effect}
    )


def _per_item(values: Any, count: int, field_name: str, convert, default) -> tuple:
    if values is None:
        return tuple(default() for _ in range(count))
    values = tuple(values)
    if len(values) != count:
        raise InvalidInstance(f"{field_name}: {len(values)} entries, expected {count}")
    return tuple(convert(v, f"{field_name}[{k}]") for k, v in enumerate(values))


def _list_of(convert):
    def inner(value: Any, where: str) -> tuple:
        if value is None:
            return ()
        if isinstance(value, Mapping | str):
            raise InvalidInstance(f"{where}: expected a list")
        return tuple(convert(v, f"{where}[{k}]") for k, v in enumerate(value))

    return inner


def _affinity(value: Any, where: str) -> tuple:
    """Required node affinity: a list of terms, each a list of requirements."""
    return _list_of(_list_of(_requirement))(value, where)


def _selector(value: Any, where: str) -> Mapping[str, str] | None:
    return None if value is None else _labels(value, where)


def _flags(values: Any, count: int, field_name: str) -> np.ndarray:
    arr = np.zeros(count, dtype=np.int64) if values is None else int_array(values, field_name)
    if len(arr) != count or np.any((arr != 0) & (arr != 1)):
        raise InvalidInstance(f"{field_name}: expected {count} flags of 0/1 (false/true)")
    out = arr.astype(bool)
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------
# Matching rules (Kubernetes semantics)


def tolerates(toleration: Mapping[str, str], taint: Mapping[str, str]) -> bool:
    """Whether a toleration tolerates a taint (Kubernetes ``ToleratesTaint``).

    An empty effect matches every effect; an empty key with ``Exists``
    matches every taint.
    """
    if toleration["effect"] and toleration["effect"] != taint["effect"]:
        return False
    if toleration["key"] and toleration["key"] != taint["key"]:
        return False
    if toleration["operator"] == "Exists":
        return True
    return toleration["value"] == taint["value"]


def _requirement_matches(req: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    key, op, values = req["key"], req["operator"], req["values"]
    present = key == NODE_NAME_FIELD or key in labels
    actual = node_name if key == NODE_NAME_FIELD else labels.get(key)
    if op == "In":
        return present and actual in values
    if op == "NotIn":
        return not present or actual not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if not present or not re.fullmatch(r"-?\d+", actual or ""):
        return False
    return int(actual) > int(values[0]) if op == "Gt" else int(actual) < int(values[0])


def _selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return selector is not None and all(labels.get(k) == v for k, v in selector.items())


def _namespace(pod_name: str) -> str:
    return pod_name.split("/", 1)[0] if "/" in pod_name else "default"


# --------------------------------------------------------------------------
# Instance and solution


@dataclass(frozen=True, eq=False)
class PodsInstance(Instance):
    """A cluster snapshot: nodes, pods, their current placement and constraints.

    Parameters
    ----------
    resources
        Resource names, e.g. ``("cpu", "memory", "nvidia.com/gpu")``; cpu in
        millicores, memory in bytes, others in integer units.
    node_names
        Unique node names.
    allocatable
        ``(nodes, resources)`` allocatable amounts (not capacity), >= 0.
    pod_names
        Unique pod names ``namespace/name``, in creation order.
    requests
        ``(pods, resources)`` effective requests, >= 0.
    priority
        Pod priorities (integers; larger is more important).
    current_node
        Node index of each running pod, ``-1`` for a pending pod.
    protected
        Flags of pods that must not move: a running protected pod stays on
        its node. ``None`` means none.
    max_pods
        Pod-count limit per node (``allocatable.pods``); ``None`` means no
        limit.
    unschedulable
        Flags of cordoned nodes; ``None`` means none.
    node_labels, node_taints
        Per node: labels (str -> str) and taints (``{key, value, effect}``).
    pod_labels, owner
        Per pod: labels and owner (``"ReplicaSet/web-5d8f"``, ``""`` if none).
    node_selector, node_affinity, tolerations
        Per pod: ``nodeSelector`` labels; required node affinity as a list of
        terms, each a list of ``{key, operator, values}``; tolerations
        (``{key, operator, value, effect}``).
    anti_affinity
        Per pod: ``None`` or a label selector (``matchLabels``) of pods of
        its namespace that may not share its node
        (``topologyKey: kubernetes.io/hostname``).
    name, metadata
        Instance name and free-form facts.

    Raises
    ------
    InvalidInstance
        On inconsistent shapes, duplicate names, negative amounts, a current
        node out of range, or a current placement that overloads a node or
        breaks anti-affinity.
    """

    problem: ClassVar[str] = "pods"

    resources: tuple[str, ...]
    node_names: tuple[str, ...]
    allocatable: np.ndarray
    pod_names: tuple[str, ...]
    requests: np.ndarray
    priority: np.ndarray
    current_node: np.ndarray | None = None
    protected: np.ndarray | None = None
    max_pods: np.ndarray | None = None
    unschedulable: np.ndarray | None = None
    node_labels: tuple[Mapping[str, str], ...] | None = None
    node_taints: tuple[tuple[Mapping[str, str], ...], ...] | None = None
    pod_labels: tuple[Mapping[str, str], ...] | None = None
    owner: tuple[str, ...] | None = None
    node_selector: tuple[Mapping[str, str], ...] | None = None
    node_affinity: tuple[tuple[tuple[Mapping[str, Any], ...], ...], ...] | None = None
    tolerations: tuple[tuple[Mapping[str, str], ...], ...] | None = None
    anti_affinity: tuple[Mapping[str, str] | None, ...] | None = None
    name: str = "pods"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        setter = object.__setattr__
        resources = tuple(str(r) for r in self.resources)
        nodes = tuple(str(n) for n in self.node_names)
        pods = tuple(str(p) for p in self.pod_names)
        for label, names in (("resource", resources), ("node", nodes), ("pod", pods)):
            seen: set[str] = set()
            for item in names:
                if item in seen:
                    raise InvalidInstance(f"{self.name}: duplicate {label} name {item!r}")
                seen.add(item)
        if not resources:
            raise InvalidInstance(f"{self.name}: at least one resource is needed")
        if "pods" in resources:
            raise InvalidInstance(
                f"{self.name}: 'pods' is the pod-count limit; give it as max_pods, not a resource"
            )
        if not nodes:
            raise InvalidInstance(f"{self.name}: a cluster needs at least one node")
        num_nodes, num_pods, num_res = len(nodes), len(pods), len(resources)
        alloc = int_array(self.allocatable, "allocatable", ndim=2).reshape(num_nodes, -1)
        req = int_array(self.requests, "requests", ndim=2)
        if num_pods == 0:
            req = req.reshape(0, num_res)
        if alloc.shape != (num_nodes, num_res) or req.shape != (num_pods, num_res):
            raise InvalidInstance(
                f"{self.name}: allocatable has shape {alloc.shape} and requests {req.shape}; "
                f"expected ({num_nodes}, {num_res}) and ({num_pods}, {num_res}) "
                f"for resources {list(resources)}"
            )
        for arr, what, names in ((alloc, "allocatable", nodes), (req, "requests", pods)):
            bad = np.argwhere(arr < 0)
            if len(bad):
                i, r = bad[0]
                raise InvalidInstance(
                    f"{self.name}: {what} of {names[i]!r} for {resources[r]} is {arr[i, r]}; "
                    "amounts must be >= 0"
                )
        alloc.setflags(write=False)
        req.setflags(write=False)
        priority = int_array(self.priority, "priority")
        current = (
            np.full(num_pods, -1, dtype=np.int64)
            if self.current_node is None
            else int_array(self.current_node, "current_node")
        )
        current.setflags(write=False)
        if len(priority) != num_pods or len(current) != num_pods:
            raise InvalidInstance(
                f"{self.name}: {num_pods} pods but {len(priority)} priorities and "
                f"{len(current)} current nodes"
            )
        bad = np.flatnonzero((current < -1) | (current >= num_nodes))
        if len(bad):
            raise InvalidInstance(
                f"{self.name}: pod {pods[bad[0]]!r} runs on node index {current[bad[0]]}, "
                f"outside 0..{num_nodes - 1} (-1 means pending)"
            )
        if self.max_pods is None:
            max_pods = np.full(num_nodes, max(num_pods, 1), dtype=np.int64)
            max_pods.setflags(write=False)
        else:
            max_pods = int_array(self.max_pods, "max_pods")
            if len(max_pods) != num_nodes or np.any(max_pods < 0):
                raise InvalidInstance(
                    f"{self.name}: max_pods needs {num_nodes} values >= 0, got {max_pods.tolist()}"
                )
        setter(self, "resources", resources)
        setter(self, "node_names", nodes)
        setter(self, "pod_names", pods)
        setter(self, "allocatable", alloc)
        setter(self, "requests", req)
        setter(self, "priority", priority)
        setter(self, "current_node", current)
        setter(self, "max_pods", max_pods)
        setter(self, "protected", _flags(self.protected, num_pods, "protected"))
        setter(self, "unschedulable", _flags(self.unschedulable, num_nodes, "unschedulable"))
        setter(
            self,
            "node_labels",
            _per_item(self.node_labels, num_nodes, "node_labels", _labels, _no_labels),
        )
        setter(
            self,
            "node_taints",
            _per_item(self.node_taints, num_nodes, "node_taints", _list_of(_taint), tuple),
        )
        setter(
            self,
            "pod_labels",
            _per_item(self.pod_labels, num_pods, "pod_labels", _labels, _no_labels),
        )
        owners = ("",) * num_pods if self.owner is None else tuple(str(o) for o in self.owner)
        if len(owners) != num_pods:
            raise InvalidInstance(f"owner: {len(owners)} entries, expected {num_pods}")
        setter(self, "owner", owners)
        setter(
            self,
            "node_selector",
            _per_item(self.node_selector, num_pods, "node_selector", _labels, _no_labels),
        )
        setter(
            self,
            "node_affinity",
            _per_item(self.node_affinity, num_pods, "node_affinity", _affinity, tuple),
        )
        setter(
            self,
            "tolerations",
            _per_item(self.tolerations, num_pods, "tolerations", _list_of(_toleration), tuple),
        )
        setter(
            self,
            "anti_affinity",
            _per_item(self.anti_affinity, num_pods, "anti_affinity", _selector, lambda: None),
        )
        setter(self, "metadata", frozen_mapping(self.metadata))
        problems = _placement_problems(self, current, allowed=None)
        if problems:
            raise InvalidInstance(
                f"{self.name}: the current placement is impossible: {'; '.join(problems[:3])}"
            )

    # -- sizes ---------------------------------------------------------------

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_names)

    @property
    def num_pods(self) -> int:
        """Number of pods."""
        return len(self.pod_names)

    @property
    def num_resources(self) -> int:
        """Number of resources."""
        return len(self.resources)

    @cached_property
    def tiers(self) -> tuple[int, ...]:
        """Distinct priorities, highest first: the lexicographic tiers."""
        return tuple(sorted({int(p) for p in self.priority}, reverse=True))

    @cached_property
    def tier_of(self) -> np.ndarray:
        """Tier index (0 = highest priority) of each pod."""
        index = {p: k for k, p in enumerate(self.tiers)}
        out = np.array([index[int(p)] for p in self.priority], dtype=np.int64)
        out.setflags(write=False)
        return out

    @cached_property
    def fixed(self) -> np.ndarray:
        """Flags of pods that must stay where they are (running and protected)."""
        out = self.protected & (self.current_node >= 0)
        out.setflags(write=False)
        return out

    @cached_property
    def namespace(self) -> tuple[str, ...]:
        """Namespace of each pod (the part of its name before ``/``)."""
        return tuple(_namespace(p) for p in self.pod_names)

    # -- derived constraint structure ---------------------------------------

    @cached_property
    def eligible(self) -> np.ndarray:
        """``(pods, nodes)`` flags: may the pod be newly placed on the node?

        Node unschedulable flag, ``nodeSelector``, required node affinity and
        ``NoSchedule``/``NoExecute`` taints (Kubernetes filter plugins
        NodeUnschedulable, NodeAffinity, TaintToleration). Resources and
        anti-affinity depend on the other pods and are checked separately.
        """
        out = np.zeros((self.num_pods, self.num_nodes), dtype=bool)
        cache: dict[str, np.ndarray] = {}
        for p in range(self.num_pods):
            # Pods of one ReplicaSet share their scheduling constraints: compute once.
            key = json.dumps(
                [self.node_selector[p], self.node_affinity[p], self.tolerations[p]],
                default=lambda m: dict(m) if isinstance(m, Mapping) else list(m),
                sort_keys=True,
            )
            if key not in cache:
                cache[key] = np.array(
                    [self._node_admits(p, n) for n in range(self.num_nodes)], dtype=bool
                )
            out[p] = cache[key]
        out.setflags(write=False)
        return out

    def _node_admits(self, p: int, n: int) -> bool:
        tolerations = self.tolerations[p]
        if self.unschedulable[n] and not any(
            tolerates(t, UNSCHEDULABLE_TAINT | {"value": ""}) for t in tolerations
        ):
            return False
        labels = self.node_labels[n]
        if any(labels.get(k) != v for k, v in self.node_selector[p].items()):
            return False
        terms = self.node_affinity[p]
        if terms and not any(
            term and all(_requirement_matches(r, labels, self.node_names[n]) for r in term)
            for term in terms
        ):
            return False
        return all(
            taint["effect"] == "PreferNoSchedule" or any(tolerates(t, taint) for t in tolerations)
            for taint in self.node_taints[n]
        )

    @cached_property
    def allowed(self) -> np.ndarray:
        """``eligible``, plus each running pod's current node (IgnoredDuringExecution)."""
        out = self.eligible.copy()
        running = np.flatnonzero(self.current_node >= 0)
        out[running, self.current_node[running]] = True
        out.setflags(write=False)
        return out

    @cached_property
    def conflicts(self) -> np.ndarray:
        """``(k, 2)`` pairs ``p < q`` of pods that may not share a node (anti-affinity)."""
        pairs = []
        with_selector = [p for p in range(self.num_pods) if self.anti_affinity[p] is not None]
        for p in with_selector:
            for q in range(self.num_pods):
                if (
                    q != p
                    and self.namespace[q] == self.namespace[p]
                    and _selector_matches(self.anti_affinity[p], self.pod_labels[q])
                ):
                    pairs.append((min(p, q), max(p, q)))
        out = np.array(sorted(set(pairs)), dtype=np.int64).reshape(-1, 2)
        out.setflags(write=False)
        return out

    @cached_property
    def prefer_no_schedule(self) -> np.ndarray:
        """``(pods, nodes)`` counts of untolerated ``PreferNoSchedule`` taints (for scoring)."""
        out = np.zeros((self.num_pods, self.num_nodes), dtype=np.int64)
        for n, taints in enumerate(self.node_taints):
            soft = [t for t in taints if t["effect"] == "PreferNoSchedule"]
            if soft:
                for p in range(self.num_pods):
                    out[p, n] = sum(
                        not any(tolerates(t, taint) for t in self.tolerations[p]) for taint in soft
                    )
        out.setflags(write=False)
        return out

    def with_placement(self, node: Sequence[int] | np.ndarray, *, name: str | None = None):
        """A copy whose current placement is ``node`` (e.g. after a scheduler ran)."""
        return self.replace(current_node=np.asarray(node), name=name or self.name)


@dataclass(frozen=True, eq=False)
class PodsSolution(Solution):
    """A node index per pod; ``-1`` means the pod does not run."""

    node: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "node", int_array(self.node, "node"))


# --------------------------------------------------------------------------
# Oracle: validation, objective, bound. Plain NumPy, independent of methods.


def _placement_problems(
    instance: PodsInstance, node: np.ndarray, *, allowed: np.ndarray | None
) -> list[str]:
    """Capacity, pod-count and anti-affinity violations of a placement."""
    out: list[str] = []
    placed = np.flatnonzero(node >= 0)
    if allowed is not None:
        bad = placed[~allowed[placed, node[placed]]]
        for p in bad[:5]:
            out.append(
                f"pod {instance.pod_names[p]!r} may not run on node "
                f"{instance.node_names[node[p]]!r} (selector, affinity, taint or cordon)"
            )
    usage = np.zeros_like(instance.allocatable)
    np.add.at(usage, node[placed], instance.requests[placed])
    over = np.argwhere(usage > instance.allocatable)
    for n, r in over[:5]:
        out.append(
            f"node {instance.node_names[n]!r} is overloaded on {instance.resources[r]}: "
            f"{usage[n, r]} requested > {instance.allocatable[n, r]} allocatable"
        )
    counts = np.bincount(node[placed], minlength=instance.num_nodes)
    for n in np.flatnonzero(counts > instance.max_pods)[:5]:
        out.append(
            f"node {instance.node_names[n]!r} holds {counts[n]} pods > max_pods "
            f"{instance.max_pods[n]}"
        )
    for p, q in instance.conflicts:
        if node[p] >= 0 and node[p] == node[q]:
            out.append(
                f"pods {instance.pod_names[p]!r} and {instance.pod_names[q]!r} share node "
                f"{instance.node_names[node[p]]!r} against their anti-affinity"
            )
            if len(out) > 20:
                break
    return out


def validate(instance: PodsInstance, solution: PodsSolution) -> list[str]:
    """Every violated constraint of ``solution``; empty when it is feasible.

    Checks: one entry per pod, node indices in range, protected running pods
    on their current node, every placement allowed (``PodsInstance.allowed``),
    allocatable amounts and ``max_pods`` respected, no anti-affinity pair on
    one node.
    """
    node = np.asarray(solution.node)
    if node.ndim != 1 or len(node) != instance.num_pods:
        return [f"expected one node per pod ({instance.num_pods}), got shape {node.shape}"]
    bad = np.flatnonzero((node < -1) | (node >= instance.num_nodes))
    if len(bad):
        return [
            f"pod {instance.pod_names[bad[0]]!r} assigned to node index {node[bad[0]]}, "
            f"outside -1..{instance.num_nodes - 1}"
        ]
    out = []
    fixed = np.flatnonzero(instance.fixed & (node != instance.current_node))
    for p in fixed[:5]:
        out.append(
            f"protected pod {instance.pod_names[p]!r} must stay on "
            f"{instance.node_names[instance.current_node[p]]!r}"
        )
    return out + _placement_problems(instance, node, allowed=instance.allowed)


@total_ordering
@dataclass(frozen=True)
class PodsValue:
    """The lexicographic value of a placement; larger is better.

    Attributes
    ----------
    tiers
        The priorities, highest first.
    placed
        Running pods per tier after the plan, in the order of ``tiers``.
    evictions
        Running pods that stop running.
    moves
        Running pods that run on another node.
    """

    tiers: tuple[int, ...]
    placed: tuple[int, ...]
    evictions: int
    moves: int

    @property
    def key(self) -> tuple[int, ...]:
        """The vector compared lexicographically (larger is better)."""
        return (*self.placed, -self.evictions, -self.moves)

    def __lt__(self, other: PodsValue) -> bool:
        if self.tiers != other.tiers:
            raise ValueError("values of instances with different tiers are not comparable")
        return self.key < other.key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PodsValue):
            return NotImplemented
        return self.tiers == other.tiers and self.key == other.key

    def __hash__(self) -> int:
        return hash((self.tiers, self.key))

    def __str__(self) -> str:
        tiers = ", ".join(f"p{t}:{c}" for t, c in zip(self.tiers, self.placed, strict=True))
        return f"placed [{tiers}], evictions {self.evictions}, moves {self.moves}"


def objective_vector(instance: PodsInstance, solution: PodsSolution) -> PodsValue:
    """The comparable lexicographic value (placed per tier, evictions, moves)."""
    node = np.asarray(solution.node)
    placed = np.bincount(instance.tier_of[node >= 0], minlength=len(instance.tiers)).astype(int)
    running = instance.current_node >= 0
    evictions = int(np.sum(running & (node < 0)))
    moves = int(np.sum(running & (node >= 0) & (node != instance.current_node)))
    return PodsValue(instance.tiers, tuple(int(c) for c in placed), evictions, moves)


def digit_weights(instance: PodsInstance) -> tuple[list[int], int, int]:
    """Weights of the scalar encoding: per tier (highest first), eviction, move.

    The scalar objective is ``Σ_t w_t·unplaced_t + w_e·evictions + moves``.
    Each weight is the product of the radices of the less significant
    digits, the radix of a digit being one more than its largest value
    (tier size; number of movable running pods), so the encoding is exact
    and orders solutions lexicographically.
    """
    movable = int(np.sum((instance.current_node >= 0) & ~instance.fixed))
    sizes = np.bincount(instance.tier_of, minlength=len(instance.tiers))
    move_w = 1
    evict_w = movable + 1
    weight = evict_w * (movable + 1)
    tier_w = []
    for size in reversed(sizes.tolist()):
        tier_w.append(weight)
        weight *= size + 1
    return tier_w[::-1], evict_w, move_w


def encode(instance: PodsInstance, value: PodsValue) -> int:
    """The scalar (minimised) encoding of a :class:`PodsValue`."""
    tier_w, evict_w, move_w = digit_weights(instance)
    sizes = np.bincount(instance.tier_of, minlength=len(instance.tiers))
    unplaced = [int(s) - c for s, c in zip(sizes, value.placed, strict=True)]
    return (
        sum(w * u for w, u in zip(tier_w, unplaced, strict=True))
        + evict_w * value.evictions
        + move_w * value.moves
    )


def objective(instance: PodsInstance, solution: PodsSolution) -> int:
    """Scalar, minimised encoding of :func:`objective_vector` (exact Python int).

    Smaller is lexicographically better: fewer unplaced pods of the highest
    tier first, ..., then fewer evictions, then fewer moves.
    """
    return encode(instance, objective_vector(instance, solution))


def _max_count_fitting(sizes: np.ndarray, capacity: int) -> int:
    """Largest k such that the k smallest sizes sum to at most ``capacity``."""
    prefix = np.cumsum(np.sort(sizes))
    return int(np.searchsorted(prefix, capacity, side="right"))


def tier_upper_bounds(instance: PodsInstance) -> list[int]:
    """Per tier, an upper bound on the pods of that tier that can run.

    Relaxation of one tier alone (every other tier left out, which only
    frees room): the fixed pods of the tier, plus at most as many others as
    have an allowed node and fit, smallest first, into the cluster's total
    free amount of each resource and total free pod slots.
    """
    fixed = instance.fixed
    free = instance.allocatable.sum(axis=0) - instance.requests[fixed].sum(axis=0)
    slots = int(instance.max_pods.sum() - fixed.sum())
    has_node = instance.allowed.any(axis=1)
    bounds = []
    for t in range(len(instance.tiers)):
        in_tier = instance.tier_of == t
        movable = np.flatnonzero(in_tier & ~fixed & has_node)
        count = min(len(movable), slots)
        for r in range(instance.num_resources):
            count = min(count, _max_count_fitting(instance.requests[movable, r], int(free[r])))
        bounds.append(int(np.sum(in_tier & fixed)) + count)
    return bounds


def lower_bound(instance: PodsInstance) -> int:
    """A valid lower bound on the scalar objective.

    Every digit of the encoding is bounded from below on its own: a tier
    can not place more pods than :func:`tier_upper_bounds`; evictions and
    moves are bounded by 0. All weights are positive, so the weighted sum of
    the digit bounds bounds the scalar.
    """
    tier_w, _, _ = digit_weights(instance)
    sizes = np.bincount(instance.tier_of, minlength=len(instance.tiers))
    upper = tier_upper_bounds(instance)
    return sum(w * (int(s) - u) for w, s, u in zip(tier_w, sizes, upper, strict=True))


# --------------------------------------------------------------------------
# Plan and chart


def plan(instance: PodsInstance, solution: PodsSolution) -> dict[str, Any]:
    """What the solution changes, as a JSON-ready dictionary.

    Keys: ``placements`` (pending pods that start, with their node),
    ``moves`` (``from``/``to``), ``evictions``, ``pending`` (pods still not
    running) and ``tiers`` (per priority: pods, running before and after).
    """
    node = np.asarray(solution.node)
    current = instance.current_node
    names, nodes = instance.pod_names, instance.node_names

    def entry(p: int, **extra: Any) -> dict[str, Any]:
        return {"pod": names[p], "priority": int(instance.priority[p]), **extra}

    tiers = []
    for t, prio in enumerate(instance.tiers):
        members = instance.tier_of == t
        tiers.append(
            {
                "priority": prio,
                "pods": int(members.sum()),
                "running_before": int(np.sum(members & (current >= 0))),
                "running_after": int(np.sum(members & (node >= 0))),
            }
        )
    return {
        "instance": instance.name,
        "value": str(objective_vector(instance, solution)),
        "placements": [
            entry(p, node=nodes[node[p]])
            for p in range(instance.num_pods)
            if current[p] < 0 and node[p] >= 0
        ],
        "moves": [
            entry(p, **{"from": nodes[current[p]], "to": nodes[node[p]]})
            for p in range(instance.num_pods)
            if current[p] >= 0 and node[p] >= 0 and node[p] != current[p]
        ],
        "evictions": [
            entry(p, node=nodes[current[p]])
            for p in range(instance.num_pods)
            if current[p] >= 0 and node[p] < 0
        ],
        "pending": [entry(p) for p in range(instance.num_pods) if node[p] < 0],
        "tiers": tiers,
    }


def plan_report(instance: PodsInstance, solution: PodsSolution) -> str:
    """A human-readable plan: per tier, what moves where, what is evicted, what starts."""
    info = plan(instance, solution)
    lines = [f"plan for {info['instance']}: {info['value']}"]
    for tier in info["tiers"]:
        prio = tier["priority"]
        lines.append(
            f"priority {prio}: {tier['running_before']} -> {tier['running_after']} "
            f"of {tier['pods']} pods running"
        )
        for item in info["placements"]:
            if item["priority"] == prio:
                lines.append(f"  place  {item['pod']} on {item['node']}")
        for item in info["moves"]:
            if item["priority"] == prio:
                lines.append(f"  move   {item['pod']} {item['from']} -> {item['to']}")
        for item in info["evictions"]:
            if item["priority"] == prio:
                lines.append(f"  evict  {item['pod']} from {item['node']}")
        waiting = [i["pod"] for i in info["pending"] if i["priority"] == prio]
        if waiting:
            lines.append(f"  still pending: {', '.join(waiting)}")
    return "\n".join(lines)


def gantt(instance: PodsInstance, solution: PodsSolution) -> list[Bar]:
    """Stacked resource usage per node: one row per node, one bar per pod.

    A bar's width is the pod's share (in %) of the node's allocatable CPU
    (the first resource when there is no ``cpu``), stacked from 0, so a row
    shows how full the node is. Bars are grouped (coloured) by priority;
    moved and newly placed pods are highlighted. Pods that do not run are
    drawn on a last row ``(not running)`` relative to the mean node.
    """
    r = instance.resources.index("cpu") if "cpu" in instance.resources else 0
    node = np.asarray(solution.node)
    bars: list[Bar] = []
    for n in range(instance.num_nodes):
        capacity = max(int(instance.allocatable[n, r]), 1)
        start = 0.0
        for p in np.flatnonzero(node == n):
            share = 100.0 * instance.requests[p, r] / capacity
            bars.append(
                Bar(
                    row=instance.node_names[n],
                    start=start,
                    end=start + share,
                    label=instance.pod_names[p].split("/")[-1],
                    group=f"priority {instance.priority[p]}",
                    highlight=bool(node[p] != instance.current_node[p]),
                )
            )
            start += share
    mean = max(float(instance.allocatable[:, r].mean()), 1.0)
    start = 0.0
    for p in np.flatnonzero(node < 0):
        share = 100.0 * instance.requests[p, r] / mean
        bars.append(
            Bar(
                row="(not running)",
                start=start,
                end=start + share,
                label=instance.pod_names[p].split("/")[-1],
                group=f"priority {instance.priority[p]}",
                highlight=bool(instance.current_node[p] >= 0),
            )
        )
        start += share
    return bars


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


# --------------------------------------------------------------------------
# JSON formats: the project's own, and the compact one of "Priority Matters"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise ParseError(path, None, "not a text file") from None


def _read_json(path: Path):
    data = _load_json(path)
    records = data if isinstance(data, list) else [data]
    for record in records:
        if not isinstance(record, dict) or record.get("problem") != "pods":
            raise ParseError(path, None, "expected an object with 'problem': 'pods'")
        try:
            yield PodsInstance.from_dict(record)
        except (InvalidInstance, TypeError) as exc:
            raise ParseError(path, None, str(exc)) from None


def _write_json(instances: Sequence[PodsInstance], path: Path) -> None:
    data: Any = instances[0].to_dict() if len(instances) == 1 else [i.to_dict() for i in instances]
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _sniff_json(head: str) -> bool:
    return re.search(r'"problem"\s*:\s*"pods"', head) is not None


_COMPACT_NODE = ("name", "cap_cpu_m", "cap_mem_bytes")
_COMPACT_POD = ("name", "req_cpu_m", "req_mem_bytes", "priority")


def _compact_int(value: Any, path: Path, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ParseError(path, None, f"{where}: {key} = {value!r} is not an integer")
    if value < 0 and key != "priority":
        raise ParseError(path, None, f"{where}: {key} = {value} is negative")
    return int(value)


def from_compact(data: Mapping[str, Any], *, path: str | Path = "<compact>", name: str = "pods"):
    """An instance from the compact JSON of the "Priority Matters" solver.

    Raises
    ------
    ParseError
        On a missing key, a non-integer or negative amount, a duplicate name
        or a pod placed on a node that is not listed.
    """
    path = Path(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise ParseError(path, None, "expected an object with lists 'nodes' and 'pods'")
    pods_in = data.get("pods") or []
    if not isinstance(pods_in, list):
        raise ParseError(path, None, "'pods' must be a list")
    node_names, alloc = [], []
    for k, item in enumerate(data["nodes"]):
        where = f"nodes[{k}]"
        missing = [key for key in _COMPACT_NODE if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        node_names.append(str(item["name"]))
        alloc.append([_compact_int(item[key], path, where, key) for key in _COMPACT_NODE[1:]])
    index = {n: k for k, n in enumerate(node_names)}
    names, req, prio, current, protected = [], [], [], [], []
    for k, item in enumerate(pods_in):
        where = f"pods[{k}]"
        missing = [key for key in _COMPACT_POD if not isinstance(item, dict) or key not in item]
        if missing:
            raise ParseError(path, None, f"{where}: missing {', '.join(missing)}")
        names.append(f"{item.get('namespace') or 'default'}/{item['name']}")
        req.append([_compact_int(item[key], path, where, key) for key in _COMPACT_POD[1:3]])
        prio.append(_compact_int(item["priority"], path, where, "priority"))
        node = item.get("node")
        if node in (None, ""):
            current.append(-1)
        elif node not in index:
            raise ParseError(
                path, None, f"{where}: pod {names[-1]!r} runs on node {node!r}, which is not listed"
            )
        else:
            current.append(index[node])
        protected.append(bool(item.get("protected", False)))
    uids = [str(item.get("uid", "")) for item in pods_in]
    try:
        return PodsInstance(
            resources=("cpu", "memory"),
            node_names=tuple(node_names),
            allocatable=np.array(alloc, dtype=np.int64).reshape(-1, 2),
            pod_names=tuple(names),
            requests=np.array(req, dtype=np.int64).reshape(-1, 2),
            priority=prio,
            current_node=current,
            protected=protected,
            name=name,
            metadata={"source": str(path), "format": "pods-compact", "uids": uids},
        )
    except InvalidInstance as exc:
        raise ParseError(path, None, str(exc)) from None


def to_compact(instance: PodsInstance, solution: PodsSolution | None = None) -> dict[str, Any]:
    """The compact JSON of "Priority Matters" (cpu and memory only).

    With a ``solution``, pods carry their planned node instead of the
    current one.
    """
    for needed in ("cpu", "memory"):
        if needed not in instance.resources:
            raise InvalidInstance(f"the compact format needs a {needed!r} resource")
    cpu, mem = instance.resources.index("cpu"), instance.resources.index("memory")
    node = instance.current_node if solution is None else np.asarray(solution.node)
    uids = list(instance.metadata.get("uids") or [])
    pods = []
    for p, full in enumerate(instance.pod_names):
        namespace, _, short = full.rpartition("/")
        pods.append(
            {
                "uid": uids[p] if p < len(uids) else full,
                "namespace": namespace or "default",
                "name": short,
                "req_cpu_m": int(instance.requests[p, cpu]),
                "req_mem_bytes": int(instance.requests[p, mem]),
                "priority": int(instance.priority[p]),
                "protected": bool(instance.protected[p]),
                "node": instance.node_names[node[p]] if node[p] >= 0 else None,
            }
        )
    return {
        "nodes": [
            {
                "name": n,
                "cap_cpu_m": int(instance.allocatable[k, cpu]),
                "cap_mem_bytes": int(instance.allocatable[k, mem]),
            }
            for k, n in enumerate(instance.node_names)
        ],
        "pods": pods,
    }


def _read_compact(path: Path):
    yield from_compact(_load_json(path), path=path, name=path.stem)


def _write_compact(instances: Sequence[PodsInstance], path: Path) -> None:
    (inst,) = instances
    path.write_text(json.dumps(to_compact(inst), indent=1) + "\n", encoding="utf-8")


def _sniff_compact(head: str) -> bool:
    return '"cap_cpu_m"' in head or '"req_cpu_m"' in head


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
register_format(Format("pods-json", "pods", (".json",), _read_json, _write_json, _sniff_json))
register_format(
    Format("pods-compact", "pods", (".json",), _read_compact, _write_compact, _sniff_compact)
)
