"""How fast ``schedforge bench`` kills a run that ignores its time limit.

Three misbehaving SMTT methods, loaded as a plugin by every worker:

* ``hang``: sleeps forever;
* ``spin``: a busy Python loop (holds a core, as a stuck solver does);
* ``hang-child``: starts a child process (as CBC is started by PuLP), then
  sleeps forever; the child must die with the worker.

Each method records, inside the worker, the moment it starts (the system's
monotonic clock, the same in every process) and its process ids. The
benchmark notes when the row of each run reaches the parent (after the kill
and the reaping of the worker), and then whether the worker and the child
are still alive. Kill latency is that moment minus ``start + limit + grace``;
the target is at most 1 s, i.e. every run over within ``limit + grace + 1``
seconds of wall time, workers and children included.

Usage::

    .venv/bin/python benchmarks/bench_kill_latency.py            # 8 runs per line
    .venv/bin/python benchmarks/bench_kill_latency.py --quick    # 4 runs per line
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import schedforge as sf
from schedforge.bench.batch import BenchConfig, Progress, run_batch
from schedforge.bench.grid import MethodSpec
from schedforge.core.procpool import alive

RESULTS = Path(__file__).resolve().parent / "results" / "bench_kill_latency.md"
LIMIT, GRACE = 0.5, 1.0

PLUGIN = textwrap.dedent(
    """
    import json, os, subprocess, time

    from schedforge.core.registry import method


    def _record(instance, budget, child=None):
        line = {"instance": instance.name, "seed": budget.seed, "start": time.monotonic(),
                "pid": os.getpid(), "child": child}
        with open(os.environ["KILL_BENCH_LOG"], "a") as fh:
            fh.write(json.dumps(line) + "\\n")


    @method("smtt", "hang", default_stop="never (ignores its budget)")
    def hang(instance, *, budget):
        \"\"\"Sleeps forever.\"\"\"
        _record(instance, budget)
        while True:
            time.sleep(1)


    @method("smtt", "spin", default_stop="never (ignores its budget)")
    def spin(instance, *, budget):
        \"\"\"Holds a core forever.\"\"\"
        _record(instance, budget)
        while True:
            pass


    @method("smtt", "hang-child", default_stop="never (ignores its budget)")
    def hang_child(instance, *, budget):
        \"\"\"Starts a child process, then sleeps forever.\"\"\"
        child = subprocess.Popen(["sleep", "600"])
        _record(instance, budget, child.pid)
        while True:
            time.sleep(1)
    """
)


class Arrivals(Progress):
    """When each row reached the parent, and who was still alive then."""

    def __init__(self, log: Path):
        self.log = log
        self.rows: list[dict] = []

    def finished(self, task, row):
        now = time.monotonic()
        starts = [json.loads(line) for line in self.log.read_text().splitlines() if line]
        mine = [s for s in starts if s["instance"] == task.instance.name and s["seed"] == task.seed]
        record = mine[-1] if mine else None
        left = []
        if record is not None:
            left = [pid for pid in (record["pid"], record["child"]) if pid and alive(pid)]
        self.rows.append({"status": row["status"], "now": now, "record": record, "left": left})


def measure(folder: Path, method: str, jobs: int, runs: int) -> dict:
    log = folder / f"{method}-{jobs}.jsonl"
    log.write_text("")
    os.environ["KILL_BENCH_LOG"] = str(log)
    seeds = list(range(runs // 2))
    config = BenchConfig(
        instances=[str(folder / "instances")],
        methods=[MethodSpec.parse(method)],
        seeds=seeds,
        time_limit=LIMIT,
        grace=GRACE,
        jobs=jobs,
        warmup=False,  # the warm-up run has its own, shorter deadline
        out=folder / f"out-{method}-{jobs}",
        plugins=[str(folder / "kill_plugin.py")],
    )
    arrivals = Arrivals(log)
    began = time.monotonic()
    outcome = run_batch(config, progress=arrivals)
    elapsed = time.monotonic() - began
    assert outcome.done == runs, outcome
    latencies = [
        a["now"] - a["record"]["start"] - LIMIT - GRACE for a in arrivals.rows if a["record"]
    ]
    return {
        "method": method,
        "jobs": jobs,
        "runs": runs,
        "timeouts": sum(a["status"] == "TIMEOUT" for a in arrivals.rows),
        "recorded": len(latencies),
        "mean": statistics.fmean(latencies),
        "max": max(latencies),
        "left": sum(len(a["left"]) for a in arrivals.rows),
        "elapsed": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 runs per line instead of 8")
    args = parser.parse_args()
    runs = 4 if args.quick else 8
    command = "python benchmarks/bench_kill_latency.py" + (" --quick" if args.quick else "")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    folder = Path(tempfile.mkdtemp(prefix="bench_kill_latency_"))
    try:
        (folder / "kill_plugin.py").write_text(PLUGIN)
        (folder / "instances").mkdir()
        for k in range(2):
            inst = sf.generate("smtt", jobs=10, tf=0.6, rdd=0.4, seed=k)
            sf.write(inst, folder / "instances" / f"{inst.name}.json")
        results = [
            measure(folder, method, jobs, runs)
            for method in ("hang", "spin", "hang-child")
            for jobs in (1, 2)
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    worst = max(r["max"] for r in results)
    left = sum(r["left"] for r in results)
    lines = [
        f"`{command}`",
        "",
        f"Methods that ignore their limit, `--time-limit {LIMIT:g} --grace {GRACE:g}`, no "
        "warm-up runs. Kill latency = when the run's row reached the parent (worker killed "
        "and reaped, replacement under way) minus `start + limit + grace`, with `start` taken "
        "inside the worker when the method began. Target: at most 1 s. Alive = worker or "
        "child processes of a killed run still alive when its row arrived. Machine: "
        f"{os.cpu_count()} cores, load average {load:.1f} at the start (shared with other work).",
        "",
        "| method | jobs | runs | TIMEOUT rows | kill latency mean s | kill latency max s "
        "| alive after kill | batch wall s | wall s per run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['jobs']} | {r['runs']} | {r['timeouts']} | {r['mean']:.3f} "
            f"| {r['max']:.3f} | {r['left']} | {r['elapsed']:.1f} | {r['elapsed'] / r['runs']:.2f} |"
        )
    verdict = "meets" if worst <= 1.0 and left == 0 else "misses"
    lines += [
        "",
        f"Worst kill latency {worst:.3f} s, {left} process(es) left alive ({verdict} the "
        f"target: every run over within limit + grace + 1 s = {LIMIT + GRACE + 1:g} s, "
        "workers and children included).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
