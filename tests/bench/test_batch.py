"""Batches survive failing methods, resume without duplicates, and agree across executors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import schedforge as sf
from schedforge.bench.batch import BenchConfig, Progress, run_batch
from schedforge.bench.grid import MethodSpec, build_grid, expand_instances
from schedforge.bench.storage import Store


def _config(instance_dir, plugin, out, methods, **kw):
    options = dict(time_limit=0.3, jobs=2, grace=0.5, warmup=False)
    options.update(kw)
    return BenchConfig(
        instances=[str(instance_dir)],
        methods=[MethodSpec.parse(m) for m in methods],
        out=out,
        plugins=[plugin],
        **options,
    )


def test_failing_methods_cost_one_row_each(instance_dir, plugin, tmp_path):
    methods = ["bench-ok", "bench-raise", "bench-hang", "bench-kill", "bench-ok?reverse=true"]
    config = _config(instance_dir, plugin, tmp_path, methods)
    config.instances = [str(instance_dir / "i0.json"), str(instance_dir / "i1.json")]
    outcome = run_batch(config)
    assert outcome.planned == outcome.done == 10
    assert outcome.failed == 6
    with Store(tmp_path) as store:
        rows = store.runs()
    assert len(rows) == 10
    by_method: dict[str, list[dict]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    for row in by_method["bench-raise"]:
        assert row["status"] == "ERROR"
        assert row["message"].startswith("RuntimeError: deliberate failure on")
        assert "Traceback" in row["traceback"]
    for row in by_method["bench-hang"]:
        assert row["status"] == "TIMEOUT"
        assert "time limit 0.3 s + grace 0.5 s" in row["message"]
        assert 0.8 <= row["runtime"] < 10
    for row in by_method["bench-kill"]:
        assert row["status"] == "ERROR"
        assert "SIGKILL" in row["message"]
    # Every other run is intact: solved, checked against the oracle, stored whole.
    for label in ("bench-ok", "bench-ok?reverse=true"):
        for row in by_method[label]:
            assert row["status"] in ("OPTIMAL", "FEASIBLE")
            with Store(tmp_path) as store:
                data = store.instance_data(row["instance"])
            inst = sf.get_problem("smtt").instance_type.from_dict(data)
            solution = sf.get_problem("smtt").solution_type.from_dict(json.loads(row["solution"]))
            assert sf.get_problem("smtt").validate(inst, solution) == []
            assert row["objective"] == sf.get_problem("smtt").objective(inst, solution)
            assert row["schedforge_version"] == sf.__version__
            assert row["numba_version"] and row["ortools_version"] and row["pulp_version"]
            assert row["peak_memory_mb"] > 0
            assert json.loads(row["options"]) == ({"reverse": True} if "?" in label else {})
    # A second invocation runs nothing new.
    again = run_batch(config)
    assert (again.done, again.skipped) == (0, 10)
    with Store(tmp_path) as store:
        assert store.count() == 10
        assert [b["state"] for b in store.batches()] == ["finished"]


class _InterruptAfter(Progress):
    """Raises KeyboardInterrupt (as Ctrl-C would) after ``count`` stored runs."""

    def __init__(self, count: int):
        self.count = count

    def finished(self, task, row):
        self.count -= 1
        if self.count == 0:
            raise KeyboardInterrupt


def test_interrupted_batch_resumes_without_duplicates(instance_dir, plugin, tmp_path):
    methods = ["bench-sleep?seconds=0.05", "bench-ok"]
    config = _config(instance_dir, plugin, tmp_path, methods, seeds=[0, 1])
    with pytest.raises(KeyboardInterrupt):
        run_batch(config, progress=_InterruptAfter(5))
    with Store(tmp_path) as store:
        assert store.count() == 5
        assert store.batches()[-1]["state"] == "interrupted"
    outcome = run_batch(config)
    assert (outcome.skipped, outcome.done) == (5, 7)
    planned = {
        t.key for t in build_grid(expand_instances([instance_dir]), config.methods, [0, 1], 0.3)
    }
    with Store(tmp_path) as store:
        keys = [row["key"] for row in store.runs()]
    assert len(keys) == len(set(keys)) == 12
    assert set(keys) == planned


def test_ctrl_c_in_the_terminal_leaves_a_consistent_database(instance_dir, plugin, tmp_path):
    """SIGINT to a real ``schedforge bench`` process; then the same command resumes."""
    command = [
        sys.executable,
        "-m",
        "schedforge.cli",
        "bench",
        str(instance_dir),
        "-m",
        "bench-sleep?seconds=0.2",
        "-t",
        "1",
        "--seeds",
        "0-2",
        "-j",
        "1",
        "--no-warmup",
        "--plugin",
        plugin,
        "-o",
        str(tmp_path),
    ]
    # A shell that starts a job in the background ignores SIGINT in it, and
    # the ignoring is inherited: restore the default so Python installs its
    # KeyboardInterrupt handler, as in an interactive terminal.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    db = tmp_path / "results.sqlite"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if db.exists():
            # Closed at once: an SQLite connection left to the garbage
            # collector would close the file later, while other connections
            # of this process have it open.
            with Store(db) as store:
                if store.count() >= 2:
                    break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    with Store(db) as store:
        stored = store.count()
    assert 2 <= stored < 9
    # The same batch again (here in-process: same grid, same keys) completes it.
    config = _config(
        instance_dir, plugin, tmp_path, ["bench-sleep?seconds=0.2"], time_limit=1.0, jobs=1
    )
    config.seeds = [0, 1, 2]
    assert run_batch(config).done == 9 - stored
    with Store(db) as store:
        rows = store.runs()
        keys = [row["key"] for row in rows]
        states = [b["state"] for b in store.batches()]
    assert len(keys) == len(set(keys)) == 9
    assert states == ["interrupted", "finished"]
    # No worker outlives its batch (pids recorded with each row).
    pids = {int(row["worker"].rsplit(":", 1)[1]) for row in rows}
    assert pids and not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_dask_local_cluster_gives_the_same_rows(instance_dir, plugin, tmp_path):
    pytest.importorskip("dask.distributed")
    methods = ["bench-ok", "bench-raise", "bench-ok?reverse=true", "bench-kill"]
    files = [str(instance_dir / "i0.json"), str(instance_dir / "i1.json")]
    local = _config(instance_dir, plugin, tmp_path / "local", methods)
    dask = _config(instance_dir, plugin, tmp_path / "dask", methods, executor="dask")
    local.instances = dask.instances = files
    assert run_batch(local).done == 8
    assert run_batch(dask).done == 8

    def essence(folder):
        with Store(folder) as store:
            return sorted(
                (
                    r["key"],
                    r["instance"],
                    r["method"],
                    r["seed"],
                    r["status"],
                    r["objective"],
                    r["solution"],
                    (r["message"] or "").split(" ")[0],
                )
                for r in store.runs()
            )

    rows = essence(tmp_path / "local")
    statuses = {r[4] for r in rows}
    assert "ERROR" in statuses and statuses & {"OPTIMAL", "FEASIBLE"}
    assert rows == essence(tmp_path / "dask")


def test_warmup_runs_are_not_timed_but_are_bounded(instance_dir, plugin, tmp_path):
    methods = ["bench-ok", "bench-hang"]
    config = _config(
        [instance_dir / "i0.json"][0], plugin, tmp_path, methods, warmup=True, warmup_limit=1.0
    )
    config.instances = [str(instance_dir / "i0.json")]
    run_batch(config)
    with Store(tmp_path) as store:
        rows = {r["method"]: r for r in store.runs()}
    assert rows["bench-ok"]["status"] in ("OPTIMAL", "FEASIBLE")
    assert rows["bench-hang"]["status"] == "TIMEOUT"
    assert "warm-up" in rows["bench-hang"]["message"]


def test_a_timeout_kills_the_solver_subprocesses_too(instance_dir, plugin, tmp_path):
    pidfile = tmp_path / "child.pid"
    config = _config(instance_dir, plugin, tmp_path, [f"bench-spawn-hang?pidfile={pidfile}"])
    config.instances = [str(instance_dir / "i0.json")]
    config.jobs = 1
    run_batch(config)
    with Store(tmp_path) as store:
        assert [r["status"] for r in store.runs()] == ["TIMEOUT"]
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_workers_die_with_a_killed_parent(instance_dir, plugin, tmp_path):
    """kill -9 of ``schedforge bench``: no worker is left running its method."""
    command = [
        sys.executable,
        "-m",
        "schedforge.cli",
        "bench",
        str(instance_dir),
        "-m",
        "bench-hang",
        "-t",
        "60",
        "-j",
        "2",
        "--no-warmup",
        "--plugin",
        plugin,
        "-o",
        str(tmp_path),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    # Starting processes on a loaded machine can be slow; waiting costs nothing otherwise.
    deadline = time.monotonic() + 120
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.1)
    assert len(workers) == 2
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30  # generous: a loaded machine is slow to reap
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]
    with Store(tmp_path) as store:
        assert store.count() == 0  # nothing finished, nothing half-written


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"schedforge.bench.worker" in cmdline:
                found.append(int(entry.name))
    return found
