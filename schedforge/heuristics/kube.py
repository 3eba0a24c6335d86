"""A simulation of the default kube-scheduler on a cluster snapshot, and packing rules.

``kube`` replays what kube-scheduler (default profile, Kubernetes 1.2x/1.3x)
does with the pending pods of a snapshot; running pods stay where they are:

* **Queue**: priority, then creation order (the pods' order in the
  instance); pods evicted by preemption that have an owner are recreated by
  their controller and queued again behind the pods of their priority.
* **Filters**: NodeUnschedulable, NodeAffinity (``nodeSelector`` and
  required affinity), TaintToleration (``NoSchedule``/``NoExecute``),
  NodeResourcesFit (every resource the pod requests, and the pod count),
  NodePorts (host ports), InterPodAffinity (required anti-affinity, every
  term, with its namespaces, by topology key, both directions; required
  affinity: a pod matching all the terms in the node's domain of every
  term, or none anywhere for a pod matching its own terms),
  PodTopologySpread (``DoNotSchedule`` constraints: skew within
  ``maxSkew`` over the eligible nodes, :mod:`schedforge.problems.pods.topology`);
  pods with ``schedulingGates`` or another ``schedulerName`` are never placed.
* **Scores** (0..100 each, default weights): TaintToleration ×3 (untolerated
  ``PreferNoSchedule`` taints, normalised and reversed), NodeResourcesFit ×1
  (``LeastAllocated`` over cpu and memory with the non-zero request
  defaults 100 m and 200 MiB), NodeResourcesBalancedAllocation ×1
  (``1 − std`` of the cpu and memory fractions, actual requests),
  PodTopologySpread ×2 (system-default constraints for pods with an owner:
  hostname ``maxSkew`` 3 and zone ``maxSkew`` 5, ``ScheduleAnyway``; the
  zone counts take the nodes the pod is admitted to as a stand-in for the
  ``nodeAffinityPolicy: Honor`` inclusion rule), NodeAffinity ×2 (weights of
  the matched preferred node terms, ``100·raw // max``) and InterPodAffinity
  ×2 (preferred pod affinity minus anti-affinity weights, of the pod's terms
  and of the running pods' terms toward it, per topology domain, min-max
  normalised; :mod:`schedforge.problems.pods.soft`); a pod with spread
  constraints of its own gets no default ones, its ``ScheduleAnyway`` ones
  are scored instead (:func:`schedforge.problems.pods.soft.spread_scores`). The plugins without
  input here (ImageLocality, VolumeBinding) score every node alike and
  are left out. Ties go to the first node by name (kube-scheduler draws one
  at random) so that runs are reproducible.
* **DefaultPreemption** (switchable): when no node passes the filters, on
  every node that fails only for reasons eviction can fix, remove all
  strictly lower-priority pods, check the pod fits, then reprieve victims
  most important first (priority, then start order) while it still fits;
  choose the node by: lowest highest victim priority, lowest sum of victim
  priorities, fewest victims, latest start of the highest-priority victims,
  then node name. Protected, terminating and other schedulers' running pods
  are never victims. Victims go through the Eviction API, so a node whose
  victims would exceed a PodDisruptionBudget's allowed disruptions is not a
  candidate (the upstream plugin only prefers such nodes less: it deletes
  victims directly). A pod with ``preemptionPolicy: Never`` does not preempt,
  is not placed on a node that preemption or a ``NoExecute`` taint emptied,
  and a node where such a pod was just placed is not preempted on.
  Preemption runs the affinity and spread filters with the victims gone.
  A pod bound next to a partner that preemption later evicts keeps
  running in the real cluster (``IgnoredDuringExecution``) but not in a
  plan, whose evictions come first: such pods are left pending at the end
  (:func:`schedforge.problems.pods.topology.topology_repair`,
  ``stats["topology_dropped"]``).
* **NoExecute**: running pods on a node with a ``NoExecute`` taint they do
  not tolerate without ``tolerationSeconds`` are evicted first; their
  controller recreates them (they queue again).
  After the queue empties, the still pending pods are tried again while
  preemption freed room (pod deletions re-activate the unschedulable queue).

The scoring loop is a numba kernel (:func:`pick_node`) over plain arrays;
the same kernel, with another strategy code, gives the packing rules
``rule:ffd`` (first fit decreasing), ``rule:bfd`` (best fit decreasing) and
``rule:most-allocated`` (the kube simulation with the ``MostAllocated``
scoring strategy of NodeResourcesFit).

References
----------
Kubernetes scheduler framework plugins (``pkg/scheduler/framework/plugins``:
noderesources, podtopologyspread, tainttoleration, defaultpreemption),
kubernetes/kubernetes v1.30.
"""

