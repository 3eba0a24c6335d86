"""Summary tables, exports and the HTML/Markdown report."""

from __future__ import annotations

import csv
import dataclasses
import re

import pytest

import schedforge as sf
from schedforge.bench.batch import BenchConfig, run_batch
from schedforge.bench.executors import oversubscription, solver_threads
from schedforge.bench.grid import MethodSpec
from schedforge.bench.report import choose_instance, write_report
from schedforge.bench.storage import Store
from schedforge.bench.summary import summarize, to_markdown


def _row(instance, method, seed, status, objective, runtime=1.0, reference=None):
    return {
        "problem": "smtt",
        "instance": instance,
        "method": method,
        "seed": seed,
        "status": status,
        "objective": objective,
        "runtime": runtime,
        "reference": reference,
        "reference_source": None if reference is None else "table",
    }


def test_summary_counts_gaps_wins_and_times():
    rows = [
        _row("a", "m1", 0, "OPTIMAL", 10, 2.0, reference=10),
        _row("a", "m2", 0, "FEASIBLE", 20, 1.0, reference=10),
        _row("b", "m1", 0, "FEASIBLE", 5, 4.0),  # no stored reference: best found (5)
        _row("b", "m2", 0, "FEASIBLE", 5, 3.0),
        _row("c", "m1", 0, "TIMEOUT", None, 9.0),
        _row("c", "m2", 0, "FEASIBLE", 8, 1.0),
    ]
    table = {s.method: s for s in summarize(rows)}
    m1, m2 = table["m1"], table["m2"]
    assert (m1.runs, m1.solved, m1.optimal, m1.failed) == (3, 2, 1, 1)
    assert (m2.runs, m2.solved, m2.optimal, m2.failed) == (3, 3, 0, 0)
    assert m1.mean_gap == 0.0
    assert m2.mean_gap == pytest.approx(0.5 / 3)  # gaps 0.5, 0, 0
    assert m2.median_gap == 0.0
    assert (m1.wins, m2.wins) == (2, 2)  # a: m1; b: tie; c: m2 (m1 has no solution)
    assert m1.mean_time == pytest.approx(3.0)  # failed runs are not timed
    text = to_markdown(summarize(rows))
    assert text.splitlines()[0].startswith("| problem | method | instances")
    assert "| smtt | m2 | 3 | 3 | 3/3 | 0 | 0 | 16.67 | 0.00 | 2 | 1.667 |" in text


def test_wins_use_the_mean_over_seeds():
    rows = [
        _row("a", "m1", 0, "FEASIBLE", 10),
        _row("a", "m1", 1, "FEASIBLE", 30),
        _row("a", "m2", 0, "FEASIBLE", 15),
        _row("a", "m2", 1, "FEASIBLE", 16),
    ]
    table = {s.method: s for s in summarize(rows)}
    assert (table["m1"].wins, table["m2"].wins) == (0, 1)


def test_oversubscription_warning():
    assert oversubscription(2, 1, cores=2) is None
    message = oversubscription(2, 2, cores=2)
    assert "4 > 2 cores" in message and "--jobs 1" in message
    specs = [MethodSpec.parse("rule:edd"), MethodSpec.parse("cp?threads=3")]
    assert solver_threads(specs, ["smtt"]) == 3


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory, instance_dir, plugin):
    out = tmp_path_factory.mktemp("batch")
    config = BenchConfig(
        instances=[str(instance_dir)],
        methods=[MethodSpec.parse(m) for m in ("bench-ok", "bench-ok?reverse=true", "bench-raise")],
        time_limit=1.0,
        seeds=[0, 1],
        jobs=2,
        out=out,
        plugins=[plugin],
        warmup=False,
        export=[out / "runs.csv", out / "runs.parquet"],
    )
    run_batch(config)
    return out


