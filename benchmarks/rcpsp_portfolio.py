"""RCPSP ``cp`` (GA then CP-SAT) against ``ga`` at the same time budget, on PSPLIB.

Per instance and time limit: the makespan of ``cp``, of ``ga`` as a user
calls it (``solve(inst, "ga", time_limit=t)``: it stops after its default
1,000 schedules, well before ``t``) and of ``ga`` given the whole time
(``schedules`` unbounded, so only the time limit stops it). The summary
counts the instances where ``cp`` is worse, equal or better than each.

Instances: PSPLIB ``j30{p}_{i}`` and ``j120{p}_{i}`` for the parameter
groups ``p`` from each ``--offsets`` value in steps of ``--step`` (j30 has
48 groups, j120 60). ``cp``'s GA share and stall were chosen on j60
instances ``_2`` (``--sets j60 --index 2 --shares ...``), which the
published table does not use.

    .venv/bin/python benchmarks/rcpsp_portfolio.py                     # the published table
    .venv/bin/python benchmarks/rcpsp_portfolio.py --sets j60 --index 2 \\
        --shares 0.1 0.3 0.5 --out /tmp/shares.md                      # choosing the share

One process, one thread per run, on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import schedforge as sf
from schedforge.core.budget import Budget
from schedforge.core.warmup import compile_method
from schedforge.heuristics.rcpsp_ga import ga as ga_method

RESULTS = Path(__file__).resolve().parent / "results" / "rcpsp_portfolio.md"
GROUPS = {"j30": 48, "j60": 48, "j120": 60}
UNBOUNDED = 2**62


def instances(sets: list[str], offsets: list[int], step: int, index: int) -> list:
    """The PSPLIB instances ``{set}{p}_{index}`` for the chosen groups, in order."""
    names = []
    for name in sets:
        groups = sorted({p for o in offsets for p in range(o, GROUPS[name] + 1, step)})
        names += [f"psplib:{name}/{name}{p}_{index}" for p in groups]
    return [sf.read(n) for n in names]


def compare(ours: float, theirs: float) -> str:
    return "worse" if ours > theirs else "better" if ours < theirs else "equal"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["j30", "j120"], choices=sorted(GROUPS))
    parser.add_argument("--offsets", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--step", type=int, default=5)
    parser.add_argument("--index", type=int, default=1)
    parser.add_argument("--limits", nargs="+", type=float, default=[1.0, 2.0])
    parser.add_argument("--shares", nargs="+", type=float, default=[None])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python benchmarks/rcpsp_portfolio.py " + shlex.join(argv or sys.argv[1:])
    insts = instances(args.sets, args.offsets, args.step, args.index)
    for spec in ("cp", "ga"):
        compile_method("rcpsp", spec)
    cps = [("cp" if s is None else f"cp share {s}", s) for s in args.shares]
    lines = [
        "# RCPSP: `cp` (GA, then CP-SAT) against `ga` at the same time limit",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"{len(insts)} PSPLIB instances ({', '.join(args.sets)}; groups from "
        f"{args.offsets} in steps of {args.step}; instance {args.index}), seed {args.seed}, "
        "one thread. Makespans; `ga` stops after its default 1,000 schedules, "
        "`ga all` gets the whole time (only the limit stops it). `time` is the wall "
        "time of `cp` in s.",
        "",
    ]
    head = "| instance | limit | " + " | ".join(c for c, _ in cps) + " | time | ga | ga all |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    tally: dict[tuple, dict[str, int]] = {}
    for inst in insts:
        for limit in args.limits:
            opts = dict(time_limit=limit, seed=args.seed, threads=1)
            ga = sf.solve(inst, "ga", **opts).objective
            # Called directly: solve() would first warm up on tiny instances
            # with these options, where an unbounded schedule count runs for minutes.
            run = ga_method(
                inst, budget=Budget(time_limit=limit, seed=args.seed, threads=1),
                schedules=UNBOUNDED,
            )  # fmt: skip
            ga_all = run.objective
            values, wall = [], 0.0
            for label, share in cps:
                extra = {} if share is None else {"ga_share": share}
                res = sf.solve(inst, "cp", **opts, **extra)
                values.append(res.objective)
                wall = max(wall, res.runtime)
                for other, ref in (("ga", ga), ("ga all", ga_all)):
                    counts = tally.setdefault((label, limit, other), {})
                    verdict = compare(res.objective, ref)
                    counts[verdict] = counts.get(verdict, 0) + 1
            cells = " | ".join(f"{v:g}" for v in values)
            row = f"| {inst.name} | {limit:g} | {cells} | {wall:.2f} | {ga:g} | {ga_all:g} |"
            rows.append(row)
            print(row, flush=True)
    summary = [
        "",
        "| method | limit | against | worse | equal | better |",
        "|---|---|---|---|---|---|",
    ]
    for (label, limit, other), counts in tally.items():
        summary.append(
            f"| {label} | {limit:g} | {other} | {counts.get('worse', 0)} | "
            f"{counts.get('equal', 0)} | {counts.get('better', 0)} |"
        )
    text = "\n".join([*lines, *summary[1:], "", *rows, ""])
    print("\n".join(summary))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
