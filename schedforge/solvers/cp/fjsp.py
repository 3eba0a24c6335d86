"""CP-SAT for the flexible job shop, for the whole instance or a rolling-horizon window.

The model follows the usual interval formulation (e.g. the OR-Tools
flexible job shop example; PyJobShop, Lancia et al. 2025): variables,
constraints, objective in that order, the same shape as the other
``solvers/cp`` modules.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption
from schedforge.core.registry import method
from schedforge.core.result import Outcome, Status
from schedforge.problems.fjsp import FJSPInstance, FJSPSolution, lower_bound, makespan
from schedforge.solvers.cp.runner import import_cp_model, run_cp_sat

__all__ = ["FJSPModel", "build_model", "solve_window", "trivial_horizon"]

# Without a time limit (registered as default_stop), and CP-SAT's workers.
DEFAULT_TIME_LIMIT = 60.0
DEFAULT_THREADS = 2
# Tabu iterations without improvement, at least and per operation, after
# which the warm start hands over to CP-SAT early (a fraction of a second on
# the small instances CP-SAT proves at once, seconds on 300 operations, where
# CP-SAT with few workers seldom improves a good tabu schedule).
_SEARCH_STALL = 200_000
_SEARCH_STALL_PER_OP = 5_000
# Operations added to a model between two looks at the clock.
_CHECK_EVERY = 16
# Seconds kept back from CP-SAT's limit, fixed and per 1,000 operations:
# handing the model over (CP-SAT's limit counts from after the copy), its
# overshoot of the limit, and reading the schedule back. Measured on SD2
# instances of 600 and 2,000 operations on a loaded 2-core machine
# (benchmarks/results/time_limits.md).
_RESERVE = 0.05
_RESERVE_PER_1000 = 0.15


@dataclass
class FJSPModel:
    """A built CP-SAT model and its variables.

    Attributes
    ----------
    model
        The ``cp_model.CpModel``.
    ops
        The free operations, in the order of ``start``.
    start, end, duration
        Start, end and duration variable of each free operation (dict by operation).
    choice
        ``(machine, presence literal)`` per free operation.
    cmax
        The makespan variable of the free operations.
    """

    model: Any
    ops: list[int]
    start: dict[int, Any] = field(default_factory=dict)
    end: dict[int, Any] = field(default_factory=dict)
    duration: dict[int, Any] = field(default_factory=dict)
    choice: dict[int, list[tuple[int, Any]]] = field(default_factory=dict)
    cmax: Any = None

    def hint(self, instance: FJSPInstance, machine: np.ndarray, start: np.ndarray):
        """``(variable, value)`` pairs of a full schedule, for :func:`run_cp_sat`."""
        pairs = [(self.cmax, 0)]
        worst = 0
        for o in self.ops:
            m, s = int(machine[o]), int(start[o])
            e = s + instance.alternatives(o)[m]
            worst = max(worst, e)
            pairs += [(self.start[o], s), (self.end[o], e), (self.duration[o], e - s)]
            if len(self.choice[o]) > 1:  # a single choice is the shared constant 1
                pairs += [(lit, int(mm == m)) for mm, lit in self.choice[o]]
        pairs[0] = (self.cmax, worst)
        return pairs

    def read(self, solver: Any, machine: np.ndarray, start: np.ndarray) -> None:
        """Write the incumbent's machines and starts of the free operations in place."""
        for o in self.ops:
            start[o] = solver.value(self.start[o])
            machine[o] = next(m for m, lit in self.choice[o] if solver.boolean_value(lit))


