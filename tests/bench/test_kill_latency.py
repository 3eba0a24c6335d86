"""A run that ignores its limit is killed within grace + 1 s, and the batch
does not pay a warm-up or a worker start-up again for every killed run."""

from __future__ import annotations

import time

from schedforge.bench.batch import BenchConfig, run_batch
from schedforge.bench.grid import MethodSpec
from schedforge.bench.storage import Store

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
