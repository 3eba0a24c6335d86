"""Does every method hold its time limit? Wall time over limit, warm and on a first call.

For every registered method of every family, on a small and a large
instance per family, at each ``--limits`` value: the wall time of the
method call (``Result.runtime``, from the start of the budget's clock to
the method's return) over the limit, max and 95th percentile per method;
apart from it, the compile time ``solve()`` reports (``stats["compile_s"]``)
and the rest of the ``solve()`` call measured around it (importing the
family on first use, validating the solution). Target: wall <= limit +
0.25 s for every method.

*Warm*: one process, kernels compiled before the first timed call (that
compile time is reported). *Cold*: the first call of a fresh process
with an empty numba cache (``NUMBA_CACHE_DIR`` a new empty folder), so
``solve()`` compiles before the clock starts; each costs tens of seconds,
so the cold grid runs one spec per method (the first variant), on the
small instance, at ``--cold-limit`` only.

    .venv/bin/python benchmarks/time_limits.py                    # the published table
    .venv/bin/python benchmarks/time_limits.py --families fjsp --limits 1 --no-cold

Single thread per run (``threads=1``) except where a method's default is
more, on a shared 2-core machine: the numbers include that load.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import schedforge as sf
from schedforge.core.registry import problems

RESULTS = Path(__file__).resolve().parent / "results" / "time_limits.md"
SLACK = 0.25

# A small and a large instance per family: bundled data sets where the
# library has them, the generator with a fixed seed for pods.
INSTANCES = {
    "smtt": ("orlib:wt40/wt40_001", "smtt:shang-n200/shang2017_n200_R0.2_T0.2_1"),
    "rcpsp": ("psplib:j30/j301_1", "psplib:j120/j1201_1"),
    "fjsp": ("fjsp:brandimarte/Mk01", "fjsp:brandimarte/Mk15"),
    "pods": (
        {"nodes": 8, "pods_per_node": 6, "priorities": 3, "utilisation": 1.05, "seed": 1},
        {"nodes": 64, "pods_per_node": 8, "priorities": 3, "utilisation": 1.05, "seed": 1},
    ),
}


def load(family: str, which: int):
    spec = INSTANCES[family][which]
    if isinstance(spec, dict):
        return sf.generate(family, **spec)
    return sf.read(spec)


def timed(instance, spec: str, limit: float) -> dict:
    """One call: the method's wall time, the compile time, and the rest of the call."""
    began = time.perf_counter()
    res = sf.solve(instance, spec, time_limit=limit, seed=0)
    outer = time.perf_counter() - began
    compile_s = res.stats.get("compile_s", 0.0)
    # The rest: importing the family's modules on first use, checking the
    # options, validating and evaluating the solution afterwards.
    setup = outer - compile_s - res.runtime
    # Compiling inside the call (a code path the warm-up missed) is in the wall time.
    in_call = res.stats.get("compile_in_call_s", 0.0)
    return {"wall": res.runtime, "compile_s": compile_s, "setup": setup, "in_call": in_call}


def cold(family: str, spec: str, limit: float) -> dict:
    """The first call of a fresh process with an empty numba cache."""
    code = (
        f"import json, sys, time; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import time_limits as t\n"
        f"inst = t.load({family!r}, 0)\n"
        f"print(json.dumps(t.timed(inst, {spec!r}, {limit!r})))\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(problems()))
    parser.add_argument("--limits", nargs="+", type=float, default=[0.5, 1.0, 5.0])
    parser.add_argument("--cold-limit", type=float, default=1.0)
    parser.add_argument("--no-cold", action="store_true")
    parser.add_argument("--methods", nargs="+", default=None, help="only these specs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python benchmarks/time_limits.py " + shlex.join(argv or sys.argv[1:])
    lines = [
        "# Time limits: wall time over the limit, warm and on a first call",
        "",
        f"Command: `{command.strip()}`",
        "",
        "Wall: the method call (`Result.runtime`). Compile: `stats['compile_s']`. "
        "Rest: the remainder of the `sf.solve(...)` call (first-use imports, validation). "
        "In call: seconds numba compiled inside the timed call (`stats['compile_in_call_s']`, "
        "a code path the warm-up missed; part of the wall time), max over warm and cold. "
        f"Limits {', '.join(f'{x:g}' for x in args.limits)} s warm on a small and a large "
        f"instance per family; cold (fresh process, empty numba cache) at {args.cold_limit:g} s "
        "on the small instance, one spec per method (each cold call compiles for tens of "
        "seconds). `over` = wall - limit, s; target <= "
        f"{SLACK} s. Shared 2-core machine (load average at the start "
        f"{os.getloadavg()[0]:.1f}).",
        "",
        "| family | method | warm max wall/limit | warm p95 wall/limit | warm max over s "
        "| warm compile s | warm rest s | cold wall/limit | cold over s | cold compile s "
        "| cold rest s | in call s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    for family in args.families:
        small, large = load(family, 0), load(family, 1)
        seen_names: set[str] = set()
        for spec in sf.methods(family):
            if args.methods and spec not in args.methods:
                continue
            ratios, overs, compiles, rests, in_call = [], [], [], [], [0.0]
            for inst in (small, large):
                for limit in args.limits:
                    run = timed(inst, spec, limit)
                    ratios.append(run["wall"] / limit)
                    overs.append(run["wall"] - limit)
                    compiles.append(run["compile_s"])
                    rests.append(run["setup"])
                    in_call.append(run["in_call"])
            name = spec.split(":")[0]
            cold_cells = "| - | - | - | - "
            if not args.no_cold and name not in seen_names:
                got = cold(family, spec, args.cold_limit)
                if "error" in got:
                    cold_cells = f"| error: {got['error'][:60]} | | | "
                else:
                    over = got["wall"] - args.cold_limit
                    overs.append(over)
                    in_call.append(got["in_call"])
                    cold_cells = (
                        f"| {got['wall'] / args.cold_limit:.2f} | {over:+.2f} "
                        f"| {got['compile_s']:.1f} | {got['setup']:.2f} "
                    )
            seen_names.add(name)
            worst = max(overs)
            if worst > SLACK:
                failures.append((family, spec, worst))
            row = (
                f"| {family} | {spec} | {max(ratios):.2f} | {np.percentile(ratios, 95):.2f} "
                f"| {max(o for o in overs[: len(ratios)]):+.2f} | {max(compiles):.1f} "
                f"| {max(rests):.2f} {cold_cells}| {max(in_call):.2f} |"
            )
            lines.append(row)
            print(row, flush=True)
    lines += ["", f"Over the target (wall > limit + {SLACK} s): " + (
        ", ".join(f"{f} {s} ({w:+.2f} s)" for f, s, w in failures) or "none"
    ), ""]  # fmt: skip
    print(lines[-2])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
