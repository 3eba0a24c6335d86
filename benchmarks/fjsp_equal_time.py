"""Long-horizon FJSP (SD2) at equal wall time: ``rh:cp`` against ``cp``, ``ls`` and ``tabu``.

Every method gets the same ``time_limit`` (the wall time of the call), one
thread, and runs until it: ``rh:cp`` (tight windows: tabu start, then
CP-SAT windows around critical operations), ``cp`` (CP-SAT warm-started
from ``tabu``), ``ls`` and ``tabu`` (both with no iteration limit).
Instances as in ``fjsp_long_horizon.py``: ``generate("fjsp", scheme="sd2",
...)``, 600 operations = 20 jobs x 30 operations, 2,000 = 40 x 50, 10
machines. The table gives each method's makespan per seed, the mean, and
the relative difference of ``rh:cp``'s mean to each other method's
(negative: ``rh:cp`` lower, i.e. better).

Usage::

    .venv/bin/python benchmarks/fjsp_equal_time.py --sizes 600 --limit 30
    .venv/bin/python benchmarks/fjsp_equal_time.py --sizes 2000 --limit 60
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import schedforge as sf

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {600: (20, 30), 2000: (40, 50)}
# Options that make each method run until the time limit.
METHODS = {
    "rh:cp": {},
    "cp": {},
    "ls": {"iterations": 10**12},
    "tabu": {"iterations": None},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[600], choices=list(SIZES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes = "_".join(str(s) for s in args.sizes)
    out = args.out or RESULTS / f"fjsp_equal_time_{sizes}.md"
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"Command: `.venv/bin/python benchmarks/fjsp_equal_time.py {shlex.join(sys.argv[1:])}`",
        "",
        f"SD2 instances; every method {args.limit:g} s wall time, threads=1, seed = instance "
        "seed. Makespan (mean wall time s). 2-core machine shared with other jobs, so "
        f"results under load; `uptime` at the start: {uptime}",
        "",
    ]

    def emit(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    for size in args.sizes:
        jobs, ops = SIZES[size]
        found: dict[str, list[float]] = {m: [] for m in args.methods}
        times: dict[str, list[float]] = {m: [] for m in args.methods}
        bounds = []
        for seed in args.seeds:
            inst = sf.generate(
                "fjsp", scheme="sd2", jobs=jobs, machines=10, operations_per_job=ops, seed=seed
            )
            bounds.append(sf.get_problem("fjsp").lower_bound(inst))
            for name in args.methods:
                res = sf.solve(
                    inst, name, time_limit=args.limit, seed=seed, threads=1, **METHODS[name]
                )
                found[name].append(float(res.objective))
                times[name].append(res.runtime)
                extra = {k: res.stats.get(k) for k in ("windows", "improved_windows")}
                print(f"  {size} seed {seed} {name}: {res.objective} in {res.runtime:.1f} s "
                      f"{extra if name == 'rh:cp' else ''}", flush=True)  # fmt: skip
        emit(f"## {size} operations ({jobs} jobs x {ops} operations x 10 machines)")
        emit()
        emit("| method | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | rh:cp vs |")
        emit("|---|" + "---|" * (len(args.seeds) + 2))
        emit(
            "| lower bound | "
            + " | ".join(f"{b}" for b in bounds)
            + f" | {np.mean(bounds):.0f} | |"
        )
        rh = np.mean(found["rh:cp"]) if "rh:cp" in found else None
        for name in args.methods:
            mean = np.mean(found[name])
            rel = "" if rh is None or name == "rh:cp" else f"{100 * (rh / mean - 1):+.1f} %"
            cells = " | ".join(f"{v:.0f}" for v in found[name])
            emit(f"| {name} | {cells} | {mean:.1f} ({np.mean(times[name]):.1f} s) | {rel} |")
        emit()
    emit(
        f"`uptime` at the end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}"
    )
    out.write_text("# FJSP long horizon at equal wall time (SD2)\n\n" + "\n".join(lines) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.2f}")