def test_exports(small_batch):
    with (small_batch / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 18
    assert {"instance", "method", "seed", "status", "gap", "solution", "numba_version"} <= set(
        rows[0]
    )
    pq = pytest.importorskip("pyarrow.parquet")
    assert pq.read_table(small_batch / "runs.parquet").num_rows == 18
    with (
        Store(small_batch) as store,
        pytest.raises(sf.SchedforgeError, match=r"\.csv or \.parquet"),
    ):
        store.export(small_batch / "runs.xlsx")


def test_report_is_self_contained(small_batch, tmp_path):
    html_out, md_out = write_report(small_batch, html_path=tmp_path / "r.html")
    page = html_out.read_text()
    assert page.count("data:image/png;base64,") >= 4  # profile, gap/time, 2 Gantt charts
    # Self-contained: no external image, script or stylesheet.
    assert not re.search(r"""(src|href)=['"](?!data:)""", page)
    assert "bench-ok?reverse=true" in page and "Failed runs" in page
    markdown = md_out.read_text()
    assert markdown.startswith("# Benchmark report")
    for name in re.findall(r"\]\(([^)]+\.png)\)", markdown):
        assert (md_out.parent / name).exists()
    assert "RuntimeError: deliberate failure" in markdown


def test_report_on_a_chosen_instance_and_errors(small_batch, tmp_path):
    with Store(small_batch) as store:
        rows = store.runs()
    name = choose_instance(rows)
    assert name in {r["instance"] for r in rows}
    html_out, _ = write_report(small_batch, html_path=tmp_path / "a.html", instance=name)
    assert name in html_out.read_text()
    with pytest.raises(sf.SchedforgeError, match="no run on instance 'nope'"):
        write_report(small_batch, html_path=tmp_path / "b.html", instance="nope")
    with pytest.raises(sf.SchedforgeError, match="no benchmark database"):
        write_report(tmp_path / "empty")


def test_runs_with_different_time_limits_are_not_averaged():
    rows = [
        {**_row("a", "m1", 0, "FEASIBLE", 10), "time_limit": 1.0},
        {**_row("a", "m1", 0, "FEASIBLE", 8), "time_limit": 5.0},
        {**_row("a", "m2", 0, "FEASIBLE", 9), "time_limit": 1.0},
    ]
    labels = {s.method for s in summarize(rows)}
    assert labels == {"m1 @1s", "m1 @5s", "m2"}


def test_retry_failed_runs_them_again(small_batch, instance_dir, plugin):
    config = BenchConfig(
        instances=[str(instance_dir)],
        methods=[MethodSpec.parse("bench-raise")],
        time_limit=1.0,
        seeds=[0, 1],
        out=small_batch,
        plugins=[plugin],
        warmup=False,
    )
    assert run_batch(config).done == 0
    outcome = run_batch(dataclasses.replace(config, retry_failed=True))
    assert (outcome.skipped, outcome.done, outcome.failed) == (0, 6, 6)
    with Store(small_batch) as store:
        assert store.count() == 18


def test_performance_profile_counts_unsolved_runs_as_never_within_tau():
    from schedforge.plot import gap_vs_time, performance_profile

    fig = performance_profile({"a": [0.0, 0.1, None, None], "b": [0.0, 0.0, 0.0, 0.2]})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    a, b = lines["a"].get_ydata(), lines["b"].get_ydata()
    assert a[0] == 0.25 and max(a) == 0.5  # one run at gap 0, two never solved
    assert b[0] == 0.75 and max(b) == 1.0
    fig = gap_vs_time({"a": [(0.1, 0.0), (0.3, 0.2)]})
    assert fig.axes[0].get_xscale() == "log"


def test_a_reference_table_given_later_applies_to_stored_runs(instance_dir, tmp_path):
    config = BenchConfig(
        instances=[str(instance_dir / "i0.json")],
        methods=[MethodSpec.parse("rule:edd")],
        time_limit=1.0,
        out=tmp_path,
        warmup=False,
    )
    run_batch(config)
    with Store(tmp_path) as store:
        (row,) = store.runs()
    assert row["reference"] is None
    table = tmp_path / "ref.csv"
    assert row["objective"] > 0
    table.write_text(f"instance,optimum\n{row['instance']},{row['objective'] / 2}\n")
    again = run_batch(
        dataclasses.replace(config, references=[str(table)], export=[tmp_path / "a.csv"])
    )
    assert again.done == 0 and (tmp_path / "a.csv").exists()
    with Store(tmp_path) as store:
        (row,) = store.runs()
    assert row["reference"] == row["objective"] / 2
    assert row["reference_source"] == "ref.csv:optimum"
    assert row["gap"] == pytest.approx(0.5)
