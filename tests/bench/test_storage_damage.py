"""The results database refuses damaged or foreign files, repairs them, and
marks batches whose process died as interrupted."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from schedforge.bench.report import build_report, per_instance
from schedforge.bench.storage import DB_NAME, DamagedStore, Store, repair
from schedforge.bench.summary import summarize, table_rows, with_gaps

RUNS = 400


def _row(k: int) -> dict:
    return {
        "key": f"key-{k:05d}",
        "batch": 1,
        "instance": f"inst{k % 17}",
        "instance_hash": "h",
        "problem": "smtt",
        "method": "rule:edd",
        "spec": "rule:edd",
        "seed": k,
        "time_limit": 1.0,
        "status": "FEASIBLE",
        "objective": float(k),
        # Bulk, so that the rows span many pages and a cut loses some of them.
        "solution": "[" + ",".join(str(j) for j in range(60)) + "]",
    }


@pytest.fixture
def stored(tmp_path):
    """A folder with a healthy database of RUNS runs in one finished batch."""
    folder = tmp_path / "bench"
    with Store(folder) as store:
        batch = store.begin_batch("schedforge bench ...", "local", RUNS, 0)
        for k in range(RUNS):
            store.add_run(_row(k))
        store.end_batch(batch, RUNS, "finished")
    return folder


def _table(folder) -> dict[str, float]:
    with Store(folder, create=False) as store:
        return {row["key"]: row["objective"] for row in store.runs()}


def _damage(path, how: str) -> None:
    data = path.read_bytes()
    if how == "half":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage-header":
        path.write_bytes(bytes(range(7, 107)) + data[100:])
    elif how == "zero-bytes":
        path.write_bytes(b"")
    elif how == "other-program":
        path.unlink()
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.commit()
        conn.close()


@pytest.mark.parametrize("how", ["half", "garbage-header", "zero-bytes", "other-program"])
def test_damaged_or_foreign_file_is_refused_with_the_way_out(stored, how):
    path = stored / DB_NAME
    _damage(path, how)
    before = path.read_bytes()
    for create in (True, False):  # bench opens with create, report without
        with pytest.raises(DamagedStore) as info:
            Store(stored, create=create)
        message = str(info.value)
        assert "--out" in message and "--repair" in message
    assert path.read_bytes() == before  # nothing was written to it


@pytest.mark.parametrize("how", ["half", "garbage-header", "zero-bytes"])
def test_repair_keeps_every_readable_row_and_counts_the_lost(stored, how):
    original = _table(stored)
    _damage(stored / DB_NAME, how)
    damaged, kept, lost = repair(stored)
    assert damaged.exists()
    repaired = _table(stored)
    # Every kept row is an original row, unchanged; the rest is reported lost.
    assert all(original[key] == value for key, value in repaired.items())
    assert kept["runs"] == len(repaired)
    if how == "garbage-header":
        assert repaired == original and lost["runs"] == 0
    elif how == "half":
        assert 0 < len(repaired) < RUNS
        assert len(repaired) + lost["runs"] == RUNS
    else:
        assert repaired == {}
    with Store(stored) as store:  # the repaired file opens for the next batch
        assert store.count() == len(repaired)


def test_a_batch_whose_process_is_gone_is_marked_interrupted(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store(tmp_path) as store:
        gone = store.begin_batch("gone", "local", 1, 0)
        alive = store.begin_batch("alive", "local", 1, 0)  # this process
        store.conn.execute("UPDATE batches SET pid = ? WHERE id = ?", (dead.pid, gone))
        store.conn.commit()
    with Store(tmp_path) as store:
        assert store.mark_interrupted() == 1
        states = {b["id"]: b["state"] for b in store.batches()}
    assert states == {gone: "interrupted", alive: "running"}


def _bench(out, *extra: str, seeds: str = "0-3") -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "schedforge.cli",
        "bench",
        "suite:smtt-demo",
        "-m",
        "rule:edd",
        "-m",
        "rule:wspt",
        "--seeds",
        seeds,
        "-t",
        "5",
        "-j",
        "1",
        "-o",
        str(out),
        *extra,
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _tables(rows) -> tuple[list[list[str]], list[list[str]]]:
    """The report's summary table (without the mean time) and its per-instance table."""
    rows = with_gaps(rows)
    summary = [cells[:-1] for cells in table_rows(summarize(rows))]
    header, body = per_instance(rows)
    return summary, [header, *body]


def _report_tables(out) -> tuple[list[list[str]], list[list[str]]]:
    """The tables ``schedforge report`` prints for ``out`` (times vary, so left out)."""
    with Store(out, create=False) as store:
        report = build_report(store, plots=False)
    return _tables(report.rows)


def _stored_rows(out) -> list[dict]:
    with Store(out, create=False) as store:
        return store.runs()


def _results(out) -> set[tuple]:
    with Store(out, create=False) as store:
        return {
            (r["instance"], r["method"], r["seed"], r["status"], r["objective"])
            for r in store.runs()
        }


def test_kill_9_then_resume_gives_the_same_table(tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    first = _bench(killed)
    database = killed / DB_NAME
    deadline = time.monotonic() + 240
    stored = 0
    while time.monotonic() < deadline and first.poll() is None:
        if database.exists():
            try:
                conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
                stored = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
                conn.close()
            except sqlite3.DatabaseError:
                stored = 0
        if stored >= 3:
            break
        time.sleep(0.05)
    if first.poll() is None:
        os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert _bench(clean).wait(timeout=300) == 0
    assert _bench(killed).wait(timeout=300) == 0
    assert _results(killed) == _results(clean)
    assert _report_tables(killed) == _report_tables(clean)
    with Store(killed, create=False) as store:
        states = [b["state"] for b in store.batches()]
    if first.returncode == -signal.SIGKILL:
        assert states == ["interrupted", "finished"]


def test_repair_gives_the_same_report_minus_the_lost_runs_and_resume_restores_it(tmp_path):
    """bench, cut the file short, report refuses, --repair, report, bench again, report."""
    out = tmp_path / "runs"
    assert _bench(out, seeds="0-1").wait(timeout=300) == 0
    original = _stored_rows(out)
    assert len(original) == 60
    before = _report_tables(out)
    database = out / DB_NAME
    data = database.read_bytes()
    # Cut off the last two pages: the newest runs are there, the schema and the
    # older runs are not (half the file would hold no run at all).
    database.write_bytes(data[: len(data) - 2 * 4096])

    refused = subprocess.run(
        [sys.executable, "-m", "schedforge.cli", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "--repair" in refused.stderr

    repaired = subprocess.run(
        [sys.executable, "-m", "schedforge.cli", "bench", "--repair", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert repaired.returncode == 0, repaired.stderr
    said = " ".join(repaired.stdout.split())
    kept = int(re.search(r"kept (\d+) run", said).group(1))
    lost = int(re.search(r"(\d+) run\(s\) could not be read", said).group(1))
    rows = _stored_rows(out)
    assert kept == len(rows) and kept + lost == len(original)
    assert 0 < kept < len(original)
    # The report of the repaired file is the report of the original rows it kept.
    keys = {row["key"] for row in rows}
    assert _report_tables(out) == _tables([r for r in original if r["key"] in keys])

    assert _bench(out, seeds="0-1").wait(timeout=300) == 0
    assert len(_stored_rows(out)) == 60
    assert _report_tables(out) == before
