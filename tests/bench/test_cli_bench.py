"""``schedforge bench`` and ``schedforge report`` from the command line."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from schedforge import cli
from schedforge.bench.experiment import load_experiment
from schedforge.bench.storage import Store
from schedforge.core.errors import ParseError, SchedforgeError


@pytest.fixture
def _cli(monkeypatch, capsys):
    """Run ``schedforge ARGS`` in this process through ``cli.main`` (as the console script)."""

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["schedforge", *map(str, args)])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return run


def test_list_suites(_cli):
    done = _cli("bench", "--list-suites")
    assert done.returncode == 0
    assert "smtt-demo" in done.stdout and "smtt" in done.stdout


def test_experiment_file_run_resume_and_report(_cli, tmp_path, instance_dir):
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        f"""
instances = ["{instance_dir}/i0.json", "{instance_dir}/i1.json"]
methods = ["rule:edd"]
time_limit = 1.0
seeds = [0, 1]
jobs = 1
out = "runs"
warmup = false
export = ["runs/all.csv"]

[[method]]
spec = "rule:atc"
options = {{ k = 1.5 }}
"""
    )
    done = _cli("bench", experiment)
    assert done.returncode == 0, done.stderr
    assert "rule:atc?k=1.5" in done.stdout and "rule:edd" in done.stdout
    assert "8 run(s) done now, 0 already stored" in done.stdout
    with Store(tmp_path / "runs") as store:
        rows = store.runs()
    assert len(rows) == 8 and (tmp_path / "runs" / "all.csv").exists()
    assert {r["status"] for r in rows} <= {"OPTIMAL", "FEASIBLE"}
    again = _cli("bench", experiment, "--jobs", "2")
    assert "0 run(s) done now, 8 already stored" in again.stdout, again.stderr
    report = _cli("report", tmp_path / "runs")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "runs" / "report.html").exists()
    assert (tmp_path / "runs" / "report.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "rule:nope", "-t", "1"], "unknown method 'rule:nope' for smtt; available:"),
        (["-m", "rule:edd"], "missing --time-limit"),
        (["-m", "rule:atc?kk=1", "-t", "1"], "does not accept option(s) kk"),
        (["-m", "rule:edd", "-t", "1", "--reference", "nope.csv"], "nope.csv: no such file"),
    ],
)
def test_bad_input_is_one_line(_cli, tmp_path, instance_dir, args, message):
    done = _cli("bench", instance_dir / "i0.json", *args, "-o", tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error:") and message in done.stderr
    assert "Traceback" not in done.stderr


def test_experiment_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("instances = [\n")
    with pytest.raises(SchedforgeError, match="invalid TOML"):
        load_experiment(bad)
    bad.write_text('instancs = ["x"]\n')
    with pytest.raises(SchedforgeError, match="unknown key"):
        load_experiment(bad)
    bad.write_text(f"jobs = {'9' * 5000}\n")
    with pytest.raises(ParseError, match="a value TOML cannot hold"):
        load_experiment(bad)


def test_a_none_option_runs_in_bench(_cli, tmp_path, instance_dir):
    """``stall=None`` (run until the time limit) works in bench, not as ERROR rows."""
    out = tmp_path / "runs"
    done = _cli(
        "bench",
        f"{instance_dir}/i0.json",
        "-m",
        "ils:mddc?stall=None",
        "-t",
        "0.3",
        "-o",
        out,
        "--no-warmup",
    )
    assert done.returncode == 0, done.stderr
    with Store(out) as store:
        rows = store.runs()
    assert [row["status"] for row in rows] in (["FEASIBLE"], ["OPTIMAL"])
    assert rows[0]["method"] == "ils:mddc?stall=None"
