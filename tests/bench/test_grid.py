"""The grid: method specs with options, seeds, instance arguments, suites."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import schedforge as sf
from schedforge.bench.grid import MethodSpec, build_grid, expand_instances, parse_seeds
from schedforge.bench.suites import build_suite, find_suite, list_suites, write_suite
from schedforge.core.errors import InvalidOption
from tests.conftest import DATA


def test_method_spec_options_are_typed_and_canonical():
    spec = MethodSpec.parse("rh:cp?window=80&step=30&hint=false&mode=fast&alpha=0.5")
    assert spec.spec == "rh:cp"
    assert dict(spec.options) == {
        "window": 80,
        "step": 30,
        "hint": False,
        "mode": "fast",
        "alpha": 0.5,
    }
    assert spec.label == "rh:cp?alpha=0.5&hint=false&mode=fast&step=30&window=80"
    assert MethodSpec.parse("rh:cp?step=30&window=80") == MethodSpec.parse(
        "rh:cp", {"window": 80, "step": 30}
    )
    assert MethodSpec.parse("rule:edd").label == "rule:edd"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cp?workers", "name=value"),
        ("cp?workers=1&workers=2", "given twice"),
        ("cp?time_limit=3", "whole batch"),
        ("?x=1", "empty method spec"),
    ],
)
def test_bad_method_specs_are_explained(text, message):
    with pytest.raises(sf.InvalidOption, match=message):
        MethodSpec.parse(text)


def test_seeds():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    assert parse_seeds([5, 5, 6]) == [5, 6]
    with pytest.raises(sf.InvalidOption, match="0,1,2"):
        parse_seeds("a")


def test_instances_from_files_directories_globs_and_suites(tmp_path, instance_dir):
    folder = expand_instances([instance_dir])
    assert sorted(i.name for i in folder) == sorted(
        sf.read(p).name for p in instance_dir.glob("*.json")
    )
    # Files no reader recognises are skipped inside a directory ...
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "README.md").write_text("notes about the set\n")
    sf.write(sf.generate("smtt", jobs=5, seed=9), mixed / "one.json")
    assert len(expand_instances([mixed])) == 1
    # ... but a file named explicitly must be readable.
    with pytest.raises(sf.SchedforgeError):
        expand_instances([mixed / "README.md"])
    assert len(expand_instances([str(instance_dir / "i*.json")])) == 3
    assert len(expand_instances([instance_dir / "i0.json", instance_dir / "i0.json"])) == 1
    demo = expand_instances(["suite:smtt-demo"])
    assert len(demo) == 15 and {i.problem for i in demo} == {"smtt"}
    with pytest.raises(sf.SchedforgeError, match="no such file"):
        expand_instances([tmp_path / "missing*.txt"])
    with pytest.raises(sf.SchedforgeError, match=r"unknown suite 'nope'; available: .*smtt-demo"):
        expand_instances(["suite:nope"])


def test_a_multi_instance_file_yields_every_instance():
    found = expand_instances(["orlib:wt40"])
    assert len(found) == 125
    assert found[0].name == "wt40_001"


def test_different_instances_with_one_name_are_told_apart(tmp_path):
    for folder, seed in (("edata", 1), ("rdata", 2)):
        (tmp_path / "set" / folder).mkdir(parents=True)
        sf.write(
            sf.generate("smtt", jobs=5, seed=seed, name="la01"),
            tmp_path / "set" / folder / "la01.json",
        )
    sf.write(sf.generate("smtt", jobs=5, seed=3, name="other"), tmp_path / "set" / "other.json")
    found = expand_instances([tmp_path / "set"])
    assert sorted(i.name for i in found) == ["edata/la01", "other", "rdata/la01"]
    # The same content under another name or folder stays one instance.
    sf.write(sf.generate("smtt", jobs=5, seed=1, name="la01"), tmp_path / "copy.json")
    assert len(expand_instances([tmp_path / "set", tmp_path / "copy.json"])) == 3
    # Two different instances in one file are numbered.
    sf.write(
        [sf.generate("smtt", jobs=5, seed=s, name="twin") for s in (4, 5)], tmp_path / "t.jsonl"
    )
    assert sorted(i.name for i in expand_instances([tmp_path / "t.jsonl"])) == ["twin#1", "twin#2"]


def test_grid_checks_methods_and_keys_are_stable(instance_dir):
    instances = expand_instances([instance_dir])
    specs = [MethodSpec.parse("rule:edd"), MethodSpec.parse("rule:atc?k=1.5")]
    grid = build_grid(instances, specs, [0, 1], 1.0)
    assert len(grid) == 12 and len({t.key for t in grid}) == 12
    assert [t.key for t in grid] == [t.key for t in build_grid(instances, specs, [0, 1], 1.0)]
    # A different time limit is a different run.
    assert not {t.key for t in grid} & {t.key for t in build_grid(instances, specs, [0, 1], 2.0)}
    with pytest.raises(sf.UnknownMethod, match=r"available: .*rule:edd"):
        build_grid(instances, [MethodSpec.parse("rule:nope")], [0], 1.0)
    with pytest.raises(sf.InvalidOption, match="kk"):
        build_grid(instances, [MethodSpec.parse("rule:atc?kk=2")], [0], 1.0)
    with pytest.raises(sf.InvalidOption, match="twice"):
        build_grid(instances, [specs[0], specs[0]], [0], 1.0)


def test_bundled_suite_is_rebuilt_exactly_from_its_manifest(tmp_path):
    suite = find_suite("smtt-demo")
    assert suite.problem == "smtt" and len(suite.files()) == 15
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "manifest.json").write_text((suite.path / "manifest.json").read_text())
    build_suite(copy)
    for original in suite.files():
        assert json.loads((copy / original.name).read_text()) == json.loads(original.read_text())


def test_suites_from_the_environment(tmp_path, monkeypatch):
    write_suite(
        tmp_path / "tiny",
        name="tiny",
        problem="smtt",
        description="two tiny instances",
        calls=[{"seed": 1, "params": {"jobs": 4}}, {"seed": 2, "params": {"jobs": 5}}],
    )
    monkeypatch.setenv("SCHEDFORGE_SUITES", str(tmp_path))
    assert "tiny" in [s.name for s in list_suites()]
    assert [i.instance.num_jobs for i in expand_instances(["suite:tiny"])] == [4, 5]


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
            lambda k: k not in ("time_limit", "seed")
        ),
        st.one_of(
            st.integers(-1000, 1000),
            st.booleans(),
            st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x != int(x)),
            st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(
                lambda t: t not in ("true", "false", "yes", "no", "on", "off")
            ),
        ),
        max_size=4,
    )
)
def test_method_label_round_trips(options):
    spec = MethodSpec.parse("rh:cp", options)
    assert MethodSpec.parse(spec.label) == spec


def test_threads_in_a_method_spec_is_the_budget_argument():
    """``cp?threads=1`` (documented for bench on two cores) is accepted and checked."""
    MethodSpec.parse("cp?threads=1").check("smtt")
    for bad in ("0", "5000", "two"):
        with pytest.raises(InvalidOption, match="threads"):
            MethodSpec.parse(f"cp?threads={bad}").check("smtt")


def test_a_broken_instance_in_a_directory_is_an_error_not_a_missing_row(tmp_path):
    """Notes, scripts and empty files are skipped; a recognised file that fails to read is not."""
    folder = tmp_path / "set"
    folder.mkdir()
    sf.write(sf.generate("smtt", jobs=5, seed=9), folder / "one.json")
    (folder / "notes.txt").write_text("hello, these are my instances\n")
    (folder / "run.sh").write_text("schedforge bench .\n")
    (folder / "empty.sm").write_text("")
    assert len(expand_instances([folder])) == 1
    (folder / "bad.sm").write_bytes((DATA / "rcpsp" / "NegativeDuration.sm").read_bytes())
    with pytest.raises(sf.SchedforgeError, match=r"bad\.sm:\d+: .*duration"):
        expand_instances([folder])
    # A suite folder given as a directory: its manifest is not an instance.
    assert len(expand_instances([find_suite("smtt-demo").path])) == 15
