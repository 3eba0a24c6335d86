"""Rolling-horizon optimisation (RHO): a generic driver and the FJSP window adapter.

Long horizons make one monolithic model too large to solve well in time.
The driver decomposes the work along time:

1. **order** the work items (operations, activities, jobs) by their start in
   an initial schedule (a dispatching rule);
2. **take a window** of the next ``window`` uncommitted items;
3. **fix the rest**: committed items are held, items beyond the window are
   left out, and a fixing strategy may also hold some of the *overlap* (items
   that were already in the previous window);
4. **solve the window** with a sub-method (CP-SAT), warm-started from the
   current schedule and stopped early when it stalls;
5. **commit** the ``step`` earliest-starting items of the window and move on.

The problem-specific half is an adapter (:class:`WindowAdapter`); the FJSP
adapter is :class:`FJSPWindowAdapter`. An RCPSP or SMTT adapter implements
the same seven methods over its own items (activities, jobs).

Fixing strategies for the overlap
---------------------------------
``none``
    every window item is free (warm-started from the previous window).
``first-k``
    the ``fix_k`` earliest-starting overlap items are held (default: half
    of the overlap); the rest are free.
``all-with-hint``
    every overlap item is held at its previous window's value, which acts
    as the fixed hint; only the items new to the window are free.
``critical-path``
    overlap items on or near the critical path of the current schedule
    (slack at most ``slack``, or the ``free_share`` lowest-slack ones) are
    free, the others held: the idea of Graph-RHO's learned fixing, without
    a trained network. With ``neighbours`` (default) the job and machine
    neighbours of the near-critical items (what a critical move would swap
    with) are freed too; by default the others keep only their machine
    (``hold="machine"``), as Graph-RHO fixes assignments. With
    ``stable_only`` only those of the others that the previous solve left
    unchanged (see ``stable``) are held.
``stable``
    overlap items that the previous window's solve left unchanged are held:
    L-RHO's training label ("solution unchanged between consecutive
    windows") used directly as the prediction. Unchanged means the same
    placement with ``hold="start"`` and the same machine with
    ``hold="machine"``.

``hold`` says what holding means: ``"start"`` fixes a held item entirely
(its resource and time), ``"machine"`` fixes only its resource choice and
leaves its timing free, so the window keeps its sequencing freedom with far
fewer alternatives to branch on.

References
----------
Li, S., Ma, W., Zhang, Y., et al. (2025). Learning-guided rolling horizon
optimization for long-horizon flexible job-shop scheduling (L-RHO). ICLR 2025.
Li, S., et al. (2026). Graph-RHO: learned fixing for rolling-horizon
optimization in long-horizon scheduling.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from schedforge.core.budget import SEED_LIMIT, Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, makespan

__all__ = [
    "DEFAULT_HOLD",
    "FIXING",
    "HOLD",
    "WINDOWS",
    "FJSPWindowAdapter",
    "WindowAdapter",
    "rolling_horizon",
    "tight_window_search",
]

# CP-SAT workers per window when the budget names no thread count.
DEFAULT_THREADS = 2

FIXING = ("none", "first-k", "all-with-hint", "critical-path", "stable")
HOLD = ("start", "machine")
# What each strategy holds by default: first-k and all-with-hint keep the
# issue's meaning (held = fixed at the previous value); critical-path and
# stable hold only the assignment, the best trade-off measured
# (benchmarks/results/fjsp_long_horizon.md, "overlap fixing exploration").
DEFAULT_HOLD = {
    "none": "start",
    "first-k": "start",
    "all-with-hint": "start",
    "critical-path": "machine",
    "stable": "machine",
}


class WindowAdapter(Protocol):
    """The problem-specific half of :func:`rolling_horizon`.

    Items are integers ``0..n-1``. The adapter owns the current schedule,
    which must stay feasible for committed and window items at all times.
    """

    def order(self) -> Sequence[int]:
        """Every item, in the order it enters windows (precedence-consistent)."""

    def admit(self, items: Sequence[int]) -> None:
        """Place items that enter the window feasibly (the warm start for them)."""

    def starts(self, items: Sequence[int]) -> np.ndarray:
        """Current start time of each item."""

    def slacks(self, items: Sequence[int]) -> np.ndarray:
        """Slack of each item in the current schedule (0 on the critical path)."""

    def neighbours(self, items: Sequence[int]) -> set[int]:
        """Items adjacent to ``items`` in the current schedule.

        Their precedence predecessors and successors and their neighbours in
        each resource's sequence: the items a local move on ``items`` would
        swap with.
        """

    def solve(
        self,
        free: Sequence[int],
        held: Sequence[int],
        *,
        assigned: Sequence[int] = (),
        time_limit: float,
        seed: int,
        stall_time: float | None,
    ) -> dict[str, Any]:
        """Re-optimise the window; returns stats.

        ``free`` items are fully free, ``held`` ones (and committed ones) are
        fixed, ``assigned`` ones keep their resource choice (machine, mode)
        but their timing is free; an adapter whose items have no such
        choice treats them as free. The stats may hold ``improved`` (bool),
        ``changed`` (the solved items whose placement the solve changed),
        ``reassigned`` (those whose resource choice it changed), which the
        ``stable`` fixing reads, ``refused`` (the adapter undid a solve
        that made the whole schedule worse) and ``proven`` (the window's
        solve ended with a proof, not at a limit).
        """

    def commit(self, items: Sequence[int]) -> None:
        """Freeze ``items`` for good."""


def _choose_held(
    adapter: WindowAdapter,
    overlap: list[int],
    fixing: str,
    *,
    fix_k: int | None,
    slack: float,
    free_share: float | None,
    neighbours: bool,
    stable_only: bool,
    unchanged: set[int],
) -> list[int]:
    """The overlap items a fixing strategy holds (in full or their assignment only)."""
    if fixing == "none" or not overlap:
        return []
    if fixing == "all-with-hint":
        return list(overlap)
    if fixing == "stable":
        return [i for i in overlap if i in unchanged]
    if fixing == "first-k":
        k = len(overlap) // 2 if fix_k is None else min(fix_k, len(overlap))
        starts = adapter.starts(overlap)
        ranked = [overlap[i] for i in np.lexsort((np.asarray(overlap), starts))]
        return ranked[:k]
    slacks = np.asarray(adapter.slacks(overlap), dtype=float)
    if free_share is None:
        near = {i for i, s in zip(overlap, slacks, strict=True) if s <= slack}
    else:
        ranked = np.lexsort((np.asarray(overlap), slacks))
        near = {overlap[i] for i in ranked[: math.ceil(free_share * len(overlap))]}
    if neighbours and near:
        near |= adapter.neighbours(sorted(near))
    return [i for i in overlap if i not in near and (not stable_only or i in unchanged)]


def rolling_horizon(
    adapter: WindowAdapter,
    *,
    window: int,
    step: int,
    window_time_limit: float,
    stall_time: float | None = None,
    fixing: str = "none",
    hold: str | None = None,
    fix_k: int | None = None,
    slack: float = 0.0,
    free_share: float | None = None,
    neighbours: bool = True,
    stable_only: bool = False,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """Run the rolling-horizon loop on ``adapter``; the adapter holds the result.

    Parameters
    ----------
    adapter
        The problem's :class:`WindowAdapter`, holding a feasible initial schedule.
    window
        Items per window (L-RHO uses 80 operations).
    step
        Items committed after each window (L-RHO: 30); ``step <= window``.
    window_time_limit
        Seconds per window solve.
    stall_time
        Stop a window solve after this many seconds without improvement.
    fixing, fix_k, slack, free_share, neighbours, stable_only
        The overlap fixing strategy (see the module docstring) and its parameters.
    hold
        What holding an overlap item means: ``"start"`` fixes it entirely,
        ``"machine"`` fixes only its resource choice (``assigned`` in
        :meth:`WindowAdapter.solve`) and leaves its timing free; ``None``
        is the strategy's default (:data:`DEFAULT_HOLD`).
    budget
        The overall :class:`~schedforge.core.budget.Budget` (default: no
        time limit, seed 0); each window gets at most what is left of it,
        and when it runs out the loop stops and the items not yet committed
        keep their current (feasible) placement. Window ``k`` uses seed
        ``budget.seed + k``.

    Returns
    -------
    dict
        ``windows``, ``improved_windows``, ``refused_windows`` (solves the
        adapter undid, reported as ``refused``), ``unproven_windows`` (solves
        not reported ``proven``: stopped by a limit), ``free_items`` and ``held_items``
        (sums over windows; with ``hold="machine"`` the held items are the
        assignment-fixed ones), ``window_seconds`` and ``timed_out``.
    """
    if fixing not in FIXING:
        raise InvalidOption(f"fixing must be one of {', '.join(FIXING)}, got {fixing!r}")
    if hold is None:
        hold = DEFAULT_HOLD[fixing]
    if hold not in HOLD:
        raise InvalidOption(f"hold must be one of {', '.join(HOLD)}, got {hold!r}")
    if free_share is not None and not 0 <= free_share <= 1:
        raise InvalidOption(f"free_share must be in [0, 1], got {free_share}")
    if not 1 <= step <= window:
        raise InvalidOption(f"need 1 <= step <= window, got step={step}, window={window}")
    if window_time_limit <= 0:
        raise InvalidOption(f"window_time_limit must be positive, got {window_time_limit}")
    budget = Budget() if budget is None else budget
    order = list(adapter.order())
    pointer = 0
    current: list[int] = []
    previous: set[int] = set()
    unchanged: set[int] = set()  # window items the last solve left where they were
    stats: dict[str, Any] = {
        "windows": 0,
        "improved_windows": 0,
        "refused_windows": 0,
        "unproven_windows": 0,
        "free_items": 0,
        "held_items": 0,
        "window_seconds": 0.0,
        "timed_out": False,
    }
    while pointer < len(order) or current:
        entering = order[pointer : pointer + window - len(current)]
        pointer += len(entering)
        adapter.admit(entering)
        current += entering
        remaining = budget.remaining()
        if remaining is not None and remaining <= 0.05:
            stats["timed_out"] = True
            break
        overlap = [i for i in current if i in previous]
        chosen = _choose_held(
            adapter,
            overlap,
            fixing,
            fix_k=fix_k,
            slack=slack,
            free_share=free_share,
            neighbours=neighbours,
            stable_only=stable_only,
            unchanged=unchanged,
        )
        held, assigned = (chosen, []) if hold == "start" else ([], chosen)
        held_set = set(chosen)
        free = [i for i in current if i not in held_set]
        limit = window_time_limit if remaining is None else min(window_time_limit, remaining)
        began = time.perf_counter()
        if free:
            result = adapter.solve(
                free,
                held,
                assigned=assigned,
                time_limit=limit,
                seed=(budget.seed + stats["windows"]) % SEED_LIMIT,
                stall_time=stall_time,
            )
            stats["improved_windows"] += int(bool(result.get("improved")))
            stats["refused_windows"] += int(bool(result.get("refused")))
            stats["unproven_windows"] += int(not result.get("proven", False))
            # "Unchanged" in the sense of what a hold keeps: placement or assignment.
            moved = set(result.get("changed" if hold == "start" else "reassigned", current))
            unchanged = {i for i in current if i not in moved}
        stats["window_seconds"] += time.perf_counter() - began
        stats["windows"] += 1
        stats["free_items"] += len(free)
        stats["held_items"] += len(chosen)
        if pointer >= len(order):
            adapter.commit(current)
            current = []
            break
        starts = adapter.starts(current)
        ranked = [current[i] for i in np.lexsort((np.asarray(current), starts))]
        adapter.commit(ranked[:step])
        current = ranked[step:]
        previous = set(current)
    if current or pointer < len(order):
        rest = order[pointer:]
        adapter.admit(rest)
        adapter.commit(current + rest)
    return stats


class FJSPWindowAdapter:
    """Rolling-horizon adapter for the flexible job shop: items are operations.

    The schedule starts from a dispatching rule; operations entering a window
    are re-placed by earliest-gap insertion behind what is committed and in
    the window (so the warm start is feasible), and each window is solved by
    :func:`schedforge.solvers.cp.fjsp.solve_window`.
    """

    def __init__(
        self,
        instance: FJSPInstance,
        initial: FJSPSolution,
        *,
        threads: int = 1,
        sum_weight: int = 0,
    ):
        self.instance = instance
        self.threads = threads
        self.sum_weight = sum_weight
        self.machine = np.array(initial.machine, dtype=np.int64)
        self.start = np.array(initial.start, dtype=np.int64)
        self.initial_start = self.start.copy()
        self.placed = np.zeros(instance.num_operations, dtype=bool)
        self.committed = np.zeros(instance.num_operations, dtype=bool)
        self.job_of = instance.job_of
        self.alts = [instance.alternatives(o) for o in range(instance.num_operations)]
        # Busy intervals per machine of placed operations, sorted by start.
        self.busy: list[list[tuple[int, int, int]]] = [[] for _ in range(instance.num_machines)]
        n = instance.num_operations
        self._order = np.lexsort((np.arange(n), self.initial_start)).tolist()
        # The completed makespan of the schedule so far (see ``solve``'s guard).
        self.whole: int | None = None

    def _end(self, o: int) -> int:
        return int(self.start[o]) + self.alts[o][int(self.machine[o])]

    def order(self) -> list[int]:
        """Operations by start in the initial schedule (ties: operation index)."""
        return list(self._order)

    def admit(self, items: Sequence[int]) -> None:
        """Insert entering operations at their machine's earliest fitting gap."""
        for o in items:
            self._insert(int(o), self.start, self.busy)
            self.placed[int(o)] = True

    def _insert(self, o: int, start: np.ndarray, busy: list[list[tuple[int, int, int]]]) -> None:
        """Place ``o`` on its machine's earliest gap after its job predecessor, in ``start``/``busy``."""
        first = o == self.instance.job_offsets[self.job_of[o]]
        ready = int(self.instance.release[self.job_of[o]])
        if not first:
            ready = int(start[o - 1]) + self.alts[o - 1][int(self.machine[o - 1])]
        m = int(self.machine[o])
        p = self.alts[o][m]
        slots = busy[m]
        t = ready
        k = bisect.bisect_left(slots, (ready, -1, -1))
        # An interval starting before `ready` may still cover it.
        if k > 0 and slots[k - 1][1] > t:
            t = slots[k - 1][1]
        while k < len(slots) and slots[k][0] < t + p:
            t = max(t, slots[k][1])
            k += 1
        start[o] = t
        bisect.insort(slots, (t, t + p, o))

    def completed_makespan(self) -> int:
        """The makespan of the whole schedule if the operations not yet placed were admitted now.

        What the schedule would be if the loop stopped here; the guard of
        :meth:`solve` compares it before and after a window.
        """
        start = self.start.copy()
        busy = [list(slots) for slots in self.busy]
        for o in self._order:
            if not self.placed[o]:
                self._insert(o, start, busy)
        ends = [
            int(start[o]) + self.alts[o][int(self.machine[o])]
            for o in range(self.instance.num_operations)
        ]
        return max(ends, default=0)

    def _rebuild_busy(self) -> None:
        self.busy = [[] for _ in range(self.instance.num_machines)]
        for o in np.flatnonzero(self.placed):
            self.busy[int(self.machine[o])].append((int(self.start[o]), self._end(int(o)), int(o)))
        for slots in self.busy:
            slots.sort()

    def starts(self, items: Sequence[int]) -> np.ndarray:
        """Current start of each operation."""
        return self.start[np.asarray(items, dtype=np.int64)]

    def slacks(self, items: Sequence[int]) -> np.ndarray:
        """Total slack of each item in the schedule of the placed operations.

        Latest end (backwards over job and machine successors from the
        makespan of the placed operations) minus current end: 0 on the
        critical path.
        """
        placed = np.flatnonzero(self.placed)
        end = {int(o): self._end(int(o)) for o in placed}
        horizon = max(end.values())
        latest_end = dict.fromkeys(end, horizon)
        successors: dict[int, list[int]] = {o: [] for o in end}
        for o in end:
            if o + 1 in end and self.job_of[o + 1] == self.job_of[o]:
                successors[o].append(o + 1)
        for slots in self.busy:
            for (_, _, a), (_, _, b) in itertools.pairwise(slots):
                successors[a].append(b)
        for o in sorted(end, key=lambda o: (self.start[o], end[o], o), reverse=True):
            for nxt in successors[o]:
                dur = end[nxt] - int(self.start[nxt])
                latest_end[o] = min(latest_end[o], latest_end[nxt] - dur)
        return np.array([latest_end[int(o)] - end[int(o)] for o in items], dtype=float)

    def neighbours(self, items: Sequence[int]) -> set[int]:
        """Job predecessor and successor and machine predecessor and successor of each item."""
        position = {}
        for m, slots in enumerate(self.busy):
            for k, (_, _, o) in enumerate(slots):
                position[o] = (m, k)
        found: set[int] = set()
        for o in items:
            o = int(o)
            for other in (o - 1, o + 1):
                if 0 <= other < len(self.job_of) and self.job_of[other] == self.job_of[o]:
                    found.add(other)
            if o in position:
                m, k = position[o]
                slots = self.busy[m]
                found.update(slots[j][2] for j in (k - 1, k + 1) if 0 <= j < len(slots))
        return found

    def solve(
        self,
        free: Sequence[int],
        held: Sequence[int],
        *,
        assigned: Sequence[int] = (),
        time_limit: float,
        seed: int,
        stall_time: float | None,
    ) -> dict[str, Any]:
        """Re-optimise free and assigned operations with CP-SAT, holding committed ones that matter.

        ``assigned`` operations stay on their machine with a free start.
        """
        from schedforge.solvers.cp.fjsp import solve_window

        free_set = set(int(o) for o in free) | set(int(o) for o in assigned)
        fixed = set(int(o) for o in held)
        # Committed work that can still interact: job predecessors of free
        # operations, and machine intervals ending after the free work can start.
        earliest = min(
            int(self.instance.release[self.job_of[o]])
            if o == self.instance.job_offsets[self.job_of[o]]
            else (self._end(o - 1) if o - 1 not in free_set else math.inf)
            for o in free_set
        )
        for o in free_set:
            if o != self.instance.job_offsets[self.job_of[o]] and o - 1 not in free_set:
                fixed.add(o - 1)
        for slots in self.busy:
            for _, e, o in slots:
                if e > earliest and o not in free_set:
                    fixed.add(o)
        ops = sorted(free_set)
        before = [(int(self.machine[o]), int(self.start[o])) for o in ops]
        if self.whole is None:
            self.whole = self.completed_makespan()
        kept = self.machine.copy(), self.start.copy()
        improved, stats = solve_window(
            self.instance,
            free=ops,
            fixed=sorted(fixed),
            assigned=sorted(int(o) for o in assigned),
            machine=self.machine,
            start=self.start,
            time_limit=time_limit,
            seed=seed,
            threads=self.threads,
            stall_time=stall_time,
            sum_weight=self.sum_weight,
        )
        refused = False
        if improved:
            self._compact()
            # A window's objective sees only its own operations: a better
            # window can still leave the whole schedule (the operations yet
            # to come, admitted behind it) longer. Such a window is undone.
            whole = self.completed_makespan()
            if whole > self.whole:
                self.machine[:], self.start[:] = kept
                self._rebuild_busy()
                improved, refused = False, True
            else:
                self.whole = whole
        after = [(int(self.machine[o]), int(self.start[o])) for o in ops]
        pairs = list(zip(ops, before, after, strict=True))
        changed = [o for o, was, now in pairs if was != now]
        reassigned = [o for o, was, now in pairs if was[0] != now[0]]
        return {
            "improved": improved,
            "refused": refused,
            "proven": stats.get("cp_status") in ("OPTIMAL", "INFEASIBLE"),
            "changed": changed,
            "reassigned": reassigned,
            **stats,
        }

    def _compact(self) -> None:
        """Left-shift uncommitted placed operations, keeping every machine's sequence.

        A window solved for its makespan leaves non-critical operations
        wherever the solver put them; shifting them left gives later windows
        (and the slack computation of the critical-path fixing) a compact
        schedule. Moving earlier in sequence order never creates overlaps.
        """
        self._rebuild_busy()
        machine_prev = {}
        for slots in self.busy:
            for (_, _, a), (_, _, b) in itertools.pairwise(slots):
                machine_prev[b] = a
        placed = np.flatnonzero(self.placed)
        for o in placed[np.lexsort((placed, self.start[placed]))]:
            o = int(o)
            if self.committed[o]:
                continue
            first = o == self.instance.job_offsets[self.job_of[o]]
            ready = int(self.instance.release[self.job_of[o]]) if first else self._end(o - 1)
            if o in machine_prev:  # its current end stays valid: starts only move earlier
                ready = max(ready, self._end(machine_prev[o]))
            self.start[o] = min(int(self.start[o]), ready)
        self._rebuild_busy()

    def commit(self, items: Sequence[int]) -> None:
        """Freeze operations (their placement no longer changes)."""
        self.committed[np.asarray(items, dtype=np.int64)] = True

    def solution(self) -> FJSPSolution:
        """The current schedule of all operations."""
        return FJSPSolution(machine=self.machine.copy(), start=self.start.copy())