def build_model(
    instance: FJSPInstance,
    *,
    free: Sequence[int] | None = None,
    fixed: Sequence[int] = (),
    assigned: Sequence[int] = (),
    machine: np.ndarray | None = None,
    start: np.ndarray | None = None,
    horizon: int,
    sum_weight: int = 0,
    budget: Budget | None = None,
) -> FJSPModel | None:
    r"""The interval model of the free operations, with fixed ones as constants; ``None`` if out of time.

    For each free operation ``o`` with eligible machines ``M_o``:

    .. math::

        &\min\; C + w \sum_{o} E_o \\
        &\text{s.t.}\; \sum_{m \in M_o} x_{om} = 1, \quad
           x_{om} \Rightarrow E_o = S_o + p_{om}
           \quad\text{(optional interval per machine)} \\
        &I_o = [S_o, E_o) \text{ with } \min_m p_{om} \le E_o - S_o \le \max_m p_{om}
           \quad\text{(one interval per operation)} \\
        &S_{o'} \ge E_o \text{ for consecutive operations } o, o' \text{ of a job},
           \quad S_o \ge r_j \\
        &\text{NoOverlap}(\{I_{om} : x_{om}\} \cup \text{fixed intervals on } m)
           \quad \forall m, \qquad C \ge E_o .

    Parameters
    ----------
    instance
        The instance.
    free
        Operations to schedule (all when ``None``). Their job predecessors
        must be free or fixed; a fixed job successor bounds their end.
    fixed
        Operations whose ``machine`` and ``start`` are given: they occupy
        their machine and release their job successor.
    assigned
        Free operations whose machine is given by ``machine``: one interval
        on that machine with a free start (no machine choice), so the
        window keeps their sequencing freedom with fewer optional intervals.
    machine, start
        Arrays over all operations holding the fixed operations' values
        (and the assigned operations' machines).
    horizon
        Upper bound on every end time (e.g. a heuristic's makespan).
    sum_weight
        Weight ``w`` of the sum of end times next to the makespan (the
        rolling-horizon windows use it to keep non-critical work early).
    budget
        Building stops, returning ``None``, when this budget expires (on
        thousands of operations building takes seconds).
    """
    cp_model = import_cp_model()
    model = cp_model.CpModel()
    ops = list(range(instance.num_operations)) if free is None else sorted(int(o) for o in free)
    built = FJSPModel(model=model, ops=ops)
    job_of = instance.job_of
    fixed_end = {}
    per_machine: list[list[Any]] = [[] for _ in range(instance.num_machines)]
    for o in fixed:
        m, s = int(machine[o]), int(start[o])
        p = instance.alternatives(int(o))[m]
        fixed_end[int(o)] = s + p
        per_machine[m].append(model.new_fixed_size_interval_var(s, p, f"fixed{o}"))
    pinned = {int(o) for o in assigned}
    # Variables: one interval per operation, one optional interval per machine.
    for k, o in enumerate(ops):
        if budget is not None and k % _CHECK_EVERY == 0 and budget.expired():
            return None
        alts = instance.alternatives(o)
        if o in pinned:
            alts = {int(machine[o]): alts[int(machine[o])]}
        low = int(instance.release[job_of[o]])
        prev = o - 1
        if o > instance.job_offsets[job_of[o]] and prev in fixed_end:
            low = max(low, fixed_end[prev])
        s = model.new_int_var(low, horizon, f"s{o}")
        e = model.new_int_var(low, horizon, f"e{o}")
        d = model.new_int_var(min(alts.values()), max(alts.values()), f"d{o}")
        model.new_interval_var(s, d, e, f"op{o}")
        built.start[o], built.end[o], built.duration[o] = s, e, d
        choice = []
        for m, p in alts.items():
            lit = model.new_constant(1) if len(alts) == 1 else model.new_bool_var(f"x{o}_{m}")
            per_machine[m].append(
                model.new_optional_fixed_size_interval_var(s, p, lit, f"i{o}_{m}")
            )
            if len(alts) > 1:
                model.add(d == p).only_enforce_if(lit)
            choice.append((m, lit))
        if len(alts) > 1:
            model.add_exactly_one(lit for _, lit in choice)
        built.choice[o] = choice
    # Constraints: job chains and machine capacities.
    free_set = set(ops)
    fixed_start = {int(o): int(start[o]) for o in fixed}
    for o in ops:
        if o > instance.job_offsets[job_of[o]] and o - 1 in free_set:
            model.add(built.start[o] >= built.end[o - 1])
        if o + 1 in fixed_start and job_of[o + 1] == job_of[o]:
            model.add(built.end[o] <= fixed_start[o + 1])  # a held successor
    for intervals in per_machine:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    # Objective: makespan (of the free operations), optionally plus the sum of ends.
    built.cmax = model.new_int_var(0, horizon, "cmax")
    last = [o for o in ops if o + 1 not in free_set or job_of[o + 1] != job_of[o]]
    model.add_max_equality(built.cmax, [built.end[o] for o in last])
    if sum_weight:
        model.minimize(len(ops) * built.cmax + sum_weight * sum(built.end[o] for o in ops))
    else:
        model.minimize(built.cmax)
    return built


