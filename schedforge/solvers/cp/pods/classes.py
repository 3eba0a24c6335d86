"""Pod classes: interchangeable pods counted per node, and their count vectors.

Pods that are interchangeable for every constraint (same priority,
requests, admissible nodes and anti-affinity class; typically the replicas
of one ReplicaSet) share integer variables ``y[g, n]`` = how many pods of
class ``g`` run on node ``n``. This module groups pods into classes, turns
plans into counts and back (:func:`disaggregate` keeps running pods where
they are first, so that evictions and moves are exactly the ones counted),
and offers the count operations the ``cp`` and ``mip`` methods share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedforge.problems.pods import (
    PodsInstance,
)
from schedforge.problems.pods.limits import ratio, resolve_moves_per_pod
from schedforge.solvers.cp.pods.rules import ClassRules, class_rules, keyless


@dataclass
class Limits:
    """Disruption limits on class counts: PodDisruptionBudgets and the method's caps.

    Attributes
    ----------
    pdb
        Budget of each class (``-1`` none); a class's members share it.
    pdb_room
        Per budget, how many of its running members may still leave their
        node (evicted or moved) in this model.
    evictions, moves
        Most evictions and moves in this model, ``None`` for no cap.
    per_pod
        The disruption-aware mode: ``(num, den)`` for at most ``num/den``
        moves per pod the plan adds (running pods after minus before), or
        ``None``. Pods a ``NoExecute`` taint forces off (``forced``) may
        always move.
    moves_offset
        Moves already made outside this model (in a neighbourhood).
    forced
        Running pods a ``NoExecute`` taint forces off their node.
    never
        Flags of classes of pending ``preemptionPolicy: Never`` pods: one
        is placed on a node only if no running pod leaves it.
    """

    pdb: np.ndarray
    pdb_room: np.ndarray
    evictions: int | None = None
    moves: int | None = None
    per_pod: tuple[int, int] | None = None
    moves_offset: int = 0
    forced: int = 0
    never: np.ndarray | None = None

    @property
    def active(self) -> bool:
        """Whether any limit can bind (then every stage models every class)."""
        return (
            len(self.pdb_room) > 0
            or self.evictions is not None
            or self.moves is not None
            or self.per_pod is not None
            or (self.never is not None and bool(self.never.any()))
        )


@dataclass
class PodClasses:
    """Interchangeable pods grouped for the aggregated model.

    Attributes
    ----------
    members
        Pod indices of each class (running pods first).
    size
        Members per class that the model may place (in a neighbourhood of
        :func:`restrict`, those not already placed outside it).
    tier
        Tier of each class (0 = highest priority).
    requests
        ``(G, R)`` requests of a member.
    upper
        ``(G, N)`` most members of the class a node can take on its own:
        admissibility, free room after the fixed pods, pod count,
        anti-affinity with fixed pods and within the class.
    current
        ``(G, N)`` running members on each node that may stay there (a
        ``NoExecute`` taint evicts the others).
    running
        Running members per class.
    self_conflict
        Whether two members of the class may not share a node.
    pair_conflicts
        ``(g, h)`` class pairs whose members may not share a node.
    zone_conflicts
        ``(g, h, k)``: members of classes ``g`` and ``h`` (``g == h``: two
        members of ``g``) may not run in one domain of topology key ``k``.
    domain
        ``(K, N)`` domain of each node per topology key (``-1``: none);
        :attr:`PodsInstance.domain`.
    free
        ``(N, R)`` allocatable minus the requests of fixed pods.
    slots
        ``(N,)`` pod slots left by the fixed pods.
    limits
        Disruption limits (:class:`Limits`).
    rules
        Required pod affinity and hard topology spread of the classes
        (:class:`.rules.ClassRules`); ``None`` in a neighbourhood.
    """

    members: list[list[int]]
    size: np.ndarray
    tier: np.ndarray
    requests: np.ndarray
    upper: np.ndarray
    current: np.ndarray
    running: np.ndarray
    self_conflict: np.ndarray
    pair_conflicts: list[tuple[int, int]]
    zone_conflicts: list[tuple[int, int, int]]
    domain: np.ndarray
    free: np.ndarray
    slots: np.ndarray
    limits: Limits
    rules: ClassRules | None = None

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.members)


def pod_classes(
    instance: PodsInstance,
    *,
    max_moves: int | None = None,
    max_evictions: int | None = None,
    moves_per_pod: float | bool | None = None,
) -> PodClasses:
    """Group the movable pods of ``instance`` into interchangeable classes.

    Fixed pods (running and protected) are not variables: their requests
    are subtracted from the nodes. Pods with no admissible node are left
    out (they can never run). ``max_moves`` and ``max_evictions`` cap the
    plan's moves and evictions; the pods a ``NoExecute`` taint forces off
    their node count, so each cap is at least their number.
    ``moves_per_pod`` allows at most that many moves per pod the plan adds;
    not given, it is 1 when ``max_moves`` is set, and ``False`` switches it
    off (:func:`schedforge.problems.pods.limits.resolve_moves_per_pod`).
    """
    per_pod = resolve_moves_per_pod(max_moves, moves_per_pod)
    inst = instance
    fixed = inst.fixed
    free = inst.allocatable - _node_sums(inst, fixed)
    slots = inst.max_pods - np.bincount(inst.current_node[fixed], minlength=inst.num_nodes).astype(
        np.int64
    )
    in_conflict = np.zeros(inst.num_pods, dtype=bool)
    in_conflict[inst.conflicts.ravel()] = True
    in_conflict[inst.zone_pairs[:, :2].ravel()] = True
    keys: dict[tuple, int] = {}
    members: list[list[int]] = []
    for p in range(inst.num_pods):
        if fixed[p] or not inst.allowed[p].any():
            continue
        anti = None
        if in_conflict[p]:
            # Pods alike in everything conflicts depend on conflict alike.
            selector = inst.anti_affinity[p]
            anti = (
                inst.namespace[p],
                None if selector is None else tuple(sorted(selector.items())),
                repr(inst.anti_affinity_terms[p]),
                tuple(sorted(inst.pod_labels[p].items())),
                tuple(sorted(inst.host_ports[p])),
            )
        rule = None
        if inst.topology.active and inst.topology.relevant[p]:
            # Affinity and spread see namespace, labels, terms, constraints and node policies.
            rule = (
                inst.namespace[p],
                tuple(sorted(inst.pod_labels[p].items())),
                repr(inst.affinity_terms[p]),
                repr(inst.spread[p]),
                repr((inst.node_selector[p], inst.node_affinity[p], inst.tolerations[p])),
            )
        key = (
            rule,
            int(inst.priority[p]),
            inst.requests[p].tobytes(),
            inst.eligible[p].tobytes(),
            anti,
            int(inst.pdb[p]),
            bool(inst.stay_ok[p]),
            bool(inst.preempt_never[p] and inst.current_node[p] < 0),
            repr(inst.preferences[p]) if inst.preferences[p] else None,  # soft terms differ
        )
        if key not in keys:
            keys[key] = len(members)
            members.append([])
        members[keys[key]].append(p)
    num_classes = len(members)
    group_of = np.full(inst.num_pods, -1, dtype=np.int64)
    for g, pods in enumerate(members):
        pods.sort(key=lambda p: (inst.current_node[p] < 0, p))
        group_of[pods] = g
    reps = [pods[0] for pods in members]
    requests = inst.requests[reps].reshape(num_classes, inst.num_resources)
    current = np.zeros((num_classes, inst.num_nodes), dtype=np.int64)
    running = np.zeros(num_classes, dtype=np.int64)
    for g, pods in enumerate(members):
        for p in pods:
            if inst.current_node[p] >= 0:
                running[g] += 1
                if inst.stay_ok[p]:
                    current[g, inst.current_node[p]] += 1
    forced = int(np.sum((inst.current_node >= 0) & ~inst.stay_ok))
    limits = Limits(
        pdb=np.array([inst.pdb[m[0]] for m in members], dtype=np.int64),
        pdb_room=np.array(inst.pdb_allowed, dtype=np.int64),
        evictions=None if max_evictions is None else max(int(max_evictions), forced),
        moves=None if max_moves is None else max(int(max_moves), forced),
        per_pod=None if per_pod is None else ratio(per_pod),
        forced=forced,
        never=np.array(
            [bool(inst.preempt_never[m[0]] and inst.current_node[m[0]] < 0) for m in members],
            dtype=bool,
        ),
    )
    # Nodes a NoExecute taint empties take no Never pod.
    taint_emptied = np.zeros(inst.num_nodes, dtype=bool)
    taint_emptied[inst.current_node[(inst.current_node >= 0) & ~inst.stay_ok]] = True
    self_conflict = np.zeros(num_classes, dtype=bool)
    blocked = np.zeros((num_classes, inst.num_nodes), dtype=bool)
    pairs: set[tuple[int, int]] = set()
    for p, q in inst.conflicts:
        gp, gq = group_of[p], group_of[q]
        if gp >= 0 and gq >= 0:
            if gp == gq:
                self_conflict[gp] = True
            else:
                pairs.add((min(gp, gq), max(gp, gq)))
        elif gp >= 0 and fixed[q]:
            blocked[gp, inst.current_node[q]] = True
        elif gq >= 0 and fixed[p]:
            blocked[gq, inst.current_node[p]] = True
    zones: set[tuple[int, int, int]] = set()
    domain = inst.domain
    for p, q, k in inst.zone_pairs.tolist():
        gp, gq = group_of[p], group_of[q]
        if gp >= 0 and gq >= 0:
            zones.add((min(gp, gq), max(gp, gq), k))
        for g, other in ((gp, q), (gq, p)):
            m = inst.current_node[other]
            if g >= 0 and fixed[other] and domain[k, m] >= 0:
                blocked[g] |= domain[k] == domain[k, m]
    zone_self = np.zeros(num_classes, dtype=bool)
    for g, h, _ in zones:
        zone_self[g] |= g == h
    upper = np.zeros((num_classes, inst.num_nodes), dtype=np.int64)
    for g, pods in enumerate(members):
        size = len(pods)
        eligible = inst.eligible[pods[0]]
        if inst.topology.active:
            eligible = eligible & ~keyless(inst, pods[0])  # a rule's key is missing there
        for n in range(inst.num_nodes):
            if blocked[g, n] or (limits.never[g] and taint_emptied[n]):
                continue
            cap = min(size, int(slots[n]))
            for r in range(inst.num_resources):
                if requests[g, r] > 0:
                    cap = min(cap, int(free[n, r] // requests[g, r]))
            if not eligible[n]:
                cap = min(cap, int(current[g, n]))  # may only stay (IgnoredDuringExecution)
            if self_conflict[g] or zone_self[g]:
                cap = min(cap, 1)
            upper[g, n] = max(cap, 0)
    return PodClasses(
        members=members,
        size=np.array([len(m) for m in members], dtype=np.int64),
        tier=np.array([inst.tier_of[m[0]] for m in members], dtype=np.int64),
        requests=requests,
        upper=upper,
        current=current,
        running=running,
        self_conflict=self_conflict,
        pair_conflicts=sorted(pairs),
        zone_conflicts=sorted(zones),
        domain=domain,
        free=free,
        slots=slots,
        limits=limits,
        rules=class_rules(inst, members, group_of),
    )


def within_limits(classes: PodClasses, y: np.ndarray) -> bool:
    """Whether counts ``y`` keep every disruption limit of ``classes``."""
    lim = classes.limits
    if not lim.active:
        return True
    stays = np.minimum(y, classes.current).sum(axis=1)
    leaves = classes.current.sum(axis=1) - stays
    for b, room in enumerate(lim.pdb_room):
        if int(leaves[lim.pdb == b].sum()) > room:
            return False
    evictions = np.maximum(classes.running - y.sum(axis=1), 0)
    if lim.evictions is not None and int(evictions.sum()) > lim.evictions:
        return False
    moves = int((classes.running - evictions - stays).sum())
    if lim.moves is not None and moves > lim.moves:
        return False
    if lim.never is not None and lim.never.any():
        emptied = (classes.current - np.minimum(y, classes.current)).sum(axis=0) > 0
        if np.any(y[lim.never][:, emptied]):
            return False
    if lim.per_pod is not None:
        num, den = lim.per_pod
        extra = int(y.sum()) - int(classes.running.sum()) + lim.forced
        return den * (moves + lim.moves_offset) <= num * extra + den * lim.forced
    return True


def _node_sums(instance: PodsInstance, mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(instance.allocatable)
    pods = np.flatnonzero(mask)
    np.add.at(out, instance.current_node[pods], instance.requests[pods])
    return out


def aggregate(classes: PodClasses, instance: PodsInstance, node: np.ndarray) -> np.ndarray:
    """Class counts ``y[g, n]`` of a pod-level placement."""
    y = np.zeros_like(classes.upper)
    for g, pods in enumerate(classes.members):
        for p in pods:
            if node[p] >= 0:
                y[g, node[p]] += 1
    return y


def disaggregate(classes: PodClasses, instance: PodsInstance, y: np.ndarray) -> np.ndarray:
    """A node per pod from class counts, with the fewest evictions and moves.

    Per class: running members stay where counts allow, then the other
    running members fill the remaining places (moves), then pending members;
    whoever is left does not run. Fixed pods keep their node.
    """
    node = np.where(instance.fixed, instance.current_node, -1)
    for g, pods in enumerate(classes.members):
        left = y[g].copy()
        movers, pending = [], []
        for p in pods:
            cur = instance.current_node[p]
            if cur >= 0 and left[cur] > 0 and instance.stay_ok[p]:
                node[p] = cur
                left[cur] -= 1
            elif cur >= 0:
                movers.append(p)
            else:
                pending.append(p)
        queue = movers + pending
        k = 0
        for n in np.flatnonzero(left > 0):
            for _ in range(int(left[n])):
                if k < len(queue):
                    node[queue[k]] = n
                    k += 1
    return node


def _conflict_free(classes: PodClasses, y: np.ndarray, g: int, n: int, partners) -> bool:
    if any(y[h, n] > 0 for h in partners[g]):
        return False
    for a, b, k in classes.zone_conflicts:
        if g in (a, b) and classes.domain[k, n] >= 0:
            same = classes.domain[k] == classes.domain[k, n]
            if y[b if g == a else a, same].sum() > 0:
                return False
    return True


def greedy_fill(classes: PodClasses, y: np.ndarray, groups) -> np.ndarray:
    """Add members of ``groups`` to the counts ``y`` first-fit, largest first.

    Keeps ``y`` feasible; used to complete a warm start with the classes of
    a tier that has not been solved yet.
    """
    y = y.copy()
    used = y.T @ classes.requests
    count = y.sum(axis=0)
    partners: dict[int, list[int]] = {g: [] for g in range(classes.num_classes)}
    for g, h in classes.pair_conflicts:
        partners[g].append(h)
        partners[h].append(g)
    scale = np.maximum(classes.free.sum(axis=0), 1)
    order = sorted(groups, key=lambda g: -float((classes.requests[g] / scale).sum()))
    for g in order:
        want = int(classes.size[g]) - int(y[g].sum())
        for n in range(y.shape[1]):
            if want <= 0:
                break
            while (
                want > 0
                and y[g, n] < classes.upper[g, n]
                and count[n] < classes.slots[n]
                and np.all(used[n] + classes.requests[g] <= classes.free[n])
                and _conflict_free(classes, y, g, n, partners)
            ):
                y[g, n] += 1
                used[n] += classes.requests[g]
                count[n] += 1
                want -= 1
    return y


def tier_counts(classes: PodClasses, y: np.ndarray, num_tiers: int) -> np.ndarray:
    return np.bincount(classes.tier, weights=y.sum(axis=1), minlength=num_tiers).astype(np.int64)


def restrict(
    classes: PodClasses, y: np.ndarray, nodes: np.ndarray
) -> tuple[PodClasses, np.ndarray]:
    """The neighbourhood of ``y`` in which only ``nodes`` may change.

    Returns the classes over ``nodes`` alone (sizes reduced by the members
    placed elsewhere) and the per-class counts placed outside ``nodes``.
    """
    outside = y.sum(axis=1) - y[:, nodes].sum(axis=1)
    size = classes.size - outside
    lim = classes.limits
    # Pods leaving nodes outside the neighbourhood use the limits already.
    away = np.ones(y.shape[1], dtype=bool)
    away[nodes] = False
    stays_out = np.minimum(y[:, away], classes.current[:, away]).sum(axis=1)
    leaves_out = classes.current[:, away].sum(axis=1) - stays_out
    pdb_room = np.array(
        [int(r) - int(leaves_out[lim.pdb == b].sum()) for b, r in enumerate(lim.pdb_room)],
        dtype=np.int64,
    )
    offset = int((outside - stays_out).sum())
    moves = None if lim.moves is None else lim.moves - offset
    upper = np.minimum(classes.upper[:, nodes], size[:, None])
    # A class conflicting by domain with members placed outside stays out of that domain.
    for g, h, k in classes.zone_conflicts:
        for a, b in ((g, h), (h, g)):
            doms = set(classes.domain[k, away][y[b, away] > 0].tolist()) - {-1}
            if doms:
                upper[a, np.isin(classes.domain[k, nodes], list(doms))] = 0
    return (
        PodClasses(
            members=classes.members,
            size=size,
            tier=classes.tier,
            requests=classes.requests,
            upper=upper,
            current=classes.current[:, nodes],
            # Running members still to place in the neighbourhood to avoid evictions.
            running=classes.running - outside,
            self_conflict=classes.self_conflict,
            pair_conflicts=classes.pair_conflicts,
            zone_conflicts=classes.zone_conflicts,
            domain=classes.domain[:, nodes],
            free=classes.free[nodes],
            slots=classes.slots[nodes],
            limits=Limits(
                lim.pdb,
                pdb_room,
                lim.evictions,
                moves,
                lim.per_pod,
                lim.moves_offset + offset,
                lim.forced,
                lim.never,
            ),
        ),
        outside,
    )


def relabel(classes: PodClasses, y: np.ndarray) -> np.ndarray:
    """Swap the contents of interchangeable nodes so that more pods stay put.

    Nodes with the same free room, slots and class bounds are
    interchangeable: permuting their columns keeps ``y`` feasible and every
    tier count, and changes only which running pods keep their node. Pairs
    are matched greedily by the pods that would stay (largest first); a
    stage that reshuffled identical nodes loses most of its moves here.
    """
    groups: dict[bytes, list[int]] = {}
    for n in range(y.shape[1]):
        key = (
            classes.upper[:, n].tobytes()
            + classes.free[n].tobytes()
            + classes.slots[n : n + 1].tobytes()
            + classes.domain[:, n].tobytes()  # a swap across domains could break anti-affinity
            + (b"" if classes.rules is None else classes.rules.domains[:, n].tobytes())
        )
        groups.setdefault(key, []).append(n)
    out = y.copy()
    for nodes in groups.values():
        if len(nodes) < 2 or not classes.current[:, nodes].any():
            continue
        # stays[a, b]: running pods kept if the contents of node a go to node b.
        stays = np.minimum(y[:, nodes, None], classes.current[:, None, nodes]).sum(axis=0)
        order = np.argsort(-stays, axis=None, kind="stable")
        src_done, dst_done = set(), set()
        target = {}
        for flat in order:
            a, b = divmod(int(flat), len(nodes))
            if a in src_done or b in dst_done:
                continue
            target[a] = b
            src_done.add(a)
            dst_done.add(b)
        for a, b in target.items():
            out[:, nodes[b]] = y[:, nodes[a]]
    # Greedy matching is not always better than leaving things as they are.
    if np.minimum(out, classes.current).sum() < np.minimum(y, classes.current).sum():
        return y
    # More pods staying overall may still take one budget's pods off their nodes.
    if within_limits(classes, y) and not within_limits(classes, out):
        return y
    return out


def disruption(classes: PodClasses, y: np.ndarray) -> tuple[int, int]:
    """(evictions, -stays) of class counts ``y``: smaller is better, in this order."""
    evictions = int(np.maximum(classes.running - y.sum(axis=1), 0).sum())
    return evictions, -int(np.minimum(y, classes.current).sum())


def upto(y: np.ndarray, classes: PodClasses, tier: int) -> np.ndarray:
    """The counts of the classes of tiers ``<= tier``; the others emptied."""
    out = y.copy()
    out[classes.tier > tier] = 0
    return out


def soft_weights(classes: PodClasses, instance: PodsInstance) -> np.ndarray | None:
    """``(G, N)`` preferred node weight a member of each class earns on each node, or None.

    The NodeAffinity raw score (:func:`schedforge.problems.pods.soft.node_affinity_raw`)
    of the class's members, alike within a class; ``None`` when no pod has a
    preferred node term. Preferred pod (anti-)affinity is scored by ``kube``
    and reported, but not optimised by the class models.
    """
    from schedforge.problems.pods.soft import node_affinity_raw

    if not any(t["kind"] == "node" for terms in instance.preferences for t in terms):
        return None
    raw = node_affinity_raw(instance)
    return raw[[m[0] for m in classes.members]].reshape(classes.num_classes, instance.num_nodes)
