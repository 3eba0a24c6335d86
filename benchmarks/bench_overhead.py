"""Per-run overhead of ``schedforge bench`` against calling ``solve()`` in a loop.

Runs N tasks of a fast dispatching rule (SMTT ``rule:edd``, n = 40) three
ways and prints wall time per run:

* ``solve()`` in a loop in this process (no isolation, no storage);
* ``run_batch`` with ``--jobs 1`` and ``--jobs 2``: long-lived worker
  processes with hard limits, every row committed to SQLite as it finishes
  (the whole cost: worker start-up, warm-up, hand-over, storage);
* a fresh Python process per run (the naive design the pool avoids), on a
  few runs only, to show why workers are long-lived.

Target: overhead below 20 ms per run with ``--jobs 2``.

Usage::

    .venv/bin/python benchmarks/bench_overhead.py            # 1,000 runs
    .venv/bin/python benchmarks/bench_overhead.py --quick    # 200 runs
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import schedforge as sf
from schedforge.bench.batch import BenchConfig, Progress, run_batch
from schedforge.bench.grid import MethodSpec

RESULTS = Path(__file__).resolve().parent / "results" / "bench_overhead.md"
METHOD = "rule:edd"


def loop(instances, seeds) -> float:
    start = time.perf_counter()
    for inst in instances:
        for seed in seeds:
            sf.solve(inst, METHOD, time_limit=10.0, seed=seed)
    return time.perf_counter() - start


class Clock(Progress):
    """Records when the first and the last run finished (steady-state throughput)."""

    def __init__(self):
        self.first = self.last = 0.0
        self.count = 0

    def finished(self, task, row):
        self.last = time.perf_counter()
        self.first = self.first or self.last
        self.count += 1

    def steady(self) -> float:
        """Seconds per run between the first and the last result."""
        return (self.last - self.first) / max(1, self.count - 1)


def batch(folder: Path, jobs: int, seeds) -> tuple[float, float]:
    config = BenchConfig(
        instances=[str(folder / "instances")],
        methods=[MethodSpec.parse(METHOD)],
        time_limit=10.0,
        seeds=list(seeds),
        jobs=jobs,
        out=folder / f"out-{jobs}",
    )
    clock = Clock()
    start = time.perf_counter()
    outcome = run_batch(config, progress=clock)
    elapsed = time.perf_counter() - start
    assert outcome.done == outcome.planned and outcome.failed == 0, outcome
    return elapsed, clock.steady()


def fresh_processes(path: Path, runs: int) -> float:
    code = (
        "import sys, schedforge as sf; "
        f"sf.solve(sf.read(sys.argv[1]), {METHOD!r}, time_limit=10.0, seed=0)"
    )
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 runs instead of 1,000")
    parser.add_argument("--fresh-runs", type=int, default=5, help="runs of the naive design")
    args = parser.parse_args()
    runs = 200 if args.quick else 1000
    num_instances = 10
    seeds = range(runs // num_instances)
    command = "python benchmarks/bench_overhead.py" + (" --quick" if args.quick else "")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    folder = Path(tempfile.mkdtemp(prefix="bench_overhead_"))
    try:
        (folder / "instances").mkdir()
        instances = []
        for k in range(num_instances):
            inst = sf.generate("smtt", jobs=40, tf=0.6, rdd=0.4, seed=k)
            sf.write(inst, folder / "instances" / f"{inst.name}.json")
            instances.append(inst)
        sf.solve(instances[0], METHOD)  # compile / load the numba cache once
        rows = []
        t_loop = loop(instances, seeds)
        rows.append(("solve() loop, in process", runs, t_loop, t_loop / runs))
        for jobs in (1, 2):
            total, steady = batch(folder, jobs, seeds)
            rows.append((f"schedforge bench --jobs {jobs}", runs, total, steady))
        fresh = fresh_processes(folder / "instances" / f"{instances[0].name}.json", args.fresh_runs)
        rows.append(("fresh process per run", args.fresh_runs, fresh, fresh / args.fresh_runs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    base = t_loop / runs
    lines = [
        f"`{command}`",
        "",
        f"{METHOD} on SMTT n = 40, {runs} runs ({num_instances} instances × {len(seeds)} seeds); "
        "batch times include worker start-up, one warm-up per worker and an SQLite "
        f"commit per row. Machine: {os.cpu_count()} cores, load average {load:.1f} at the "
        "start (shared with other work).",
        "",
        "| runner | runs | total s | ms per run (total / runs) | overhead vs loop, ms per run "
        "| steady-state ms per run (first to last result) |",
        "|---|---|---|---|---|---|",
    ]
    for name, count, total, steady in rows:
        per = 1000 * total / count
        lines.append(
            f"| {name} | {count} | {total:.2f} | {per:.3f} | {per - 1000 * base:.3f} "
            f"| {1000 * steady:.3f} |"
        )
    over2 = 1000 * (rows[2][2] / runs - base)
    verdict = "meets" if over2 < 20 else "misses"
    lines += [
        "",
        f"Overhead with --jobs 2: {over2:.2f} ms per run, start-up included "
        f"({verdict} the 20 ms target); steady state {1000 * rows[2][3]:.2f} ms per run.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
