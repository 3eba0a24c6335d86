"""Soft scheduling rules: preferred node affinity and preferred pod (anti-)affinity.

kube-scheduler does not filter on these, it scores them: the NodeAffinity
Score plugin sums the weights of the pod's preferred node terms a node
matches and normalises them to 0..100 by the largest sum among the
candidate nodes; the InterPodAffinity Score plugin adds, per topology
domain, the weights of the incoming pod's preferred terms that running pods
match (anti-affinity subtracts) and of the running pods' preferred terms
that the incoming pod matches, and normalises to 0..100 between the least
and the largest raw score. Both weigh 2 in the default profile.

A term is a mapping (``PodsInstance.preferences``, one tuple of terms per pod):

- ``{"kind": "node", "weight": w, "requirements": [...]}``: a preferred
  node term (``matchExpressions`` and ``matchFields``, ANDed; an empty term
  matches no node);
- ``{"kind": "affinity" | "anti-affinity", "weight": w, "selector": [...],
  "namespaces": [...], "topology": key}``: a preferred pod (anti-)affinity
  term, as a required anti-affinity term with a weight.

Weights are 1..100 as in the API. The plan's soft score
(:func:`soft_score`) is the sum over placed pods of the raw weights they
earn where they run: it is reported, never a constraint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from schedforge.core.errors import InvalidInstance
from schedforge.core.instance import frozen_mapping
from schedforge.problems.pods.rules import HOSTNAME, requirement_matches, tolerates

# Default kube-scheduler profile weights of the two Score plugins.
WEIGHT_NODE_AFFINITY = 2
WEIGHT_INTER_POD_AFFINITY = 2
# InterPodAffinity's hardPodAffinityWeight: what a running pod's *required*
# affinity term that the incoming pod matches adds to the score (default 1).
HARD_POD_AFFINITY_WEIGHT = 1
MAX_NODE_SCORE = 100
KINDS = ("node", "affinity", "anti-affinity")


def preference_term(value: Any, where: str) -> Mapping[str, Any]:
    """Validate one preferred term (see the module docstring) into a frozen mapping."""
    from schedforge.problems.pods.fields import _list_of, _requirement

    if not isinstance(value, Mapping) or value.get("kind") not in KINDS:
        raise InvalidInstance(f"{where}: a preferred term needs 'kind' in {', '.join(KINDS)}")
    weight = value.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
        raise InvalidInstance(f"{where}.weight: {weight!r} is not an integer in 1..100")
    if value["kind"] == "node":
        reqs = _list_of(_requirement)(value.get("requirements"), f"{where}.requirements")
        return frozen_mapping({"kind": "node", "weight": weight, "requirements": reqs})
    namespaces = value.get("namespaces") or ()
    if isinstance(namespaces, str):
        raise InvalidInstance(f"{where}.namespaces: expected a list")
    topology = value.get("topology") or HOSTNAME
    if not isinstance(topology, str):
        raise InvalidInstance(f"{where}.topology: expected a label key")
    return frozen_mapping(
        {
            "kind": value["kind"],
            "weight": weight,
            "selector": _list_of(_requirement)(value.get("selector"), f"{where}.selector"),
            "namespaces": tuple(str(n) for n in namespaces),
            "topology": topology,
        }
    )


def has_preferences(instance) -> bool:
    """Whether any pod carries a preferred term."""
    return any(instance.preferences)


def node_affinity_raw(instance) -> np.ndarray:
    """``(pods, nodes)`` NodeAffinity raw scores: summed weights of the matched preferred terms."""
    out = np.zeros((instance.num_pods, instance.num_nodes), dtype=np.int64)
    for p, terms in enumerate(instance.preferences):
        for term in terms:
            if term["kind"] != "node" or not term["requirements"]:
                continue  # an empty term matches no node
            for n in range(instance.num_nodes):
                labels, name = instance.node_labels[n], instance.node_names[n]
                if all(requirement_matches(r, labels, name) for r in term["requirements"]):
                    out[p, n] += term["weight"]
    return out


def _pod_matches(instance, term: Mapping[str, Any], owner: int, q: int) -> bool:
    """Whether pod ``q`` matches the pod term of pod ``owner`` (selector and namespaces)."""
    spaces = term["namespaces"] or (instance.namespace[owner],)
    if "*" not in spaces and instance.namespace[q] not in spaces:
        return False
    return all(requirement_matches(r, instance.pod_labels[q], "") for r in term["selector"])


def inter_pod_raw(instance, p: int, node_of_pod: np.ndarray) -> np.ndarray:
    """``(nodes,)`` InterPodAffinity raw score of pod ``p`` given where the other pods run.

    For every running pod ``q`` on node ``m``: each preferred term of ``p``
    that ``q`` matches adds (affinity) or subtracts (anti-affinity) its
    weight on the nodes sharing ``m``'s value of the term's topology key,
    and so does each preferred term of ``q`` that ``p`` matches, and each
    *required* affinity term of ``q`` that ``p`` matches with
    :data:`HARD_POD_AFFINITY_WEIGHT`. A node without the key's label gets
    nothing from the term.
    """
    out = np.zeros(instance.num_nodes, dtype=np.int64)
    labels = instance.node_labels
    own = [t for t in instance.preferences[p] if t["kind"] != "node"]
    for q in np.flatnonzero(node_of_pod >= 0).tolist():
        if q == p:
            continue
        m = int(node_of_pod[q])
        pairs = [(t, p, q) for t in own]
        pairs += [(t, q, p) for t in instance.preferences[q] if t["kind"] != "node"]
        pairs += [
            ({**t, "kind": "affinity", "weight": HARD_POD_AFFINITY_WEIGHT}, q, p)
            for t in instance.affinity_terms[q]
        ]
        for term, owner, other in pairs:
            if not _pod_matches(instance, term, owner, other):
                continue
            key = term.get("topology", HOSTNAME)
            value = labels[m].get(key)
            if value is None:
                continue
            sign = 1 if term["kind"] == "affinity" else -1
            for n in range(instance.num_nodes):
                if labels[n].get(key) == value:
                    out[n] += sign * term["weight"]
    return out


def normalise_node_affinity(raw: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """NodeAffinity NormalizeScore: ``100·raw // max`` over the feasible nodes (0 if max is 0)."""
    top = int(raw[feasible].max()) if feasible.any() else 0
    if top <= 0:
        return np.zeros_like(raw)
    return MAX_NODE_SCORE * raw // top