from __future__ import annotations

import heapq
import math
import time

import numpy as np
from numba import njit

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.pods import PodsInstance, PodsSolution
from schedforge.problems.pods.soft import (
    WEIGHT_INTER_POD_AFFINITY,
    WEIGHT_NODE_AFFINITY,
    has_preferences,
    inter_pod_raw,
    node_affinity_raw,
    soft_score,
    spread_scores,
)
from schedforge.problems.pods.topology import topology_repair

__all__ = ["balanced_score", "fit_score", "kube", "pick_node", "rule", "simulate", "taint_score"]

LEAST_ALLOCATED, MOST_ALLOCATED, FIRST_FIT, BEST_FIT = 0, 1, 2, 3
STRATEGIES = {
    "least-allocated": LEAST_ALLOCATED,
    "most-allocated": MOST_ALLOCATED,
    "ffd": FIRST_FIT,
    "bfd": BEST_FIT,
}
# kube-scheduler defaults (pkg/scheduler/util, apis/config/v1 default_plugins.go).
NONZERO_CPU_MILLI = 100
NONZERO_MEMORY = 200 * 1024 * 1024
WEIGHT_TAINT, WEIGHT_FIT, WEIGHT_BALANCED, WEIGHT_SPREAD = 3, 1, 1, 2
MAX_SKEW_HOST, MAX_SKEW_ZONE = 3, 5
SPREAD_OWNER_KINDS = ("ReplicaSet", "StatefulSet", "ReplicationController")
ZONE_LABEL = "topology.kubernetes.io/zone"


@njit(cache=True)
def fit_score(requested, capacity, strategy):  # pragma: no cover - compiled
    """NodeResourcesFit score of one resource, 0..100 (LeastAllocated 0, MostAllocated 1).

    ``requested`` includes the incoming pod (non-zero defaults applied by
    the caller); a request above the capacity scores 0 (least) or 100 (most).
    """
    if strategy == 0:
        return 0 if requested > capacity else ((capacity - requested) * 100) // capacity
    return 100 if requested > capacity else (requested * 100) // capacity


@njit(cache=True)
def taint_score(untolerated, most):  # pragma: no cover - compiled
    """TaintToleration score, 0..100: untolerated ``PreferNoSchedule`` taints, reversed.

    ``most`` is the largest count over the feasible nodes
    (``DefaultNormalizeScore`` with ``reverse``).
    """
    return 100 if most == 0 else 100 - (untolerated * 100) // most


@njit(cache=True)
def balanced_score(fractions, count):  # pragma: no cover - compiled
    """NodeResourcesBalancedAllocation: ``(1 - std) * 100`` of the requested fractions.

    Fractions above 1 count as 1; with fewer than two resources the score is 100.
    """
    if count < 2:
        return 100
    mean = 0.0
    for k in range(count):
        mean += min(fractions[k], 1.0)
    mean /= count
    var = 0.0
    for k in range(count):
        var += (min(fractions[k], 1.0) - mean) ** 2
    return int((1.0 - math.sqrt(var / count)) * 100.0)


