"""The ``cp`` method: lexicographic CP-SAT stages, then evictions and moves."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.heuristics.kube import simulate
from schedforge.heuristics.pods_repair import drop_never, repair_plan
from schedforge.problems.pods import (
    PodsInstance,
    PodsSolution,
    digit_weights,
    objective,
    tier_upper_bounds,
)
from schedforge.problems.pods.limits import disruption_costs, disruption_tier, weighted_value
from schedforge.problems.pods.soft import has_preferences, soft_score
from schedforge.problems.pods.topology import topology_repair
from schedforge.solvers.cp.pods.classes import (
    PodClasses,
    aggregate,
    disaggregate,
    disruption,
    greedy_fill,
    pod_classes,
    relabel,
    soft_weights,
    tier_counts,
    upto,
    within_limits,
)
from schedforge.solvers.cp.pods.lns import lns_search
from schedforge.solvers.cp.pods.model import CountModel
from schedforge.solvers.cp.runner import run_cp_sat

DEFAULT_TIME_LIMIT = 10.0
# Seconds kept free at the end of the window for disaggregation and checks.
SAFETY = 0.02
# Share of a stage's time for the global model before neighbourhood search.
GLOBAL_SHARE = 0.3
# Seconds per neighbourhood: small models are solved, or improved, in a few ms.


@method("pods", "cp", exact=True, default_stop="10 s, or every stage proven")
def cp(
    instance: PodsInstance,
    *,
    budget: Budget,
    lns: bool = True,
    max_moves: int | None = None,
    max_evictions: int | None = None,
    moves_per_pod: float | bool | None = None,
    move_cost: float | None = None,
    eviction_cost: float | None = None,
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

    ``max_moves`` and ``max_evictions`` cap the plan's disruption, and
    ``moves_per_pod`` is the disruption-aware mode: at most that many moves
    per pod the plan adds (hard constraints in every stage, like the
    PodDisruptionBudgets); with ``max_moves`` set it defaults to 1
    (``moves_per_pod=False`` switches it off,
    :mod:`schedforge.problems.pods.limits`); pods with
    ``preemptionPolicy: Never`` that end up on a node other pods leave are
    left pending (``stats["never_dropped"]``). Required pod affinity and hard
    topology spread are constraints of every stage (:mod:`.rules`; no
    neighbourhood search then), and pods the bind order can not bind are
    left pending (``stats["topology_dropped"]``).

    ``move_cost`` and ``eviction_cost`` switch on the weighted disruption
    mode: in the lowest tier with pods that may move
    (:func:`schedforge.problems.pods.limits.disruption_tier`), a move costs
    ``move_cost`` pods of that tier and an eviction ``eviction_cost``, so a
    pod is placed there only when it pays for the disruption it takes
    (higher tiers stay strictly first). The plan then optimises
    :func:`schedforge.problems.pods.limits.weighted_value`
    (``stats["weighted"]``), not the lexicographic scalar, so it is never
    claimed OPTIMAL; ``stats["weighted_proven"]`` says whether that stage
    was proven.
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    window, deadline, seed = budget.time_limit, budget.deadline, budget.seed
    threads = budget.threads_or(1)
    # Kept free for disaggregation and checks, and for CP-SAT's overshoot on a busy machine.
    safety = SAFETY + min(0.2 * window, 0.5)
    inst = instance
    num_tiers = len(inst.tiers)
    classes = pod_classes(
        inst, max_moves=max_moves, max_evictions=max_evictions, moves_per_pod=moves_per_pod
    )
    # Pod affinity and spread tie classes of every tier together: every stage
    # models every class, and the neighbourhoods (which see only some nodes) are off.
    ruled = classes.rules is not None and classes.rules.active
    limited = classes.limits.active or ruled
    lns = lns and not ruled
    costs = disruption_costs(move_cost, eviction_cost)
    weighted_tier = disruption_tier(inst) if costs is not None else -1
    running_total = int(classes.running.sum())

    def not_dearer(y: np.ndarray, than: np.ndarray) -> bool:
        # Fewer evictions may take more moves: the weighted mode keeps its charge.
        return costs is None or charged(y, weighted_tier) <= charged(than, weighted_tier)

    def charged(y: np.ndarray, tier: int) -> Fraction:
        # The weighted stage's value of class counts y (smaller is better).
        evictions, minus_stays = disruption(classes, y)
        moves = running_total - evictions + minus_stays
        unplaced = int(tiers.movable[tier]) - int(tier_counts(classes, y, num_tiers)[tier])
        return unplaced + costs[0] * moves + costs[1] * evictions

    def cut(y: np.ndarray, tier: int) -> np.ndarray:
        # With limits every stage keeps the lower tiers' pods: dropping them could break a limit.
        return y if limited else upto(y, classes, tier)

    tiers = _TierFacts(inst, classes)
    rng = np.random.default_rng(seed)
    # CP-SAT's presolve symmetry detection discards the warm start on these
    # models (identical nodes); without it the hint survives.
    params = {"symmetry_level": 0}

    # Warm start: the better kube plan (with or without preemption).
    starts = [
        simulate(inst, preemption=flag, deadline=deadline - safety)[0] for flag in (False, True)
    ]
    # Leaving everything as it is (only what a NoExecute taint evicts goes) keeps every limit.
    starts.append(np.where(inst.stay_ok, inst.current_node, -1))
    starts = [s for s in starts if within_limits(classes, aggregate(classes, inst, s))]
    start_node = min(starts, key=lambda node: objective(inst, PodsSolution(node)))
    start_y = aggregate(classes, inst, start_node)
    start_counts = tier_counts(classes, start_y, num_tiers)
    best_y = start_y
    stats: dict[str, Any] = {"classes": classes.num_classes, "stages": [], "threads": threads}
    floors: dict[int, int] = {}
    first_open: tuple[int, int | None] | None = None  # (tier, CP-SAT bound) of the first unproven
    nondeterministic = threads > 1

    shared: list[CountModel] = []

    def stage_model(tier: int | None) -> CountModel:
        """The model of a tier stage (``None``: the disruption stage) with the floors so far.

        With limits every stage models every class: one model is built and
        each stage adds the floors it inherits (building dominates short
        windows on large clusters).
        """
        if limited or tier is None:
            if not shared:
                shared.append(CountModel(classes, list(range(classes.num_classes)), floors))
            model = shared[0]
            for t, floor in floors.items():
                if t not in model.floored:
                    model.add_floor(t, floor)
            return model
        members = [g for g in range(classes.num_classes) if classes.tier[g] <= tier]
        return CountModel(classes, members, floors)

    for tier in range(num_tiers):
        new = [g for g in range(classes.num_classes) if classes.tier[g] == tier]
        hint_y = greedy_fill(classes, cut(best_y, tier - 1), new)
        if ruled or not within_limits(classes, hint_y):  # the fill ignores affinity and spread
            hint_y = best_y
        if all(start_counts[t] >= floors[t] for t in range(tier)):
            kube_y = cut(start_y, tier)
            if (
                tier_counts(classes, kube_y, num_tiers)[tier]
                >= tier_counts(classes, hint_y, num_tiers)[tier]
            ):
                hint_y = kube_y  # as good and closer to the current placement
        have = int(tier_counts(classes, hint_y, num_tiers)[tier])
        target = tiers.movable_upper[tier]
        remaining = deadline - time.perf_counter() - safety
        stage: dict[str, Any] = {"tier": tier}
        if tier == weighted_tier:
            # Placing every pod of the tier may still cost more than it is worth here.
            hint_y = _weighted_stage(
                stage,
                stage_model(tier),
                hint_y,
                tier,
                costs,
                charged,
                remaining,
                seed,
                threads,
                params,
            )
            have = int(tier_counts(classes, hint_y, num_tiers)[tier])
            stats["weighted_proven"] = stage["status"] == "OPTIMAL"
            # The tier's floor is not its lexicographic optimum: the bound stays static from here.
            first_open = first_open or (tier, None)
        elif have >= target:
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
            model = stage_model(tier)
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
                got = int(tier_counts(classes, y, num_tiers)[tier])
                if got > have or (got == have and model.stayed(y) > model.stayed(hint_y)):
                    hint_y, have = y, got
            proven = run.status is Status.OPTIMAL
            if not proven and run.bound is not None:
                # CP-SAT's bound on the unplaced members of the tier.
                least = int(np.ceil(run.bound - 1e-9))
                target = min(target, int(tiers.movable[tier]) - max(least, 0))
            if not proven and lns and have < target:
                hint_y, rounds = lns_search(
                    classes, hint_y, tier, floors, target, tier_deadline, rng, threads, reserve
                )
                have = int(tier_counts(classes, hint_y, num_tiers)[tier])
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
        best_y = relabel(classes, cut(hint_y, tier))

    done = disruption(classes, best_y) == (0, -int(classes.running.sum()))
    if done:
        stats["stages"].append({"stage": "disruption", "status": "bound"})
    elif deadline - time.perf_counter() - safety > 0.02:
        stage: dict[str, Any] = {"stage": "disruption", "status": "FEASIBLE"}
        # The global model rarely even loads its hint in a few tenths of a
        # second on large clusters: there, neighbourhoods only.
        if not lns or deadline - time.perf_counter() - safety > 0.3:
            model = stage_model(None)
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
                if disruption(classes, y) <= disruption(classes, best_y) and not_dearer(y, best_y):
                    best_y = y
            done = run.status is Status.OPTIMAL
        if not done and lns:
            found, stage["lns_rounds"] = lns_search(
                classes, best_y, None, floors, 0, deadline - safety, rng, threads
            )
            best_y = found if not_dearer(found, best_y) else best_y
            done = disruption(classes, best_y) == (0, -int(classes.running.sum()))
        stats["stages"].append(stage)
    nondeterministic = nondeterministic or not done
    weights = soft_weights(classes, inst)
    if weights is not None and deadline - time.perf_counter() - safety > 0.02:
        # Preferred node terms, below the tiers, evictions and moves (never traded for them).
        best_y = _soft_stage(
            stats, stage_model(None), classes, best_y, weights, deadline - safety, seed, threads
        )
    node = disaggregate(classes, inst, best_y)
    node, stats["never_dropped"] = drop_never(inst, node)
    node, stats["topology_dropped"] = topology_repair(inst, node)
    value = objective(inst, PodsSolution(node))
    # Never worse than the warm start, whatever ran out of time.
    if costs is None and objective(inst, PodsSolution(start_node)) < value:
        node = start_node
    if costs is not None and weighted_value(inst, start_node, costs) < weighted_value(
        inst, node, costs
    ):
        node = start_node
    # Send needlessly moved pods home (never lexicographically worse).
    node, gain = repair_plan(inst, node, stats)
    if costs is not None:
        stats["weighted"] = [float(v) for v in weighted_value(inst, node, costs)]
    if has_preferences(inst):
        stats["soft_score"] = soft_score(inst, node)
    stats["nondeterministic"] = nondeterministic
    stats["tiers_proven"] = first_open is None
    # A plan the repair improves was not optimal: claim OPTIMAL only when it changed nothing.
    dropped = stats["never_dropped"] or stats["topology_dropped"]
    if first_open is None and done and not gain and not dropped:
        return Outcome(PodsSolution(node), Status.OPTIMAL, stats=stats)
    bound = tiers.bound(floors, first_open)
    return Outcome(PodsSolution(node), Status.FEASIBLE, bound=bound, stats=stats)


def _weighted_stage(
    stage, model, hint_y, tier, costs, charged, remaining, seed, threads, params
) -> np.ndarray:
    """The weighted mode's stage: unplaced pods of ``tier`` plus the disruption's cost.

    Returns the better of ``hint_y`` and CP-SAT's plan by
    ``charged``; the neighbourhood search is not used here (it counts
    placed pods only).
    """
    if remaining <= 0.005:
        stage["status"] = "no time"
        return hint_y
    model.minimise_weighted(tier, *costs)
    run = run_cp_sat(
        model.model,
        time_limit=max(remaining / 1.5, 0.005),
        seed=seed,
        threads=threads,
        hint=model.hint(hint_y),
        params=params,
    )
    stage.update(status=str(run.status), time=round(run.stats["wall_time"], 4), weighted=True)
    if run.status.has_solution:
        y = model.values(run)
        if charged(y, tier) < charged(hint_y, tier):
            return y
    return hint_y


def _soft_stage(stats, model, classes, best_y, weights, deadline, seed, threads) -> np.ndarray:
    """The soft stage: the most preferred node weight with the tiers' floors, no more disruption.

    Returns CP-SAT's plan when it earns more weight and disrupts no more
    than ``best_y``, else ``best_y``; ``stats["soft_proven"]`` says whether
    the weight is proven the most possible.
    """
    evictions, minus_stays = disruption(classes, best_y)
    moves = int(classes.running.sum()) - evictions + minus_stays
    model.maximise_soft(weights, evictions, moves)
    run = run_cp_sat(
        model.model,
        time_limit=max(deadline - time.perf_counter(), 0.005),
        seed=seed,
        threads=threads,
        hint=model.hint(best_y),
        params={"symmetry_level": 0},
    )
    stats["stages"].append({"stage": "soft", "status": str(run.status)})
    stats["soft_proven"] = run.status is Status.OPTIMAL
    if run.status.has_solution:
        y = model.values(run)
        gain = int((weights * y).sum()) > int((weights * best_y).sum())
        if gain and disruption(classes, y) <= disruption(classes, best_y):
            return y
    return best_y


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