WINDOWS = ("tight", "rolling")


@method(
    "fjsp",
    "rh",
    variants=("cp",),
    default_stop=(
        "tight windows: tabu for `tabu_iterations` (200,000), then `max_windows` (200) windows "
        "or `patience` (60) without improvement; rolling: after the last window "
        "(each at most `window_time_limit`, default 5 s)"
    ),
    threads=DEFAULT_THREADS,
)
def rh_method(
    instance: FJSPInstance,
    variant: str,
    *,
    budget: Budget,
    windows: str = "tight",
    window: int = 80,
    step: int = 30,
    window_time_limit: float = 5.0,
    stall_time: float | None = 2.0,
    start_share: float = 0.8,
    tabu_iterations: int = 200_000,
    max_windows: int | None = 200,
    patience: int | None = 60,
    window_dtime: float | None = None,
    fixing: str = "none",
    hold: str | None = None,
    fix_k: int | None = None,
    slack: float | None = None,
    free_share: float | None = None,
    neighbours: bool = True,
    stable_only: bool = False,
    rule: str = "fifo-eet",
    sum_weight: int = 0,
) -> Outcome:
    """Rolling-horizon decomposition with CP-SAT windows.

    ``windows="tight"`` (default): start from the tabu search (``tabu``,
    run for ``start_share`` of the budget, or ``tabu_iterations``
    iterations without a time limit; it hands over early once
    max(200,000, 5,000 per operation) iterations bring nothing), then
    re-optimise windows of ``window`` operations around critical
    operations, the rest of the schedule fixed before the window and
    keeping its machines and order after it, accepting a window only if
    the whole makespan does not get worse (:func:`tight_window_search`:
    ``max_windows``, ``patience``, ``window_dtime``).

    ``windows="rolling"``: L-RHO without learning, from dispatching rule
    ``rule`` (active builder): windows of ``window`` operations, ``step``
    committed per window; ``fixing`` is one of none, first-k (``fix_k``),
    all-with-hint, critical-path (``slack``, default the mean shortest
    processing time, or ``free_share``; ``neighbours``, default on;
    ``stable_only``) and stable (see the module docstring); ``hold`` is
    ``"start"`` or ``"machine"``, default per strategy
    (:data:`DEFAULT_HOLD`). ``sum_weight`` adds that weight times the sum
    of end times to each window's makespan objective (times the window
    size). A window that makes the whole schedule longer (its operations
    and the ones still to come, admitted behind them) is undone
    (``stats["refused_windows"]``).

    Each window is solved by CP-SAT for at most ``window_time_limit`` s
    (stopped after ``stall_time`` s without improvement) with the budget's
    threads as CP-SAT workers (**2 by default**: multi-threaded). Every
    phase takes its time from the budget. The result is never worse than
    the start (the tabu schedule, or the rule's), ``stats["start_makespan"]``.
    """
    if windows not in WINDOWS:
        raise InvalidOption(f"windows must be one of {', '.join(WINDOWS)}, got {windows!r}")
    if windows == "tight":
        rolling_only = {
            "fixing": fixing != "none",
            "hold": hold is not None,
            "fix_k": fix_k is not None,
            "slack": slack is not None,
            "free_share": free_share is not None,
            "stable_only": stable_only,
            "step": step != 30,
            "rule": rule != "fifo-eet",
            "sum_weight": sum_weight != 0,
        }
        given = [name for name, set_ in rolling_only.items() if set_]
        if given:
            # Silently ignoring them would run something else than asked.
            raise InvalidOption(f"rh:cp options {', '.join(given)} apply to windows='rolling' only")
        return _rh_tight(
            instance,
            budget=budget,
            window=window,
            window_time_limit=window_time_limit,
            stall_time=stall_time,
            start_share=start_share,
            tabu_iterations=tabu_iterations,
            max_windows=max_windows,
            patience=patience,
            window_dtime=window_dtime,
        )
    from schedforge.heuristics.dispatch import dispatch

    initial = dispatch(instance, rule, builder="active")
    adapter = FJSPWindowAdapter(
        instance, initial, threads=budget.threads_or(DEFAULT_THREADS), sum_weight=sum_weight
    )
    if slack is None:
        slack = float(instance.min_duration.mean())
    stats = rolling_horizon(
        adapter,
        window=window,
        step=step,
        window_time_limit=window_time_limit,
        stall_time=stall_time,
        fixing=fixing,
        hold=hold,
        fix_k=fix_k,
        slack=slack,
        free_share=free_share,
        neighbours=neighbours,
        stable_only=stable_only,
        budget=budget,
    )
    # A window solve stopped by its limit or the stall clock stops at a
    # load-dependent point; one thread and proven windows are reproducible.
    stats["nondeterministic"] = (
        adapter.threads > 1 or stats["timed_out"] or stats["unproven_windows"] > 0
    )
    solution = adapter.solution()
    stats["start_makespan"] = makespan(instance, initial.machine, initial.start)
    if makespan(instance, solution.machine, solution.start) > stats["start_makespan"]:
        # Never worse than the start (the window guard should already ensure it).
        solution, stats["fallback"] = initial, "start"
    return Outcome(solution=solution, stats=stats)


