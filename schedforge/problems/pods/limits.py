"""Disruption limits of a plan: the options ``max_moves``, ``max_evictions``, ``moves_per_pod``.

One place for what the options mean, shared by ``kube`` (through the
repair), ``cp`` and ``mip``:

- ``max_moves``, ``max_evictions``: caps on the plan's moves and evictions;
  the running pods a ``NoExecute`` taint forces off their node count, so a
  cap is at least their number.
- ``moves_per_pod=R``: the disruption-aware mode, at most ``R`` moves per
  pod the plan adds (running pods after minus before; the forced pods may
  always move). With ``max_moves`` set and ``moves_per_pod`` not given it
  is 1: a fixed cap alone lets one extra pod cost two moves, which is
  rarely what a cap is meant for. ``moves_per_pod=False`` (``off`` on the
  command line) switches it off.
- ``move_cost=a``, ``eviction_cost=b`` (``cp`` and ``mip``): the weighted
  disruption mode. In the lowest tier with pods that may move
  (:func:`disruption_tier`) a move costs ``a`` pods of that tier and an
  eviction ``b``: a pod there is placed only when it pays for the
  disruption it takes; higher tiers stay strictly first
  (:func:`weighted_value`).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from schedforge.core.errors import InvalidOption
from schedforge.problems.pods.model import PodsInstance

# Moves per added pod that a ``max_moves`` cap implies when ``moves_per_pod`` is not given.
DEFAULT_MOVES_PER_POD = 1.0


def resolve_moves_per_pod(
    max_moves: int | None, moves_per_pod: float | bool | None
) -> float | None:
    """The ratio of moves per added pod in force, or ``None`` for none.

    ``None`` (not given): :data:`DEFAULT_MOVES_PER_POD` when ``max_moves``
    is set, else none; ``False``: none; ``True``: the default ratio; a
    number ``>= 0``: that ratio.
    """
    if moves_per_pod is None:
        return DEFAULT_MOVES_PER_POD if max_moves is not None else None
    if moves_per_pod is False:
        return None
    if moves_per_pod is True:
        return DEFAULT_MOVES_PER_POD
    value = float(moves_per_pod)
    if not value >= 0:
        raise InvalidOption(f"moves_per_pod must be >= 0 (or off), got {moves_per_pod}")
    return value


def ratio(value: float) -> tuple[int, int]:
    """``value`` as an exact fraction ``(num, den)`` with ``den <= 100`` (for integer models)."""
    fraction = Fraction(value).limit_denominator(100)
    if fraction < 0:
        raise InvalidOption(f"moves_per_pod must be >= 0, got {value}")
    return fraction.numerator, fraction.denominator


def forced_off(instance: PodsInstance) -> int:
    """Running pods a ``NoExecute`` taint forces off their node."""
    return int(np.sum((instance.current_node >= 0) & ~instance.stay_ok))


def added_pods(instance: PodsInstance, node_of_pod: np.ndarray) -> int:
    """Pods the plan adds: running after minus running before, the forced pods counted as placed.

    A pod a ``NoExecute`` taint forces off is not a loss the plan chose, so
    its moving elsewhere adds nothing and its leaving costs nothing.
    """
    before = int(np.sum(instance.current_node >= 0))
    return int(np.sum(node_of_pod >= 0)) - before + forced_off(instance)


def moves_within_ratio(moves: int, added: int, forced: int, per_pod: tuple[int, int]) -> bool:
    """Whether ``moves`` keep at most ``num/den`` moves per added pod (forced pods exempt)."""
    num, den = per_pod
    return den * moves <= num * added + den * forced


def disruption_tier(instance: PodsInstance) -> int:
    """The tier a weighted disruption cost is charged in: the lowest with a pod that may move.

    Pods of higher tiers keep their strict priority over any disruption;
    only within this tier does a placement have to pay for the moves and
    evictions it takes.
    """
    movable = ~instance.fixed
    tiers = instance.tier_of[movable]
    return int(tiers.max()) if tiers.size else len(instance.tiers) - 1


def disruption_costs(
    move_cost: float | None, eviction_cost: float | None
) -> tuple[Fraction, Fraction] | None:
    """The weighted mode's costs as exact fractions, or ``None`` when it is off (both unset)."""
    if move_cost is None and eviction_cost is None:
        return None
    costs = []
    for name, value in (("move_cost", move_cost), ("eviction_cost", eviction_cost)):
        value = 0.0 if value is None else float(value)
        if not value >= 0:
            raise InvalidOption(f"{name} must be >= 0, got {value}")
        costs.append(Fraction(value).limit_denominator(100))
    return costs[0], costs[1]


def weighted_value(
    instance: PodsInstance, node_of_pod: np.ndarray, costs: tuple[Fraction, Fraction]
) -> tuple:
    """The weighted mode's value of a plan, smaller is better (compare tuples).

    Unplaced pods per tier above :func:`disruption_tier` (highest first,
    strictly lexicographic), then, in that tier, unplaced pods plus
    ``move_cost`` per move and ``eviction_cost`` per eviction, then
    evictions and moves.
    """
    node = np.asarray(node_of_pod)
    running = instance.current_node >= 0
    evictions = int(np.sum(running & (node < 0)))
    moves = int(np.sum(running & (node >= 0) & (node != instance.current_node)))
    sizes = np.bincount(instance.tier_of, minlength=len(instance.tiers))
    placed = np.bincount(instance.tier_of[node >= 0], minlength=len(instance.tiers))
    last = disruption_tier(instance)
    unplaced = [int(s) - int(p) for s, p in zip(sizes, placed, strict=True)]
    charged = unplaced[last] + costs[0] * moves + costs[1] * evictions
    return (*unplaced[:last], charged, *unplaced[last + 1 :], evictions, moves)
