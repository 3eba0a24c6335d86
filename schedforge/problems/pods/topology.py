"""Required pod affinity and topology spread constraints, the way kube-scheduler filters them.

Two rules of a pod depend on where *other* pods run at the moment it is
bound (kube-scheduler plugins InterPodAffinity and PodTopologySpread,
Kubernetes v1.30):

* **Required pod affinity** (``requiredDuringSchedulingIgnoredDuringExecution``):
  the node must have the topology key of every term, and for every term
  its topology domain (nodes with that label value) must hold a pod that
  matches *all* the terms (namespaces and label selector). The first pod
  of a group may go anywhere with the keys when no pod matching all its
  terms runs on a node with one of the keys, provided it matches its own
  terms.
* **Topology spread** with ``whenUnsatisfiable: DoNotSchedule``: with the
  pods of the pod's namespace that the constraint's selector matches,
  counted per domain of ``topologyKey`` over the *eligible* nodes (nodes
  with the keys of all the pod's hard constraints, passing its
  ``nodeSelector``/required node affinity when ``nodeAffinityPolicy`` is
  ``Honor`` (the default) and its tolerations when ``nodeTaintsPolicy`` is
  ``Honor`` (default ``Ignore``)): ``count(domain of the node) + (1 if the
  pod matches) - min over domains <= maxSkew``; the minimum is 0 while
  fewer than ``minDomains`` domains exist. ``ScheduleAnyway`` constraints
  are kept in the instance (a soft rule) and not enforced.

Both are ``IgnoredDuringExecution``: a running pod that keeps its node is
never checked. A plan's newly placed pods are checked in a *bind order*
(:func:`bind_order`): evictions first, then repeatedly the first pod that
may be bound now, a pod that starts a group (the affinity special case)
before the others, then by priority and creation order. :func:`validate
<schedforge.problems.pods.oracle.validate>` accepts a plan when this order
binds every pod, and ``pods check`` replays the same order
(:func:`schedforge.problems.pods.apply.plan_steps`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.problems.pods.rules import requirement_matches, tolerates

if TYPE_CHECKING:
    from schedforge.problems.pods.model import PodsInstance

__all__ = ["Topology", "affinity_term", "bind_order", "spread_constraint", "topology_repair"]

WHEN = ("DoNotSchedule", "ScheduleAnyway")
POLICIES = ("Honor", "Ignore")


def _term_fields(value: Any, where: str) -> dict[str, Any]:
    from schedforge.problems.pods.fields import _list_of, _requirement

    if not isinstance(value, Mapping) or "selector" not in value:
        raise InvalidInstance(f"{where}: a term needs 'selector' (a list of requirements)")
    topology = value.get("topology")
    if not isinstance(topology, str) or not topology:
        raise InvalidInstance(f"{where}: 'topology' must be a node label key")
    return {
        "selector": _list_of(_requirement)(value["selector"], f"{where}.selector"),
        "topology": topology,
    }


def affinity_term(value: Any, where: str) -> Mapping[str, Any]:
    """A required pod affinity term: ``{selector, namespaces, topology}``.

    ``selector`` is a list of requirements (ANDed), ``namespaces`` the
    namespaces of the pods it matches (``("*",)`` every one, empty the
    pod's own), ``topology`` the node label key of the domain.
    """
    from schedforge.core.instance import frozen_mapping

    term = _term_fields(value, where)
    namespaces = value.get("namespaces") or ()
    if isinstance(namespaces, str):
        raise InvalidInstance(f"{where}: namespaces must be a list")
    term["namespaces"] = tuple(str(n) for n in namespaces)
    return frozen_mapping(term)


def spread_constraint(value: Any, where: str) -> Mapping[str, Any]:
    """A topology spread constraint.

    Fields: ``max_skew`` (>= 1), ``topology``, ``selector`` (requirements),
    ``when`` (``DoNotSchedule`` or ``ScheduleAnyway``), ``min_domains``
    (0 when absent), ``node_affinity_policy`` (default ``Honor``) and
    ``node_taints_policy`` (default ``Ignore``).
    """
    from schedforge.core.instance import frozen_mapping

    out = _term_fields(value, where)
    skew = value.get("max_skew")
    min_domains = value.get("min_domains", 0) or 0
    for name, number, low in (("max_skew", skew, 1), ("min_domains", min_domains, 0)):
        if isinstance(number, bool) or not isinstance(number, int) or number < low:
            raise InvalidInstance(f"{where}: {name} must be an integer >= {low}, got {number!r}")
    when = value.get("when", "DoNotSchedule")
    if when not in WHEN:
        raise InvalidInstance(f"{where}: when must be one of {', '.join(WHEN)}, got {when!r}")
    affinity = value.get("node_affinity_policy") or "Honor"
    taints = value.get("node_taints_policy") or "Ignore"
    if affinity not in POLICIES or taints not in POLICIES:
        raise InvalidInstance(f"{where}: node policies must be Honor or Ignore")
    out.update(
        max_skew=skew,
        min_domains=min_domains,
        when=when,
        node_affinity_policy=affinity,
        node_taints_policy=taints,
    )
    return frozen_mapping(out)


class Topology:
    """The pod affinity and hard topology spread rules of an instance, ready to check.

    Built once per instance (:attr:`PodsInstance.topology`). Placements are
    node-per-pod arrays (``-1`` = not running); a check for pod ``p`` ignores
    ``p``'s own entry.
    """

    def __init__(self, instance: PodsInstance):
        self.instance = inst = instance
        self.affine = [p for p in range(inst.num_pods) if inst.affinity_terms[p]]
        self.spread = [
            p
            for p in range(inst.num_pods)
            if any(c["when"] == "DoNotSchedule" for c in inst.spread[p])
        ]
        self.active = bool(self.affine or self.spread)
        self._domains: dict[tuple[int, int], np.ndarray] = {}  # eligible domains per constraint
        self._match_cache: dict[str, np.ndarray] = {}

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """The topology keys of the rules, sorted."""
        inst = self.instance
        keys = {t["topology"] for ts in inst.affinity_terms for t in ts}
        keys |= {c["topology"] for cs in inst.spread for c in cs if c["when"] == "DoNotSchedule"}
        return tuple(sorted(keys))

    @cached_property
    def domain(self) -> dict[str, np.ndarray]:
        """Per key, the domain index of each node (``-1`` without the label)."""
        out = {}
        for key in self.keys:
            labels = self.instance.node_labels
            values = sorted({lab[key] for lab in labels if key in lab})
            index = {v: k for k, v in enumerate(values)}
            out[key] = np.array([index.get(lab.get(key), -1) for lab in labels], dtype=np.int64)
        return out

    def _matches(self, p: int, selector, namespaces) -> np.ndarray:
        inst = self.instance
        spaces = namespaces or (inst.namespace[p],)
        # Replicas share their selectors: match each distinct one once.
        key = repr((selector, spaces))
        if key not in self._match_cache:
            self._match_cache[key] = self._match_all(selector, spaces)
        return self._match_cache[key].copy()

    def _match_all(self, selector, spaces) -> np.ndarray:
        inst = self.instance
        out = np.array(
            [
                ("*" in spaces or inst.namespace[q] in spaces)
                and all(requirement_matches(r, inst.pod_labels[q], "") for r in selector)
                for q in range(inst.num_pods)
            ],
            dtype=bool,
        ).reshape(inst.num_pods)
        return out

    @cached_property
    def affinity(self) -> dict[int, tuple[np.ndarray, bool, tuple[str, ...]]]:
        """Per pod with affinity: pods matching all its terms (itself excluded), self match, keys."""
        out = {}
        for p in self.affine:
            terms = self.instance.affinity_terms[p]
            match = np.ones(self.instance.num_pods, dtype=bool)
            for term in terms:
                match &= self._matches(p, term["selector"], term["namespaces"])
            self_match = bool(match[p])
            match[p] = False
            out[p] = (match, self_match, tuple(t["topology"] for t in terms))
        return out

    @cached_property
    def constraints(
        self,
    ) -> dict[int, list[tuple[Mapping[str, Any], np.ndarray, bool, np.ndarray]]]:
        """Per pod with hard spread constraints: ``(constraint, matching pods, self match,
        eligible nodes)``; matching pods exclude the pod itself."""
        inst = self.instance
        out = {}
        for p in self.spread:
            hard = [c for c in inst.spread[p] if c["when"] == "DoNotSchedule"]
            keyed = np.ones(inst.num_nodes, dtype=bool)
            for c in hard:
                keyed &= self.domain[c["topology"]] >= 0
            rows = []
            for c in hard:
                match = self._matches(p, c["selector"], ())
                self_match = bool(match[p])
                match[p] = False
                eligible = keyed.copy()
                for n in range(inst.num_nodes):
                    if eligible[n] and c["node_affinity_policy"] == "Honor":
                        eligible[n] = self._node_affinity_ok(p, n)
                    if eligible[n] and c["node_taints_policy"] == "Honor":
                        eligible[n] = all(
                            t["effect"] == "PreferNoSchedule"
                            or any(tolerates(o, t) for o in inst.tolerations[p])
                            for t in inst.node_taints[n]
                        )
                rows.append((c, match, self_match, eligible))
            out[p] = rows
        return out

    def _node_affinity_ok(self, p: int, n: int) -> bool:
        inst = self.instance
        labels = inst.node_labels[n]
        if any(labels.get(k) != v for k, v in inst.node_selector[p].items()):
            return False
        terms = inst.node_affinity[p]
        return not terms or any(
            term and all(requirement_matches(r, labels, inst.node_names[n]) for r in term)
            for term in terms
        )

    @cached_property
    def relevant(self) -> np.ndarray:
        """Flags of pods with a rule or matched by one (the order of their binds matters)."""
        out = np.zeros(self.instance.num_pods, dtype=bool)
        for p, (match, _, _) in self.affinity.items():
            out[p] = True
            out |= match
        for p, rows in self.constraints.items():
            out[p] = True
            for _, match, _, _ in rows:
                out |= match
        return out

    # -- checks --------------------------------------------------------------

    def _affinity_nodes(self, p: int, node: np.ndarray) -> tuple[np.ndarray, bool]:
        """Nodes where ``p``'s affinity holds by a matching pod, and whether ``p`` may start a
        group (no matching pod runs on a node with one of the keys, and ``p`` matches itself)."""
        match, self_match, keys = self.affinity[p]
        others = np.flatnonzero(match & (node >= 0))
        others = others[others != p]
        ok = np.ones(self.instance.num_nodes, dtype=bool)
        anywhere = False
        for key in keys:
            dom = self.domain[key]
            where = dom[node[others]]
            where = where[where >= 0]
            anywhere |= len(where) > 0
            ok &= (dom >= 0) & np.isin(dom, where)
        return ok, self_match and not anywhere

    def _spread_nodes(
        self, p: int, node: np.ndarray
    ) -> list[tuple[Mapping, np.ndarray, np.ndarray]]:
        """Per hard constraint of ``p``: the constraint, the skew on each node, and the nodes
        with the key (the skew elsewhere is meaningless)."""
        out = []
        for k, (c, match, self_match, eligible) in enumerate(self.constraints[p]):
            dom = self.domain[c["topology"]]
            if (p, k) not in self._domains:
                self._domains[p, k] = np.unique(dom[eligible])
            domains = self._domains[p, k]
            # One slot more: index -1 (no label) reads an empty count.
            counts = np.zeros(int(dom.max(initial=-1)) + 2, dtype=np.int64)
            others = np.flatnonzero(match & (node >= 0))
            others = others[(others != p)]
            at = node[others]
            at = at[eligible[at]]
            np.add.at(counts, dom[at], 1)
            if len(domains) < c["min_domains"]:
                least = 0
            elif len(domains):
                least = int(counts[domains].min())
            else:
                least = -(10**9)  # no domain: nothing to spread over (upstream passes)
            out.append((c, counts[dom] + int(self_match) - least, dom >= 0))
        return out

    def admits(self, p: int, node: np.ndarray) -> np.ndarray:
        """``(nodes,)`` flags: may ``p`` be bound there, the other pods placed by ``node``?"""
        ok = np.ones(self.instance.num_nodes, dtype=bool)
        if p in self.affinity:
            near, first = self._affinity_nodes(p, node)
            if first:
                keys = self.affinity[p][2]
                near = np.all([self.domain[k] >= 0 for k in keys], axis=0)
            ok &= near
        if p in self.constraints:
            for c, skew, keyed in self._spread_nodes(p, node):
                ok &= keyed & (skew <= c["max_skew"])
        return ok

    def starts_group(self, p: int, node: np.ndarray) -> bool:
        """Whether ``p`` needs the affinity special case now (no matching pod runs)."""
        return p in self.affinity and self._affinity_nodes(p, node)[1]

    def refusal(self, p: int, n: int, node: np.ndarray) -> str | None:
        """Why ``p`` may not be bound on node ``n`` with the others placed by ``node``, or None."""
        inst = self.instance
        if p in self.affinity:
            match, _, keys = self.affinity[p]
            missing = [k for k in keys if self.domain[k][n] < 0]
            if missing:
                return f"pod affinity: node has no topology key {missing[0]!r}"
            near, first = self._affinity_nodes(p, node)
            if not near[n] and not first:
                others = node[np.flatnonzero(match & (node >= 0))]
                for key in keys:
                    if self.domain[key][n] not in self.domain[key][others]:
                        value = inst.node_labels[n][key]
                        return f"pod affinity: no pod matching its terms runs in {key}={value!r}"
        if p in self.constraints:
            for c, skew, keyed in self._spread_nodes(p, node):
                if not keyed[n]:
                    return f"topology spread: node has no topology key {c['topology']!r}"
                if skew[n] > c["max_skew"]:
                    value = inst.node_labels[n][c["topology"]]
                    return (
                        f"topology spread: skew {skew[n]} > maxSkew {c['max_skew']} "
                        f"in {c['topology']}={value!r}"
                    )
        return None


def bind_order(instance: PodsInstance, node: np.ndarray) -> tuple[list[int], list[int]]:
    """The order in which a plan binds its newly placed pods, and the pods it can not bind.

    Evictions come first (the pods that leave are gone); then, repeatedly,
    the first pod of those left (priority, then creation order) that may be
    bound now, one starting an affinity group before any other (one that no
    other pod of the plan joins in its domain first). Without
    pod affinity or hard spread rules this is priority, then creation order.
    """
    current = instance.current_node
    new = [p for p in range(instance.num_pods) if node[p] >= 0 and node[p] != current[p]]
    new.sort(key=lambda p: (-int(instance.priority[p]), p))
    topo = instance.topology
    if not topo.active:
        return new, []
    state = np.where(node == current, current, -1)
    order = [p for p in new if not topo.relevant[p]]
    state[order] = node[order]
    left = [p for p in new if topo.relevant[p]]
    # Pods that may start a group; binding only adds pods, so one that can not
    # (a matching pod runs) never can again.
    seeds = {p for p in left if p in topo.affinity and topo.affinity[p][1]}
    while left:
        ready = []
        for p in [q for q in left if q in seeds]:
            if not topo.starts_group(p, state):
                seeds.discard(p)
            elif topo.refusal(p, int(node[p]), state) is None:
                ready.append(p)
        # The seed: a pod no other pod of the plan will join in its domain, if any.
        lonely = [p for p in ready if not topo._affinity_nodes(p, node)[0][node[p]]]
        pick = (lonely or ready or [None])[0]
        if pick is None:
            pick = next((p for p in left if topo.refusal(p, int(node[p]), state) is None), None)
        if pick is None:
            return order, left
        state[pick] = node[pick]
        order.append(pick)
        left.remove(pick)
        seeds.discard(pick)
    return order, []


def topology_problems(instance: PodsInstance, node: np.ndarray) -> list[str]:
    """The pod affinity and topology spread violation of a plan (the first unbindable pod)."""
    if not instance.topology.active:
        return []
    order, stuck = bind_order(instance, node)
    if not stuck:
        return []
    state = np.where(node == instance.current_node, instance.current_node, -1)
    state[order] = node[order]
    p = stuck[0]
    why = instance.topology.refusal(p, int(node[p]), state)
    return [
        f"pod {instance.pod_names[p]!r} may not be bound to {instance.node_names[node[p]]!r} "
        f"after the pods before it: {why}"
    ]


def topology_repair(instance: PodsInstance, node_of_pod: np.ndarray) -> tuple[np.ndarray, int]:
    """Leave pending the newly placed pods the bind order can not bind, lowest priority first.

    Taking a newly placed pod off breaks no rule but the affinity or spread
    of the pods that counted on it, which the next round sees. Returns the
    plan and the number of pods taken off.
    """
    node = np.array(node_of_pod, dtype=np.int64, copy=True)
    dropped = 0
    if not instance.topology.active:
        return node, 0
    while True:
        _, stuck = bind_order(instance, node)
        if not stuck:
            return node, dropped
        p = min(stuck, key=lambda q: (int(instance.priority[q]), -q))
        node[p] = -1
        dropped += 1