@njit(cache=True)
def pick_node(
    req,
    nonzero,
    alloc,
    used,
    used_nonzero,
    count,
    max_pods,
    ok,
    prefer,
    owner_count,
    eligible,
    zone,
    spread_on,
    strategy,
    cpu,
    mem,
    order,
    node_pref,
    pod_pref,
    custom_spread,
    custom_on,
):  # pragma: no cover - compiled
    """The node kube-scheduler (or a packing rule) picks for one pod, or -1.

    Parameters
    ----------
    req
        ``(R,)`` requests of the pod.
    nonzero
        ``(2,)`` cpu and memory requests with the non-zero defaults.
    alloc, used
        ``(N, R)`` allocatable and requested amounts per node.
    used_nonzero
        ``(N, 2)`` requested cpu and memory with the non-zero defaults.
    count, max_pods
        ``(N,)`` pods on each node and the limit.
    ok
        ``(N,)`` static filters and anti-affinity passed.
    prefer
        ``(N,)`` untolerated ``PreferNoSchedule`` taints.
    owner_count
        ``(N,)`` pods of the pod's owner on each node (topology spreading).
    eligible
        ``(N,)`` nodes matching the pod's node affinity (spreading counts).
    zone
        ``(N,)`` zone id of each node, -1 without a zone label.
    spread_on
        Whether default topology spreading applies to the pod.
    strategy
        0 LeastAllocated (kube), 1 MostAllocated, 2 first fit, 3 best fit.
    cpu, mem
        Indices of cpu and memory among the resources (-1 when absent).
    order
        ``(N,)`` node indices in name order: the tie-break.
    node_pref, pod_pref
        ``(N,)`` raw NodeAffinity (summed preferred weights) and
        InterPodAffinity (signed preferred weights) scores of the pod;
        normalised here over the feasible nodes, weight 2 each.
    custom_spread, custom_on
        ``(N,)`` PodTopologySpread scores (0..100) of the pod's own
        ``ScheduleAnyway`` constraints, used instead of the default
        constraints when ``custom_on``.
    """
    num_nodes, num_res = alloc.shape
    feasible = np.zeros(num_nodes, dtype=np.bool_)
    n_feasible = 0
    for n in range(num_nodes):
        if not ok[n] or count[n] + 1 > max_pods[n]:
            continue
        fits = True
        for r in range(num_res):
            if req[r] > 0 and used[n, r] + req[r] > alloc[n, r]:
                fits = False
                break
        if fits:
            feasible[n] = True
            n_feasible += 1
    if n_feasible == 0:
        return -1
    if strategy == 2:
        for k in range(num_nodes):
            if feasible[order[k]]:
                return order[k]
    if strategy == 3:
        best, best_left = -1, 1e300
        for k in range(num_nodes):
            n = order[k]
            if not feasible[n]:
                continue
            left = 0.0
            for r in range(num_res):
                if alloc[n, r] > 0:
                    left += (alloc[n, r] - used[n, r] - req[r]) / alloc[n, r]
            if left < best_left:
                best, best_left = n, left
        return best
    # Raw plugin scores on the feasible nodes.
    fit = np.zeros(num_nodes, dtype=np.int64)
    balanced = np.zeros(num_nodes, dtype=np.int64)
    spread = np.zeros(num_nodes, dtype=np.int64)
    max_prefer = 0
    # PodTopologySpread normalising weights: log(size + 2) with the number of
    # candidate nodes (hostname) and of distinct zones among them.
    num_zones = 0
    zone_seen = np.zeros(num_nodes + 1, dtype=np.bool_)
    for n in range(num_nodes):
        if feasible[n]:
            z = zone[n] + 1
            if not zone_seen[z]:
                zone_seen[z] = True
                num_zones += 1
    w_host = math.log(n_feasible + 2.0)
    w_zone = math.log(num_zones + 2.0)
    zone_total = np.zeros(num_nodes + 1, dtype=np.int64)
    if spread_on:
        for m in range(num_nodes):
            if eligible[m] and zone[m] >= 0:
                zone_total[zone[m] + 1] += owner_count[m]
    for n in range(num_nodes):
        if not feasible[n]:
            continue
        if prefer[n] > max_prefer:
            max_prefer = prefer[n]
        # NodeResourcesFit: Least/MostAllocated over cpu and memory, weight 1 each.
        score_sum = 0
        weight_sum = 0
        for k in range(2):
            r = cpu if k == 0 else mem
            if r < 0 or alloc[n, r] == 0:
                continue
            score_sum += fit_score(used_nonzero[n, k] + nonzero[k], alloc[n, r], strategy)
            weight_sum += 1
        fit[n] = score_sum // weight_sum if weight_sum > 0 else 0
        # BalancedAllocation: 1 - std of the fractions (actual requests).
        fractions = np.zeros(2)
        nf = 0
        for k in range(2):
            r = cpu if k == 0 else mem
            if r < 0 or alloc[n, r] == 0:
                continue
            fractions[nf] = (used[n, r] + req[r]) / alloc[n, r]
            nf += 1
        balanced[n] = balanced_score(fractions, nf)
        if spread_on:
            raw = owner_count[n] * w_host + (MAX_SKEW_HOST - 1)
            if zone[n] >= 0:
                raw += zone_total[zone[n] + 1] * w_zone + (MAX_SKEW_ZONE - 1)
            spread[n] = int(np.round(raw))
    min_spread, max_spread = 1 << 62, 0
    max_node_pref = 0
    min_pod_pref, max_pod_pref = 1 << 62, -(1 << 62)
    for n in range(num_nodes):
        if feasible[n]:
            min_spread = min(min_spread, spread[n])
            max_spread = max(max_spread, spread[n])
            max_node_pref = max(max_node_pref, node_pref[n])
            min_pod_pref = min(min_pod_pref, pod_pref[n])
            max_pod_pref = max(max_pod_pref, pod_pref[n])
    best, best_score = -1, -1
    for k in range(num_nodes):
        n = order[k]
        if not feasible[n]:
            continue
        taint = taint_score(prefer[n], max_prefer)
        total = WEIGHT_TAINT * taint + WEIGHT_FIT * fit[n] + WEIGHT_BALANCED * balanced[n]
        if custom_on:
            total += WEIGHT_SPREAD * custom_spread[n]
        elif spread_on:
            if max_spread == 0:
                total += WEIGHT_SPREAD * 100
            else:
                total += WEIGHT_SPREAD * (100 * (max_spread + min_spread - spread[n]) // max_spread)
        # NodeAffinity: 100·raw // max (DefaultNormalizeScore); InterPodAffinity: min-max.
        if max_node_pref > 0:
            total += WEIGHT_NODE_AFFINITY * (100 * node_pref[n] // max_node_pref)
        if max_pod_pref > min_pod_pref:
            share = (pod_pref[n] - min_pod_pref) / (max_pod_pref - min_pod_pref)
            total += WEIGHT_INTER_POD_AFFINITY * int(100.0 * share)
        if total > best_score:
            best, best_score = n, total
    return best


class _Cluster:
    """Mutable scheduler state over one instance (requested amounts, counts)."""

    def __init__(self, instance: PodsInstance, strategy: int):
        inst = self.instance = instance
        self.strategy = strategy
        self.node = instance.current_node.copy()
        self.alloc = np.ascontiguousarray(inst.allocatable)
        self.used = np.zeros_like(self.alloc)
        self.cpu = inst.resources.index("cpu") if "cpu" in inst.resources else -1
        self.mem = inst.resources.index("memory") if "memory" in inst.resources else -1
        self.nonzero = np.zeros((inst.num_pods, 2), dtype=np.int64)
        for k, (r, default) in enumerate(
            ((self.cpu, NONZERO_CPU_MILLI), (self.mem, NONZERO_MEMORY))
        ):
            if r >= 0:
                self.nonzero[:, k] = np.where(inst.requests[:, r] > 0, inst.requests[:, r], default)
        self.used_nonzero = np.zeros((inst.num_nodes, 2), dtype=np.int64)
        self.count = np.zeros(inst.num_nodes, dtype=np.int64)
        owners = sorted({o for o in inst.owner if o.split("/")[0] in SPREAD_OWNER_KINDS})
        owner_id = {o: k for k, o in enumerate(owners)}
        self.owner = np.array([owner_id.get(o, -1) for o in inst.owner], dtype=np.int64)
        self.owner_count = np.zeros((max(len(owners), 1), inst.num_nodes), dtype=np.int64)
        zones = sorted({lab[ZONE_LABEL] for lab in inst.node_labels if ZONE_LABEL in lab})
        self.zone = np.array(
            [zones.index(lab[ZONE_LABEL]) if ZONE_LABEL in lab else -1 for lab in inst.node_labels],
            dtype=np.int64,
        )
        # Soft rules (preferred affinities): raw scores, normalised per pick.
        self.soft = has_preferences(inst)
        self.no_pref = np.zeros(inst.num_nodes, dtype=np.int64)
        self.node_pref = node_affinity_raw(inst) if self.soft else None
        self.order = np.array(
            sorted(range(inst.num_nodes), key=lambda n: inst.node_names[n]), dtype=np.int64
        )
        # Start order for preemption's "latest start" criterion: running pods
        # first (in creation order), then pods in the order the simulation binds them.
        self.started = np.where(inst.current_node >= 0, np.arange(inst.num_pods), -1)
        self.clock = inst.num_pods
        self.on_node: list[set[int]] = [set() for _ in range(inst.num_nodes)]
        # Disruptions each PodDisruptionBudget still allows; nodes running pods
        # left; nodes holding a newly bound preemptionPolicy Never pod.
        self.pdb_left = np.array(inst.pdb_allowed, dtype=np.int64)
        self.emptied = np.zeros(inst.num_nodes, dtype=bool)
        self.never_bound = np.zeros(inst.num_nodes, dtype=bool)
        for p in np.flatnonzero(self.node >= 0):
            self._add(int(p), int(self.node[p]))

    def _add(self, p: int, n: int) -> None:
        self.node[p] = n
        self.used[n] += self.instance.requests[p]
        self.used_nonzero[n] += self.nonzero[p]
        self.count[n] += 1
        if self.owner[p] >= 0:
            self.owner_count[self.owner[p], n] += 1
        self.on_node[n].add(p)

    def _remove(self, p: int) -> None:
        n = int(self.node[p])
        self.node[p] = -1
        self.used[n] -= self.instance.requests[p]
        self.used_nonzero[n] -= self.nonzero[p]
        self.count[n] -= 1
        if self.owner[p] >= 0:
            self.owner_count[self.owner[p], n] -= 1
        self.on_node[n].discard(p)

    def evict(self, p: int) -> None:
        """Take running pod ``p`` off its node through the Eviction API."""
        inst = self.instance
        n = int(self.node[p])
        if n == inst.current_node[p] and inst.stay_ok[p] and inst.pdb[p] >= 0:
            self.pdb_left[inst.pdb[p]] -= 1
        self.emptied[n] = True
        self._remove(p)

    def bind(self, p: int, n: int) -> None:
        """Place pod ``p`` on node ``n`` (it starts now)."""
        if self.instance.preempt_never[p] and self.instance.current_node[p] < 0:
            self.never_bound[n] = True
        self._add(p, n)
        self.started[p] = self.clock
        self.clock += 1

    def blocked(self, p: int) -> np.ndarray:
        """Nodes where ``p`` conflicts with a running pod (anti-affinity, host ports)."""
        return self.instance.blocked_nodes(p, self.node)

    def pick(self, p: int) -> int:
        """The node the scheduler picks for ``p``, or -1 if none passes the filters."""
        inst = self.instance
        ok = inst.eligible[p] & ~self.blocked(p)
        if self._ruled(p):
            ok &= inst.topology.admits(p, self.node)  # InterPodAffinity, PodTopologySpread
        if inst.preempt_never[p]:
            ok &= ~self.emptied  # it may not take room an eviction freed
        owner = self.owner[p]
        # A pod with its own spread constraints gets no default ones (upstream PreScore);
        # its ScheduleAnyway ones are scored here over the nodes that pass the filters.
        custom = None
        if inst.spread[p]:
            fits = (self.count + 1 <= inst.max_pods) & np.all(
                (inst.requests[p] == 0) | (self.used + inst.requests[p] <= self.alloc), axis=1
            )
            custom = spread_scores(inst, p, self.node, ok & fits)
        default_spread = not inst.spread[p] and owner >= 0
        return int(
            pick_node(
                inst.requests[p],
                self.nonzero[p],
                self.alloc,
                self.used,
                self.used_nonzero,
                self.count,
                inst.max_pods,
                ok,
                inst.prefer_no_schedule[p],
                self.owner_count[max(owner, 0)],
                inst.eligible[p],
                self.zone,
                default_spread and self.strategy in (LEAST_ALLOCATED, MOST_ALLOCATED),
                self.strategy,
                self.cpu,
                self.mem,
                self.order,
                self.node_pref[p] if self.soft else self.no_pref,
                inter_pod_raw(inst, p, self.node) if self.soft else self.no_pref,
                self.no_pref if custom is None else custom,
                custom is not None and self.strategy in (LEAST_ALLOCATED, MOST_ALLOCATED),
            )
        )

    def _ruled(self, p: int) -> bool:
        """Whether ``p`` has required pod affinity or a hard spread constraint."""
        topo = self.instance.topology
        return topo.active and (p in topo.affinity or p in topo.constraints)

    def _fits(self, p: int, n: int, present: set[int]) -> bool:
        """Does ``p`` fit on ``n`` if exactly the pods ``present`` run there?"""
        inst = self.instance
        members = list(present)
        used = inst.requests[members].sum(axis=0) if members else 0
        req = inst.requests[p]
        if np.any((req > 0) & (used + req > inst.allocatable[n])):
            return False
        if len(members) + 1 > inst.max_pods[n]:
            return False
        domain = inst.domain
        if any(q in present and (k < 0 or domain[k, n] >= 0) for q, k in inst.partners[p]):
            return False
        if self._ruled(p):
            trial = self.node.copy()
            trial[[q for q in self.on_node[n] if q not in present]] = -1
            return inst.topology.refusal(p, n, trial) is None
        return True

    def _evictable(self, q: int) -> bool:
        inst = self.instance
        b = inst.pdb[q]
        counted = self.node[q] == inst.current_node[q] and inst.stay_ok[q]
        return b < 0 or not counted or self.pdb_left[b] > 0

    def _budgets_allow(self, victims: list[int]) -> bool:
        inst = self.instance
        need = np.zeros(len(self.pdb_left), dtype=np.int64)
        for q in victims:
            if inst.pdb[q] >= 0 and self.node[q] == inst.current_node[q] and inst.stay_ok[q]:
                need[inst.pdb[q]] += 1
        return bool(np.all(need <= self.pdb_left))

    def preempt(self, p: int) -> tuple[int, list[int]] | None:
        """DefaultPreemption for ``p``: the chosen node and its victims, or None."""
        inst = self.instance
        if inst.preempt_never[p]:
            return None  # preemptionPolicy: Never
        prio = inst.priority[p]
        best_key, best = None, None
        # Anti-affinity with a pod on another node of a topology domain is
        # beyond this node's victims.
        elsewhere = np.zeros(inst.num_nodes, dtype=bool)
        for q, k in inst.partners[p]:
            m = self.node[q]
            if k >= 0 and m >= 0 and inst.domain[k, m] >= 0:
                elsewhere |= (inst.domain[k] == inst.domain[k, m]) & (
                    np.arange(inst.num_nodes) != m
                )
        for n in self.order:
            if not inst.eligible[p, n] or self.never_bound[n] or elsewhere[n]:
                continue  # unresolvable by eviction (affinity, taint, cordon)
            on_node = self.on_node[n]
            # Victims go through the Eviction API: never past a PodDisruptionBudget.
            candidates = [
                q
                for q in on_node
                if inst.priority[q] < prio and not inst.fixed[q] and self._evictable(q)
            ]
            if not candidates:
                continue
            keep = on_node.difference(candidates)
            if not self._fits(p, n, keep):
                continue
            # Reprieve the most important victims first: higher priority, earlier start.
            candidates.sort(key=lambda q: (-inst.priority[q], self.started[q]))
            victims = []
            for q in candidates:
                keep.add(q)
                if not self._fits(p, n, keep):
                    keep.discard(q)
                    victims.append(q)
            if not victims:
                continue  # it fits without preemption: not a preemption candidate
            if not self._budgets_allow(victims):
                continue
            top = max(int(inst.priority[q]) for q in victims)
            earliest_top = min(self.started[q] for q in victims if inst.priority[q] == top)
            key = (
                top,
                sum(int(inst.priority[q]) + 2**31 for q in victims),
                len(victims),
                -earliest_top,
            )
            if best_key is None or key < best_key:
                best_key, best = key, (int(n), victims)
        return best


def simulate(
    instance: PodsInstance,
    *,
    preemption: bool = True,
    strategy: str = "least-allocated",
    deadline: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Run the scheduler over the pending pods of ``instance``.

    Parameters
    ----------
    instance
        The snapshot; running pods keep their nodes unless preempted.
    preemption
        Whether DefaultPreemption runs for pods no node accepts.
    strategy
        ``least-allocated`` (kube default), ``most-allocated``, ``ffd`` or
        ``bfd``; the rules ``ffd``/``bfd`` queue pods by priority, then by
        decreasing size (sum of the requests relative to the cluster's
        total allocatable), then creation order.
    deadline
        A ``time.perf_counter()`` value after which the pods not yet
        considered stay pending.

    Returns
    -------
    node, stats
        The node of each pod (``-1`` = not running) and counters
        (``scheduled``, ``preemptions``, ``victims``, ``truncated``,
        ``topology_dropped``).
    """
    node, stats = _simulate(instance, preemption, strategy, deadline)
    node, stats["topology_dropped"] = topology_repair(instance, node)
    return node, stats


def _simulate(
    instance: PodsInstance, preemption: bool, strategy: str, deadline: float | None
) -> tuple[np.ndarray, dict]:
    code = STRATEGIES[strategy]
    state = _Cluster(instance, code)
    inst = instance
    if code in (FIRST_FIT, BEST_FIT):
        total = np.maximum(inst.allocatable.sum(axis=0), 1)
        size = (inst.requests / total).sum(axis=1)
    else:
        size = np.zeros(inst.num_pods)
    # A NoExecute taint evicts the pods that do not tolerate it for good; their
    # controllers recreate them.
    forced = np.flatnonzero((inst.current_node >= 0) & ~inst.stay_ok)
    requeued = set(forced.tolist())
    for p in forced:
        state.emptied[inst.current_node[p]] = True
        state._remove(int(p))
    queue = [
        (-int(inst.priority[p]), -float(size[p]), p, p)
        for p in range(inst.num_pods)
        if inst.current_node[p] < 0 or (p in requeued and inst.owner[p])
    ]
    heapq.heapify(queue)
    stats = {"scheduled": 0, "preemptions": 0, "victims": 0, "truncated": False}
    created = inst.num_pods
    for _ in range(1 + 5 * preemption):
        pending: list[tuple] = []
        evicted_any = False
        while queue:
            if deadline is not None and time.perf_counter() > deadline:
                stats["truncated"] = True
                return state.node, stats
            item = heapq.heappop(queue)
            p = item[3]
            n = state.pick(p)
            if n < 0 and preemption:
                chosen = state.preempt(p)
                if chosen is not None:
                    n, victims = chosen
                    stats["preemptions"] += 1
                    stats["victims"] += len(victims)
                    evicted_any = True
                    for q in victims:
                        state.evict(q)
                        if inst.owner[q]:
                            # The controller recreates the pod: it queues again, newest.
                            heapq.heappush(queue, (-int(inst.priority[q]), 0.0, created, q))
                            created += 1
            if n >= 0:
                state.bind(p, n)
                stats["scheduled"] += 1
            else:
                pending.append(item)
        if not evicted_any or not pending:
            break
        queue = pending
        heapq.heapify(queue)
    return state.node, stats


@method("pods", "kube", default_stop="when every pending pod is placed or left pending")
def kube(
    instance: PodsInstance,
    *,
    budget: Budget,
    preemption: bool = True,
    max_moves: int | None = None,
    max_evictions: int | None = None,
    moves_per_pod: float | bool | None = None,
) -> Outcome:
    """Default kube-scheduler simulation (filters, default scores, DefaultPreemption).

    Deterministic (ties by node name), so the seed is unused;
    single-threaded. Without a time limit it runs to the end; otherwise pods
    not reached by the budget's deadline stay pending. ``preemption=False``
    switches DefaultPreemption off. ``max_moves``, ``max_evictions`` and
    ``moves_per_pod`` (1 by default with ``max_moves``; see
    :mod:`schedforge.problems.pods.limits`) limit the plan's disruption
    afterwards (:func:`schedforge.heuristics.pods_repair.limit_disruption`).
    """
    node, stats = simulate(instance, preemption=preemption, deadline=budget.deadline)
    limited = moves_per_pod is not None and moves_per_pod is not False
    if max_moves is not None or max_evictions is not None or limited:
        from schedforge.heuristics.pods_repair import limit_disruption

        node = limit_disruption(
            instance,
            node,
            max_moves=max_moves,
            max_evictions=max_evictions,
            moves_per_pod=moves_per_pod,
        )
    if has_preferences(instance):
        stats["soft_score"] = soft_score(instance, node)
    return Outcome(PodsSolution(node), stats=stats)


@method(
    "pods",
    "rule",
    variants=("ffd", "bfd", "most-allocated"),
    default_stop="when every pending pod is placed or left pending",
)
def rule(instance: PodsInstance, variant: str, *, budget: Budget) -> Outcome:
    """Packing rules: first/best fit decreasing (priority, size), or MostAllocated scoring.

    Running pods stay; pending pods are placed one by one, without
    preemption. Deterministic; the budget as for ``kube``.
    """
    node, stats = simulate(instance, preemption=False, strategy=variant, deadline=budget.deadline)
    return Outcome(PodsSolution(node), stats=stats)
