"""Move-reduction repair for pod packing plans.

A plan from a time-limited solver may move running pods that could just as
well stay home: the aggregated models count moves per pod class, and when
the disruption stage runs out of time their plans keep needless moves.
:func:`reduce_moves` sends such pods back to their current node whenever
every constraint still holds, so a plan is never lexicographically worse
(:func:`schedforge.problems.pods.objective_vector`) and often better.
"""

from __future__ import annotations

import numpy as np

from schedforge.problems.pods import PodsInstance, PodsSolution, objective_vector, validate
from schedforge.problems.pods.limits import (
    added_pods,
    forced_off,
    moves_within_ratio,
    ratio,
    resolve_moves_per_pod,
)
from schedforge.problems.pods.topology import bind_order

__all__ = ["drop_never", "limit_disruption", "reduce_moves", "repair_plan"]


def drop_never(instance: PodsInstance, node_of_pod: np.ndarray) -> tuple[np.ndarray, int]:
    """Leave pending the ``preemptionPolicy: Never`` pods a plan puts where pods leave.

    Such a pod may not take room that an eviction or a move frees (the real
    scheduler never preempts for it). Unplacing a pending pod breaks no
    other rule. Returns the plan and the number of pods left pending.
    """
    node = np.array(node_of_pod, dtype=np.int64, copy=True)
    current = instance.current_node
    emptied = np.zeros(instance.num_nodes, dtype=bool)
    emptied[current[(current >= 0) & (node != current)]] = True
    bad = instance.preempt_never & (current < 0) & (node >= 0)
    bad[bad] = emptied[node[bad]]
    node[bad] = -1
    return node, int(bad.sum())


def repair_plan(
    instance: PodsInstance, node_of_pod: np.ndarray, stats: dict
) -> tuple[np.ndarray, bool]:
    """:func:`reduce_moves` on a solver's plan, recording what it saved in ``stats["repair"]``.

    Returns the repaired plan and whether it is lexicographically better than
    the input: a solver that claimed an optimum must then not claim it.
    """
    repaired = reduce_moves(instance, node_of_pod)
    before = objective_vector(instance, PodsSolution(node_of_pod))
    after = objective_vector(instance, PodsSolution(repaired))
    stats["repair"] = {
        "moves": [before.moves, after.moves],
        "evictions": [before.evictions, after.evictions],
    }
    return repaired, after > before


def reduce_moves(instance: PodsInstance, node_of_pod: np.ndarray) -> np.ndarray:
    """Send moved or evicted running pods home when every constraint allows.

    Repeats, until nothing changes, for each running pod ``p`` whose plan
    node differs from its current node ``c``:

    - if ``p`` fits on ``c`` (every resource, ``max_pods``, anti-affinity;
      a running pod is always admitted on its current node), it goes there:
      one move or one eviction fewer;
    - otherwise a movable pod ``q`` that sits on ``c`` without being home
      there (moved or newly placed) makes room: ``p`` goes home and ``q``
      to the first node that takes it, its own home first, then ``p``'s
      plan node (a swap), then any other. ``q`` stays placed, so evictions
      plus moves drop by one (two when ``q`` reaches its home).

    Every step keeps the placed pods of every tier (or adds one) and never
    adds an eviction or a move, so the result is never lexicographically
    worse; each step lowers evictions plus moves, so it terminates. The
    checks use the problem's own structures (``allowed``, ``allocatable``,
    ``max_pods``, ``clashes``, and the bind order of pod affinity and
    topology spread) and the result is checked by
    :func:`schedforge.problems.pods.validate`.

    Parameters
    ----------
    instance
        The cluster snapshot.
    node_of_pod
        A feasible plan: a node per pod, ``-1`` for not running.

    Returns
    -------
    numpy.ndarray
        The repaired plan (a new array). If ``node_of_pod`` is infeasible it
        is returned unchanged (as a copy): the repair only keeps feasibility.
    """
    node = np.array(node_of_pod, dtype=np.int64, copy=True)
    if validate(instance, PodsSolution(node)):
        return node
    inst = instance
    current = inst.current_node
    requests = inst.requests
    # Feasibility state from the problem's own structures: allowed placements,
    # allocatable amounts, max_pods and anti-affinity pairs.
    placed = np.flatnonzero(node >= 0)
    usage = np.zeros_like(inst.allocatable)
    np.add.at(usage, node[placed], requests[placed])
    count = np.bincount(node[placed], minlength=inst.num_nodes).astype(np.int64)

    def clash(p: int, n: int, ignore: int = -1) -> bool:
        return inst.clashes(p, n, node, ignore) >= 0

    # Nodes running pods leave: a preemptionPolicy Never pod may not be put there.
    emptied = np.zeros(inst.num_nodes, dtype=bool)
    emptied[current[(current >= 0) & (node != current)]] = True

    def fits(p: int, n: int) -> bool:
        return (
            bool(inst.allowed[p, n])
            and not (inst.preempt_never[p] and current[p] < 0 and emptied[n])
            and count[n] < inst.max_pods[n]
            and bool(np.all(usage[n] + requests[p] <= inst.allocatable[n]))
            and not clash(p, n)
        )

    def shift(p: int, n: int) -> None:
        """Put ``p`` on node ``n`` (``-1``: take it off), keeping usage and counts."""
        old = node[p]
        if old >= 0:
            usage[old] -= requests[p]
            count[old] -= 1
        if n >= 0:
            usage[n] += requests[p]
            count[n] += 1
        node[p] = n

    # Pod affinity and topology spread depend on the whole plan: every change
    # must leave an order that binds the newly placed pods.
    ruled = inst.topology.active

    def settled() -> bool:
        return not ruled or not bind_order(inst, node)[1]

    def make_room(p: int, home: int) -> bool:
        """Send ``p`` home by relocating one pod that is on ``home`` but not home there."""
        away = int(node[p])
        for q in np.flatnonzero((node == home) & (current != home) & ~inst.fixed):
            q = int(q)
            shift(q, -1)
            shift(p, -1)
            if fits(p, home):
                shift(p, home)
                # q's own home first (one move fewer), then p's old node (a swap), then any.
                targets = [int(current[q])] if current[q] >= 0 else []
                targets += [away] if away >= 0 else []
                targets += list(range(inst.num_nodes))
                for m in targets:
                    if m >= 0 and m != home and fits(q, m):
                        shift(q, m)
                        if settled():
                            return True
                        shift(q, -1)
            shift(p, away)
            shift(q, home)
        return False

    changed = True
    while changed:
        changed = False
        for p in np.flatnonzero((current >= 0) & (node != current)):
            p = int(p)
            home = int(current[p])
            if node[p] == home:
                continue  # sent home by an earlier step of this sweep
            if fits(p, home):
                away = int(node[p])
                shift(p, home)
                if settled():
                    changed = True
                    continue
                shift(p, away)
            if make_room(p, home):
                changed = True
    problems = validate(inst, PodsSolution(node))
    if problems:  # a bug in the repair: fail loudly rather than return an infeasible plan
        raise AssertionError(f"reduce_moves broke the plan: {problems[0]}")
    return node


