"""The independent oracle: validation, the lexicographic objective and bounds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import total_ordering

import numpy as np

from schedforge.problems.pods.model import PodsInstance, PodsSolution
from schedforge.problems.pods.topology import topology_problems

# --------------------------------------------------------------------------
# Oracle: validation, objective, bound. Plain NumPy, independent of methods.


def placement_problems(
    instance: PodsInstance, node: np.ndarray, *, allowed: np.ndarray | None
) -> list[str]:
    """Capacity, pod-count, anti-affinity (by topology key) and host-port violations."""
    out: list[str] = []
    placed = np.flatnonzero(node >= 0)
    if allowed is not None:
        bad = placed[~allowed[placed, node[placed]]]
        for p in bad[:5]:
            n = int(node[p])
            if instance.current_node[p] == n:
                why = "NoExecute taint evicts it (tolerationSeconds or no toleration)"
            else:
                why = instance.refusal(int(p), n)
            out.append(
                f"pod {instance.pod_names[p]!r} may not run on node "
                f"{instance.node_names[n]!r}: {why}"
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
    for pairs, rule in (
        (instance.anti_pairs, "pod anti-affinity"),
        (instance.port_pairs, "hostPort"),
    ):
        for p, q in pairs:
            if node[p] >= 0 and node[p] == node[q]:
                out.append(
                    f"pods {instance.pod_names[p]!r} and {instance.pod_names[q]!r} share node "
                    f"{instance.node_names[node[p]]!r} against their {rule}"
                )
                if len(out) > 20:
                    return out
    for p, q, k in instance.zone_pairs:
        m, n = node[p], node[q]
        if m < 0 or n < 0:
            continue
        d = instance.domain[k, m]
        if d >= 0 and d == instance.domain[k, n]:
            key = instance.topology_keys[k]
            value = instance.node_labels[m][key]
            out.append(
                f"pods {instance.pod_names[p]!r} and {instance.pod_names[q]!r} share "
                f"{key}={value!r} (nodes {instance.node_names[m]!r}, {instance.node_names[n]!r}) "
                "against their pod anti-affinity"
            )
            if len(out) > 20:
                return out
    return out


def disruption_problems(instance: PodsInstance, node: np.ndarray) -> list[str]:
    """PodDisruptionBudget and ``preemptionPolicy: Never`` violations of a plan.

    A running pod that may stay but is evicted or moved uses one disruption
    of its budget (the Eviction API refuses more than ``pdb_allowed``). A
    pending pod with ``preemptionPolicy: Never`` may not be placed on a node
    from which a running pod leaves.
    """
    out = []
    current = instance.current_node
    leaves = (current >= 0) & (node != current) & instance.stay_ok
    for b, name in enumerate(instance.pdb_names):
        used = int(np.sum(leaves & (instance.pdb == b)))
        if used > instance.pdb_allowed[b]:
            out.append(
                f"PodDisruptionBudget {name!r} allows {instance.pdb_allowed[b]} disruption(s); "
                f"the plan evicts or moves {used} of its pods"
            )
    emptied = set(current[(current >= 0) & (node != current)].tolist())
    for p in np.flatnonzero(instance.preempt_never & (current < 0) & (node >= 0)):
        if int(node[p]) in emptied:
            out.append(
                f"pod {instance.pod_names[p]!r} has preemptionPolicy Never but is placed on "
                f"{instance.node_names[node[p]]!r}, from which running pods are removed"
            )
    return out


def validate(instance: PodsInstance, solution: PodsSolution) -> list[str]:
    """Every violated constraint of ``solution``; empty when it is feasible.

    Checks: one entry per pod, node indices in range, protected running pods
    on their current node, every placement allowed (``PodsInstance.allowed``:
    cordons, node selection, taints, gates and scheduler names), allocatable
    amounts and ``max_pods`` respected, no anti-affinity or host-port pair on
    one node, PodDisruptionBudgets and ``preemptionPolicy: Never``
    (:func:`disruption_problems`), and that the newly placed pods can be
    bound one by one under their required pod affinity and hard topology
    spread constraints (:func:`.topology.topology_problems`). Each message
    names the rule.
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
            f"{instance.node_names[instance.current_node[p]]!r} (protected, terminating "
            "or not ours to move)"
        )
    out += placement_problems(instance, node, allowed=instance.allowed)
    out += disruption_problems(instance, node)
    return out + topology_problems(instance, node)


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
