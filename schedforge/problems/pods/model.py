"""The pod packing data model: :class:`PodsInstance` and :class:`PodsSolution`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.core.instance import Instance, Solution, frozen_mapping, int_array
from schedforge.problems.pods.fields import (
    _affinity,
    _anti_term,
    _flags,
    _int_list,
    _labels,
    _list_of,
    _no_labels,
    _per_item,
    _port,
    _selector,
    _taint,
    _toleration,
)
from schedforge.problems.pods.rules import (
    UNSCHEDULABLE_TAINT,
    namespace_of,
    requirement_matches,
    selector_matches,
    tolerates,
)
from schedforge.problems.pods.topology import Topology, affinity_term, spread_constraint

# The largest amount of a resource (base units, millicores for cpu): sums over
# a cluster stay far inside 64-bit integers.
MAX_AMOUNT = 10**15

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
    anti_affinity_terms
        Per pod: required anti-affinity terms, each ``{selector, namespaces}``
        and optionally ``topology``: ``selector`` a list of requirements
        (ANDed; ``matchLabels`` as ``In`` one value), ``namespaces`` the
        namespaces whose pods it applies to (``("*",)`` = all), ``topology``
        the topology key (default ``kubernetes.io/hostname``, the node). A
        pod may not run in the same topology domain (nodes with one value of
        that node label) as a pod that one of its terms matches, and
        symmetrically (InterPodAffinity); a node without the label is in no
        domain.
    affinity_terms
        Per pod: required pod affinity terms ``{selector, namespaces,
        topology}`` (:func:`.topology.affinity_term`).
    spread
        Per pod: topology spread constraints (:func:`.topology.spread_constraint`);
        ``DoNotSchedule`` ones are enforced (:mod:`.topology`), ``ScheduleAnyway``
        ones are kept for scoring.
    host_ports
        Per pod: host ports ``protocol/hostIP/port`` (hostIP empty or
        ``0.0.0.0`` = every address); two pods with overlapping host ports
        may not share a node (NodePorts).
    managed
        Flags of pods that this scheduler may place: ``False`` for pods with
        ``schedulingGates`` or another ``schedulerName``; such a pod is never
        placed, and stays where it runs. ``None`` means all.
    preempt_never
        Flags of pods with ``preemptionPolicy: Never``: such a pod is only
        newly placed on a node from which no running pod leaves.
    pdb, pdb_names, pdb_allowed
        The PodDisruptionBudget of each pod (index, ``-1`` none), the
        budgets' names and the disruptions each allows: at most
        ``pdb_allowed[b]`` running pods of budget ``b`` may be evicted or
        moved (both go through the Eviction API).
    preferences
        Per pod: preferred (soft) terms, node or pod (anti-)affinity with
        weights, scored but never enforced (:mod:`schedforge.problems.pods.soft`).
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
    anti_affinity_terms: tuple[tuple[Mapping[str, Any], ...], ...] | None = None
    host_ports: tuple[tuple[str, ...], ...] | None = None
    affinity_terms: tuple[tuple[Mapping[str, Any], ...], ...] | None = None
    spread: tuple[tuple[Mapping[str, Any], ...], ...] | None = None
    managed: np.ndarray | None = None
    preempt_never: np.ndarray | None = None
    pdb: np.ndarray | None = None
    pdb_names: tuple[str, ...] | None = None
    pdb_allowed: np.ndarray | None = None
    preferences: tuple[tuple[Mapping[str, Any], ...], ...] | None = None
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
        alloc = int_array(self.allocatable, "allocatable", ndim=2)
        if alloc.size == 0:
            alloc = alloc.reshape(num_nodes, 0)
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
            bad = np.argwhere(arr > MAX_AMOUNT)
            if len(bad):
                i, r = bad[0]
                raise InvalidInstance(
                    f"{self.name}: {what} of {names[i]!r} for {resources[r]} is {arr[i, r]}, "
                    f"more than {MAX_AMOUNT}"
                )
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
        setter(
            self,
            "anti_affinity_terms",
            _per_item(
                self.anti_affinity_terms,
                num_pods,
                "anti_affinity_terms",
                _list_of(_anti_term),
                tuple,
            ),
        )
        setter(
            self,
            "host_ports",
            _per_item(self.host_ports, num_pods, "host_ports", _list_of(_port), tuple),
        )
        for name, convert in (("affinity_terms", affinity_term), ("spread", spread_constraint)):
            value = getattr(self, name)
            setter(self, name, _per_item(value, num_pods, name, _list_of(convert), tuple))
        managed = np.ones(num_pods, dtype=bool) if self.managed is None else self.managed
        setter(self, "managed", _flags(managed, num_pods, "managed"))
        setter(self, "preempt_never", _flags(self.preempt_never, num_pods, "preempt_never"))
        pdb_names = () if self.pdb_names is None else tuple(str(b) for b in self.pdb_names)
        pdb = _int_list(self.pdb, num_pods, "pdb", -1)
        allowed = _int_list(self.pdb_allowed, len(pdb_names), "pdb_allowed", 0)
        if np.any((pdb < -1) | (pdb >= len(pdb_names))) or np.any(allowed < 0):
            raise InvalidInstance(
                f"{self.name}: pdb indices must lie in -1..{len(pdb_names) - 1} and "
                "pdb_allowed be >= 0"
            )
        setter(self, "pdb_names", pdb_names)
        setter(self, "pdb", pdb)
        setter(self, "pdb_allowed", allowed)
        from schedforge.problems.pods.soft import preference_term

        prefs = _per_item(
            self.preferences, num_pods, "preferences", _list_of(preference_term), tuple
        )
        setter(self, "preferences", prefs)
        setter(self, "metadata", frozen_mapping(self.metadata))
        from schedforge.problems.pods.oracle import placement_problems

        problems = placement_problems(self, current, allowed=None)
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
        """Flags of pods that must stay where they are.

        Running pods that are protected or not ours to place (another
        scheduler's, or gated), unless a ``NoExecute`` taint evicts them.
        """
        out = (self.protected | ~self.managed) & (self.current_node >= 0) & self.stay_ok
        out.setflags(write=False)
        return out

    @cached_property
    def namespace(self) -> tuple[str, ...]:
        """Namespace of each pod (the part of its name before ``/``)."""
        return tuple(namespace_of(p) for p in self.pod_names)

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
        return self.refusal(p, n) is None

    def refusal(self, p: int, n: int) -> str | None:
        """The rule that keeps pod ``p`` from being newly placed on node ``n``, or None."""
        if not self.managed[p]:
            return "schedulingGates/schedulerName (not ours to place)"
        tolerations = self.tolerations[p]
        if self.unschedulable[n] and not any(
            tolerates(t, UNSCHEDULABLE_TAINT | {"value": ""}) for t in tolerations
        ):
            return "node unschedulable (cordoned)"
        labels = self.node_labels[n]
        if any(labels.get(k) != v for k, v in self.node_selector[p].items()):
            return "nodeSelector"
        terms = self.node_affinity[p]
        if terms and not any(
            term and all(requirement_matches(r, labels, self.node_names[n]) for r in term)
            for term in terms
        ):
            return "required node affinity"
        for taint in self.node_taints[n]:
            if taint["effect"] == "NoSchedule" and not any(
                tolerates(t, taint) for t in tolerations
            ):
                return f"taint {taint['key']}:NoSchedule"
            if taint["effect"] == "NoExecute" and not _tolerated_for_good(tolerations, taint):
                return f"taint {taint['key']}:NoExecute"
        return None

    @cached_property
    def stay_ok(self) -> np.ndarray:
        """Flags of running pods that may keep running on their node.

        A pod on a node with a ``NoExecute`` taint it does not tolerate, or
        tolerates only for ``tolerationSeconds``, is evicted by the taint
        manager: it must leave. Pending pods are ``True``.
        """
        out = np.ones(self.num_pods, dtype=bool)
        for p in np.flatnonzero(self.current_node >= 0):
            taints = self.node_taints[self.current_node[p]]
            out[p] = all(
                taint["effect"] != "NoExecute" or _tolerated_for_good(self.tolerations[p], taint)
                for taint in taints
            )
        out.setflags(write=False)
        return out

    @cached_property
    def allowed(self) -> np.ndarray:
        """``eligible``, plus each running pod's current node (IgnoredDuringExecution).

        Not the current node of a pod a ``NoExecute`` taint evicts (:attr:`stay_ok`).
        """
        out = self.eligible.copy()
        running = np.flatnonzero((self.current_node >= 0) & self.stay_ok)
        out[running, self.current_node[running]] = True
        out.setflags(write=False)
        return out

    @cached_property
    def conflicts(self) -> np.ndarray:
        """``(k, 2)`` pairs ``p < q`` of pods that may not share a node.

        Required hostname anti-affinity (either pod's terms) and host ports.
        """
        pairs = {tuple(pq) for pq in self.anti_pairs.tolist()}
        pairs |= {tuple(pq) for pq in self.port_pairs.tolist()}
        out = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        out.setflags(write=False)
        return out

    @cached_property
    def port_pairs(self) -> np.ndarray:
        """``(k, 2)`` pairs ``p < q`` of pods whose host ports overlap (NodePorts)."""
        by_port: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for p, ports in enumerate(self.host_ports):
            for port in set(ports):
                protocol, ip, number = port.split("/")
                by_port.setdefault((protocol, number), []).append((ip, p))
        pairs = set()
        for users in by_port.values():
            for i, (ip_a, a) in enumerate(users):
                for ip_b, b in users[i + 1 :]:
                    wild = ("", "0.0.0.0")
                    if a != b and (ip_a in wild or ip_b in wild or ip_a == ip_b):
                        pairs.add((min(a, b), max(a, b)))
        out = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        out.setflags(write=False)
        return out

    @cached_property
    def topology(self) -> Topology:
        """Required pod affinity and hard topology spread rules (:class:`.topology.Topology`)."""
        return Topology(self)

    @cached_property
    def topology_keys(self) -> tuple[str, ...]:
        """The topology keys of anti-affinity terms other than the hostname, sorted."""
        terms = [t for ts in self.anti_affinity_terms for t in ts]
        return tuple(sorted({t["topology"] for t in terms if "topology" in t}))

    @cached_property
    def domain(self) -> np.ndarray:
        """``(len(topology_keys), nodes)`` domain index of each node per key, ``-1`` unlabelled.

        Nodes with the same value of the key's label share a domain.
        """
        out = np.full((len(self.topology_keys), self.num_nodes), -1, dtype=np.int64)
        for k, key in enumerate(self.topology_keys):
            values = sorted({lab[key] for lab in self.node_labels if key in lab})
            for n, lab in enumerate(self.node_labels):
                if key in lab:
                    out[k, n] = values.index(lab[key])
        out.setflags(write=False)
        return out

    @cached_property
    def zone_pairs(self) -> np.ndarray:
        """``(k, 3)`` rows ``(p, q, key)``, ``p < q``: pods kept out of one domain of ``key``.

        Required anti-affinity terms with a topology key other than the
        hostname (``key`` indexes :attr:`topology_keys`).
        """
        rows = set()
        for p, terms in enumerate(self.anti_affinity_terms):
            for term in terms:
                if "topology" not in term:
                    continue
                k = self.topology_keys.index(term["topology"])
                for q in self._term_matches(p, term):
                    rows.add((min(p, q), max(p, q), k))
        out = np.array(sorted(rows), dtype=np.int64).reshape(-1, 3)
        out.setflags(write=False)
        return out

    def _term_matches(self, p: int, term: Mapping[str, Any]) -> list[int]:
        spaces = term["namespaces"] or (self.namespace[p],)
        return [
            q
            for q in range(self.num_pods)
            if q != p
            and ("*" in spaces or self.namespace[q] in spaces)
            and all(requirement_matches(r, self.pod_labels[q], "") for r in term["selector"])
        ]

    @cached_property
    def partners(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per pod, the ``(q, key)`` it may not run near: ``key`` ``-1`` for one node
        (hostname anti-affinity, host ports), else a :attr:`topology_keys` index."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.num_pods)]
        for p, q in self.conflicts.tolist():
            out[p].append((q, -1))
            out[q].append((p, -1))
        for p, q, k in self.zone_pairs.tolist():
            out[p].append((q, k))
            out[q].append((p, k))
        return tuple(tuple(x) for x in out)

    def clashes(self, p: int, n: int, node: np.ndarray, ignore: int = -1) -> int:
        """A pod that ``p`` on node ``n`` would conflict with under placement ``node``, or -1.

        ``ignore`` is a pod left out of the check.
        """
        for q, k in self.partners[p]:
            m = node[q]
            if m < 0 or q in (ignore, p):
                continue
            if (
                m == n
                if k < 0
                else self.domain[k, m] >= 0 and self.domain[k, m] == self.domain[k, n]
            ):
                return q
        return -1

    def blocked_nodes(self, p: int, node: np.ndarray) -> np.ndarray:
        """``(nodes,)`` flags: where ``p`` would conflict with a pod placed by ``node``."""
        out = np.zeros(self.num_nodes, dtype=bool)
        for q, k in self.partners[p]:
            m = node[q]
            if m < 0 or q == p:
                continue
            if k < 0:
                out[m] = True
            elif self.domain[k, m] >= 0:
                out |= self.domain[k] == self.domain[k, m]
        return out

    @cached_property
    def anti_pairs(self) -> np.ndarray:
        """``(k, 2)`` pairs ``p < q`` of pods kept apart by required hostname anti-affinity."""
        pairs = []
        for p, terms in enumerate(self.anti_affinity_terms):
            for term in terms:
                if "topology" in term:
                    continue
                spaces = term["namespaces"] or (self.namespace[p],)
                for q in range(self.num_pods):
                    if (
                        q != p
                        and ("*" in spaces or self.namespace[q] in spaces)
                        and all(
                            requirement_matches(r, self.pod_labels[q], "") for r in term["selector"]
                        )
                    ):
                        pairs.append((min(p, q), max(p, q)))
        with_selector = [p for p in range(self.num_pods) if self.anti_affinity[p] is not None]
        for p in with_selector:
            for q in range(self.num_pods):
                if (
                    q != p
                    and self.namespace[q] == self.namespace[p]
                    and selector_matches(self.anti_affinity[p], self.pod_labels[q])
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


def _tolerated_for_good(tolerations, taint) -> bool:
    """Whether a ``NoExecute`` taint is tolerated without ``tolerationSeconds``."""
    return any(tolerates(t, taint) and not t.get("seconds") for t in tolerations)
