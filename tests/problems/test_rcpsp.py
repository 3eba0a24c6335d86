"""RCPSP data model, oracle (validate/objective/bounds), builder, generators and formats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.rcpsp import (
    NO_DEADLINE,
    RCPSPBuilder,
    RCPSPInstance,
    RCPSPSolution,
    capacity_profile,
    critical_path_bound,
    gantt,
    lower_bound,
    objective,
    resource_bound,
    validate,
)
from schedforge.problems.rcpsp_formats import read_bounds, with_reference
from tests.conftest import DATA, bundled_path

RCPSP = DATA / "rcpsp"

MALFORMED = {
    "CyclicPrecedence.rcp": r":5: .*precedence cycle 2 -> 4 -> 2",
    "CyclicPrecedence.sm": r":21: .*precedence cycle 2 -> 4 -> 2",
    "DeadlineBeforeRelease.json": "activity 3 has deadline 9 before release 7 plus duration 4",
    "DemandAboveCapacity.sm": r":32: .*activity 3 needs 3 units of resource 1 but its capacity is 2",
    "DowntimeUnknownResource.json": "downtime 0 names resource 5",
    "FractionalDuration.sm": r":30: request row: expected an integer, found '3.5'",
    "InvalidJson.json": r":2: invalid JSON",
    "MissingRequestRow.sm": "5 request rows for 6 jobs",
    "MultiMode.sm": r":20: job 2 has 2 modes; only single-mode",
    "NegativeDuration.sm": r":31: .*activity 2 has duration -2",
    "NonIntegerDemand.rcp": r":5: demand of activity 3 on resource 1: expected an integer, found 'x'",
    "SuccessorOutOfRange.sm": r":21: successor 9 of job 3 outside 1..6",
    "TrailingData.rcp": r":9: unexpected extra data '7'",
    "TruncatedFile.rcp": r":5: file ends early",
    "TruncatedFile.sm": "missing section 'REQUESTS/DURATIONS:'",
    "UnknownField.json": "unknown field.*colour",
}


@pytest.mark.parametrize(("name", "message"), sorted(MALFORMED.items()))
def test_malformed_files_give_clear_errors(name, message):
    with pytest.raises(sf.ParseError, match=message):
        list(sf.read_all(RCPSP / name))


def brute_force(inst: RCPSPInstance, limit: int | None = None) -> int | None:
    """Optimal makespan by exhaustive search over start times, or ``None`` if infeasible.

    Independent of every method: depth-first over activities in index
    order of a topological sort, every start time from 0 to the horizon,
    checking each constraint against the activities already placed.
    """
    from schedforge.problems.rcpsp import horizon, topological_order

    n = inst.num_activities
    end = limit if limit is not None else horizon(inst)
    profile = capacity_profile(inst, end + 1)
    order = topological_order(inst).tolist()
    preds = [[] for _ in range(n)]
    for (a, b), lag in zip(inst.precedence.tolist(), inst.lag.tolist(), strict=True):
        preds[b].append((a, lag))
    partners = [[] for _ in range(n)]
    for a, b in inst.disjunctive.tolist():
        partners[a].append(b)
        partners[b].append(a)
    start = [-1] * n
    usage = np.zeros_like(profile)
    best = [None]

    def place(k: int, makespan: int) -> None:
        if best[0] is not None and makespan >= best[0]:
            return
        if k == n:
            best[0] = makespan
            return
        j = order[k]
        d = int(inst.duration[j])
        low = max(
            [int(inst.release[j])] + [start[a] + int(inst.duration[a]) + lag for a, lag in preds[j]]
        )
        high = end - d
        if inst.deadline[j] != NO_DEADLINE:
            high = min(high, int(inst.deadline[j]) - d)
        for t in range(low, high + 1):
            if any(
                start[p] >= 0
                and d > 0
                and inst.duration[p] > 0
                and start[p] < t + d
                and t < start[p] + inst.duration[p]
                for p in partners[j]
            ):
                continue
            if d and np.any(usage[:, t : t + d] + inst.demand[j][:, None] > profile[:, t : t + d]):
                continue
            start[j] = t
            usage[:, t : t + d] += inst.demand[j][:, None]
            place(k + 1, max(makespan, t + d))
            usage[:, t : t + d] -= inst.demand[j][:, None]
            start[j] = -1

    place(0, 0)
    return best[0]


def test_tiny_files_read_and_agree():
    sm = sf.read(RCPSP / "tiny.sm")
    rcp = sf.read(RCPSP / "tiny.rcp")
    assert sm.to_dict() | {"name": "", "metadata": {}} == rcp.to_dict() | {
        "name": "",
        "metadata": {},
    }
    assert sm.num_activities == 6 and sm.num_resources == 2
    assert critical_path_bound(sm) == 7
    assert brute_force(sm) == 9
    side = sf.read(RCPSP / "tiny_side.json")
    assert side.has_side_constraints and not sm.has_side_constraints
    assert brute_force(side) is not None
    assert lower_bound(side) <= brute_force(side)


def test_formats_round_trip(tmp_path):
    side = sf.read(RCPSP / "tiny_side.json")
    for ext in (".json",):
        again = sf.read(sf.write(side, tmp_path / f"x{ext}"))
        assert again == side
    plain = sf.generate("rcpsp", jobs=12, seed=3)
    for ext in (".sm", ".rcp", ".json"):
        again = sf.read(sf.write(plain, tmp_path / f"{plain.name}{ext}"))
        assert again.to_dict() | {"metadata": {}} == plain.to_dict() | {"metadata": {}}
    with pytest.raises(sf.SchedforgeError, match=r"write it as \.json"):
        sf.write(side, tmp_path / "side.sm")
    both = [plain, side]
    assert list(sf.read_all(sf.write(both, tmp_path / "both.json"))) == both


def test_instance_validation_messages():
    base = dict(duration=[1, 2], demand=[[1], [1]], capacity=[2])
    with pytest.raises(sf.InvalidInstance, match=r"cycle 0 -> 1 -> 0"):
        RCPSPInstance(**base, precedence=[[0, 1], [1, 0]])
    with pytest.raises(sf.InvalidInstance, match="relates activity 1 to itself"):
        RCPSPInstance(**base, precedence=[[1, 1]])
    with pytest.raises(sf.InvalidInstance, match="activity 1 needs 3 units of resource 0"):
        RCPSPInstance(duration=[1, 2], demand=[[1], [3]], capacity=[2])
    with pytest.raises(sf.InvalidInstance, match="deadline 2 before release 1 plus duration 2"):
        RCPSPInstance(**base, release=[0, 1], deadline=[-1, 2])
    with pytest.raises(sf.InvalidInstance, match="expected \\(2, 1\\)"):
        RCPSPInstance(duration=[1, 2], demand=[[1, 1], [1, 1]], capacity=[2])
    with pytest.raises(sf.InvalidInstance, match="lags must be >= 0"):
        RCPSPInstance(**base, precedence=[[0, 1]], lag=[-1])
    with pytest.raises(sf.InvalidInstance, match=r"need 0 <= start < end"):
        RCPSPInstance(**base, downtime=[[0, 3, 3, 0]])
    with pytest.raises(sf.InvalidInstance, match="not an integer"):
        RCPSPInstance(duration=[1.5, 2], demand=[[1], [1]], capacity=[2])
    # A zero-duration activity uses nothing, so its demand may exceed capacity.
    RCPSPInstance(duration=[0, 2], demand=[[5], [1]], capacity=[2])
    inst = RCPSPInstance(**base)
    with pytest.raises(ValueError):
        inst.duration[0] = 3


def test_builder_and_validate_each_constraint():
    b = RCPSPBuilder()
    crane = b.add_resource(2)
    dig = b.add_activity(3, {crane: 1})
    pour = b.add_activity(2, [2], release=1, deadline=12)
    tidy = b.add_activity(2, {crane: 1})
    b.add_precedence(dig, pour, lag=1)
    b.add_downtime(crane, 5, 7, available=0)
    b.add_disjunctive(dig, tidy)
    inst = b.build("site")
    assert validate(inst, RCPSPSolution([0, 7, 3])) == []
    assert objective(inst, RCPSPSolution([0, 7, 3])) == 9
    problems = {
        "before its release": [0, 0, 3],
        "lag 1": [0, 3, 9],
        "after its deadline": [0, 11, 3],
        "disjunctive pair 0, 2 overlaps": [0, 7, 2],
        "resource 0 at time 5: 1 units in use, capacity 0": [0, 7, 4],
        "expected 3 start times": [0, 1],
    }
    for message, start in problems.items():
        found = validate(inst, RCPSPSolution(start))
        assert any(message in text for text in found), (message, found)
    # Zero-duration activities are instants and overlap nothing.
    point = RCPSPInstance(duration=[0, 3], demand=[[1], [1]], capacity=[1], disjunctive=[[0, 1]])
    assert validate(point, RCPSPSolution([1, 0])) == []
    with pytest.raises(sf.InvalidInstance, match="unknown resource 3"):
        b2 = RCPSPBuilder()
        b2.add_activity(1, {3: 1})
        b2.build()


def test_resource_bound_counts_downtime():
    # Work 10 on capacity 2 takes 5 periods; 2 periods at 0 capacity push it to 7.
    inst = RCPSPInstance(duration=[5, 5], demand=[[1], [1]], capacity=[2], downtime=[[0, 1, 3, 0]])
    assert resource_bound(inst) == 7
    assert resource_bound(inst.replace(downtime=None)) == 5
    half = inst.replace(downtime=[[0, 0, 4, 1]])  # 4 units by t=4, then 2 per period
    assert resource_bound(half) == 7
    overlapping = inst.replace(downtime=[[0, 0, 4, 1], [0, 2, 3, 0]])
    assert capacity_profile(overlapping, 5)[0].tolist() == [1, 1, 0, 1, 2]


@st.composite
def random_instances(draw):
    kind = draw(st.sampled_from(["progen", "rconstraint"]))
    params = dict(
        kind=kind,
        jobs=draw(st.integers(1, 8)),
        resources=draw(st.integers(0, 3)),
        rf=draw(st.floats(0, 1)),
        rs=draw(st.floats(0, 1)),
        max_duration=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 10_000)),
    )
    if kind == "rconstraint":
        params |= dict(
            levels=draw(st.integers(1, 4)),
            p_downtime=draw(st.floats(0, 1)),
            p_window=draw(st.floats(0, 1)),
            p_disjunctive=draw(st.floats(0, 1)),
            p_lag=draw(st.floats(0, 1)),
            tightness=draw(st.floats(0.6, 2.0)),
        )
    return sf.generate("rcpsp", **params)


@settings(max_examples=40, deadline=None)
@given(inst=random_instances(), data=st.data())
def test_oracle_properties(inst, data, tmp_path_factory):
    """Round-trips, and validate/objective/bounds against brute force on random tiny instances."""
    again = RCPSPInstance.from_dict(inst.to_dict())
    assert again == inst
    if not inst.has_side_constraints:
        path = tmp_path_factory.mktemp("rt") / "x.rcp"
        assert sf.read(sf.write(inst, path)).to_dict() | {"name": "", "metadata": {}} == (
            inst.to_dict() | {"name": "", "metadata": {}}
        )
    n = inst.num_activities
    start = data.draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    found = validate(inst, RCPSPSolution(start))
    assert isinstance(found, list)
    finish = np.asarray(start) + inst.duration
    assert objective(inst, RCPSPSolution(start)) == int(finish.max())
    if inst.num_activities <= 6:
        best = brute_force(inst)
        if best is not None:
            assert lower_bound(inst) <= best
            if not found:
                assert objective(inst, RCPSPSolution(start)) >= best


def test_generators_are_seeded_and_shaped():
    a = sf.generate("rcpsp", jobs=30, nc=1.8, rf=0.5, rs=0.3, seed=5)
    assert a == sf.generate("rcpsp", jobs=30, nc=1.8, rf=0.5, rs=0.3, seed=5)
    assert a != sf.generate("rcpsp", jobs=30, nc=1.8, rf=0.5, rs=0.3, seed=6)
    assert a.num_activities == 32 and a.duration[0] == a.duration[-1] == 0
    assert abs(len(a.precedence) / a.num_activities - 1.8) < 0.3
    share = (a.demand[1:-1] > 0).mean()
    assert 0.3 < share < 0.7
    b = sf.generate(
        "rcpsp",
        kind="rconstraint",
        jobs=30,
        levels=6,
        p_downtime=1.0,
        p_window=1.0,
        p_disjunctive=1.0,
        p_lag=1.0,
        seed=2,
    )
    assert len(b.downtime) == b.num_resources and np.all(b.deadline != NO_DEADLINE)
    assert len(b.disjunctive) > 0 and np.all(b.lag > 0)
    with pytest.raises(sf.InvalidInstance, match="unknown generator kind"):
        sf.generate("rcpsp", kind="nope")
    with pytest.raises(sf.InvalidOption, match="accepted"):
        sf.generate("rcpsp", colour=1)


def test_gantt_bars():
    inst = sf.read(RCPSP / "tiny.sm")
    bars = gantt(inst, RCPSPSolution([0, 0, 0, 3, 2, 7]))
    assert len(bars) == 4 and any(b.highlight for b in bars)


def test_psplib_sample_with_bounds():
    root = bundled_path("psplib")
    inst = sf.read(root / "j30" / "j301_1.sm")
    assert inst.metadata["optimum"] == 43 and inst.reference == 43
    assert critical_path_bound(inst) == inst.metadata["cpm_lb"] == 38
    table = read_bounds(root / "tables" / "bounds.csv")
    assert len(table) == 1560  # j30, j60, j120 (j90 is not in the folder)
    for folder, name in (("j120", "j12060_10"), ("j30", "j3048_1"), ("j60", "j6013_4")):
        inst = sf.read(root / folder / f"{name}.sm")
        assert critical_path_bound(inst) == table[name]["cpm_lb"]
        assert lower_bound(inst) <= table[name]["lower_bound"]
    plain = inst.replace(metadata={})
    assert with_reference(plain, root / "tables" / "bounds.csv").metadata["best_known"] >= 1


def test_plots_write_files(tmp_path):
    from schedforge.plot import gantt as draw_gantt
    from schedforge.plot import resource_profile

    inst = sf.read(RCPSP / "tiny_side.json")
    schedule = RCPSPSolution([0, 4, 0, 8, 2, 12])
    assert validate(inst, schedule) == []
    resource_profile(inst, schedule, tmp_path / "profile.png")
    draw_gantt(inst, schedule, tmp_path / "gantt.png")
    assert (tmp_path / "profile.png").stat().st_size > 0 and (tmp_path / "gantt.png").exists()
    with pytest.raises(sf.SchedforgeError, match="RCPSP schedules only"):
        resource_profile(sf.generate("smtt", jobs=3), None)
