"""The bundled benchmark sets: counts, reference values, names as paths, the shipped bytes."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import schedforge as sf
from schedforge.bench.grid import expand_instances
from schedforge.benchsets import CATALOG, archive_members, is_dataset_name, unpacked

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "instances"
# One cheap constructive rule per family.
RULES = {"smtt": "rule:edd", "rcpsp": "rule:lft", "fjsp": "rule:mwkr-spt"}
# Files per set: one file holding all instances, or one file per instance.
FILES = {
    "orlib:wt40": 1,
    "orlib:wt50": 1,
    "orlib:wt100": 1,
    "smtt:cetinkaya-n20": 1,
    "smtt:cetinkaya-n20-alt": 1,
    "smtt:shang-n100": 1,
    "smtt:shang-n200": 1,
}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schedforge.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_catalog_lists_every_family_once_per_name():
    names = [d.name for d in sf.datasets()]
    assert len(names) == len(set(names)) == 18
    assert {d.problem for d in sf.datasets()} == {"smtt", "rcpsp", "fjsp"}
    assert [d.name for d in sf.datasets("rcpsp")] == ["psplib:j30", "psplib:j60", "psplib:j120"]
    for entry in CATALOG:
        assert entry.source and entry.citation and entry.license and entry.reference


@pytest.mark.parametrize("entry", CATALOG, ids=lambda d: d.name)
def test_dataset_counts_references_and_a_rule_solves_one(entry):
    paths = entry.paths()
    assert len(paths) == FILES.get(entry.name, entry.instances)
    instances = list(sf.read_all(entry.name))
    assert len(instances) == entry.instances
    assert {inst.problem for inst in instances} == {entry.problem}
    assert all(inst.reference is not None for inst in instances)
    assert all(inst.metadata["dataset"] == entry.name for inst in instances)
    # Optima are counted as the catalog says ("462 optima, 18 ...").
    optima = sum(inst.metadata.get("optimum") is not None for inst in instances)
    head = entry.reference.split(",")[0].split()
    assert optima == (int(head[0]) if head[1] == "optima" else 0)
    first = instances[0]
    res = sf.solve(first, RULES[entry.problem], time_limit=5)
    assert res.status.has_solution
    # No rule beats a proven optimum or a valid lower bound.
    assert res.objective >= first.metadata.get("optimum", first.metadata.get("lower_bound", 0))


def test_one_instance_by_name_and_by_file():
    assert sf.read("psplib:j30/j301_1").name == "j301_1"
    assert sf.read("psplib:j30/j301_1.sm").metadata["optimum"] == 43
    wt = sf.read("orlib:wt40/wt40_007")
    assert (wt.name, wt.metadata["optimum"]) == ("wt40_007", 6324)
    la01 = sf.read("fjsp:hurink-rdata/la01")
    assert la01.metadata["source"].endswith("hurink/rdata/la01.fjs")
    # The original Shang files carry the optimum of their JSON Lines twin.
    sdt = sf.read("smtt:shang-n100-sdt/SDT_100_0.2_0.2_1")
    twin = sf.read("smtt:shang-n100/shang2017_n100_R0.2_T0.2_1")
    assert list(sdt.processing) == list(twin.processing)
    assert sdt.metadata["optimum"] == twin.metadata["optimum"] == 2065


def test_natural_order():
    names = [p.stem for p in sf.dataset("psplib:j30").paths()[:11]]
    assert names[:3] == ["j301_1", "j301_2", "j301_3"]
    assert names[10] == "j302_1"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("psplib:j31", "unknown dataset 'psplib:j31'; bundled: orlib:wt40"),
        ("psplib:j30/j999_1", "psplib:j30 holds no instance 'j999_1'"),
    ],
)
def test_unknown_names_are_clear_errors(name, message):
    with pytest.raises(sf.SchedforgeError, match=message):
        list(sf.read_all(name))


def test_what_counts_as_a_name():
    assert is_dataset_name("psplib:j30")
    assert is_dataset_name("fjsp:hurink-edata/la01.fjs")
    assert not is_dataset_name("suite:smtt-demo")
    assert not is_dataset_name("C:\\data\\x.sm")
    assert not is_dataset_name("j30/j301_1.sm")


def test_export_gives_a_folder_that_reads_the_same(tmp_path):
    written = sf.dataset("fjsp:kacem").export(tmp_path / "k")
    assert {p.name for p in written} >= {"Kacem1.fjs", "bounds.csv", "README.md"}
    copied = list(sf.read_all(tmp_path / "k"))
    original = list(sf.read_all("fjsp:kacem"))
    assert [i.name for i in copied] == [i.name for i in original]
    assert [i.reference for i in copied] == [i.reference for i in original] == [11, 11, 7, 11]


def test_a_users_folder_with_a_bounds_table_is_a_dataset(tmp_path):
    folder = tmp_path / "mine"
    for seed in range(3):
        sf.write(sf.generate("smtt", jobs=8, seed=seed), folder / f"i{seed}.txt")
    (folder / "notes.md").write_text("not an instance\n")
    with (folder / "bounds.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["instance", "ub", "optimal"])
        out.writerows([["i0", 10, 1], ["i1", 20, 0]])
    found = {i.name: i for i in sf.read_all(folder)}
    assert sorted(found) == ["i0", "i1", "i2"]
    assert found["i0"].metadata["optimum"] == 10
    assert found["i1"].metadata["best_known"] == 20
    assert found["i2"].reference is None
    bench = {b.name: b for b in expand_instances([str(folder)])}
    assert bench["i1"].instance.reference == 20
    assert sf.dataset(folder).reference == "from bounds.csv"


def test_bench_takes_a_name_and_a_limit(tmp_path):
    proc = run(
        "bench", "psplib:j30", "--limit", "3", "-m", "rule:lft", "-t", "1", "--out", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert "gap reference: metadata:optimum" in proc.stdout
    assert "3 run(s) done now" in proc.stdout


def test_cli_datasets_list_info_export(tmp_path):
    listing = run("datasets", "list")
    assert listing.returncode == 0, listing.stderr
    for entry in CATALOG:
        assert entry.name in listing.stdout
    info = run("datasets", "info", "fjsp:kacem")
    assert info.returncode == 0, info.stderr
    assert "Kacem, Hammadi & Borne" in info.stdout and "attached to 4 of 4" in info.stdout
    export = run("datasets", "export", "orlib:wt40", str(tmp_path / "wt"))
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "wt" / "wt40.txt").is_file() and (tmp_path / "wt" / "wtopt40.txt").is_file()
    bad = run("datasets", "info", "orlib:wt41")
    assert bad.returncode != 0 and "unknown dataset" in bad.stderr and "Traceback" not in bad.stderr


def _build_script():
    spec = importlib.util.spec_from_file_location(
        "build_datasets", ROOT / "scripts" / "build_datasets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _recorded_digests() -> dict[str, str]:
    """``archive/member`` -> sha256, as recorded from the source when the archives were built."""
    manifest = ROOT / "schedforge" / "benchsets" / "SHA256SUMS"
    pairs = (line.split("  ", 1) for line in manifest.read_text().splitlines())
    return {name: digest for digest, name in pairs}


def test_shipped_files_are_the_public_files_byte_for_byte():
    # The archives hold exactly the files whose digests were recorded from the
    # public folders; wherever those folders are beside the checkout, the
    # recorded digests are checked against them too.
    build = _build_script()
    recorded = _recorded_digests()
    shipped = {}
    for archive in build.ARCHIVES:
        members = archive_members(archive)
        shipped.update({f"{archive}/{name}": data for name, data in members.items()})
        # The unpacked copy the readers use holds the same bytes.
        root = unpacked(archive)
        for name in list(members)[:20]:
            assert (root / name).read_bytes() == members[name]
    assert sorted(shipped) == sorted(recorded)
    for name, data in shipped.items():
        assert hashlib.sha256(data).hexdigest() == recorded[name], name
    if SOURCE.is_dir():
        assert build.manifest(SOURCE).splitlines() == [
            f"{digest}  {name}" for name, digest in sorted(recorded.items())
        ]


def test_an_unwritable_home_unpacks_into_the_temporary_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("SCHEDFORGE_HOME", str(blocker))
    unpacked.cache_clear()
    try:
        root = unpacked("fjsp")
        assert not root.is_relative_to(blocker)
        assert (root / "kacem" / "Kacem1.fjs").is_file()
    finally:
        unpacked.cache_clear()