def trivial_horizon(instance: FJSPInstance) -> int:
    """An upper bound on the makespan of every semi-active schedule, from the instance alone.

    The latest release date plus the sum over operations of their *longest*
    eligible processing time. In a semi-active schedule (no operation can
    start earlier without changing a machine sequence) the last operation
    is reached by a chain of operations that each start when their job or
    machine predecessor ends, beginning at a release date; the chain's
    length is at most the sum of all chosen processing times. With the
    longest times the bound holds for every machine assignment, so this
    horizon cuts off no semi-active schedule (the sum of the *shortest*
    times would still keep an optimum, but would forbid slow machines in
    loose schedules). The OR-Tools flexible job shop example uses the same.
    """
    longest = np.maximum.reduceat(instance.durations, instance.op_offsets[:-1])
    return int(instance.release.max()) + int(longest.sum())


@method(
    "fjsp",
    "cp",
    exact=True,
    default_stop="60 s, or a proven optimum",
    threads=DEFAULT_THREADS,
)
def cp_method(
    instance: FJSPInstance,
    *,
    budget: Budget,
    hint: bool = True,
    search_share: float = 0.8,
) -> Outcome:
    """CP-SAT interval model (optional interval per eligible machine, no-overlap per machine).

    The budget covers the rules, the model and CP-SAT (no time limit means
    60 s); its threads are CP-SAT workers, **2 by default**
    (multi-threaded). Option ``hint``:

    - ``hint=True`` (default): warm start from the tabu search (``tabu``)
      run for ``search_share`` of the budget (default 0.8; 0 means the best
      of a few dispatching rules only), whose makespan also caps the
      horizon; when CP-SAT finds nothing better in time the warm start is
      returned (``stats["fallback"]``), so the result is never worse than
      it (``stats["start_objective"]``).
    - ``hint=False``: plain CP-SAT, no heuristic at all (the baseline of
      L-RHO, Li et al. 2025). The horizon is :func:`trivial_horizon`, from the
      instance alone; without a schedule in time the status is
      ``NO_SOLUTION``.
    """
    budget = budget.or_default(DEFAULT_TIME_LIMIT)
    if not 0 <= search_share < 1:
        raise InvalidOption(f"search_share must be in [0, 1), got {search_share!r}")
    warm = "best rule"
    if hint:
        from schedforge.heuristics.dispatch import best_rule_schedule

        incumbent = best_rule_schedule(instance, budget=budget.share(0.25))
        if search_share > 0:
            from schedforge.heuristics.local_search.fjsp_tabu import tabu

            # Takes its share of what is left; the rules' time came out of it.
            # Stops early once stalled, when CP-SAT is the better use of the time.
            incumbent, _ = tabu(
                instance,
                incumbent,
                budget=budget.share(search_share),
                stall=max(_SEARCH_STALL, _SEARCH_STALL_PER_OP * instance.num_operations),
            )
            warm = "tabu"
        horizon = makespan(instance, incumbent.machine, incumbent.start)
    else:
        incumbent, horizon = None, trivial_horizon(instance)
    reserve = _RESERVE + _RESERVE_PER_1000 * instance.num_operations / 1000
    left = budget.remaining()
    built = build_model(instance, horizon=horizon, budget=budget.until(left - reserve))
    if built is None:
        stats = {"reason": "the time limit expired while the model was built"}
        if incumbent is None:
            return Outcome(status=Status.NO_SOLUTION, stats={**stats, "nondeterministic": True})
        return Outcome(
            solution=incumbent,
            status=Status.FEASIBLE,
            stats={**stats, "fallback": warm, "start_objective": horizon},
        )
    built.model.add(built.cmax >= lower_bound(instance))
    pairs = built.hint(instance, incumbent.machine, incumbent.start) if hint else None
    run = run_cp_sat(
        built.model,
        time_limit=max(budget.remaining() - reserve, 0.0),
        seed=budget.seed,
        threads=budget.threads_or(DEFAULT_THREADS),
        hint=pairs,
    )
    if not run.status.has_solution:
        if incumbent is None:
            return Outcome(status=run.status, bound=run.bound, stats=run.stats)
        # The rule's schedule is feasible even when CP-SAT found nothing in time.
        status = Status.FEASIBLE if run.status is Status.NO_SOLUTION else run.status
        stats = {**run.stats, "fallback": warm, "start_objective": horizon}
        return Outcome(solution=incumbent, status=status, bound=run.bound, stats=stats)
    machine = np.zeros(instance.num_operations, dtype=np.int64)
    start = np.zeros(instance.num_operations, dtype=np.int64)
    built.read(run.solver, machine, start)
    stats = dict(run.stats)
    if incumbent is not None:
        stats["start_objective"] = horizon
        if makespan(instance, machine, start) > horizon:
            # CP-SAT's incumbent is worse than its warm start (it did not
            # take the hint in time): the warm start is the answer.
            stats["fallback"] = warm
            return Outcome(solution=incumbent, status=Status.FEASIBLE, bound=run.bound, stats=stats)
    return Outcome(
        solution=FJSPSolution(machine=machine, start=start),
        status=run.status,
        bound=run.bound,
        objective=run.objective,
        stats=stats,
    )


