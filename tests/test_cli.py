"""The command line: happy paths and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import schedforge as sf
from tests.conftest import DATA


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schedforge.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "missing.txt", "--method", "rule:edd"], "no such file"),
        (["solve", str(DATA / "smtt" / "NonIntegerToken.txt"), "-m", "rule:edd"], ":2:"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:nope"], "available:"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "-o", "zz=1"], "zz"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "-o", "zz"], "name=value"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "--bogus"], "bogus"),
        (["methods", "nope"], "unknown problem"),
        (["warmup", "nope"], "unknown problem"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "-t", "0"], "time_limit"),
        (["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "-t", "nan"], "time_limit"),
        (
            ["solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "--threads", "0"],
            "threads",
        ),
        (["generate", "smtt", "--jobz", "3"], "jobz"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message):
    proc = run(*args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 3


def test_solve_json_and_gantt(tmp_path):
    png = tmp_path / "g.png"
    proc = run(
        "solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "rule:edd", "--json", "--gantt", str(png)
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] in ("OPTIMAL", "FEASIBLE")
    inst = sf.read(DATA / "smtt" / "tiny3.txt")
    assert sorted(result["solution"]["sequence"]) == [0, 1, 2]
    assert result["objective"] == sf.solve(inst, "rule:edd").objective
    assert png.stat().st_size > 1000


def test_warmup_and_stopping_rules():
    proc = run("warmup", "smtt")
    assert proc.returncode == 0 and "smtt: ready" in proc.stdout
    proc = run(
        "solve", str(DATA / "smtt" / "tiny3.txt"), "-m", "ls:edd", "--threads", "1", "--json"
    )
    assert proc.returncode == 0
    assert "compile_s" in json.loads(proc.stdout)["stats"]
    proc = run("methods", "--stopping-rules")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].startswith("| problem | method |")
    assert "| smtt | `exact` | 300 s, or a proven optimum | 1 |" in proc.stdout


def test_methods_lists_smtt_rules():
    proc = run("methods", "smtt")
    assert proc.returncode == 0
    assert "rule" in proc.stdout
    # Every variant by name, with its one-line description.
    assert "rule:aug-mddc" in proc.stdout and "ils:atc" in proc.stdout
    assert "earliest due date first" in proc.stdout
    assert "<16 variants>" not in proc.stdout


def test_every_builtin_variant_has_a_description():
    from schedforge.core.registry import method_entries, problems
    from schedforge.core.variants import describe

    missing = [
        f"{problem} {entry.name}:{variant}"
        for problem in problems()
        for entry in method_entries(problem)
        for variant in entry.variant_names()
        if not describe(problem, entry.name, variant)
    ]
    assert missing == []


def test_generate_writes_seeded_instances(tmp_path):
    proc = run(
        "generate", "smtt", "--jobs", "7", "--tf", "0.4", "--rdd", "0.2",
        "--count", "3", "--seed", "11", "--out", str(tmp_path), "--ext", ".txt",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = sorted(tmp_path.glob("*.txt"))
    assert len(files) == 3
    expected = sf.generate("smtt", jobs=7, tf=0.4, rdd=0.2, seed=11)
    assert sf.read(tmp_path / f"{expected.name}.txt").due.tolist() == expected.due.tolist()
