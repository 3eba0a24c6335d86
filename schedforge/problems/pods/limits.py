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
