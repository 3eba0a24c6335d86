"""FJSP data model, builder, oracle (validate/objective/bounds) and generators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.fjsp import (
    FJSPBuilder,
    FJSPInstance,
    FJSPSolution,
    critical_operations,
    lower_bound,
    objective,
    validate,
)


def _tiny() -> FJSPInstance:
    b = FJSPBuilder(num_machines=3)
    j0 = b.add_job()
    b.add_operation(j0, {0: 3, 1: 5})
    b.add_operation(j0, {2: 2})
    j1 = b.add_job(release=1)
    b.add_operation(j1, {1: 4})
    return b.build(name="tiny")


def test_builder_layout_and_accessors():
    inst = _tiny()
    assert inst.num_jobs == 2 and inst.num_operations == 3 and inst.num_machines == 3
    assert inst.job_offsets.tolist() == [0, 2, 3]
    assert inst.alternatives(0) == {0: 3, 1: 5}
    assert inst.duration(0, 2) is None
    assert inst.release.tolist() == [0, 1]
    assert inst.min_duration.tolist() == [3, 2, 4]
    assert not inst.is_job_shop
    with pytest.raises(sf.InvalidInstance, match="add_job"):
        FJSPBuilder().add_operation(0, {0: 1})


@pytest.mark.parametrize(
    ("jobs", "machines", "message"),
    [
        ([[{}]], 2, "job 0 operation 0 has no eligible machine"),
        ([[{0: 1}], [{3: 1}]], 2, "job 1 operation 0 uses machine 3 outside 0..1"),
        ([[{0: 1}, {1: -4}]], 2, "job 0 operation 1 has processing time -4"),
        ([[{0: 1}], []], 2, "job 1 has no operation"),
        ([], 2, "at least one job"),
        ([[[(0, 1), (0, 2)]]], 2, "lists machine 0 twice"),
        ([[{0: 1.5}]], 2, "not an integer"),
    ],
)
def test_instance_validation_messages(jobs, machines, message):
    with pytest.raises(sf.InvalidInstance, match=message):
        FJSPInstance.from_jobs(jobs, machines)


def test_release_and_due_validation():
    with pytest.raises(sf.InvalidInstance, match="release date -1"):
        FJSPInstance.from_jobs([[{0: 1}]], 1, release=[-1])
    with pytest.raises(sf.InvalidInstance, match="2 due dates for 1 jobs"):
        FJSPInstance.from_jobs([[{0: 1}]], 1, due=[3, 4])


def test_instances_are_immutable_and_replaceable():
    inst = _tiny()
    with pytest.raises(ValueError):
        inst.durations[0] = 9
    with pytest.raises(TypeError):
        inst.metadata["x"] = 1
    assert inst.replace(name="other").name == "other"
    assert inst == FJSPInstance.from_dict(inst.to_dict())


def test_objective_and_validate_by_hand():
    inst = _tiny()
    # Job 0: op0 on M0 [0,3), op1 on M2 [3,5); job 1: op2 on M1 [1,5).
    good = FJSPSolution(machine=[0, 2, 1], start=[0, 3, 1])
    assert validate(inst, good) == []
    assert objective(inst, good) == 5
    assert lower_bound(inst) == 5  # job 0: 3 + 2; job 1: 1 + 4
    problems = validate(inst, FJSPSolution(machine=[2, 2, 1], start=[0, 3, 0]))
    assert any("not eligible" in p for p in problems)
    problems = validate(inst, FJSPSolution(machine=[0, 2, 1], start=[0, 2, 0]))
    assert any("before operation 0 ends" in p for p in problems)
    assert any("before the job's release" in p for p in problems)
    problems = validate(inst, FJSPSolution(machine=[1, 2, 1], start=[0, 5, 2]))
    assert any("at the same time" in p for p in problems)
    assert "one entry per operation" in validate(inst, FJSPSolution([0], [0]))[0]


def test_critical_operations_and_gantt():
    inst = _tiny()
    sol = FJSPSolution(machine=[0, 2, 1], start=[0, 3, 1])
    assert critical_operations(inst, sol).tolist() == [0, 1, 2]
    late = FJSPSolution(machine=[0, 2, 1], start=[0, 6, 1])
    assert critical_operations(inst, late).tolist() == [1]
    assert critical_operations(inst, late, slack=3).tolist() == [0, 1, 2]
    bars = sf.get_problem("fjsp").gantt(inst, sol)
    assert [b.row for b in bars] == ["M0", "M1", "M2"]
    assert {b.group for b in bars} == {"job 0", "job 1"}


# --------------------------------------------------------------------------
# Properties on random instances


@st.composite
def instances(draw, max_jobs=4, max_ops=3, max_machines=3):
    machines = draw(st.integers(1, max_machines))
    op = st.dictionaries(st.integers(0, machines - 1), st.integers(0, 9), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=max_ops), min_size=1, max_size=max_jobs))
    release = draw(st.lists(st.integers(0, 5), min_size=len(jobs), max_size=len(jobs)))
    return FJSPInstance.from_jobs(jobs, machines, release=release)


def serial_schedule(inst: FJSPInstance, assignment, job_order) -> FJSPSolution:
    """Append each job's next operation on its machine (a test-only constructor)."""
    machine_free = np.zeros(inst.num_machines, dtype=np.int64)
    job_free = inst.release.copy()
    nxt = inst.job_offsets[:-1].copy()
    start = np.zeros(inst.num_operations, dtype=np.int64)
    for j in job_order:
        o = nxt[j]
        m = assignment[o]
        start[o] = max(machine_free[m], job_free[j])
        job_free[j] = machine_free[m] = start[o] + inst.alternatives(o)[m]
        nxt[j] += 1
    return FJSPSolution(machine=assignment, start=start)