def limit_disruption(
    instance: PodsInstance,
    node_of_pod: np.ndarray,
    *,
    max_moves: int | None = None,
    max_evictions: int | None = None,
    moves_per_pod: float | bool | None = None,
) -> np.ndarray:
    """A feasible plan within the disruption limits, close to ``node_of_pod``.

    After :func:`reduce_moves`, while a cap is exceeded, the lowest-priority
    running pod that leaves its node (an evicted one first when evictions
    are over, a moved one when moves are) goes home: the newly placed pods
    on its home node are taken off, lowest priority first, until it fits,
    and those that can not be put back are left pending. A pod that can not
    go home this way is skipped. If the caps still do not hold, the plan
    that changes nothing (only what a ``NoExecute`` taint evicts leaves) is
    returned; the caps count those forced pods, so they are at least their
    number. ``moves_per_pod`` (1 by default when ``max_moves`` is set,
    ``False`` for none; :mod:`schedforge.problems.pods.limits`) bounds the
    moves per pod the plan adds: while it is exceeded, moved pods go home
    the same way.
    """
    inst = instance
    current = inst.current_node
    node = reduce_moves(inst, node_of_pod)
    forced = forced_off(inst)
    cap_moves = None if max_moves is None else max(int(max_moves), forced)
    cap_evictions = None if max_evictions is None else max(int(max_evictions), forced)
    per_pod = resolve_moves_per_pod(max_moves, moves_per_pod)
    per_pod = None if per_pod is None else ratio(per_pod)

    def over() -> tuple[bool, bool]:
        value = objective_vector(inst, PodsSolution(node))
        moves_over = cap_moves is not None and value.moves > cap_moves
        if per_pod is not None:
            added = added_pods(inst, node)
            moves_over |= not moves_within_ratio(value.moves, added, forced, per_pod)
        return (cap_evictions is not None and value.evictions > cap_evictions, moves_over)

    tried: set[int] = set()
    while any(over()):
        evictions_over, _ = over()
        leaving = (current >= 0) & (node != current) & inst.stay_ok
        leaving &= (node < 0) if evictions_over else (node >= 0)
        candidates = [int(p) for p in np.flatnonzero(leaving) if int(p) not in tried]
        if not candidates:
            break
        p = min(candidates, key=lambda q: (int(inst.priority[q]), -q))
        tried.add(p)
        trial = node.copy()
        trial[p] = current[p]
        newcomers = np.flatnonzero((trial == current[p]) & (current != current[p]))
        for q in sorted(newcomers.tolist(), key=lambda q: (int(inst.priority[q]), -q)):
            if not validate(inst, PodsSolution(trial)):
                break
            if current[q] < 0:  # only pending pods give their place up
                trial[q] = -1
        if not validate(inst, PodsSolution(trial)):
            node = trial
    if any(over()) or validate(inst, PodsSolution(node)):
        node = np.where(inst.stay_ok, current, -1)
    return node