def normalise_inter_pod(raw: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """InterPodAffinity NormalizeScore: ``int(100·(raw − min) / (max − min))``, 0 if all equal."""
    if not feasible.any():
        return np.zeros_like(raw)
    low, high = int(raw[feasible].min()), int(raw[feasible].max())
    if high == low:
        return np.zeros_like(raw)
    return (MAX_NODE_SCORE * (raw - low) / (high - low)).astype(np.int64)


def soft_score(instance, node_of_pod: np.ndarray) -> int:
    """The plan's soft score: raw preferred weights earned by the placed pods, larger is better.

    Per placed pod: the weights of its preferred node terms its node
    matches, plus the weights of its preferred pod affinity terms met by
    another placed pod in the same topology domain, minus those of its
    anti-affinity terms met so (each pair counted from both sides, as the
    scheduler scores both directions).
    """
    node = np.asarray(node_of_pod)
    if not has_preferences(instance):
        return 0
    raw = node_affinity_raw(instance)
    total = 0
    for p in np.flatnonzero(node >= 0).tolist():
        n = int(node[p])
        total += int(raw[p, n])
        for term in instance.preferences[p]:
            if term["kind"] == "node":
                continue
            value = instance.node_labels[n].get(term["topology"])
            if value is None:
                continue
            sign = 1 if term["kind"] == "affinity" else -1
            for q in np.flatnonzero(node >= 0).tolist():
                if q == p or instance.node_labels[int(node[q])].get(term["topology"]) != value:
                    continue
                if _pod_matches(instance, term, p, q):
                    total += sign * term["weight"]
    return total


def spread_scores(instance, p: int, node_of_pod: np.ndarray, feasible: np.ndarray):
    """PodTopologySpread Score of pod ``p`` for its ``ScheduleAnyway`` constraints, or None.

    As the upstream plugin: the candidate (``feasible``) nodes without
    every constraint's topology key are ignored (score 0); per constraint a
    weight ``log(domains among the other candidates + 2)``; a node's raw
    score sums ``count·weight + maxSkew − 1`` over the constraints, where
    ``count`` is the matching pods of ``p``'s namespace in the node's domain
    (counted on the nodes with every key that pass the constraint's node
    inclusion policies; for ``kubernetes.io/hostname`` on the node itself),
    rounded; the normalised score is ``100·(max + min − raw) // max`` over
    the scored nodes (100 everywhere when ``max`` is 0). ``None`` when the
    pod has no ``ScheduleAnyway`` constraint (then the scheduler's default
    constraints, or none, apply).
    """
    inst = instance
    soft = [c for c in inst.spread[p] if c["when"] == "ScheduleAnyway"]
    if not soft:
        return None
    labels = inst.node_labels
    keyed = np.array(
        [all(c["topology"] in labels[n] for c in soft) for n in range(inst.num_nodes)], dtype=bool
    )
    scored = feasible & keyed
    topology = inst.topology
    raw = np.zeros(inst.num_nodes, dtype=np.float64)
    placed = np.flatnonzero(node_of_pod >= 0)
    placed = placed[placed != p]
    for c in soft:
        key = c["topology"]
        match = topology._matches(p, c["selector"], ())[placed]
        on_node = np.bincount(node_of_pod[placed[match]], minlength=inst.num_nodes)
        if key == HOSTNAME:
            size = int(scored.sum())
            count = on_node.astype(np.float64)
        else:
            values = [labels[n].get(key) for n in range(inst.num_nodes)]
            size = len({values[n] for n in np.flatnonzero(scored)})
            included = keyed.copy()
            for n in np.flatnonzero(included):
                if c["node_affinity_policy"] == "Honor":
                    included[n] = topology._node_affinity_ok(p, int(n))
                if included[n] and c["node_taints_policy"] == "Honor":
                    included[n] = all(
                        t["effect"] == "PreferNoSchedule"
                        or any(tolerates(o, t) for o in inst.tolerations[p])
                        for t in inst.node_taints[n]
                    )
            per_value: dict[str, int] = {}
            for n in np.flatnonzero(included):
                per_value[values[n]] = per_value.get(values[n], 0) + int(on_node[n])
            count = np.array([per_value.get(v, 0) for v in values], dtype=np.float64)
        raw += count * np.log(size + 2.0) + (c["max_skew"] - 1)
    score = np.floor(raw + 0.5).astype(np.int64)  # Go's math.Round, for the values >= 0 here
    out = np.zeros(inst.num_nodes, dtype=np.int64)
    if not scored.any():
        return out
    high, low = int(score[scored].max()), int(score[scored].min())
    if high == 0:
        out[scored] = MAX_NODE_SCORE
    else:
        out[scored] = MAX_NODE_SCORE * (high + low - score[scored]) // high
    return out