@given(inst=instances(), data=st.data())
@settings(max_examples=60, deadline=None)
def test_serial_schedules_are_feasible_and_bounded(inst, data):
    assignment = [
        data.draw(st.sampled_from(sorted(inst.alternatives(o)))) for o in range(inst.num_operations)
    ]
    sizes = np.diff(inst.job_offsets)
    order = [j for j in range(inst.num_jobs) for _ in range(sizes[j])]
    order = data.draw(st.permutations(order))
    sol = serial_schedule(inst, assignment, order)
    assert validate(inst, sol) == []
    assert lower_bound(inst) <= objective(inst, sol)
    # Every critical operation ends at the makespan or feeds a successor without slack.
    assert len(critical_operations(inst, sol)) >= 1
    # Moving one operation earlier by one unit (if possible) is either still
    # feasible or reported.
    shifted = np.array(sol.start)
    k = data.draw(st.integers(0, inst.num_operations - 1))
    if shifted[k] > 0:
        shifted[k] -= 1
        violations = validate(inst, FJSPSolution(sol.machine, shifted))
        assert isinstance(violations, list)


def brute_force_makespan(inst: FJSPInstance) -> int:
    """Optimal makespan by enumerating assignments and job-order sequences."""
    best = None
    sizes = np.diff(inst.job_offsets)
    tokens = [j for j in range(inst.num_jobs) for _ in range(sizes[j])]
    alts = [sorted(inst.alternatives(o)) for o in range(inst.num_operations)]
    for assignment in itertools.product(*alts):
        for order in set(itertools.permutations(tokens)):
            value = objective(inst, serial_schedule(inst, list(assignment), order))
            best = value if best is None else min(best, value)
    return best


@given(inst=instances(max_jobs=3, max_ops=2, max_machines=2))
@settings(max_examples=25, deadline=None)
def test_lower_bound_is_valid_against_brute_force(inst):
    assert lower_bound(inst) <= brute_force_makespan(inst)


# --------------------------------------------------------------------------
# Generators


def test_sd2_generator_shape_and_determinism():
    inst = sf.generate("fjsp", scheme="sd2", jobs=20, machines=10, operations_per_job=30, seed=0)
    assert inst.num_jobs == 20 and inst.num_operations == 600 and inst.num_machines == 10
    assert inst.durations.min() >= 1 and inst.durations.max() <= 99
    counts = np.diff(inst.op_offsets)
    assert counts.min() >= 1 and counts.max() <= 10
    again = sf.generate("fjsp", scheme="sd2", jobs=20, machines=10, operations_per_job=30, seed=0)
    assert inst == again
    other = sf.generate("fjsp", scheme="sd2", jobs=20, machines=10, operations_per_job=30, seed=1)
    assert inst != other


def test_brandimarte_generator_ranges():
    inst = sf.generate("fjsp", jobs=5, machines=4, operations_per_job=(2, 4), seed=3)
    sizes = np.diff(inst.job_offsets)
    assert inst.num_jobs == 5 and sizes.min() >= 2 and sizes.max() <= 4
    assert np.diff(inst.op_offsets).max() <= 3 and inst.durations.max() <= 10
    assert inst.metadata["scheme"] == "brandimarte"


def test_generator_errors():
    with pytest.raises(sf.InvalidInstance, match="unknown scheme"):
        sf.generate("fjsp", scheme="sd3")
    with pytest.raises(sf.InvalidInstance, match="jobs and machines"):
        sf.generate("fjsp", jobs=0)
    with pytest.raises(sf.InvalidOption, match="does not accept"):
        sf.generate("fjsp", n_jobs=3)
