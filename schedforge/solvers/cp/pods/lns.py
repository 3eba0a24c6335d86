"""Large neighbourhood search over pod-class counts, one stage at a time."""

from __future__ import annotations

import time

import numpy as np

from schedforge.core.result import Status
from schedforge.solvers.cp.pods.classes import (
    PodClasses,
    disruption,
    restrict,
    tier_counts,
    within_limits,
)
from schedforge.solvers.cp.pods.model import CountModel
from schedforge.solvers.cp.runner import run_cp_sat

# Seconds per neighbourhood: small models are solved, or improved, in a few ms.
LNS_STEP = 0.05


def lns_search(
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
    limited = classes.limits.active
    groups = [g for g in range(classes.num_classes) if limited or classes.tier[g] <= last]
    num_nodes = y.shape[1]

    def score(counts: np.ndarray) -> tuple[int, ...]:
        if tier is None:
            return disruption(classes, counts)
        placed = int(tier_counts(classes, counts, num_tiers)[tier])
        return -placed, disruption(classes, counts)[1]

    best = score(y)
    width = min(num_nodes, 4)
    rounds = 0
    while (tier is None and best[0] + best[1] + int(classes.running.sum()) > 0) or (
        tier is not None and -best[0] < target
    ):
        undisturbed = disruption(classes, y) == (0, -int(classes.running.sum()))
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
        model = CountModel(sub, groups, sub_floors)
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
            if got <= best and within_limits(classes, candidate):
                y, best = candidate, got
        if run.status is Status.OPTIMAL:
            width = min(num_nodes, width + 1)
        else:
            width = max(2, width - 1)
    return y, rounds
