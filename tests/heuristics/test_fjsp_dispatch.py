"""FJSP dispatching rules: the numba skeleton, builders and a custom priority."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import schedforge as sf
from schedforge.heuristics.dispatch import (
    BUILDERS,
    RULES,
    compile_dispatcher,
    dispatch,
    dispatch_kernel,
)
from schedforge.problems.fjsp import FJSPInstance, validate


def _two_jobs() -> FJSPInstance:
    # Job 0: (M0: 3) -> (M1: 2); job 1: (M0: 1 or M1: 4).
    return FJSPInstance.from_jobs([[{0: 3}, {1: 2}], [{0: 1, 1: 4}]], 2, name="two")


def test_kernel_really_compiled():
    dispatch(_two_jobs(), "fifo-eet")
    assert dispatch_kernel.signatures, "the dispatch kernel did not compile in nopython mode"


def test_spt_eet_by_hand():
    inst = _two_jobs()
    # SPT picks job 1 (shortest time 1) first, on M0 (ends at 1, earlier than M1 at 4);
    # then job 0 op 0 on M0 at 1, op 1 on M1 at 4: makespan 6.
    sol = dispatch(inst, "spt-eet", builder="append")
    assert sol.machine.tolist() == [0, 1, 0]
    assert sol.start.tolist() == [1, 4, 0]
    # MWKR: job 0 first (mean work 5 > 2.5) on M0 [0, 3); then job 1 (2.5 > 2) where both
    # machines end at 4 and the first alternative, M0, wins; then job 0 op 1 on M1 at 3.
    sol = dispatch(inst, "mwkr-eet", builder="append")
    assert sol.machine.tolist() == [0, 1, 0]
    assert sol.start.tolist() == [0, 3, 3]


def test_active_builder_inserts_into_gaps():
    # Job 0 holds M1 late (after 5 on M0); job 1's short op on M1 fits the gap before it.
    inst = FJSPInstance.from_jobs([[{0: 5}, {1: 2}], [{0: 1}, {1: 3}]], 2)
    append = dispatch(inst, "mwkr-eet", builder="append")
    active = dispatch(inst, "mwkr-eet", builder="active")
    assert validate(inst, append) == [] and validate(inst, active) == []
    assert sf.get_problem("fjsp").objective(inst, active) <= sf.get_problem("fjsp").objective(
        inst, append
    )


@st.composite
def instances(draw):
    machines = draw(st.integers(1, 4))
    op = st.dictionaries(st.integers(0, machines - 1), st.integers(0, 20), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=5), min_size=1, max_size=5))
    release = draw(st.lists(st.integers(0, 10), min_size=len(jobs), max_size=len(jobs)))
    return FJSPInstance.from_jobs(jobs, machines, release=release)


@given(inst=instances(), rule=st.sampled_from(RULES), builder=st.sampled_from(BUILDERS))
@settings(max_examples=150, deadline=None)
def test_every_rule_and_builder_gives_feasible_schedules(inst, rule, builder):
    sol = dispatch(inst, rule, builder=builder)
    assert validate(inst, sol) == []


@given(inst=instances())
@settings(max_examples=60, deadline=None)
def test_non_delay_never_idles_a_machine_while_work_waits(inst):
    sol = dispatch(inst, "fifo-eet", builder="non-delay")
    problem = sf.get_problem("fjsp")
    assert problem.validate(inst, sol) == []
    # The first operation of the schedule starts at the earliest release.
    assert sol.start.min() == inst.release.min()


def test_custom_priority_plugs_into_the_same_loop():
    @njit
    def last_job_first(
        dur, start, end, job_ready, ops_left, work_left, min_dur, flex, load, now, horizon
    ):
        # Candidates come job by job: a decreasing ramp puts the last job first.
        return -np.arange(len(dur)) * 1.0

    kernel = compile_dispatcher(last_job_first)
    inst = sf.generate("fjsp", jobs=4, machines=3, seed=1)
    sol = dispatch(inst, kernel=kernel, builder="append")
    assert validate(inst, sol) == []
    # Jobs are served from the last: the last job's first operation starts at 0.
    assert sol.start[inst.job_offsets[-2]] == 0


@pytest.mark.parametrize("rule", RULES)
def test_builtin_rules_written_as_scores_give_the_same_schedules(rule):
    # The built-in rules and a priority passed in run the same loop: the
    # rule written as a score reproduces the built-in schedule exactly.
    op_rule, machine_rule = rule.split("-")
    keys = {
        "fifo": "job_ready",
        "spt": "min_dur",
        "mor": "-ops_left",
        "lor": "ops_left",
        "mwkr": "-work_left",
        "lwkr": "work_left",
    }
    machine_key = "end" if machine_rule == "eet" else "dur"
    args = "dur, start, end, job_ready, ops_left, work_left, min_dur, flex, load, now, horizon"
    scope = {"np": np}
    exec(f"def score({args}):\n    return {keys[op_rule]} * horizon + {machine_key}\n", scope)
    kernel = compile_dispatcher(njit(scope["score"]))
    for seed in range(3):
        inst = sf.generate("fjsp", jobs=6, machines=4, seed=seed)
        for builder in BUILDERS:
            ref = dispatch(inst, rule, builder=builder)
            got = dispatch(inst, kernel=kernel, builder=builder)
            assert np.array_equal(ref.machine, got.machine), (rule, builder, seed)
            assert np.array_equal(ref.start, got.start), (rule, builder, seed)


def test_rules_through_solve_and_bad_options():
    inst = sf.generate("fjsp", jobs=5, machines=3, seed=2)
    specs = [s for s in sf.methods("fjsp") if s.startswith("rule:")]
    assert len(specs) == 12
    for spec in specs:
        for builder in BUILDERS:
            res = sf.solve(inst, spec, builder=builder)
            assert res.status.has_solution and res.stats["builder"] == builder
    with pytest.raises(sf.InvalidOption, match="builder must be one of"):
        sf.solve(inst, "rule:fifo-eet", builder="greedy")
    with pytest.raises(sf.UnknownMethod, match="rule:fifo-eet"):
        sf.solve(inst, "rule:fifo-lpt")
