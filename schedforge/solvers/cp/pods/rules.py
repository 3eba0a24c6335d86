r"""Required pod affinity and hard topology spread on pod-class counts.

The rules of :mod:`schedforge.problems.pods.topology` depend on where the
other pods run when a pod is bound. The count models state them on the
final counts, for every class member that is *newly* placed on a node
(running members that stay are never checked, ``IgnoredDuringExecution``):
with :math:`b_{gn} = 1` when class :math:`g` has more members on node
:math:`n` than run there now,

* **affinity** of class :math:`g`, partner classes :math:`H` (members
  matching all the terms, :math:`g` itself when it matches them) and fixed
  matching pods :math:`F`: for every term key :math:`k` with domain
  :math:`d = d_k(n)`, :math:`b_{gn} \Rightarrow X_{kd} \ge 1 + [g \in H]`
  with :math:`X_{kd} = \sum_{h \in H} \sum_{m \in d} y_{hm} + F_d` (the pod
  counts itself), unless the member is the *seed* of a class that matches
  itself: at most one per rule, and only when no matching pod keeps running
  on a node with a key (the first of a group, bound before the others);
* **spread** (``DoNotSchedule``) with matching classes :math:`H`, counts
  :math:`X_e` per domain :math:`e` over the eligible nodes and :math:`M \le
  X_e` for every domain: :math:`b_{gn} \Rightarrow X_{d(n)} - M \le
  \text{maxSkew}` (:math:`X_{d(n)} \le \text{maxSkew}` while there are
  fewer domains than ``minDomains``). With the pod counted in
  :math:`X_{d(n)}` this is upstream's ``count + self - min``.

A plan that meets these is bindable in the order of
:func:`schedforge.problems.pods.topology.bind_order` except for cycles of
pods that each wait for another; the methods run
:func:`~schedforge.problems.pods.topology.topology_repair` on their plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedforge.problems.pods import PodsInstance


@dataclass
class AffinityRule:
    """Required affinity of class ``g`` (see the module docstring)."""

    g: int
    self_match: bool
    keys: list[np.ndarray]  # per term: the domain of each node, -1 without the key
    partners: list[int]
    fixed: np.ndarray  # (N,) fixed matching pods per node


@dataclass
class SpreadRule:
    """A ``DoNotSchedule`` spread constraint of class ``g``."""

    g: int
    max_skew: int
    min_domains: int
    domain: np.ndarray  # (N,) domain of each eligible node, -1 for the others
    key: np.ndarray  # (N,) domain of each node by the key, -1 without it
    partners: list[int]
    fixed: np.ndarray  # (N,) fixed matching pods per eligible node


@dataclass
class ClassRules:
    """The affinity and spread rules of the classes, and the domains they use."""

    affinity: list[AffinityRule] = field(default_factory=list)
    spread: list[SpreadRule] = field(default_factory=list)
    domains: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))

    @property
    def active(self) -> bool:
        """Whether any rule applies."""
        return bool(self.affinity or self.spread)


def class_rules(
    instance: PodsInstance, members: list[list[int]], group_of: np.ndarray
) -> ClassRules:
    """The rules of each class (its members share them) over partner classes and fixed pods."""
    inst = instance
    topo = inst.topology
    out = ClassRules(
        domains=np.array([topo.domain[k] for k in topo.keys], dtype=np.int64).reshape(
            -1, inst.num_nodes
        )
    )
    if not topo.active:
        return out
    fixed = inst.fixed

    def split(
        match: np.ndarray, self_match: bool, g: int, nodes_ok
    ) -> tuple[list[int], np.ndarray]:
        partners = sorted({int(group_of[q]) for q in np.flatnonzero(match) if group_of[q] >= 0})
        if self_match and g not in partners:
            partners.append(g)
        count = np.zeros(inst.num_nodes, dtype=np.int64)
        for q in np.flatnonzero(match & fixed):
            if nodes_ok[inst.current_node[q]]:
                count[inst.current_node[q]] += 1
        return partners, count

    for g, pods in enumerate(members):
        p = pods[0]
        if p in topo.affinity:
            match, self_match, keys = topo.affinity[p]
            partners, count = split(match, self_match, g, np.ones(inst.num_nodes, dtype=bool))
            out.affinity.append(
                AffinityRule(g, self_match, [topo.domain[k] for k in keys], partners, count)
            )
        for c, match, self_match, eligible in topo.constraints.get(p, []):
            partners, count = split(match, self_match, g, eligible)
            key = topo.domain[c["topology"]]
            out.spread.append(
                SpreadRule(
                    g,
                    int(c["max_skew"]),
                    int(c["min_domains"]),
                    np.where(eligible, key, -1),
                    key,
                    partners,
                    count,
                )
            )
    return out


def keyless(instance: PodsInstance, p: int) -> np.ndarray:
    """``(nodes,)`` flags of nodes lacking a topology key of ``p``'s rules (no new member there)."""
    topo = instance.topology
    keys = list(topo.affinity[p][2]) if p in topo.affinity else []
    keys += [c["topology"] for c, _, _, _ in topo.constraints.get(p, [])]
    out = np.zeros(instance.num_nodes, dtype=bool)
    for key in keys:
        out |= topo.domain[key] < 0
    return out


