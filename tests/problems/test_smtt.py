"""SMTT data model, oracle (validate/objective/bound), generator and formats."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import schedforge as sf
from schedforge.problems.smtt import (
    SMTTInstance,
    SMTTSolution,
    lower_bound,
    objective,
    read_orlib_optima,
    validate,
)
from tests.conftest import DATA, bundled_path

MALFORMED = {
    "Empty.txt": "empty",
    "FractionalProcessingTime.txt": ":2: expected integers, found '2.5'",
    "InconsistentColumns.txt": ":2: expected 2 integers",
    "LengthMismatch.json": "3 processing times but 2 due dates",
    "NegativeProcessingTime.json": "job 1 has processing time -2",
    "NonIntegerToken.txt": ":2: expected integers, found 'x'",
    "TruncatedLine.jsonl": ":2: invalid JSON",
    "ZeroProcessingTime.txt": ":2: .*job 1 has processing time 0",
}


@pytest.mark.parametrize(("name", "message"), sorted(MALFORMED.items()))
def test_malformed_files_give_clear_errors(name, message):
    with pytest.raises(sf.ParseError, match=message):
        list(sf.read_all(DATA / "smtt" / name))


def test_instance_validation_messages():
    with pytest.raises(sf.InvalidInstance, match="job 0 has processing time 0"):
        SMTTInstance(processing=[0, 1], due=[1, 1])
    with pytest.raises(sf.InvalidInstance, match="weights must be >= 0"):
        SMTTInstance(processing=[1, 1], due=[1, 1], weight=[1, -1])
    with pytest.raises(sf.InvalidInstance, match="not an integer"):
        SMTTInstance(processing=[1.5, 1], due=[1, 1])
    with pytest.raises(sf.InvalidInstance, match="at least one job"):
        SMTTInstance(processing=[], due=[])


def test_instances_are_immutable():
    inst = SMTTInstance(processing=[1, 2], due=[3, -4])  # negative due dates are legal
    with pytest.raises(ValueError):
        inst.processing[0] = 5
    with pytest.raises(TypeError):
        inst.metadata["x"] = 1
    assert inst.replace(name="y").name == "y"
    assert not inst.weighted


def test_tiny_text_file_and_objective_by_hand():
    inst = sf.read(DATA / "smtt" / "tiny3_weighted.txt")
    assert inst.processing.tolist() == [10, 20, 5]
    assert inst.due.tolist() == [5, 30, -3]
    assert inst.weight.tolist() == [2, 1, 4]
    # Sequence 2, 0, 1: C = 5, 15, 35; T = 8, 10, 5; weighted 4*8 + 2*10 + 1*5.
    assert objective(inst, SMTTSolution([2, 0, 1])) == 32 + 20 + 5


def test_validate_names_each_violation():
    inst = SMTTInstance(processing=[1, 2, 3], due=[0, 0, 0])
    assert validate(inst, SMTTSolution([2, 0, 1])) == []
    problems = validate(inst, SMTTSolution([0, 0, 7]))
    assert any("outside" in p for p in problems)
    assert any("more than once" in p for p in problems)
    assert any("not scheduled" in p for p in problems)


instances = st.integers(1, 7).flatmap(
    lambda n: st.builds(
        SMTTInstance,
        processing=st.lists(st.integers(1, 30), min_size=n, max_size=n),
        due=st.lists(st.integers(-20, 120), min_size=n, max_size=n),
        weight=st.one_of(st.none(), st.lists(st.integers(0, 9), min_size=n, max_size=n)),
    )
)


@settings(max_examples=60, deadline=None)
@given(instances)
def test_lower_bound_is_valid_against_brute_force(inst):
    best = min(
        objective(inst, SMTTSolution(list(p))) for p in itertools.permutations(range(inst.num_jobs))
    )
    assert lower_bound(inst) <= best


@settings(max_examples=60, deadline=None)
@given(instances, st.randoms(use_true_random=False))
def test_objective_matches_a_direct_simulation(inst, rnd):
    seq = list(range(inst.num_jobs))
    rnd.shuffle(seq)
    time, total = 0, 0
    for j in seq:
        time += int(inst.processing[j])
        total += int(inst.weight[j]) * max(0, time - int(inst.due[j]))
    assert objective(inst, SMTTSolution(seq)) == total
    assert validate(inst, SMTTSolution(seq)) == []


@settings(max_examples=40, deadline=None)
@given(instances, st.sampled_from([".json", ".txt", ".jsonl"]))
def test_round_trips_are_exact(tmp_path_factory, inst, ext):
    path = tmp_path_factory.mktemp("rt") / f"inst{ext}"
    sf.write(inst, path)
    back = sf.read(path)
    assert back.processing.tolist() == inst.processing.tolist()
    assert back.due.tolist() == inst.due.tolist()
    assert back.weight.tolist() == inst.weight.tolist()
    if ext != ".txt":  # text carries the data only
        assert back == inst


def test_generator_is_seeded_and_follows_potts_van_wassenhove():
    a = sf.generate("smtt", jobs=200, tf=0.6, rdd=0.4, seed=5)
    b = sf.generate("smtt", jobs=200, tf=0.6, rdd=0.4, seed=5)
    c = sf.generate("smtt", jobs=200, tf=0.6, rdd=0.4, seed=6)
    assert a == b and a != c
    total = int(a.processing.sum())
    assert a.processing.min() >= 1 and a.processing.max() <= 100
    assert a.due.min() >= np.ceil(total * (1 - 0.6 - 0.2))
    assert a.due.max() <= np.floor(total * (1 - 0.6 + 0.2))
    w = sf.generate("smtt", jobs=50, weighted=True, tf=1.0, rdd=1.0, clip_due=True, seed=1)
    assert w.weighted and w.weight.max() <= 10 and w.due.min() >= 0


def test_orlib_reader_attaches_optima():
    path = bundled_path("orlib-wt", "wt40.txt")
    insts = list(sf.read_all(path))
    assert len(insts) == 125
    first = insts[0]
    assert first.num_jobs == 40 and first.weighted
    optima = read_orlib_optima(path.with_name("wtopt40.txt"))
    assert first.metadata["optimum"] == optima[0]
    assert "best_known" in insts[18].metadata  # #19 was open in wtinfo
    assert insts[124].metadata["rdd"] == 1.0 and insts[124].metadata["tf"] == 1.0
    with pytest.raises(sf.SchedforgeError, match="read_all"):
        sf.read(path)


def test_shared_jsonl_and_sdt_agree():
    jsonl = list(sf.read_all("smtt:shang-n100"))
    sdt = sf.read("smtt:shang-n100-sdt/SDT_100_0.2_0.2_1")
    match = [i for i in jsonl if i.processing.tolist() == sdt.processing.tolist()]
    assert match and match[0].due.tolist() == sdt.due.tolist()
    assert match[0].metadata["optimum"] >= lower_bound(match[0])


def test_json_list_file(tmp_path):
    insts = [sf.generate("smtt", jobs=3, seed=s) for s in range(3)]
    path = tmp_path / "set.jsonl"
    sf.write(insts, path)
    assert list(sf.read_all(path)) == insts
    (tmp_path / "bad.json").write_text(json.dumps({"problem": "smtt", "processing": [1]}))
    with pytest.raises(sf.SchedforgeError):
        sf.read(tmp_path / "bad.json")
