"""Exact unweighted SMTT: this version of the search against an earlier one, side by side.

Loads ``schedforge/solvers/exact/smtt_bnb.py`` as it was at git revision
``--previous`` (into a temporary module, compiled before timing) and runs
both searches, alternately per instance, on the same generated
Potts–Van Wassenhove instances (due dates clipped at 0) with the same start
upper bound (the rules' best sequence, as ``exact`` uses) and the same wall
limit. Reported: proven share, CPU seconds of the search (what one core
spends, whatever else runs on the machine), nodes and memo entries; the
proven values must agree.

Usage::

    .venv/bin/python benchmarks/smtt_exact_versions.py --previous ec35780 \\
        --sizes 500 --rdd 0.2 --per-class 3 --time-limit 30
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import schedforge as sf
from schedforge.solvers.exact import smtt_bnb
from schedforge.solvers.exact.smtt_heuristic import heuristic_sequence, sequence_cost

ROOT = Path(__file__).resolve().parents[1]
TFS = (0.2, 0.4, 0.6, 0.8)
MODULE = "schedforge/solvers/exact/smtt_bnb.py"


def load_previous(rev: str, where: Path):
    """The search module as it was at git revision ``rev``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{MODULE}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = where / f"smtt_bnb_{rev.replace('~', '_').replace('^', '_')}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(module, inst, upper: int, limit: float, memo_limit: int) -> dict:
    cpu = time.process_time()
    res = module.solve_unweighted(
        inst.processing,
        inst.due,
        upper_bound=upper,
        deadline=time.perf_counter() + limit,
        memo_limit=memo_limit,
    )
    return {
        "cpu": time.process_time() - cpu,
        "proven": bool(res.exact),
        "value": int(res.value),
        "nodes": res.nodes,
        "memo": res.memo_entries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", required=True, help="git revision of the earlier search")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500])
    parser.add_argument("--rdd", type=float, nargs="+", default=[0.2])
    parser.add_argument("--tf", type=float, nargs="+", default=list(TFS))
    parser.add_argument("--per-class", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="wall seconds per search")
    parser.add_argument("--memo-limit", type=int, default=4_000_000)
    parser.add_argument("--out", default="smtt_exact_versions.md")
    args = parser.parse_args(argv)
    command = "python benchmarks/smtt_exact_versions.py " + " ".join(argv or sys.argv[1:])

    with tempfile.TemporaryDirectory() as tmp:
        previous = load_previous(args.previous, Path(tmp))
        versions = (("previous", previous), ("this", smtt_bnb))
        warm = sf.generate("smtt", jobs=40, tf=0.6, rdd=0.2, seed=0, clip_due=True)
        for _, module in versions:  # compile before timing
            run(module, warm, 10**12, 60.0, 10_000)

        lines = [
            "# Exact SMTT search: this version against an earlier one",
            "",
            f"Command: `{command.strip()}`",
            "",
            f"Earlier version: `{MODULE}` at `{args.previous}`. Both searches start from the "
            "same upper bound (the rules' best sequence) with the same wall limit "
            f"({args.time_limit:g} s) and memo cap ({args.memo_limit:,}), alternately per "
            "instance, one process, on a 2-core machine shared with other jobs. CPU s: the "
            "search's CPU time (one core).",
            "",
            "| n | RDD | TF | instances | proven (previous) | proven (this) | mean CPU s "
            "(previous) | mean CPU s (this) | CPU ratio | max CPU s (this) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        total = {"previous": [], "this": []}
        for n in args.sizes:
            for rdd in args.rdd:
                for tf in args.tf:
                    rows = {"previous": [], "this": []}
                    for seed in range(args.first_seed, args.first_seed + args.per_class):
                        inst = sf.generate("smtt", jobs=n, tf=tf, rdd=rdd, seed=seed, clip_due=True)
                        start, _ = heuristic_sequence(inst, time_limit=0.0, seed=0)
                        upper = sequence_cost(inst, start)
                        for name, module in versions:
                            out = run(module, inst, upper, args.time_limit, args.memo_limit)
                            rows[name].append(out)
                            total[name].append(out)
                            print(f"n={n} rdd={rdd} tf={tf} seed={seed} {name}: {out}", flush=True)
                        a, b = rows["previous"][-1], rows["this"][-1]
                        if a["proven"] and b["proven"] and a["value"] != b["value"]:
                            raise SystemExit(f"proven values differ: {a} vs {b}")
                    lines.append(_row(f"{n} | {rdd:g} | {tf:g}", rows))
                    print(lines[-1], flush=True)
        lines.append(_row("all | | ", total))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "results" / args.out).write_text(text + "\n", encoding="utf-8")
    return 0


def _row(label: str, rows: dict) -> str:
    a, b = rows["previous"], rows["this"]
    mean_a = statistics.fmean(r["cpu"] for r in a)
    mean_b = statistics.fmean(r["cpu"] for r in b)
    return (
        f"| {label} | {len(a)} | {sum(r['proven'] for r in a)}/{len(a)} | "
        f"{sum(r['proven'] for r in b)}/{len(b)} | {mean_a:.2f} | {mean_b:.2f} | "
        f"{mean_a / mean_b:.2f} | {max(r['cpu'] for r in b):.2f} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