# Tabu iterations without improvement, at least and per operation, after
# which the start hands over to the windows (as in ``cp``'s warm start).
_START_STALL = 200_000
_START_STALL_PER_OP = 5_000


def _rh_tight(
    instance: FJSPInstance,
    *,
    budget: Budget,
    window: int,
    window_time_limit: float,
    stall_time: float | None,
    start_share: float,
    tabu_iterations: int,
    max_windows: int | None,
    patience: int | None,
    window_dtime: float | None,
) -> Outcome:
    """``rh:cp`` with ``windows="tight"``: tabu start, then :func:`tight_window_search`."""
    from schedforge.heuristics.dispatch import best_rule_schedule
    from schedforge.heuristics.local_search.fjsp_tabu import tabu

    if not 0 < start_share < 1:
        raise InvalidOption(f"start_share must be in (0, 1), got {start_share!r}")
    if window < 1 or window_time_limit <= 0:
        raise InvalidOption(
            f"need window >= 1 and window_time_limit > 0, got {window}, {window_time_limit}"
        )
    rules = best_rule_schedule(instance, budget=budget.share(0.25))
    if budget.time_limit is None:
        phase, iterations = budget, tabu_iterations
    else:
        # Its share of what is left (the rules' time came out of it).
        phase, iterations = budget.share(start_share), None
    initial, tabu_stats = tabu(
        instance,
        rules,
        budget=phase,
        iterations=iterations,
        stall=max(_START_STALL, _START_STALL_PER_OP * instance.num_operations),
    )
    solution, stats = tight_window_search(
        instance,
        initial,
        budget=budget,
        window=window,
        window_time_limit=window_time_limit,
        stall_time=stall_time,
        window_dtime=window_dtime,
        max_windows=max_windows,
        patience=patience,
        threads=budget.threads_or(DEFAULT_THREADS),
    )
    start = makespan(instance, initial.machine, initial.start)
    stats["start_makespan"] = start
    stats["tabu_iterations"] = tabu_stats["iterations"]
    # The tabu phase's cut is load-dependent when the deadline, not a stop rule, ended it.
    stats["nondeterministic"] |= bool(tabu_stats["nondeterministic"])
    if makespan(instance, solution.machine, solution.start) > start:
        solution, stats["fallback"] = initial, "start"  # the window guard should prevent it
    return Outcome(solution=solution, stats=stats)


