"""Lexicographic CP-SAT for pod packing with priorities: method ``cp``.

The model works on *pod classes*: pods that are interchangeable for every
constraint (same priority, requests, admissible nodes and anti-affinity
class; typically the replicas of one ReplicaSet) share integer variables
``y[g, n]`` = how many pods of class ``g`` run on node ``n``. This removes
the symmetry between replicas that a 0/1 pod-node model has, and makes the
model small enough to build and solve in process within a 1 s window on a
32-node cluster. :func:`disaggregate` turns counts back into a node per pod,
keeping running pods where they are first, then moving running pods, then
placing pending ones, so that evictions and moves are exactly the ones the
model counts.

``cp`` solves one model per tier, highest priority first, each maximising
the pods of its tier with the optima of the tiers above fixed, and finally
one model minimising evictions, then moves (weighted exactly), with every
tier fixed (Christensen, Giallorenzo & Mauro 2025, lexicographic model;
extended with any number of resources, pod-count limits, taints, node
selection, required node affinity and hostname anti-affinity). The first
hint is the better of the kube-scheduler simulation with and without
preemption; each model is warm-started from the best plan so far, so the
result is never lexicographically worse than ``kube``.

References
----------
Christensen, Giallorenzo & Mauro (2025). Priority Matters: Optimising
Kubernetes Clusters Usage with Constraint-Based Pod Packing. arXiv:2511.08373.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.kube import simulate
from schedforge.heuristics.pods_repair import repair_plan
from schedforge.problems.pods import (
    PodsInstance,
    PodsSolution,
    digit_weights,
    objective,
    tier_upper_bounds,
)
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat

__all__ = [
    "PodClasses",
    "aggregate",
    "cp",
    "disaggregate",
    "greedy_fill",
    "pod_classes",
    "relabel",
    "restrict",
]

DEFAULT_TIME_LIMIT = 10.0
# Seconds kept free at the end of the window for disaggregation and checks.
SAFETY = 0.02
# Share of a stage's time for the global model before neighbourhood search.
GLOBAL_SHARE = 0.3
# Seconds per neighbourhood: small models are solved, or improved, in a few ms.
LNS_STEP = 0.05


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
        ``(G, N)`` running members on each node.
    running
        Running members per class.
    self_conflict
        Whether two members of the class may not share a node.
    pair_conflicts
        ``(g, h)`` class pairs whose members may not share a node.
    free
        ``(N, R)`` allocatable minus the requests of fixed pods.
    slots
        ``(N,)`` pod slots left by the fixed pods.
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
    free: np.ndarray
    slots: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.members)


def pod_classes(instance: PodsInstance) -> PodClasses:
    """Group the movable pods of ``instance`` into interchangeable classes.

    Fixed pods (running and protected) are not variables: their requests
    are subtracted from the nodes. Pods with no admissible node are left
    out (they can never run).
    """
    inst = instance
    fixed = inst.fixed
    free = inst.allocatable - _node_sums(inst, fixed)
    slots = inst.max_pods - np.bincount(inst.current_node[fixed], minlength=inst.num_nodes).astype(
        np.int64
    )
    in_conflict = np.zeros(inst.num_pods, dtype=bool)
    in_conflict[inst.conflicts.ravel()] = True
    keys: dict[tuple, int] = {}
    members: list[list[int]] = []
    for p in range(inst.num_pods):
        if fixed[p] or not inst.allowed[p].any():
            continue
        anti = None
        if in_conflict[p]:
            selector = inst.anti_affinity[p]
            anti = (
                inst.namespace[p],
                None if selector is None else tuple(sorted(selector.items())),
                tuple(sorted(inst.pod_labels[p].items())),
            )
        key = (
            int(inst.priority[p]),
            inst.requests[p].tobytes(),
            inst.eligible[p].tobytes(),
            anti,
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
    for g, pods in enumerate(members):
        for p in pods:
            if inst.current_node[p] >= 0:
                current[g, inst.current_node[p]] += 1
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
    upper = np.zeros((num_classes, inst.num_nodes), dtype=np.int64)
    for g, pods in enumerate(members):
        size = len(pods)
        eligible = inst.eligible[pods[0]]
        for n in range(inst.num_nodes):
            if blocked[g, n]:
                continue
            cap = min(size, int(slots[n]))
            for r in range(inst.num_resources):
                if requests[g, r] > 0:
                    cap = min(cap, int(free[n, r] // requests[g, r]))
            if not eligible[n]:
                cap = min(cap, int(current[g, n]))  # may only stay (IgnoredDuringExecution)
            if self_conflict[g]:
                cap = min(cap, 1)
            upper[g, n] = max(cap, 0)
    return PodClasses(
        members=members,
        size=np.array([len(m) for m in members], dtype=np.int64),
        tier=np.array([inst.tier_of[m[0]] for m in members], dtype=np.int64),
        requests=requests,
        upper=upper,
        current=current,
        running=current.sum(axis=1),
        self_conflict=self_conflict,
        pair_conflicts=sorted(pairs),
        free=free,
        slots=slots,
    )


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
            if cur >= 0 and left[cur] > 0:
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
    return all(y[h, n] == 0 for h in partners[g])


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


class _Model:
    r"""The aggregated CP-SAT model over the classes in ``groups``.

    With classes :math:`g`, nodes :math:`n`, resources :math:`r`, class
    requests :math:`q_{gr}`, free room :math:`F_{nr}` and slots :math:`S_n`
    after the fixed pods, bounds :math:`U_{gn}` (:attr:`PodClasses.upper`),
    current counts :math:`C_{gn}` and running members :math:`R_g`:

    .. math::

        & y_{gn} \in \{0..U_{gn}\}, \quad
          \textstyle\sum_g q_{gr} y_{gn} \le F_{nr}, \quad
          \sum_g y_{gn} \le S_n, \quad
          \text{placed}_g = \sum_n y_{gn} \le |g| \\
        & z_{gn} \ge y_{gn} / U_{gn}, \quad z_{gn} + z_{hn} \le 1
          \quad \text{for conflicting classes } (g, h) \\
        & \textstyle\sum_{g \in T_k} \text{placed}_g \ge b_k
          \quad \text{for every tier } k \text{ already solved}

    Tier stage :math:`t` minimises :math:`\sum_{g \in T_t} (|g| -
    \text{placed}_g)` over the classes of tiers :math:`\le t`. The last
    stage adds stays
    :math:`s_{gn} \le \min(y_{gn}, C_{gn})`, evictions
    :math:`e_g = \max(0, R_g - \text{placed}_g)` and moves
    :math:`m_g = R_g - e_g - \sum_n s_{gn}`, and minimises
    :math:`(1 + \sum_g R_g) \sum_g e_g + \sum_g m_g`.
    """

    def __init__(self, classes: PodClasses, groups: list[int], floors: dict[int, int]):
        cp_model = import_cp_model()
        lin = cp_model.LinearExpr
        self.classes = classes
        self.groups = groups
        self.model = model = cp_model.CpModel()
        self.y: dict[tuple[int, int], Any] = {}
        self._z: dict[tuple[int, int], Any] = {}
        self.stays: dict[tuple[int, int], Any] = {}
        self.evictions: dict[int, Any] = {}
        num_nodes = classes.upper.shape[1]
        per_node: list[list[int]] = [[] for _ in range(num_nodes)]
        per_class: dict[int, list[Any]] = {}
        for g in groups:
            row = []
            for n in np.flatnonzero(classes.upper[g] > 0).tolist():
                var = model.new_int_var(0, int(classes.upper[g, n]), f"y{g}_{n}")
                self.y[g, n] = var
                per_node[n].append(g)
                row.append(var)
            per_class[g] = row
        self.placed = {g: lin.sum(row) for g, row in per_class.items()}
        for g in groups:
            if int(classes.upper[g].sum()) > classes.size[g]:
                model.add(self.placed[g] <= int(classes.size[g]))
        for n in range(num_nodes):
            members = per_node[n]
            if not members:
                continue
            upper = classes.upper[members, n]
            variables = [self.y[g, n] for g in members]
            if int(upper.sum()) > classes.slots[n]:
                model.add(lin.sum(variables) <= int(classes.slots[n]))
            for r in range(classes.requests.shape[1]):
                coeffs = classes.requests[members, r]
                if int(upper @ coeffs) > classes.free[n, r]:
                    model.add(
                        lin.weighted_sum(variables, coeffs.tolist()) <= int(classes.free[n, r])
                    )
        chosen = set(groups)
        for g, h in classes.pair_conflicts:
            if g not in chosen or h not in chosen:
                continue
            for n in range(num_nodes):
                if (g, n) in self.y and (h, n) in self.y:
                    zg, zh = self._used(g, n), self._used(h, n)
                    model.add_bool_or([zg.Not(), zh.Not()])
        self.tier_of = {g: int(classes.tier[g]) for g in groups}
        for tier, floor in floors.items():
            members = [self.placed[g] for g in groups if self.tier_of[g] == tier]
            if floor > 0 and members:
                model.add(lin.sum(members) >= floor)

    def _used(self, g: int, n: int):
        if (g, n) not in self._z:
            z = self.model.new_bool_var(f"z{g}_{n}")
            self.model.add(self.y[g, n] <= int(self.classes.upper[g, n]) * z)
            self._z[g, n] = z
        return self._z[g, n]

    def _stay_vars(self) -> list[Any]:
        """Stays ``s[g, n] <= min(y[g, n], current[g, n])`` of every running class."""
        for g in self.groups:
            for n in np.flatnonzero(self.classes.current[g] > 0).tolist():
                if (g, n) in self.y:
                    s = self.model.new_int_var(0, int(self.classes.current[g, n]), f"s{g}_{n}")
                    self.model.add(s <= self.y[g, n])
                    self.stays[g, n] = s
        return list(self.stays.values())

    def minimise_unplaced(self, tier: int, *, keep: bool = False) -> None:
        """Objective of a tier stage; with ``keep``, then the most pods staying put."""
        lin = import_cp_model().LinearExpr
        members = [g for g in self.groups if self.tier_of[g] == tier]
        unplaced = int(self.classes.size[members].sum()) - lin.sum(
            [self.placed[g] for g in members]
        )
        if not keep:
            self.model.minimize(unplaced)
            return
        stays = self._stay_vars()
        self.keep_weight = int(self.classes.current.sum()) + 1
        self.model.minimize(self.keep_weight * unplaced - lin.sum(stays))

    def minimise_disruption(self) -> None:
        """Objective of the last stage: evictions, then moves (exact weights).

        Minimises ``W·Σ e_g − Σ s_gn`` with ``W`` one more than the stays
        possible, i.e. evictions first, then moves (``moves = running −
        evictions − stays``). In a neighbourhood, ``running`` counts the
        running members not already placed outside it.
        """
        lin = import_cp_model().LinearExpr
        classes, model = self.classes, self.model
        stays = self._stay_vars()
        for g in self.groups:
            running = int(classes.running[g])
            if running > 0:
                evict = model.new_int_var(0, running, f"e{g}")
                model.add_max_equality(evict, [0, running - self.placed[g]])
                self.evictions[g] = evict
        weight = int(classes.current[self.groups].sum()) + 1
        model.minimize(weight * lin.sum(list(self.evictions.values())) - lin.sum(stays))

    def hint(self, y: np.ndarray) -> list[tuple[Any, int]]:
        """Hint pairs for the counts ``y`` (with the implied stays and evictions)."""
        pairs = [(var, int(y[g, n])) for (g, n), var in self.y.items()]
        for (g, n), var in self.stays.items():
            pairs.append((var, int(min(y[g, n], self.classes.current[g, n]))))
        for (g, n), z in self._z.items():
            pairs.append((z, int(y[g, n] > 0)))
        for g, var in self.evictions.items():
            pairs.append((var, max(0, int(self.classes.running[g]) - int(y[g].sum()))))
        return pairs

    def stayed(self, y: np.ndarray) -> int:
        """Running class members that keep their node under counts ``y``."""
        return int(np.minimum(y, self.classes.current).sum())

    def values(self, run) -> np.ndarray:
        """The counts of the incumbent (zero outside the model's classes)."""
        y = np.zeros_like(self.classes.upper)
        for (g, n), var in self.y.items():
            y[g, n] = run.value(var)
        return y


def _tier_counts(classes: PodClasses, y: np.ndarray, num_tiers: int) -> np.ndarray:
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
    return (
        PodClasses(
            members=classes.members,
            size=size,
            tier=classes.tier,
            requests=classes.requests,
            upper=np.minimum(classes.upper[:, nodes], size[:, None]),
            current=classes.current[:, nodes],
            # Running members still to place in the neighbourhood to avoid evictions.
            running=classes.running - outside,
            self_conflict=classes.self_conflict,
            pair_conflicts=classes.pair_conflicts,
            free=classes.free[nodes],
            slots=classes.slots[nodes],
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
    return out


def _disruption(classes: PodClasses, y: np.ndarray) -> tuple[int, int]:
    """(evictions, -stays) of class counts ``y``: smaller is better, in this order."""
    evictions = int(np.maximum(classes.running - y.sum(axis=1), 0).sum())
    return evictions, -int(np.minimum(y, classes.current).sum())


def _lns(
    classes: PodClasses,
    y: np.ndarray,
    tier: int | None,
    floors: dict[int, int],
    target: int,
    deadline: float,
    rng: np.random.Generator,
    threads: int,
    reserve: float = 0.0,
) -> tuple[np.ndarray, int]:
    """Large neighbourhood search from counts ``y`` on one stage.

    Repeatedly frees a few nodes and solves the stage's model exactly on
    them with CP-SAT, the rest of the cluster fixed; a neighbourhood solved
    to optimality grows the next one, one that times out shrinks it (Shaw
    1998, the usual LNS for bin packing). Half the nodes of a neighbourhood
    are the emptiest ones, the others are drawn at random.

    With a ``tier``, the stage maximises the pods of that tier (then the
    pods staying put, so that the plan does not drift) and stops at
    ``target`` pods; with ``tier=None`` it minimises evictions, then moves,
    with every tier at its floor. The search stops ``reserve`` seconds
    before ``deadline`` while its plan evicts or moves pods (time for the
    disruption stage), at ``deadline`` otherwise. Returns the best counts
    and the number of neighbourhoods solved.
    """
    num_tiers = int(classes.tier.max()) + 1 if classes.num_classes else 1
    last = num_tiers - 1 if tier is None else tier
    groups = [g for g in range(classes.num_classes) if classes.tier[g] <= last]
    num_nodes = y.shape[1]

    def score(counts: np.ndarray) -> tuple[int, ...]:
        if tier is None:
            return _disruption(classes, counts)
        placed = int(_tier_counts(classes, counts, num_tiers)[tier])
        return -placed, _disruption(classes, counts)[1]

    best = score(y)
    width = min(num_nodes, 4)
    rounds = 0
    while (tier is None and best[0] + best[1] + int(classes.running.sum()) > 0) or (
        tier is not None and -best[0] < target
    ):
        undisturbed = _disruption(classes, y) == (0, -int(classes.running.sum()))
        remaining = deadline - time.perf_counter() - (0.0 if undisturbed else reserve)
        if remaining < 0.01:
            break
        used = (y.T @ classes.requests) / np.maximum(classes.free, 1)
        slack = 1.0 - used.max(axis=1)
        roomy = np.argsort(-slack + 0.3 * rng.random(num_nodes))[: max(1, width // 2)]
        others = rng.permutation(np.setdiff1d(np.arange(num_nodes), roomy))
        nodes = np.sort(np.concatenate([roomy, others[: width - len(roomy)]]))
        sub, outside = restrict(classes, y, nodes)
        sub_floors = {t: f - int(outside[classes.tier == t].sum()) for t, f in floors.items()}
        model = _Model(sub, groups, sub_floors)
        if tier is None:
            model.minimise_disruption()
        else:
            model.minimise_unplaced(tier, keep=True)
        run = run_cp_sat(
            model.model,
            time_limit=min(LNS_STEP, remaining),
            seed=int(rng.integers(1 << 30)),
            threads=threads,
            hint=model.hint(y[:, nodes]),
            params={"symmetry_level": 0},
        )
        rounds += 1
        if run.status.has_solution:
            candidate = y.copy()
            candidate[:, nodes] = model.values(run)
            got = score(candidate)
            # Ties are accepted: the search walks plateaus of equal value.
            if got <= best:
                y, best = candidate, got
        if run.status is Status.OPTIMAL:
            width = min(num_nodes, width + 1)
        else:
            width = max(2, width - 1)
    return y, rounds


@method("pods", "cp", exact=True, default_stop="10 s, or every stage proven")
def cp(
    instance: PodsInstance,
    *,
    budget: Budget,
    lns: bool = True,
) -> Outcome:
    """Lexicographic CP-SAT: one model per tier, then evictions and moves.

    No time limit means 10 s; the whole budget (warm start and model
    building included) is shared among the stages still to solve, a stage that ends
    early handing its time on. A tier the global model does not close in
    its share is improved by large neighbourhood search (``lns``). The plan
    is then repaired by :func:`schedforge.heuristics.pods_repair.reduce_moves`
    (``stats["repair"]`` holds moves and evictions before and after). OPTIMAL
    when every stage is proven and the repair finds nothing to improve; the
    bound is exact on the proven tiers.
    The budget's threads are CP-SAT's ``num_workers`` (default 1).
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    window, deadline, seed = budget.time_limit, budget.deadline, budget.seed
    threads = budget.threads_or(1)
    # Kept free for disaggregation and checks, and for CP-SAT's overshoot on a busy machine.
    safety = SAFETY + min(0.2 * window, 0.5)
    inst = instance
    num_tiers = len(inst.tiers)
    classes = pod_classes(inst)
    tiers = _TierFacts(inst, classes)
    rng = np.random.default_rng(seed)
    # CP-SAT's presolve symmetry detection discards the warm start on these
    # models (identical nodes); without it the hint survives.
    params = {"symmetry_level": 0}

    # Warm start: the better kube plan (with or without preemption).
    starts = [
        simulate(inst, preemption=flag, deadline=deadline - safety)[0] for flag in (False, True)
    ]
    start_node = min(starts, key=lambda node: objective(inst, PodsSolution(node)))
    start_y = aggregate(classes, inst, start_node)
    start_counts = _tier_counts(classes, start_y, num_tiers)
    best_y = start_y
    stats: dict[str, Any] = {"classes": classes.num_classes, "stages": [], "threads": threads}
    floors: dict[int, int] = {}
    first_open: tuple[int, int | None] | None = None  # (tier, CP-SAT bound) of the first unproven
    nondeterministic = threads > 1

    for tier in range(num_tiers):
        new = [g for g in range(classes.num_classes) if classes.tier[g] == tier]
        hint_y = greedy_fill(classes, _upto(best_y, classes, tier - 1), new)
        if all(start_counts[t] >= floors[t] for t in range(tier)):
            kube_y = _upto(start_y, classes, tier)
            if (
                _tier_counts(classes, kube_y, num_tiers)[tier]
                >= _tier_counts(classes, hint_y, num_tiers)[tier]
            ):
                hint_y = kube_y  # as good and closer to the current placement
        have = int(_tier_counts(classes, hint_y, num_tiers)[tier])
        target = tiers.movable_upper[tier]
        remaining = deadline - time.perf_counter() - safety
        stage: dict[str, Any] = {"tier": tier}
        if have >= target:
            stage["status"] = "bound"
        elif remaining <= 0.005:
            stage["status"] = "no time"
            first_open = first_open or (tier, None)
        else:
            # This tier's share of the window; the disruption stage counts as half a
            # tier. The last tier may use that half too when its plan disturbs nothing.
            share = remaining / (num_tiers - tier + 0.5)
            last = tier == num_tiers - 1
            tier_deadline = deadline - safety if last else time.perf_counter() + share
            reserve = remaining - share if last else 0.0
            members = [g for g in range(classes.num_classes) if classes.tier[g] <= tier]
            model = _Model(classes, members, floors)
            # The pure tier objective: it proves optimality far more often than one
            # with a tie-break; the neighbourhood search then keeps pods in place.
            model.minimise_unplaced(tier)
            run = run_cp_sat(
                model.model,
                time_limit=max(share * (GLOBAL_SHARE if lns else 1.0), 0.005),
                seed=seed,
                threads=threads,
                hint=model.hint(hint_y),
                params=params,
            )
            stage.update(status=str(run.status), time=round(run.stats["wall_time"], 4))
            if run.status.has_solution:
                y = model.values(run)
                got = int(_tier_counts(classes, y, num_tiers)[tier])
                if got > have or (got == have and model.stayed(y) > model.stayed(hint_y)):
                    hint_y, have = y, got
            proven = run.status is Status.OPTIMAL
            if not proven and run.bound is not None:
                # CP-SAT's bound on the unplaced members of the tier.
                least = int(np.ceil(run.bound - 1e-9))
                target = min(target, int(tiers.movable[tier]) - max(least, 0))
            if not proven and lns and have < target:
                hint_y, rounds = _lns(
                    classes, hint_y, tier, floors, target, tier_deadline, rng, threads, reserve
                )
                have = int(_tier_counts(classes, hint_y, num_tiers)[tier])
                stage["lns_rounds"] = rounds
            if have >= target:
                proven = True
                stage["status"] = "OPTIMAL" if run.status is Status.OPTIMAL else "bound"
            if not proven:
                nondeterministic = True
                if first_open is None:
                    first_open = (tier, int(tiers.movable[tier]) - target)
        stage["placed"] = have
        stats["stages"].append(stage)
        floors[tier] = have
        best_y = relabel(classes, _upto(hint_y, classes, tier))

    done = _disruption(classes, best_y) == (0, -int(classes.running.sum()))
    if done:
        stats["stages"].append({"stage": "disruption", "status": "bound"})
    elif deadline - time.perf_counter() - safety > 0.02:
        stage: dict[str, Any] = {"stage": "disruption", "status": "FEASIBLE"}
        # The global model rarely even loads its hint in a few tenths of a
        # second on large clusters: there, neighbourhoods only.
        if not lns or deadline - time.perf_counter() - safety > 0.3:
            model = _Model(classes, list(range(classes.num_classes)), floors)
            model.minimise_disruption()
            remaining = max(deadline - time.perf_counter() - safety, 0.005)
            run = run_cp_sat(
                model.model,
                time_limit=remaining * (GLOBAL_SHARE if lns else 1.0),
                seed=seed,
                threads=threads,
                hint=model.hint(best_y),
                params=params,
            )
            stage.update(status=str(run.status), time=round(run.stats["wall_time"], 4))
            if run.status.has_solution:
                y = relabel(classes, model.values(run))
                if _disruption(classes, y) <= _disruption(classes, best_y):
                    best_y = y
            done = run.status is Status.OPTIMAL
        if not done and lns:
            best_y, stage["lns_rounds"] = _lns(
                classes, best_y, None, floors, 0, deadline - safety, rng, threads
            )
            done = _disruption(classes, best_y) == (0, -int(classes.running.sum()))
        stats["stages"].append(stage)
    nondeterministic = nondeterministic or not done
    node = disaggregate(classes, inst, best_y)
    value = objective(inst, PodsSolution(node))
    # Never worse than the warm start, whatever ran out of time.
    if objective(inst, PodsSolution(start_node)) < value:
        node = start_node
    # Send needlessly moved pods home (never lexicographically worse).
    node, gain = repair_plan(inst, node, stats)
    stats["nondeterministic"] = nondeterministic
    stats["tiers_proven"] = first_open is None
    # A plan the repair improves was not optimal: claim OPTIMAL only when it changed nothing.
    if first_open is None and done and not gain:
        return Outcome(PodsSolution(node), Status.OPTIMAL, stats=stats)
    bound = tiers.bound(floors, first_open)
    return Outcome(PodsSolution(node), Status.FEASIBLE, bound=bound, stats=stats)


class _TierFacts:
    """Per-tier sizes and bounds used to skip stages and to state a valid bound."""

    def __init__(self, instance: PodsInstance, classes: PodClasses):
        num_tiers = len(instance.tiers)
        self.weights = digit_weights(instance)[0]
        self.size = np.bincount(instance.tier_of, minlength=num_tiers)
        self.fixed = np.bincount(instance.tier_of[instance.fixed], minlength=num_tiers)
        self.movable = np.bincount(
            classes.tier, weights=[len(m) for m in classes.members], minlength=num_tiers
        ).astype(np.int64)
        self.static_upper = tier_upper_bounds(instance)
        # Most class members of a tier that can run (the fixed ones always do).
        self.movable_upper = [
            u - int(f) for u, f in zip(self.static_upper, self.fixed, strict=True)
        ]

    def bound(self, floors: dict[int, int], first_open: tuple[int, int | None] | None) -> int:
        """A lower bound on the scalar objective.

        Tiers above the first unproven one sit at their proven optimum in
        every lexicographic optimum; the first unproven tier is bounded by
        CP-SAT's bound on its unplaced class members (plus the pods that can
        never run) and by the static bound; lower tiers by the static bound;
        evictions and moves by 0.
        """
        open_tier, cp_bound = first_open if first_open is not None else (len(self.size), None)
        digits = []
        for t, size in enumerate(self.size):
            never = int(size) - int(self.fixed[t]) - int(self.movable[t])
            static = int(size) - self.static_upper[t]
            if t < open_tier:
                digits.append(never + int(self.movable[t]) - floors[t])
            elif t == open_tier and cp_bound is not None:
                digits.append(max(static, never + cp_bound))
            else:
                digits.append(static)
        return sum(w * d for w, d in zip(self.weights, digits, strict=True))


def _upto(y: np.ndarray, classes: PodClasses, tier: int) -> np.ndarray:
    """The counts of the classes of tiers ``<= tier``; the others emptied."""
    out = y.copy()
    out[classes.tier > tier] = 0
    return out
