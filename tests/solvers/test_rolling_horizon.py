"""The generic rolling-horizon driver (with a recording adapter) and the FJSP rh:cp method."""

from __future__ import annotations

import numpy as np
import pytest

import schedforge as sf
from schedforge.core.budget import Budget
from schedforge.problems.fjsp import validate
from schedforge.solvers.rolling_horizon import FIXING, FJSPWindowAdapter, rolling_horizon


class Recorder:
    """A toy adapter: item i starts at time i; windows are recorded, nothing moves."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.admitted: list[int] = []
        self.committed: list[int] = []
        self.windows: list[tuple[list[int], list[int]]] = []
        self.assigned: list[list[int]] = []

    def order(self):
        return list(range(self.n))

    def admit(self, items):
        self.admitted += list(items)

    def starts(self, items):
        return np.asarray(items, dtype=float)

    def slacks(self, items):
        return np.array([0.0 if i % 2 == 0 else 10.0 + i for i in items])

    def neighbours(self, items):
        return {j for i in items for j in (i - 1, i + 1) if 0 <= j < self.n}

    def solve(self, free, held, *, assigned=(), time_limit, seed, stall_time):
        assert time_limit > 0
        self.windows.append((sorted(free), sorted(held)))
        self.assigned.append(sorted(assigned))
        changed = [i for i in list(free) + list(assigned) if i % 3 == 0]
        return {"improved": False, "changed": changed, "reassigned": changed[:1]}

    def commit(self, items):
        self.committed += list(items)


@pytest.mark.parametrize("fixing", FIXING)
def test_driver_windows_commits_and_fixing(fixing):
    toy = Recorder(20)
    stats = rolling_horizon(
        toy, window=8, step=3, window_time_limit=1.0, fixing=fixing, fix_k=2, neighbours=False
    )
    assert sorted(toy.committed) == list(range(20)) and sorted(toy.admitted) == list(range(20))
    assert stats["windows"] == len(toy.windows) == 5  # 8, then 3 new per window until 20
    first_free, first_held = toy.windows[0]
    assert first_free == list(range(8)) and first_held == []
    free, held = toy.windows[1]
    # critical-path and stable hold the machine only by default: held items come as `assigned`.
    assert held == [] or toy.assigned[1] == []
    held = sorted(held + toy.assigned[1])
    overlap = list(range(3, 8))  # the previous window minus the 3 committed
    assert sorted(free + held) == list(range(3, 11))
    expected = {
        "none": [],
        "first-k": [3, 4],
        "all-with-hint": overlap,
        "critical-path": [3, 5, 7],  # odd items are "off the critical path"
        "stable": overlap,  # window 0 reassigned only item 0
    }[fixing]
    assert held == expected
    assert stats["held_items"] == sum(
        len(h) + len(a) for (_, h), a in zip(toy.windows, toy.assigned, strict=True)
    )


@pytest.mark.parametrize(
    ("options", "held"),
    [
        ({"neighbours": False}, [3, 5, 7]),
        ({"free_share": 0.4, "neighbours": False}, [3, 5, 7]),  # the two lowest slacks: 4, 6
        ({"free_share": 0.6, "neighbours": False}, [5, 7]),  # then 3 (slack 13)
        ({"free_share": 0.2}, [6, 7]),  # 4 and its neighbours 3, 5 (neighbours by default)
    ],
)
@pytest.mark.parametrize("hold", ["start", "machine"])
def test_driver_critical_path_options(options, held, hold):
    toy = Recorder(20)
    rolling_horizon(
        toy, window=8, step=3, window_time_limit=1.0, fixing="critical-path", hold=hold, **options
    )
    free, fixed = toy.windows[1]
    if hold == "start":
        assert fixed == held and toy.assigned[1] == []
    else:  # held items keep only their assignment: they reach the adapter as `assigned`
        assert fixed == [] and toy.assigned[1] == held
    assert sorted(free + held) == list(range(3, 11))


def test_driver_stable_with_machine_hold_reads_reassignments():
    toy = Recorder(20)
    rolling_horizon(toy, window=8, step=3, window_time_limit=1.0, fixing="stable", hold="machine")
    # Window 0 reassigned only item 0, so the whole overlap 3..7 keeps its machines.
    assert toy.windows[1] == ([8, 9, 10], []) and toy.assigned[1] == [3, 4, 5, 6, 7]
    # critical-path holds 3, 5, 7; stable_only keeps those window 0 did not move (0, 3, 6 moved).
    toy = Recorder(20)
    rolling_horizon(
        toy,
        window=8,
        step=3,
        window_time_limit=1.0,
        fixing="critical-path",
        hold="start",
        neighbours=False,
        stable_only=True,
    )
    assert toy.windows[1][1] == [5, 7]


def test_driver_rejects_bad_options():
    with pytest.raises(sf.InvalidOption, match="fixing must be one of"):
        rolling_horizon(Recorder(3), window=2, step=1, window_time_limit=1, fixing="some")
    with pytest.raises(sf.InvalidOption, match="step <= window"):
        rolling_horizon(Recorder(3), window=2, step=3, window_time_limit=1)
    with pytest.raises(sf.InvalidOption, match="hold must be one of"):
        rolling_horizon(Recorder(3), window=2, step=1, window_time_limit=1, hold="job")
    with pytest.raises(sf.InvalidOption, match="free_share"):
        rolling_horizon(Recorder(3), window=2, step=1, window_time_limit=1, free_share=2)


def test_driver_stops_on_the_overall_time_limit():
    class Slow(Recorder):
        def solve(self, free, held, *, assigned=(), time_limit, seed, stall_time):
            import time

            time.sleep(min(time_limit, 0.2))
            return super().solve(
                free, held, time_limit=time_limit, seed=seed, stall_time=stall_time
            )

    toy = Slow(100)
    stats = rolling_horizon(
        toy, window=10, step=2, window_time_limit=1.0, budget=Budget(time_limit=0.5)
    )
    assert stats["timed_out"] and sorted(toy.committed) == list(range(100))


@pytest.mark.parametrize("fixing", FIXING)
def test_rh_cp_gives_valid_schedules_for_every_fixing(fixing):
    inst = sf.generate("fjsp", scheme="sd2", jobs=5, machines=3, operations_per_job=8, seed=1)
    res = sf.solve(
        inst,
        "rh:cp",
        windows="rolling",
        seed=0,
        window=15,
        step=5,
        window_time_limit=0.5,
        stall_time=0.2,
        fixing=fixing,
    )
    assert res.status.has_solution and validate(inst, res.solution) == []
    assert res.stats["windows"] >= 6
    if fixing == "all-with-hint":
        assert res.stats["held_items"] > 0


def test_rh_cp_improves_on_its_initial_rule_and_honours_time_limit():
    inst = sf.generate("fjsp", scheme="sd2", jobs=8, machines=4, operations_per_job=10, seed=3)
    rule = sf.solve(inst, "rule:fifo-eet")
    res = sf.solve(
        inst,
        "rh:cp",
        windows="rolling",
        seed=0,
        window=30,
        step=10,
        window_time_limit=1.0,
        fixing="none",
    )
    assert res.objective <= rule.objective
    cut = sf.solve(
        inst,
        "rh:cp",
        windows="rolling",
        time_limit=0.5,
        seed=0,
        window=20,
        step=2,
        window_time_limit=0.3,
    )
    assert validate(inst, cut.solution) == [] and cut.runtime < 3.0


@pytest.mark.parametrize(
    "options",
    [
        {"fixing": "critical-path", "hold": "machine", "neighbours": True},
        {"fixing": "critical-path", "free_share": 0.3},
        {"fixing": "stable", "hold": "machine"},
    ],
)
def test_rh_cp_fixing_options_give_valid_schedules(options):
    inst = sf.generate("fjsp", scheme="sd2", jobs=5, machines=3, operations_per_job=8, seed=2)
    res = sf.solve(
        inst,
        "rh:cp",
        windows="rolling",
        seed=0,
        window=15,
        step=5,
        window_time_limit=0.5,
        stall_time=0.2,
        **options,
    )
    assert validate(inst, res.solution) == [] and res.stats["windows"] >= 6


def test_solve_window_keeps_the_machines_of_assigned_operations():
    from schedforge.problems.fjsp import FJSPSolution, makespan
    from schedforge.solvers.cp.fjsp import solve_window

    inst = sf.generate("fjsp", scheme="sd2", jobs=4, machines=4, operations_per_job=5, seed=4)
    rule = sf.solve(inst, "rule:spt-spt").solution
    machine, start = np.array(rule.machine), np.array(rule.start)
    ops = list(range(inst.num_operations))
    solve_window(
        inst,
        free=ops,
        fixed=[],
        assigned=ops,
        machine=machine,
        start=start,
        time_limit=2.0,
        seed=0,
    )
    assert machine.tolist() == list(rule.machine)  # only the timing was free
    assert validate(inst, FJSPSolution(machine=machine, start=start)) == []
    assert makespan(inst, machine, start) <= makespan(inst, rule.machine, rule.start)


def test_rh_cp_undoes_a_window_that_makes_the_whole_schedule_longer(monkeypatch):
    """A window solve that delays the last operation (feasible, but worse) is refused."""
    from schedforge.problems.fjsp import makespan

    def delaying_window(instance, *, free, fixed, machine, start, **_):
        ends = start + np.array(
            [instance.alternatives(o)[int(machine[o])] for o in range(len(start))]
        )
        last = max(free, key=lambda o: ends[o])
        placed = list(free) + list(fixed)
        if ends[last] < max(ends[o] for o in placed):
            return False, {}
        start[last] += 1000  # nothing placed follows it on its machine or in its job
        return True, {}

    monkeypatch.setattr("schedforge.solvers.cp.fjsp.solve_window", delaying_window)
    # Compaction would shift the delayed operation back; without it the delay stays.
    monkeypatch.setattr(FJSPWindowAdapter, "_compact", lambda self: None)
    inst = sf.generate("fjsp", scheme="sd2", jobs=5, machines=3, operations_per_job=8, seed=1)
    rule = sf.solve(inst, "rule:fifo-eet")
    res = sf.solve(
        inst, "rh:cp", windows="rolling", seed=0, window=15, step=5, window_time_limit=0.5
    )
    assert res.stats["refused_windows"] > 0 and "fallback" not in res.stats
    assert res.objective <= rule.objective == res.stats["start_makespan"]
    assert makespan(inst, res.solution.machine, res.solution.start) == res.objective


@pytest.mark.parametrize("seed", range(4))
def test_rh_cp_is_never_worse_than_its_start(seed):
    inst = sf.generate("fjsp", scheme="sd2", jobs=6, machines=4, operations_per_job=8, seed=seed)
    rule = sf.solve(inst, "rule:fifo-eet")
    for sum_weight in (0, 3):
        res = sf.solve(
            inst, "rh:cp", windows="rolling", seed=seed, window=12, step=4, window_time_limit=0.3,
            stall_time=0.1, sum_weight=sum_weight,
        )  # fmt: skip
        assert validate(inst, res.solution) == []
        assert res.objective <= rule.objective


# The default rh:cp: tabu start, then CP-SAT windows where the schedule is tight.


def _tabu_start(inst, iterations=300):
    from schedforge.heuristics.dispatch import best_rule_schedule
    from schedforge.heuristics.local_search.fjsp_tabu import tabu

    solution, _ = tabu(inst, best_rule_schedule(inst), budget=Budget(), iterations=iterations)
    return solution


@pytest.mark.parametrize(("seed", "rest"), [(0, "order"), (1, "order"), (2, "order"), (0, "time")])
def test_tight_windows_are_valid_and_never_worse_than_their_start(seed, rest):
    from schedforge.problems.fjsp import makespan
    from schedforge.solvers.rolling_horizon import tight_window_search

    inst = sf.generate("fjsp", scheme="sd2", jobs=6, machines=4, operations_per_job=8, seed=seed)
    start = _tabu_start(inst)
    solution, stats = tight_window_search(
        inst,
        start,
        budget=Budget(seed=seed),
        window=12,
        max_windows=6,
        window_time_limit=1.0,
        rest=rest,
    )
    assert validate(inst, solution) == []
    assert makespan(inst, solution.machine, solution.start) <= makespan(
        inst, start.machine, start.start
    )
    assert 1 <= stats["windows"] <= 6


def test_tight_windows_refuse_a_window_that_makes_the_whole_longer(monkeypatch):
    """A window solve that delays the whole schedule is refused: the start comes back."""
    from schedforge.problems.fjsp import makespan
    from schedforge.solvers.rolling_horizon import tight_window_search

    def delaying_window(instance, *, free, machine, start, **_):
        # One operation after another on its slowest machine, behind all the
        # work: feasible, and a far longer schedule even once left-shifted.
        t = int(max(start[o] + instance.alternatives(o)[int(machine[o])] for o in free))
        for o in sorted(free):
            machine[o], p = max(instance.alternatives(o).items(), key=lambda mp: mp[1])
            start[o] = t
            t += p
        return True, {"cp_status": "FEASIBLE"}

    monkeypatch.setattr("schedforge.solvers.cp.fjsp.solve_window", delaying_window)
    inst = sf.generate("fjsp", scheme="sd2", jobs=5, machines=3, operations_per_job=8, seed=1)
    start = _tabu_start(inst)
    solution, stats = tight_window_search(
        inst, start, budget=Budget(), window=10, max_windows=4, window_time_limit=1.0
    )
    assert stats["refused_windows"] == 4 and stats["accepted_windows"] == 0
    assert makespan(inst, solution.machine, solution.start) == makespan(
        inst, start.machine, start.start
    )


def test_tight_windows_accept_an_improving_window(monkeypatch):
    """A window that lowers the makespan is kept (the guard refuses only worse ones)."""
    from schedforge.problems.fjsp import makespan
    from schedforge.solvers.rolling_horizon import tight_window_search

    inst = sf.generate("fjsp", scheme="sd2", jobs=5, machines=3, operations_per_job=6, seed=2)
    rule = sf.solve(inst, "rule:lwkr-spt").solution  # a poor start, easy to improve
    solution, stats = tight_window_search(
        inst, rule, budget=Budget(), window=inst.num_operations, window_time_limit=5.0
    )
    assert stats["improved_windows"] >= 1
    assert makespan(inst, solution.machine, solution.start) < makespan(
        inst, rule.machine, rule.start
    )


def test_rh_cp_tight_is_reproducible_with_iteration_and_window_stops():
    """No time limit, one thread, stops by counts: the same seed gives the same schedule."""
    inst = sf.generate("fjsp", scheme="sd2", jobs=6, machines=4, operations_per_job=8, seed=5)
    options = dict(
        tabu_iterations=2000,
        window=12,
        max_windows=4,
        window_time_limit=30.0,
        window_dtime=0.05,
        stall_time=None,
    )
    runs = [sf.solve(inst, "rh:cp", seed=3, threads=1, **options) for _ in range(2)]
    for res in runs:
        assert validate(inst, res.solution) == []
        assert not res.stats["nondeterministic"] and 1 <= res.stats["windows"] <= 4
        assert res.objective <= res.stats["start_makespan"]
    assert runs[0].objective == runs[1].objective
    assert runs[0].solution.start.tolist() == runs[1].solution.start.tolist()
    assert runs[0].solution.machine.tolist() == runs[1].solution.machine.tolist()


def test_rh_cp_tight_honours_the_time_limit_and_is_no_worse_than_its_tabu_start():
    inst = sf.generate("fjsp", scheme="sd2", jobs=8, machines=4, operations_per_job=10, seed=3)
    res = sf.solve(inst, "rh:cp", time_limit=2.0, seed=0, threads=1, window=20)
    assert validate(inst, res.solution) == [] and res.runtime < 2.0 + 1.0
    assert res.objective <= res.stats["start_makespan"]


def test_rh_cp_tight_rejects_rolling_only_options():
    inst = sf.generate("fjsp", scheme="sd2", jobs=3, machines=3, operations_per_job=3, seed=1)
    from schedforge.core.errors import InvalidOption

    with pytest.raises(InvalidOption, match="fixing"):
        sf.solve(inst, "rh:cp", fixing="critical-path")
    with pytest.raises(InvalidOption, match="windows"):
        sf.solve(inst, "rh:cp", windows="sliding")