# The windows of the tight search start from a complete hint and are about
# improving it quickly: CP-SAT's probing and symmetry detection in presolve
# took seconds of a 1-5 s window on 600 operations and found nothing a
# window's search needs.
_WINDOW_PARAMETERS = {"cp_model_probing_level": 0, "symmetry_level": 0}


def _heads_and_slacks(instance: FJSPInstance, solution: FJSPSolution):
    """The semi-active schedule of ``solution``'s machine sequences, its makespan, slacks, durations.

    Sequences are read from the start times; the schedule is rebuilt by
    longest paths in the disjunctive graph (never later than ``solution``).
    Slack of ``o`` = makespan - (head + duration + tail): 0 on a critical path.
    """
    from schedforge.heuristics.local_search.fjsp import evaluate_linked
    from schedforge.heuristics.local_search.fjsp_tabu import TabuState

    state = TabuState(instance, solution)
    n = instance.num_operations
    dur = instance.durations[state.alt].astype(np.int64)
    head, tail = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    cmax = evaluate_linked(
        dur, state.job_prev, state.job_next, state.release_of, state.mprev, state.mnext,
        head, tail, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
    )  # fmt: skip
    if cmax < 0:
        raise RuntimeError("window search produced cyclic machine sequences")
    machine = instance.machines[state.alt].astype(np.int64)
    return FJSPSolution(machine=machine, start=head), int(cmax), cmax - (head + dur + tail), dur


