"""The aggregated CP-SAT model over pod classes, with the stage objectives."""

from __future__ import annotations

from typing import Any

import numpy as np

from schedforge.solvers.cp.pods.classes import (
    PodClasses,
)
from schedforge.solvers.cp.pods.rules import add_cp_rules
from schedforge.solvers.cp.runner import import_cp_model


class CountModel:
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
        & w_{gd} \ge z_{gn}\ (n \in d), \quad w_{gd} + w_{hd} \le 1, \quad
          \textstyle\sum_{n \in d} y_{gn} \le 1 \ (g = h)
          \quad \text{for classes in conflict by a topology key, per domain } d \\
        & \textstyle\sum_{g \in T_k} \text{placed}_g \ge b_k
          \quad \text{for every tier } k \text{ already solved}

    Required pod affinity and hard topology spread constrain the newly
    placed members (:mod:`.rules`).

    Tier stage :math:`t` minimises :math:`\sum_{g \in T_t} (|g| -
    \text{placed}_g)` over the classes of tiers :math:`\le t`. The last
    stage adds stays
    :math:`s_{gn} \le \min(y_{gn}, C_{gn})`, evictions
    :math:`e_g = \max(0, R_g - \text{placed}_g)` and moves
    :math:`m_g = R_g - e_g - \sum_n s_{gn}`, and minimises
    :math:`(1 + \sum_g R_g) \sum_g e_g + \sum_g m_g`.

    Disruption limits (:class:`~schedforge.solvers.cp.pods.classes.Limits`)
    add the stays and evictions to every stage and bound, per
    PodDisruptionBudget :math:`b`, :math:`\sum_{g \in b} (C_g - \sum_n
    s_{gn})`, and in all :math:`\sum_g e_g` and :math:`\sum_g m_g`.
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
        self._zone_constraints(chosen)
        if classes.rules is not None and classes.rules.active:
            add_cp_rules(self, lin)
        self.tier_of = {g: int(classes.tier[g]) for g in groups}
        self.floored: set[int] = set()
        for tier, floor in floors.items():
            self.add_floor(tier, floor)
        if classes.limits.active:
            self._limit()

    def add_floor(self, tier: int, floor: int) -> None:
        """At least ``floor`` placed members of ``tier`` (a tier already solved)."""
        lin = import_cp_model().LinearExpr
        self.floored.add(tier)
        members = [self.placed[g] for g in self.groups if self.tier_of[g] == tier]
        if floor > 0 and members:
            self.model.add(lin.sum(members) >= floor)

    def _zone_constraints(self, chosen: set[int]) -> None:
        """Anti-affinity by topology key: conflicting classes never share a domain."""
        lin = import_cp_model().LinearExpr
        classes, model = self.classes, self.model
        present: dict[tuple[int, int, int], Any] = {}

        def in_domain(g: int, k: int, d: int):
            # w = 1 when a member of g runs on a node of domain d of key k.
            if (g, k, d) not in present:
                w = model.new_bool_var(f"w{g}_{k}_{d}")
                for n in np.flatnonzero(classes.domain[k] == d).tolist():
                    if (g, n) in self.y:
                        model.add_implication(self._used(g, n), w)
                present[g, k, d] = w
            return present[g, k, d]

        for g, h, k in classes.zone_conflicts:
            if g not in chosen or h not in chosen:
                continue
            for d in sorted(set(classes.domain[k].tolist()) - {-1}):
                nodes = np.flatnonzero(classes.domain[k] == d).tolist()
                if g == h:
                    row = [self.y[g, n] for n in nodes if (g, n) in self.y]
                    if len(row) > 1:
                        model.add(lin.sum(row) <= 1)
                    continue
                if any((g, n) in self.y for n in nodes) and any((h, n) in self.y for n in nodes):
                    model.add_bool_or([in_domain(g, k, d).Not(), in_domain(h, k, d).Not()])

    def _limit(self) -> None:
        """The disruption limits of the classes."""
        lin = import_cp_model().LinearExpr
        lim, classes, model = self.classes.limits, self.classes, self.model
        self._stay_vars()
        self._eviction_vars()
        stays_of = {g: [] for g in self.groups}
        for (g, _), s in self.stays.items():
            stays_of[g].append(s)
        for b, room in enumerate(lim.pdb_room):
            members = [g for g in self.groups if lim.pdb[g] == b]
            current = int(classes.current[members].sum()) if members else 0
            if current > room:
                stays = [s for g in members for s in stays_of[g]]
                model.add(current - lin.sum(stays) <= int(room))
        evictions = list(self.evictions.values())
        if lim.evictions is not None:
            model.add(lin.sum(evictions) <= lim.evictions)
        running = int(classes.running[self.groups].sum())
        moves = running - lin.sum(evictions) - lin.sum(list(self.stays.values()))
        if lim.moves is not None:
            model.add(moves <= lim.moves)
        if lim.never is not None and lim.never.any():
            # A Never pod only goes where no running pod leaves.
            for n in range(classes.upper.shape[1]):
                never = [g for g in self.groups if lim.never[g] and (g, n) in self.y]
                stays = [self.stays[g, n] for g in self.groups if (g, n) in self.stays]
                current = int(classes.current[self.groups, n].sum())
                if not never or current == 0:
                    continue
                for g in never:
                    model.add(lin.sum(stays) >= current).only_enforce_if(self._used(g, n))
        if lim.per_pod is not None:
            # Disruption-aware: at most num/den moves per pod added (running after - before).
            num, den = lim.per_pod
            extra = lin.sum([self.placed[g] for g in self.groups]) - running + lim.forced
            model.add(den * (moves + lim.moves_offset) <= num * extra + den * lim.forced)

    def _used(self, g: int, n: int):
        if (g, n) not in self._z:
            z = self.model.new_bool_var(f"z{g}_{n}")
            self.model.add(self.y[g, n] <= int(self.classes.upper[g, n]) * z)
            self._z[g, n] = z
        return self._z[g, n]

    def _stay_vars(self) -> list[Any]:
        """Stays ``s[g, n] <= min(y[g, n], current[g, n])`` of every running class."""
        if self.stays:
            return list(self.stays.values())
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

    def minimise_weighted(self, tier: int, move_cost, eviction_cost) -> None:
        """Objective of the weighted mode's stage: unplaced pods of ``tier`` plus disruption costs.

        Minimises ``D·unplaced + D·c_m·moves + D·c_e·evictions`` with ``D``
        the common denominator of the two fractions, so a pod of the tier
        is placed only when it pays for the moves and evictions it takes.
        """
        lin = import_cp_model().LinearExpr
        members = [g for g in self.groups if self.tier_of[g] == tier]
        unplaced = int(self.classes.size[members].sum()) - lin.sum(
            [self.placed[g] for g in members]
        )
        stays = self._stay_vars()
        self._eviction_vars()
        evictions = lin.sum(list(self.evictions.values()))
        running = int(self.classes.running[self.groups].sum())
        moves = running - evictions - lin.sum(stays)
        den = move_cost.denominator * eviction_cost.denominator
        self.model.minimize(
            den * unplaced + int(move_cost * den) * moves + int(eviction_cost * den) * evictions
        )

    def maximise_soft(self, weights: np.ndarray, evictions: int, moves: int) -> None:
        """Objective of the soft stage: the most preferred weight, disruption kept.

        ``weights[g, n]`` is what one member of class ``g`` earns on node
        ``n`` (its matched preferred node terms); evictions and moves may
        not exceed the plan's (the tiers keep their floors).
        """
        lin = import_cp_model().LinearExpr
        stays = self._stay_vars()
        self._eviction_vars()
        evicted = lin.sum(list(self.evictions.values()))
        running = int(self.classes.running[self.groups].sum())
        self.model.add(evicted <= evictions)
        self.model.add(running - evicted - lin.sum(stays) <= moves)
        terms = [(var, int(weights[g, n])) for (g, n), var in self.y.items() if weights[g, n]]
        self.model.maximize(lin.weighted_sum([v for v, _ in terms], [w for _, w in terms]))

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
        self._eviction_vars()
        weight = int(classes.current[self.groups].sum()) + 1
        model.minimize(weight * lin.sum(list(self.evictions.values())) - lin.sum(stays))

    def _eviction_vars(self) -> None:
        """Evictions ``e[g] = max(0, running[g] - placed[g])`` of every running class."""
        if self.evictions:
            return
        for g in self.groups:
            running = int(self.classes.running[g])
            if running > 0:
                evict = self.model.new_int_var(0, running, f"e{g}")
                self.model.add_max_equality(evict, [0, running - self.placed[g]])
                self.evictions[g] = evict

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
