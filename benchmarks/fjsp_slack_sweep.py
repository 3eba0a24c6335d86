"""Critical-path fixing of ``rh:cp``: a slack sweep against ``none`` on SD2 600-operation FJSP.

Issue 5's target: critical-path fixing cuts ``rh:cp`` time by >= 30 % against
``none`` at equal or better makespan. Each seed runs every setting side by
side (same instance, same machine load), with the long-horizon benchmark's
window 80, step 30, window_time_limit 5 s, stall_time 2 s, 2 workers.

Usage::

    .venv/bin/python benchmarks/fjsp_slack_sweep.py --seeds 0 1 --slacks default 100 200 400
"""

from __future__ import annotations

import argparse

import numpy as np

import schedforge as sf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--slacks", nargs="+", default=["default", "100", "200", "400"])
    args = parser.parse_args()
    settings = [("none", None)] + [
        ("critical-path", None if s == "default" else float(s)) for s in args.slacks
    ]
    rows: dict[str, list[tuple[float, float]]] = {}
    for seed in args.seeds:
        inst = sf.generate(
            "fjsp", scheme="sd2", jobs=20, machines=10, operations_per_job=30, seed=seed
        )
        for fixing, slack in settings:
            label = fixing if fixing == "none" else f"critical-path slack={slack or 'default'}"
            res = sf.solve(inst, "rh:cp", seed=seed, fixing=fixing, slack=slack, workers=2)
            rows.setdefault(label, []).append((res.objective, res.runtime))
            print(f"  seed {seed} {label}: {res.objective:.0f} in {res.runtime:.0f} s", flush=True)
    base = rows["none"]
    print("| setting | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | vs none |")
    print("|---|" + "---|" * (len(args.seeds) + 2))
    for label, cells in rows.items():
        text = " | ".join(f"{v:.0f} ({t:.0f} s)" for v, t in cells)
        mv = np.mean([v for v, _ in cells])
        mt = np.mean([t for _, t in cells])
        ratio = np.mean([v / b[0] for (v, _), b in zip(cells, base, strict=True)])
        tratio = np.mean([t / b[1] for (_, t), b in zip(cells, base, strict=True)])
        print(
            f"| {label} | {text} | {mv:.0f} ({mt:.0f} s) | "
            f"makespan x{ratio:.3f}, time x{tratio:.2f} |"
        )


if __name__ == "__main__":
    main()