def _tight_window(
    instance: FJSPInstance,
    solution: FJSPSolution,
    slack: np.ndarray,
    size: int,
    rng: np.random.Generator,
    visits: np.ndarray,
) -> list[int]:
    """The ``size`` operations of a window around a critical operation.

    The centre is a critical operation (slack 0), drawn with weight
    ``1 / (1 + visits)`` so regions already tried give way to others; the
    window takes the operations closest to it in time, each operation's
    distance counted plus its slack, so it gathers the tight work (critical
    operations and those on loaded machines with little slack) around the
    centre.
    """
    critical = np.flatnonzero(slack == 0)
    weight = 1.0 / (1.0 + visits[critical])
    centre = int(critical[rng.choice(len(critical), p=weight / weight.sum())])
    start = np.asarray(solution.start)
    key = np.abs(start - start[centre]) + slack
    chosen = np.lexsort((np.arange(len(key)), key))[:size]
    visits[chosen] += 1
    return sorted(int(o) for o in chosen)


def _rest_in_order(free, start, machine, ends):
    """Fixed, assigned operations and machine chains when the rest keeps its order.

    Operations strictly before the window's start are fixed (no window
    operation precedes them); every later one keeps its machine and its
    order on that machine with a free start.
    """
    n = len(start)
    earliest = int(start[free].min())
    window_set = set(free)
    fixed = [
        o for o in range(n) if o not in window_set and start[o] < earliest and ends[o] <= earliest
    ]
    fixed_set = set(fixed)
    assigned = [o for o in range(n) if o not in window_set and o not in fixed_set]
    chains: list[tuple[int, int]] = []
    by_machine: dict[int, list[int]] = {}
    for o in sorted(assigned, key=lambda o: (start[o], ends[o], o)):
        by_machine.setdefault(int(machine[o]), []).append(o)
    for seq in by_machine.values():
        chains += list(itertools.pairwise(seq))
    return fixed, assigned, chains