def domain_sum(y: dict, partners: list[int], nodes: np.ndarray, fixed: np.ndarray) -> tuple:
    """The variables and the constant of ``X``: partner counts on ``nodes`` plus fixed pods."""
    terms = [y[h, int(m)] for h in partners for m in nodes if (h, int(m)) in y]
    return terms, int(fixed[nodes].sum())


def add_cp_rules(model: Any, lin: Any) -> None:
    """The rules as CP-SAT constraints of a :class:`~.model.CountModel`."""
    classes, cp, y = model.classes, model.model, model.y
    rules: ClassRules = classes.rules
    chosen = set(model.groups)

    made: dict[tuple[int, int], Any] = {}

    def new_member(g: int, n: int):
        upper, current = int(classes.upper[g, n]), int(classes.current[g, n])
        if (g, n) not in y or upper <= current:
            return None
        if current == 0:
            return model._used(g, n)
        if (g, n) not in made:
            made[g, n] = b = cp.new_bool_var(f"new{g}_{n}")
            cp.add(y[g, n] <= current + (upper - current) * b)
        return made[g, n]

    for k, rule in enumerate(rules.affinity):
        if rule.g not in chosen:
            continue
        seed = _cp_seeds(model, k, rule) if rule.self_match else {}
        need = 1 + int(rule.self_match)
        for n in range(len(rule.fixed)):
            b = new_member(rule.g, n)
            if b is None:
                continue
            for dom in rule.keys:
                terms, const = domain_sum(
                    y, rule.partners, np.flatnonzero(dom == dom[n]), rule.fixed
                )
                enforce = [b] if n not in seed else [b, seed[n].Not()]
                cp.add(lin.sum(terms) + const >= need).only_enforce_if(enforce)
    for k, rule in enumerate(rules.spread):
        if rule.g not in chosen:
            continue
        domains = sorted(set(rule.domain.tolist()) - {-1})
        total = sum(int(classes.size[h]) for h in rule.partners) + int(rule.fixed.sum())
        least = cp.new_int_var(0, total, f"least{k}")
        count = {}
        for d in domains:
            terms, const = domain_sum(
                y, rule.partners, np.flatnonzero(rule.domain == d), rule.fixed
            )
            count[d] = lin.sum(terms) + const
            cp.add(least <= count[d])
        few = len(domains) < rule.min_domains
        for n in range(len(rule.fixed)):
            b = new_member(rule.g, n)
            d = int(rule.key[n])
            if b is None or d not in count:
                continue
            bound = count[d] if few else count[d] - least
            cp.add(bound <= rule.max_skew).only_enforce_if(b)


def seed_facts(classes: Any, rule: AffinityRule) -> tuple[bool, list[tuple[int, int]]]:
    """Whether a member of the rule's class may start its group, and the partner counts
    that must then be 0: running partners that would stay on a node with a key (a class
    member kept on a node where it runs stays, :func:`.classes.disaggregate`)."""
    keyed = np.zeros(len(rule.fixed), dtype=bool)
    for dom in rule.keys:
        keyed |= dom >= 0
    if rule.fixed[keyed].sum() > 0:
        return False, []
    running = [
        (h, int(m)) for h in rule.partners for m in np.flatnonzero(keyed & (classes.current[h] > 0))
    ]
    return True, running


def _cp_seeds(model: Any, k: int, rule: AffinityRule) -> dict[int, Any]:
    """Seed flags per node: at most one member starts the group, when no partner stays."""
    cp, y, classes = model.model, model.y, model.classes
    possible, running = seed_facts(classes, rule)
    if not possible:
        return {}
    seed = {n: cp.new_bool_var(f"seed{k}_{n}") for n in range(len(rule.fixed)) if (rule.g, n) in y}
    if seed:
        cp.add(sum(seed.values()) <= 1)
        seeded = cp.new_bool_var(f"seeded{k}")
        for var in seed.values():
            cp.add_implication(var, seeded)
        for h, m in running:
            if (h, m) in y:
                cp.add(y[h, m] == 0).only_enforce_if(seeded)
    return seed
