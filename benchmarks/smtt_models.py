"""Model-based and exact SMTT methods on OR-Library wt40 (issue 2).

For each of ``cp`` (CP-SAT, 2 workers), ``mip:cbc``, ``mip:highs`` and
``exact`` at the same time limit (10 s by default) on OR-Library
``wt40.txt`` (weighted, n = 40): how many instances each proves optimal, how
many reach the published optimum, the mean gap to it (over the instances with
a positive optimum, in percent) and the mean time.

By default every fifth instance (25 of 125, one per (RDD, TF) class) runs, to
keep the run near 15 minutes; ``--all`` runs the 125.

Usage::

    .venv/bin/python benchmarks/smtt_models.py                # 25 instances
    .venv/bin/python benchmarks/smtt_models.py --all          # 125 instances
    .venv/bin/python benchmarks/smtt_models.py --quick        # 5 instances, 2 s
    .venv/bin/python benchmarks/smtt_models.py --set wt50 --methods exact
                                            # -> results/smtt_models_wt50.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import schedforge as sf
from schedforge.benchsets import unpacked

ROOT = Path(__file__).resolve().parents[1]
ORLIB = unpacked("orlib-wt")
RESULTS = ROOT / "benchmarks" / "results"
METHODS = (("exact", {}), ("cp", {"threads": 2}), ("mip:cbc", {}), ("mip:highs", {}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--step", type=int, default=5, help="run every STEP-th instance")
    parser.add_argument("--all", action="store_true", help="all 125 instances (step 1)")
    parser.add_argument("--methods", nargs="*", default=[m for m, _ in METHODS])
    parser.add_argument("--quick", action="store_true", help="5 instances, 2 s")
    parser.add_argument(
        "--set", default="wt40", choices=["wt40", "wt50"], help="OR-Library file (n = 40 or 50)"
    )
    args = parser.parse_args(argv)
    if args.all:
        args.step = 1
    if args.quick:
        args.step, args.time_limit = 25, 2.0
    command = "python benchmarks/smtt_models.py " + " ".join(argv or sys.argv[1:])

    instances = list(sf.read_all(ORLIB / f"{args.set}.txt"))[:: args.step]
    sf.solve(instances[0], "exact", time_limit=30)  # compile / load the numba cache first

    lines = [
        f"# SMTT model-based and exact methods on OR-Library {args.set}",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{len(instances)} of the 125 {args.set} instances (every {args.step}th), "
        f"{args.time_limit:g} s per instance and method, 2 shared cores. "
        "Gap: mean of 100·(objective − optimum)/optimum over instances with a positive "
        "optimum. Instances without a proven optimum (wt40 #19; wt50 #11, 12, 14, 19, 36, 44, "
        "66, 87, 88, 111) count their best-known value as the reference.",
        "",
        "| method | proven optimal | = published optimum | mean gap % | max gap % | mean s |",
        "|---|---|---|---|---|---|",
    ]
    for method, options in METHODS:
        if method not in args.methods:
            continue
        proven = hits = 0
        gaps, times = [], []
        for inst in instances:
            ref = inst.metadata.get("optimum", inst.metadata.get("best_known"))
            res = sf.solve(inst, method, time_limit=args.time_limit, seed=0, **options)
            times.append(res.runtime)
            proven += res.status is sf.Status.OPTIMAL
            if res.status is sf.Status.OPTIMAL and "optimum" in inst.metadata:
                assert res.objective == ref, f"{method} proved {res.objective} on {inst.name}"
            if res.objective is not None:
                hits += res.objective == ref
                if ref > 0:
                    gaps.append(100.0 * (res.objective - ref) / ref)
            print(
                f"  {method} {inst.name} {res.status} {res.objective} ref={ref} {res.runtime:.2f}s",
                flush=True,
            )
        n = len(instances)
        gap = f"{statistics.fmean(gaps):.2f}" if gaps else "—"
        worst = f"{max(gaps):.2f}" if gaps else "—"
        lines.append(
            f"| `{method}` | {proven}/{n} | {hits}/{n} | {gap} | {worst} | "
            f"{statistics.fmean(times):.2f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "`exact` on weighted instances: dominance-restricted DP with bound pruning "
        "(`schedforge/solvers/exact/smtt_wdp.py`); `cp`: 2 CP-SAT workers with the heuristic "
        "hint; `mip:*`: positional-assignment MIP (Keha et al. 2009) with a heuristic warm start.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = RESULTS / ("smtt_models.md" if args.set == "wt40" else f"smtt_models_{args.set}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