def _rest_in_time(instance: FJSPInstance, free, start, ends) -> list[int]:
    """The operations held in time around a window whose rest is fixed in time.

    Those a window operation can meet: job neighbours of window operations
    and every operation overlapping the span from the earliest a window
    operation can start to the window's horizon (its latest end plus the
    longest processing time, as :func:`~schedforge.solvers.cp.fjsp.solve_window`).
    """
    window_set = set(free)
    job_of, offsets = instance.job_of, instance.job_offsets
    held: set[int] = set()
    low = []
    for o in free:
        first = o == offsets[job_of[o]]
        if not first and o - 1 not in window_set:
            held.add(o - 1)
        last = o + 1 == offsets[job_of[o] + 1]
        if not last and o + 1 not in window_set:
            held.add(o + 1)
        low.append(int(instance.release[job_of[o]]) if first else int(ends[o - 1]))
    lo = min(low)
    hi = int(ends[free].max()) + int(instance.durations.max())
    around = np.flatnonzero((ends > lo) & (start < hi))
    held.update(int(o) for o in around if int(o) not in window_set)
    return sorted(held)


def tight_window_search(
    instance: FJSPInstance,
    initial: FJSPSolution,
    *,
    budget: Budget,
    window: int = 80,
    window_time_limit: float = 5.0,
    stall_time: float | None = 1.0,
    window_dtime: float | None = None,
    max_windows: int | None = 200,
    patience: int | None = 60,
    threads: int = 1,
    sum_weight: int = 1,
    rest: str = "order",
) -> tuple[FJSPSolution, dict[str, Any]]:
    """Improve a complete schedule by CP-SAT windows where it is tight (large neighbourhood search).

    Each round picks ``window`` operations around a critical operation
    (:func:`_tight_window`) and re-optimises them with CP-SAT, the rest of
    the schedule taking part as follows: operations that end before the
    window's earliest start are fixed (nothing in the window precedes
    them); every later operation keeps its machine and its order on that
    machine but its start is free, so the model's makespan is the whole
    schedule's and time the window saves propagates to the end. The current
    schedule is the solver's hint. A window's result is accepted only when
    the whole makespan does not get worse (equal is accepted: it moves the
    search along a plateau), so the result is never worse than ``initial``.

    With ``rest="time"`` the rest is instead fixed in time (only the
    operations a window can meet enter its model, :func:`_rest_in_time`):
    a far smaller model whose gains reach the end of the schedule only
    through the left shift that follows each window. The window objective
    is the model's makespan times its size plus ``sum_weight`` times the sum
    of end times (see :func:`~schedforge.solvers.cp.fjsp.build_model`), so
    a window that cannot shorten the makespan still compacts its work.

    Stops at the budget's deadline, after ``max_windows`` windows, after
    ``patience`` windows in a row that did not lower the makespan, at the
    instance's lower bound, or once a window holding every operation is
    solved to optimality (``None`` disables a limit). Window ``k`` solves
    with seed ``budget.seed + k`` for at most ``window_time_limit`` s of
    what is left of the budget, stopping after ``stall_time`` s without
    improvement and, if given, at ``window_dtime`` deterministic time.

    Returns
    -------
    (solution, stats)
        The best schedule (semi-active) and ``windows``, ``improved_windows``
        (lowered the makespan), ``accepted_windows`` (changed the schedule
        without making it longer), ``refused_windows``, ``unproven_windows``,
        ``window_seconds``, ``timed_out`` and ``nondeterministic`` (some
        window was stopped by the wall clock or the stall clock).
    """
    from schedforge.problems.fjsp import lower_bound
    from schedforge.solvers.cp.fjsp import solve_window

    if rest not in ("order", "time"):
        raise InvalidOption(f"rest must be 'order' or 'time', got {rest!r}")
    n = instance.num_operations
    size = min(window, n)
    current, cmax, slack, dur = _heads_and_slacks(instance, initial)
    target = lower_bound(instance)
    rng = np.random.default_rng(budget.seed)
    visits = np.zeros(n, dtype=np.int64)
    stats: dict[str, Any] = {
        "windows": 0,
        "improved_windows": 0,
        "accepted_windows": 0,
        "refused_windows": 0,
        "unproven_windows": 0,
        "window_seconds": 0.0,
        "timed_out": False,
        "nondeterministic": False,
    }
    idle = 0
    while cmax > target:
        if max_windows is not None and stats["windows"] >= max_windows:
            break
        if patience is not None and idle >= patience:
            break
        remaining = budget.remaining()
        if remaining is not None and remaining <= 0.05:
            stats["timed_out"] = True
            break
        free = _tight_window(instance, current, slack, size, rng, visits)
        start, machine = np.array(current.start), np.array(current.machine)
        ends = start + dur
        window_set = set(free)
        if rest == "order":
            fixed, assigned, chains = _rest_in_order(free, start, machine, ends)
        else:
            fixed, assigned, chains = _rest_in_time(instance, free, start, ends), [], []
        limit = window_time_limit if remaining is None else min(window_time_limit, remaining)
        began = time.perf_counter()
        changed, result = solve_window(
            instance,
            free=sorted(window_set.union(assigned)),
            fixed=fixed,
            assigned=assigned,
            machine=machine,
            start=start,
            time_limit=limit,
            seed=(budget.seed + stats["windows"]) % SEED_LIMIT,
            threads=threads,
            stall_time=stall_time,
            chains=chains,
            deterministic_time=window_dtime,
            sum_weight=sum_weight,
            parameters=_WINDOW_PARAMETERS,
        )
        stats["window_seconds"] += time.perf_counter() - began
        stats["windows"] += 1
        proven = result.get("cp_status") in ("OPTIMAL", "INFEASIBLE")
        if not proven:
            stats["unproven_windows"] += 1
            by_dtime = (
                window_dtime is not None
                and stall_time is None
                and result.get("deterministic_time", 0.0) >= 0.999 * window_dtime
            )
            stats["nondeterministic"] |= not by_dtime
        lowered = False
        if changed:
            found, found_cmax, found_slack, found_dur = _heads_and_slacks(
                instance, FJSPSolution(machine=machine, start=start)
            )
            if found_cmax <= cmax:
                lowered = found_cmax < cmax
                current, cmax, slack, dur = found, found_cmax, found_slack, found_dur
                stats["accepted_windows"] += 1
                stats["improved_windows"] += int(lowered)
            else:
                stats["refused_windows"] += 1
        idle = 0 if lowered else idle + 1
        if proven and size == n:
            break  # the whole instance was solved to optimality
    stats["nondeterministic"] |= stats["timed_out"] or threads > 1
    return current, stats
