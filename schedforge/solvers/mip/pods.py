"""MIP for pod packing with priorities: method ``mip`` (``mip:highs``, ``mip:cbc``).

The aggregated model of :mod:`schedforge.solvers.cp.pods` (pod classes ×
nodes) with the lexicographic objective as one weighted sum, built with
PuLP and solved by HiGHS or CBC, for comparison with the staged CP-SAT
method. The weights are those of the scalar encoding
(:func:`schedforge.problems.pods.digit_weights`), large enough to be
lexicographic; with many tiers they grow as the product of the tier
sizes, and a solver's tolerances then decide what "optimal" means: prefer
``cp`` there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.errors import SolverError
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.pods_repair import drop_never, repair_plan
from schedforge.problems.pods import (
    PodsInstance,
    PodsSolution,
    digit_weights,
    lower_bound,
)
from schedforge.problems.pods.limits import disruption_costs, disruption_tier, weighted_value
from schedforge.problems.pods.soft import has_preferences, soft_score
from schedforge.problems.pods.topology import topology_repair
from schedforge.solvers.cp.pods import PodClasses, disaggregate, pod_classes
from schedforge.solvers.cp.pods.classes import soft_weights
from schedforge.solvers.cp.pods.rules import domain_sum, seed_facts
from schedforge.solvers.mip.backend import import_pulp, solve_model

__all__ = ["build_model", "mip"]

DEFAULT_TIME_LIMIT = 60.0


def build_model(
    instance: PodsInstance,
    classes: PodClasses,
    costs: tuple | None = None,
    soft: tuple[np.ndarray, int] | None = None,
) -> tuple[Any, dict, int]:
    r"""The weighted MIP over pod classes.

    With the notation of :class:`schedforge.solvers.cp.pods.CountModel`, tier
    weights :math:`w_t`, eviction weight :math:`w_e` and move weight 1:

    .. math::

        \min\ & \textstyle\sum_t w_t \big(n_t - \sum_{g \in T_t} \sum_n y_{gn}\big)
                + w_e \sum_g e_g + \sum_g \big(R_g - e_g - \sum_n s_{gn}\big) \\
        \text{s.t. } & \textstyle\sum_g q_{gr} y_{gn} \le F_{nr}, \quad
                       \sum_g y_{gn} \le S_n, \quad \sum_n y_{gn} \le |g| \\
        & y_{gn} \le U_{gn} z_{gn}, \quad z_{gn} + z_{hn} \le 1
          \ \text{for conflicting classes} \\
        & z_{gn} \le w_{gd}\ (n \in d), \quad w_{gd} + w_{hd} \le 1, \quad
          \textstyle\sum_{n \in d} y_{gn} \le 1 \ (g = h)
          \ \text{by topology-key domain } d \\
        & e_g \ge R_g - \textstyle\sum_n y_{gn}, \quad s_{gn} \le y_{gn}, \quad
          s_{gn} \le C_{gn} \\
        & y_{gn} \in \{0..U_{gn}\},\ z_{gn} \in \{0, 1\},\ e_g, s_{gn} \ge 0

    Required pod affinity and hard topology spread are the linear forms of
    :mod:`schedforge.solvers.cp.pods.rules`, with big-M terms in place of
    the implications.

    :math:`n_t` counts the tier's pods that are not fixed (pods that can
    never run are a constant). Minimisation drives :math:`e_g` to
    :math:`\max(0, R_g - \text{placed}_g)` since :math:`w_e > 1`; the
    objective then equals the scalar encoding of the disaggregated plan
    minus a constant, which is returned.

    ``costs`` (``(move_cost, eviction_cost)``, the weighted disruption mode)
    adds :math:`w_d (c_m \sum_g m_g + c_e \sum_g e_g)` with :math:`w_d` the
    weight of :func:`~schedforge.problems.pods.limits.disruption_tier`: a pod
    of that tier is then placed only when it pays for its disruption (the
    objective is then no longer the scalar encoding).

    ``soft`` (``(weights, K)``: the preferred node weight per class and node,
    and ``K`` above the most weight a plan can earn) makes the objective
    ``K·(the above) − Σ weights·y``: the soft score breaks ties only (the
    caller divides the solver's bound by ``K``).

    Returns
    -------
    prob, y, offset
        The ``LpProblem``, the count variables by ``(class, node)`` and the
        constant to add to the MIP objective to get the scalar objective.
    """
    pulp = import_pulp()
    tier_w, evict_w, _ = digit_weights(instance)
    prob = pulp.LpProblem(instance.name.replace(" ", "_") or "pods", pulp.LpMinimize)
    num_classes, num_nodes = classes.upper.shape
    y: dict[tuple[int, int], Any] = {}
    for g in range(num_classes):
        for n in np.flatnonzero(classes.upper[g] > 0).tolist():
            y[g, n] = prob.add_variable(f"y_{g}_{n}", 0, int(classes.upper[g, n]), cat="Integer")
    placed = {
        g: pulp.lpSum(y[g, n] for n in range(num_nodes) if (g, n) in y) for g in range(num_classes)
    }
    for g in range(num_classes):
        if int(classes.upper[g].sum()) > classes.size[g]:
            prob += placed[g] <= int(classes.size[g]), f"size_{g}"
    for n in range(num_nodes):
        members = [g for g in range(num_classes) if (g, n) in y]
        if not members:
            continue
        prob += pulp.lpSum(y[g, n] for g in members) <= int(classes.slots[n]), f"slots_{n}"
        for r in range(classes.requests.shape[1]):
            if int(sum(classes.upper[g, n] * classes.requests[g, r] for g in members)) > int(
                classes.free[n, r]
            ):
                prob += (
                    pulp.lpSum(int(classes.requests[g, r]) * y[g, n] for g in members)
                    <= int(classes.free[n, r]),
                    f"cap_{n}_{r}",
                )
    z: dict[tuple[int, int], Any] = {}

    def used(g: int, n: int):
        if (g, n) not in z:
            z[g, n] = prob.add_variable(f"z_{g}_{n}", 0, 1, cat="Integer")
            prob.addConstraint(y[g, n] <= int(classes.upper[g, n]) * z[g, n], f"link_{g}_{n}")
        return z[g, n]

    for g, h in classes.pair_conflicts:
        for n in range(num_nodes):
            if (g, n) in y and (h, n) in y:
                prob += used(g, n) + used(h, n) <= 1, f"anti_{g}_{h}_{n}"
    # Anti-affinity by topology key: conflicting classes never share a domain.
    present: dict[tuple[int, int, int], Any] = {}

    def in_domain(g: int, k: int, d: int, nodes: list[int]):
        if (g, k, d) not in present:
            w = prob.add_variable(f"w_{g}_{k}_{d}", 0, 1, cat="Integer")
            for n in nodes:
                if (g, n) in y:
                    prob.addConstraint(used(g, n) <= w, f"dom_{g}_{k}_{d}_{n}")
            present[g, k, d] = w
        return present[g, k, d]

    for g, h, k in classes.zone_conflicts:
        for d in sorted(set(classes.domain[k].tolist()) - {-1}):
            nodes = np.flatnonzero(classes.domain[k] == d).tolist()
            if g == h:
                row = [y[g, n] for n in nodes if (g, n) in y]
                if len(row) > 1:
                    prob += pulp.lpSum(row) <= 1, f"zone_self_{g}_{k}_{d}"
            elif any((g, n) in y for n in nodes) and any((h, n) in y for n in nodes):
                prob += (
                    in_domain(g, k, d, nodes) + in_domain(h, k, d, nodes) <= 1,
                    f"zone_{g}_{h}_{k}_{d}",
                )
    if classes.rules is not None and classes.rules.active:
        _add_rules(prob, y, used, classes)
    evictions, moves = [], []
    lim = classes.limits
    stays_of: dict[int, list] = {}
    stays_at: dict[tuple[int, int], list] = {}
    for g in range(num_classes):
        running = int(classes.running[g])
        if running == 0:
            continue
        evict = prob.add_variable(f"e_{g}", 0, running)
        prob += evict >= running - placed[g], f"evict_{g}"
        exact = lim.evictions is not None or lim.moves is not None or lim.per_pod is not None
        if exact or costs is not None:
            # Exact e = max(0, running - placed): a cap must not be met by overcounting, and
            # a move cost above the eviction weight must not be dodged by counting evictions.
            some = prob.add_variable(f"w_{g}", 0, 1, cat="Integer")
            prob += evict <= running * some, f"evict_hi_{g}"
            prob += evict <= running - placed[g] + 2 * running * (1 - some), f"evict_eq_{g}"
        stays = []
        stays_of[g] = stays
        for n in np.flatnonzero(classes.current[g] > 0).tolist():
            if (g, n) in y:
                stay = prob.add_variable(f"s_{g}_{n}", 0, int(classes.current[g, n]))
                prob += stay <= y[g, n], f"stay_{g}_{n}"
                stays.append(stay)
                stays_at[g, n] = [stay]
        evictions.append(evict)
        moves.append(running - evict - pulp.lpSum(stays))
    for b, room in enumerate(lim.pdb_room):
        members = [g for g in range(num_classes) if lim.pdb[g] == b]
        current = int(classes.current[members].sum()) if members else 0
        if current > room:
            stays = [s for g in members for s in stays_of.get(g, [])]
            prob += current - pulp.lpSum(stays) <= int(room), f"pdb_{b}"
    if lim.never is not None and lim.never.any():
        # A Never pod only goes where no running pod leaves.
        for n in range(num_nodes):
            stays = [s for g in range(num_classes) for s in stays_at.get((g, n), [])]
            current = int(classes.current[:, n].sum())
            for g in np.flatnonzero(lim.never).tolist():
                if (g, n) in y and current > 0:
                    prob += (
                        current - pulp.lpSum(stays) <= current * (1 - used(g, n)),
                        f"never_{g}_{n}",
                    )
    if lim.evictions is not None:
        prob += pulp.lpSum(evictions) <= lim.evictions, "max_evictions"
    if lim.moves is not None:
        prob += pulp.lpSum(moves) <= lim.moves, "max_moves"
    if lim.per_pod is not None:
        num, den = lim.per_pod
        extra = pulp.lpSum(placed.values()) - int(classes.running.sum()) + lim.forced
        prob += den * pulp.lpSum(moves) <= num * extra + den * lim.forced, "moves_per_pod"
    sizes = np.bincount(instance.tier_of, minlength=len(instance.tiers))
    unplaced = []
    offset = 0
    for t, weight in enumerate(tier_w):
        members = [g for g in range(num_classes) if classes.tier[g] == t]
        movable = int(classes.size[members].sum()) if members else 0
        fixed = int(np.sum(instance.fixed & (instance.tier_of == t)))
        offset += weight * (int(sizes[t]) - fixed - movable)  # pods that never run
        unplaced.append(weight * (movable - pulp.lpSum(placed[g] for g in members)))
    charge = 0
    if costs is not None:
        weight = tier_w[disruption_tier(instance)]
        charge = weight * (
            float(costs[0]) * pulp.lpSum(moves) + float(costs[1]) * pulp.lpSum(evictions)
        )
    main = pulp.lpSum(unplaced) + evict_w * pulp.lpSum(evictions) + pulp.lpSum(moves) + charge
    if soft is not None:
        weights, scale = soft
        earned = pulp.lpSum(int(weights[g, n]) * var for (g, n), var in y.items() if weights[g, n])
        main = scale * main - earned
    prob += main
    return prob, y, offset


def _add_rules(prob: Any, y: dict, used, classes: PodClasses) -> None:
    """Affinity and spread of newly placed class members (:mod:`.cp.pods.rules`), big-M form."""
    pulp = import_pulp()
    rules = classes.rules

    made: dict[tuple[int, int], Any] = {}

    def new_member(g: int, n: int):
        upper, current = int(classes.upper[g, n]), int(classes.current[g, n])
        if (g, n) not in y or upper <= current:
            return None
        if current == 0:
            return used(g, n)
        if (g, n) not in made:
            made[g, n] = b = prob.add_variable(f"new_{g}_{n}", 0, 1, cat="Integer")
            prob.addConstraint(y[g, n] <= current + (upper - current) * b, f"newlink_{g}_{n}")
        return made[g, n]

    for k, rule in enumerate(rules.affinity):
        seed: dict[int, Any] = {}
        possible, running = seed_facts(classes, rule) if rule.self_match else (False, [])
        if possible:
            # At most one member starts the group, and only when no partner stays.
            seed = {
                n: prob.add_variable(f"seed_{k}_{n}", 0, 1, cat="Integer")
                for n in range(len(rule.fixed))
                if (rule.g, n) in y
            }
            if seed:
                prob.addConstraint(pulp.lpSum(seed.values()) <= 1, f"seeds_{k}")
                for h, m in running:
                    if (h, m) in y:
                        prob.addConstraint(
                            y[h, m] <= int(classes.upper[h, m]) * (1 - pulp.lpSum(seed.values())),
                            f"seedstay_{k}_{h}_{m}",
                        )
        need = 1 + int(rule.self_match)
        for n in range(len(rule.fixed)):
            b = new_member(rule.g, n)
            if b is None:
                continue
            for t, dom in enumerate(rule.keys):
                terms, const = domain_sum(
                    y, rule.partners, np.flatnonzero(dom == dom[n]), rule.fixed
                )
                rhs = need * (b - seed[n]) if n in seed else need * b
                prob.addConstraint(pulp.lpSum(terms) + const >= rhs, f"aff_{k}_{n}_{t}")
    for k, rule in enumerate(rules.spread):
        domains = sorted(set(rule.domain.tolist()) - {-1})
        big = sum(int(classes.size[h]) for h in rule.partners) + int(rule.fixed.sum())
        least = prob.add_variable(f"least_{k}", 0, big)
        count = {}
        for d in domains:
            terms, const = domain_sum(
                y, rule.partners, np.flatnonzero(rule.domain == d), rule.fixed
            )
            count[d] = pulp.lpSum(terms) + const
            prob += least <= count[d], f"least_{k}_{d}"
        few = len(domains) < rule.min_domains
        for n in range(len(rule.fixed)):
            b = new_member(rule.g, n)
            d = int(rule.key[n])
            if b is None or d not in count:
                continue
            skew = count[d] if few else count[d] - least
            prob += skew <= rule.max_skew + big * (1 - b), f"spread_{k}_{n}"


@method(
    "pods",
    "mip",
    variants=("highs", "cbc"),
    exact=True,
    default_stop="60 s, or a proven optimum",
)
def mip(
    instance: PodsInstance,
    variant: str,
    *,
    budget: Budget,
    max_moves: int | None = None,
    max_evictions: int | None = None,
    moves_per_pod: float | bool | None = None,
    move_cost: float | None = None,
    eviction_cost: float | None = None,
) -> Outcome:
    """Weighted single-objective MIP of the lexicographic pod packing (HiGHS or CBC).

    The budget covers model building and the solver (no time limit means
    60 s); threads default to 1. The plan is then repaired by
    :func:`schedforge.heuristics.pods_repair.reduce_moves`. OPTIMAL when the
    solver proves it and the repair finds nothing to improve; otherwise
    FEASIBLE with the solver's bound (HiGHS) or ``NO_SOLUTION``.

    PodDisruptionBudgets, ``max_moves``, ``max_evictions`` and
    ``moves_per_pod`` (at most that many moves per pod the plan adds; 1 by
    default when ``max_moves`` is set, ``False`` for none) are
    constraints; ``preemptionPolicy: Never`` pods placed where other pods
    leave are left pending afterwards (``stats["never_dropped"]``).
    ``move_cost``, ``eviction_cost``: the weighted disruption mode, as in
    ``cp`` (never OPTIMAL then, the bound is the static one;
    ``stats["weighted"]`` gives the plan's weighted value).
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    classes = pod_classes(
        instance, max_moves=max_moves, max_evictions=max_evictions, moves_per_pod=moves_per_pod
    )
    costs = disruption_costs(move_cost, eviction_cost)
    weights = soft_weights(classes, instance)
    scale = 1
    if weights is not None:
        # Above the most weight a plan can earn: each class member on its best node.
        scale = int((weights.max(axis=1) * classes.size).sum()) + 1
    soft = None if weights is None else (weights, scale)
    prob, y, offset = build_model(instance, classes, costs, soft)
    stats: dict[str, Any] = {
        "backend": variant,
        "variables": len(prob.variables()),
        "constraints": prob.numConstraints(),
        "classes": classes.num_classes,
    }
    status, bound = solve_model(
        prob,
        variant,
        time_limit=max(0.05, budget.remaining()),
        seed=budget.seed,
        threads=budget.threads_or(1),
        stats=stats,
    )
    if bound is not None:
        # The soft term is at most scale - 1: bound / scale still bounds the scalar.
        bound = math.floor(bound / scale) + offset if scale > 1 else bound + offset
    if status is Status.INFEASIBLE:
        raise SolverError("the MIP is infeasible, but leaving every pod pending is feasible")
    if not status.has_solution:
        return Outcome(status=Status.NO_SOLUTION, bound=bound, stats=stats)
    counts = np.zeros_like(classes.upper)
    for (g, n), var in y.items():
        counts[g, n] = round(var.varValue or 0)
    node = disaggregate(classes, instance, counts)
    node, stats["never_dropped"] = drop_never(instance, node)
    node, stats["topology_dropped"] = topology_repair(instance, node)
    gain_never = stats["never_dropped"] > 0 or stats["topology_dropped"] > 0
    # Send needlessly moved pods home (never lexicographically worse).
    node, gain = repair_plan(instance, node, stats)
    if status is Status.OPTIMAL and (gain or gain_never):
        # The solver's "optimum" was within its tolerances only: not proven; the
        # problem's own bound stays valid whatever the solver's tolerances.
        status, bound = Status.FEASIBLE, lower_bound(instance)
    if has_preferences(instance):
        stats["soft_score"] = soft_score(instance, node)
    if costs is not None:
        # The solver optimised the weighted value, not the lexicographic scalar.
        stats["weighted"] = [float(v) for v in weighted_value(instance, node, costs)]
        stats["weighted_proven"] = status is Status.OPTIMAL
        status, bound = Status.FEASIBLE, lower_bound(instance)
    if status is Status.OPTIMAL:
        bound = None
    return Outcome(PodsSolution(node), status, bound=bound, stats=stats)
