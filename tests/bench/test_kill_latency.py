"""A run that ignores its limit is killed within grace + 1 s, workers and their
solver processes included, and the batch does not pay a warm-up or a worker
start-up again for every killed run (``benchmarks/bench_kill_latency.py``
measures the latency; these check it with slack for a loaded machine)."""

from __future__ import annotations

import time

from schedforge.bench.batch import BenchConfig, Progress, run_batch
from schedforge.bench.grid import MethodSpec
from schedforge.bench.storage import Store
from schedforge.core.procpool import alive

LIMIT, GRACE = 0.5, 1.0
# Slack for a loaded machine; without the fixes each killed run cost 30 s.
SLACK = 2.0


def test_hung_runs_are_killed_within_grace_plus_one_second(instance_dir, plugin, tmp_path):
    config = BenchConfig(
        instances=[str(instance_dir)],
        methods=[MethodSpec.parse("bench-hang")],
        seeds=[0, 1],
        time_limit=LIMIT,
        grace=GRACE,
        jobs=1,
        warmup=True,
        out=tmp_path,
        plugins=[plugin],
    )
    began = time.monotonic()
    outcome = run_batch(config)
    elapsed = time.monotonic() - began
    assert outcome.done == outcome.failed == 6
    with Store(tmp_path) as store:
        rows = store.runs()
    assert {row["status"] for row in rows} == {"TIMEOUT"}
    # The first run hangs in its warm-up (killed after the warm-up run's own
    # short limit); the worker that replaces it skips the warm-up, so every
    # later run is a timed run killed at limit + grace.
    timed = [row for row in rows if "warm-up" not in row["message"]]
    assert len(timed) >= 5
    for row in rows:
        assert row["wall_time"] <= LIMIT + GRACE + 1.0 + SLACK, row
    # Six kills; worker replacements mostly come ready from a spare.
    assert elapsed < 6 * (LIMIT + GRACE + 1.0) + 60


class _Arrivals(Progress):
    """Seconds from handing a run to a worker until its row is back, and its solver's fate."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.began: dict[int, float] = {}
        self.seen: list[tuple[float, bool]] = []

    def started(self, task):
        self.began[task.seed] = time.monotonic()

    def finished(self, task, row):
        elapsed = time.monotonic() - self.began[task.seed]
        child = int(self.pidfile.read_text())
        self.seen.append((elapsed, alive(child)))


def test_a_hung_run_and_its_solver_process_are_gone_within_grace_plus_one_second(
    instance_dir, plugin, tmp_path
):
    """Measured when the row is back in the parent: worker killed and reaped, child dead."""
    pidfile = tmp_path / "child.pid"
    config = BenchConfig(
        instances=[str(instance_dir / "i0.json")],
        methods=[MethodSpec.parse(f"bench-spawn-hang?pidfile={pidfile}")],
        seeds=[0, 1],
        time_limit=LIMIT,
        grace=GRACE,
        jobs=1,
        warmup=False,
        out=tmp_path / "out",
        plugins=[plugin],
    )
    arrivals = _Arrivals(pidfile)
    outcome = run_batch(config, progress=arrivals)
    assert outcome.failed == 2 and len(arrivals.seen) == 2
    for elapsed, child_alive in arrivals.seen:
        assert elapsed <= LIMIT + GRACE + 1.0 + SLACK
        assert not child_alive