def solve_window(
    instance: FJSPInstance,
    *,
    free: Sequence[int],
    fixed: Sequence[int],
    machine: np.ndarray,
    start: np.ndarray,
    time_limit: float,
    assigned: Sequence[int] = (),
    seed: int,
    threads: int = 1,
    stall_time: float | None = None,
    sum_weight: int = 0,
    chains: Sequence[tuple[int, int]] = (),
    deterministic_time: float | None = None,
    parameters: dict[str, Any] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Re-optimise the ``free`` operations of a schedule, the ``fixed`` ones held.

    ``machine`` and ``start`` hold a feasible schedule of ``free`` and
    ``fixed`` (the warm start); the improved values of the free operations
    are written into them in place. The window objective is the makespan of
    the free operations, plus ``sum_weight`` times the sum of their end times
    (see :func:`build_model`). ``assigned`` operations (a subset of ``free``)
    keep their machine; only their start is free.

    Parameters
    ----------
    stall_time
        Stop when the incumbent has not improved for this many seconds
        (the early stop of L-RHO, Li et al. 2025); ``None`` waits for the
        time limit or a proof.
    chains
        Pairs ``(a, b)`` of free operations where ``b`` must start after
        ``a`` ends (e.g. keeping the current order of ``assigned``
        operations on their machine).
    deterministic_time
        CP-SAT's deterministic time limit (work units, not seconds): with
        one thread, a solve stopped by it is reproducible.
    parameters
        Further CP-SAT parameters by name (e.g. ``{"symmetry_level": 0}``).

    Returns
    -------
    (improved, stats)
        Whether the schedule changed, and CP-SAT's statistics.

    ``time_limit`` covers building the window's model and solving it.
    """
    cp_model = import_cp_model()
    began = time.perf_counter()
    free = list(free)
    horizon = int(max(start[o] + instance.alternatives(o)[int(machine[o])] for o in free))
    horizon += int(instance.durations.max())  # room to reorder the tail
    built = build_model(
        instance,
        free=free,
        fixed=fixed,
        assigned=assigned,
        machine=machine,
        start=start,
        horizon=horizon,
        sum_weight=sum_weight,
    )
    for a, b in chains:
        built.model.add(built.start[int(b)] >= built.end[int(a)])
    for var, value in built.hint(instance, machine, start):
        built.model.add_hint(var, int(value))
    solver = cp_model.CpSolver()
    # The limit covers building too: the solver gets what is left of it.
    left = float(time_limit) - (time.perf_counter() - began)
    solver.parameters.max_time_in_seconds = max(left - _RESERVE, 1e-3)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(threads)
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = float(deterministic_time)
    for name, value in (parameters or {}).items():
        setattr(solver.parameters, name, value)
    watcher = _StallWatcher(solver, stall_time)
    code = solver.solve(built.model, watcher.callback)
    watcher.stop()
    stats = {
        "cp_status": solver.status_name(code),
        "wall_time": solver.wall_time,
        "deterministic_time": solver.response_proto.deterministic_time,
    }
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False, stats
    before = {o: (int(machine[o]), int(start[o])) for o in free}
    built.read(solver, machine, start)
    changed = any(before[o] != (int(machine[o]), int(start[o])) for o in free)
    return changed, stats


class _StallWatcher:
    """Solution callback that stops CP-SAT after ``stall_time`` s without improvement."""

    def __init__(self, solver: Any, stall_time: float | None) -> None:
        cp_model = import_cp_model()

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(inner) -> None:
                self.last = time.perf_counter()

        self.callback = Callback()
        self.solver = solver
        self.stall_time = stall_time
        self.last = time.perf_counter()
        self._done = threading.Event()
        self._thread = None
        if stall_time is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            if time.perf_counter() - self.last > self.stall_time:
                self.solver.stop_search()
                return

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
