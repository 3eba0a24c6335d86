"""RCPSP with side constraints: an R-ConstraintBench-style sweep.

Generated instances (``sf.generate("rcpsp", kind="rconstraint", ...)``: layered
precedence DAG, then downtime, release/deadline windows, disjunctive pairs
and lags) over difficulty levels x constraint mixes. For each method: the
share of instances it schedules feasibly, the share it proves infeasible,
the share left unresolved, and the mean time. Heuristics can only find
schedules; ``cp`` and ``mip`` can also prove that none exists.

Prints and writes ``benchmarks/results/rcpsp_constraints.md``.

    .venv/bin/python benchmarks/rcpsp_constraints.py [--quick] [--count K]

Reference: Jain, R., & Wetter, M. (2025). R-ConstraintBench. arXiv:2508.15204.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import schedforge as sf

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "rcpsp_constraints.md"

# Difficulty: more activities and levels, tighter deadlines.
LEVELS = {
    "D1": dict(jobs=10, levels=3, tightness=1.4),
    "D2": dict(jobs=20, levels=5, tightness=1.2),
    "D3": dict(jobs=40, levels=8, tightness=1.1),
}
MIXES = {
    "precedence only": dict(),
    "downtime": dict(p_downtime=1.0),
    "windows": dict(p_window=0.5),
    "disjunctive": dict(p_disjunctive=0.5),
    "all + lags": dict(p_downtime=1.0, p_window=0.5, p_disjunctive=0.5, p_lag=0.3),
}
# (spec, options, time limit, largest job count it is run on)
METHODS = [
    ("cp", {}, 2.0, 10**9),
    ("mip:highs", {}, 3.0, 20),
    ("rule:lft", {"sgs": "serial"}, None, 10**9),
    ("rule:lft", {"sgs": "parallel"}, None, 10**9),
    ("sample:lft", {"schedules": 1000}, None, 10**9),
    ("ga", {"schedules": 1000}, None, 10**9),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances per cell, D1 and D2")
    parser.add_argument("--count", type=int, default=10, help="instances per cell")
    parser.add_argument("--cp-time", type=float, default=2.0)
    args = parser.parse_args(argv)
    levels = dict(LEVELS)
    if args.quick:
        args.count = min(args.count, 3)
        levels.pop("D3")
    command = "python benchmarks/rcpsp_constraints.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    lines = [
        "# RCPSP with side constraints (R-ConstraintBench-style sweep)",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{args.count} generated instances per cell (seeds 0..{args.count - 1}); "
        "feasible = a valid schedule returned (checked by the validator), infeasible = "
        "proven that none exists, open = neither (limit hit, or a heuristic missed a "
        "deadline). Times in seconds, one core, shared machine.",
        "",
        "| level | mix | method | feasible % | proven infeasible % | open % | mean time s |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    started = time.perf_counter()
    sf.solve(sf.generate("rcpsp", jobs=5), "ga")  # compile numba kernels before timing
    for level, shape in levels.items():
        for mix, probs in MIXES.items():
            insts = [
                sf.generate("rcpsp", kind="rconstraint", seed=s, **shape, **probs)
                for s in range(args.count)
            ]
            for spec, options, limit, max_jobs in METHODS:
                if shape["jobs"] > max_jobs:
                    continue
                if spec == "cp":
                    limit = args.cp_time
                counts = {"feasible": 0, "infeasible": 0, "open": 0}
                times = []
                for inst in insts:
                    res = sf.solve(inst, spec, time_limit=limit, seed=0, **options)
                    times.append(res.runtime)
                    if res.status.has_solution:
                        counts["feasible"] += 1
                    elif res.status == sf.Status.INFEASIBLE:
                        counts["infeasible"] += 1
                    else:
                        counts["open"] += 1
                name = spec + (f" ({options['sgs']})" if "sgs" in options else "")
                if limit is not None:
                    name += f" {limit:g} s"
                share = {k: f"{100 * v / len(insts):.0f}" for k, v in counts.items()}
                line = (
                    f"| {level} | {mix} | {name} | {share['feasible']} | {share['infeasible']} "
                    f"| {share['open']} | {statistics.fmean(times):.3f} |"
                )
                lines.append(line)
                print(line, flush=True)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines += [
        "",
        "Levels: "
        + "; ".join(
            f"{k}: {', '.join(f'{a}={b}' for a, b in v.items())}" for k, v in levels.items()
        )
        + ". Mixes set the generator probabilities p_downtime, p_window, p_disjunctive, p_lag.",
        "",
        f"Total wall time: {time.perf_counter() - started:.0f} s.",
    ]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[-3:]))


if __name__ == "__main__":
    main()
