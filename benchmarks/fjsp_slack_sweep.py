"""Overlap fixing of ``rh:cp``: strategies and options against ``none`` on SD2 600-operation FJSP.

Issue 5's target: critical-path fixing cuts ``rh:cp`` time by >= 30 % against
``none`` at equal or better makespan. Each seed runs every setting side by
side (same instance, same machine load), with the long-horizon benchmark's
window 80, step 30, window_time_limit 5 s, stall_time 2 s, 2 workers.

A setting is ``fixing`` or ``fixing:option=value,...`` with any ``rh:cp``
option (``hold=machine``, ``slack=60``, ``free_share=0.5``,
``neighbours=1``, ``stall_time=1``, ``step=40``...); ``slack=default`` means the mean
shortest processing time.

Usage::

    .venv/bin/python benchmarks/fjsp_slack_sweep.py --seeds 0 1 \\
        --settings critical-path critical-path:hold=machine stable:hold=machine
    .venv/bin/python benchmarks/fjsp_slack_sweep.py --seeds 0 1 --slacks default 100 200 400
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np

import schedforge as sf


def parse_setting(text: str) -> tuple[str, dict]:
    """``"fixing:key=value,..."`` -> (fixing, options) with numbers and booleans converted."""
    fixing, _, rest = text.partition(":")
    options: dict = {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if value == "default":
            options[key] = None
        elif value in ("start", "machine"):
            options[key] = value
        elif key in ("neighbours", "stable_only"):
            options[key] = bool(int(value))
        else:
            number = float(value)
            # window/step must be integers; slack and shares may be fractions.
            options[key] = int(number) if number.is_integer() and "." not in value else number
    return fixing, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--settings", nargs="*", default=[], help="fixing[:option=value,...]")
    parser.add_argument("--slacks", nargs="*", default=[], help="shorthand: critical-path:slack=S")
    args = parser.parse_args()
    specs = ["none"] + args.settings + [f"critical-path:slack={s}" for s in args.slacks]
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for seed in args.seeds:
        inst = sf.generate(
            "fjsp", scheme="sd2", jobs=20, machines=10, operations_per_job=30, seed=seed
        )
        for spec in specs:
            fixing, options = parse_setting(spec)
            res = sf.solve(
                inst, "rh:cp", seed=seed, windows="rolling", fixing=fixing, threads=2, **options
            )
            held = res.stats["held_items"] / max(1, res.stats["windows"])
            rows.setdefault(spec, []).append((res.objective, res.runtime, held))
            print(
                f"  seed {seed} {spec}: {res.objective:.0f} in {res.runtime:.0f} s "
                f"(held {held:.0f} per window)",
                flush=True,
            )
    base = rows["none"]
    print(f"Command: `.venv/bin/python benchmarks/fjsp_slack_sweep.py {shlex.join(sys.argv[1:])}`")
    print()
    print(
        "| setting | "
        + " | ".join(f"seed {s}" for s in args.seeds)
        + " | mean | held/window | vs none |"
    )
    print("|---|" + "---|" * (len(args.seeds) + 3))
    for label, cells in rows.items():
        text = " | ".join(f"{v:.0f} ({t:.0f} s)" for v, t, _ in cells)
        mv = np.mean([v for v, _, _ in cells])
        mt = np.mean([t for _, t, _ in cells])
        mh = np.mean([h for _, _, h in cells])
        ratio = np.mean([v / b[0] for (v, _, _), b in zip(cells, base, strict=True)])
        tratio = np.mean([t / b[1] for (_, t, _), b in zip(cells, base, strict=True)])
        print(
            f"| {label} | {text} | {mv:.0f} ({mt:.0f} s) | {mh:.0f} | "
            f"makespan x{ratio:.3f}, time x{tratio:.2f} |"
        )


if __name__ == "__main__":
    main()
