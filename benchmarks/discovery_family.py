"""Heuristic discovery with ``gp`` on RCPSP, FJSP or pods: a fixed-budget run, hold-out side by side.

One ``gp`` run on the template's default sets (never the hold-out), then the
exported heuristic (best mean gap over train and validation pooled, among
the candidates that were validated) against every seed rule on the
hold-out set, per instance group, in the template's measure:

* ``rcpsp``: makespan gap (%) to the best known makespan on PSPLIB j60 and
  j120 (one single-pass serial SGS, as ``rule:lft``); seeds LFT, LST, MTS,
  GRPW, MSLK;
* ``fjsp``: makespan gap (%) to the best known on Brandimarte Mk06-10 and
  Barnes mt10*; seeds are the built-in rules written as scores (same loop,
  active builder), and every built-in ``rule:*`` is listed as well;
* ``pods``: running pods short of the upper bound (%) on 16 generated
  20-node clusters; seeds LeastAllocated (the kube default), MostAllocated,
  balanced, kube-like.

Run ``.venv/bin/python benchmarks/discovery_family.py PROBLEM
[--budget-seconds S]``; the tables are printed and written to
``benchmarks/results/discovery_PROBLEM.md``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import schedforge as sf
from schedforge.discovery.evolve import DiscoveryConfig, Evolution, best_candidate, pooled_gap
from schedforge.discovery.sandbox import compile_numba, load_function
from schedforge.discovery.templates import get_template

RESULTS = Path(__file__).resolve().parent / "results"


def group_of(problem: str, name: str) -> str:
    """The hold-out group an instance belongs to (j60/j120, Mk/mt10, one group for pods)."""
    if problem == "rcpsp":
        return "j120" if name.startswith("j120") else "j60"
    if problem == "fjsp":
        return "Mk06-10" if name.startswith("Mk") else "mt10*"
    return "hold-out"


def holdout_values(code: str, template, holdout) -> list[float]:
    """Gap per hold-out instance for candidate ``code`` (numba when it compiles)."""
    func = load_function(code, template)
    compiled, error = compile_numba(func, template)
    problem = sf.get_problem(template.problem)
    gaps = []
    for inst, ref in zip(holdout.instances, holdout.references, strict=True):
        arrays = template.encode(inst)
        raw = (
            template.run_numba(compiled, arrays)
            if error is None
            else template.run_python(func, arrays)
        )
        solution = template.decode(inst, raw)
        assert problem.validate(inst, solution) == [], inst.name
        gaps.append(template.value_and_gap(inst, solution, ref)[1])
    return gaps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=("rcpsp", "fjsp", "pods"))
    parser.add_argument("--budget-seconds", type=float, default=900.0)
    parser.add_argument("--generations", type=int, default=10_000)
    parser.add_argument("--offspring", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sets", default="default", help="template set size for train/validation (rcpsp: large)"
    )
    parser.add_argument(
        "--validate-top", type=int, default=3, help="best candidates on train validated per gen"
    )
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: temp)")
    args = parser.parse_args(argv)
    command = "python benchmarks/discovery_family.py " + shlex.join(argv or sys.argv[1:])
    template = get_template(args.problem)
    config = DiscoveryConfig(
        problem=args.problem,
        proposer="gp",
        generations=args.generations,
        offspring=args.offspring,
        budget_seconds=args.budget_seconds,
        jobs=args.jobs,
        seed=args.seed,
        sets=args.sets,
        validate_top=args.validate_top,
    )
    out = args.out or Path(tempfile.mkdtemp(prefix=f"discovery-{args.problem}-"))
    evo = Evolution(
        out,
        config,
        progress=lambda s: print(
            f"gen {s['generation']}: train {s['best_train_gap']:.3f}%", flush=True
        ),
    )
    start = time.perf_counter()
    try:
        summary = evo.run()
        gens = evo.archive.generations()
        best = best_candidate(evo.archive)
        counts = evo.archive.candidates()
        seeds = evo.archive.candidates("generation = 0 AND verdict = 'ok'")
        pooled = pooled_gap(best, evo.archive.get_meta("fitness"))
    finally:
        evo.close()
    wall = time.perf_counter() - start

    holdout = template.sets("default")["holdout"]
    groups = [group_of(args.problem, i.name) for i in holdout.instances]
    names = list(dict.fromkeys(groups))
    rows: list[tuple[str, list[float]]] = []
    rows.append(
        (
            f"discovered, exported (candidate {best['id']})",
            holdout_values(best["code"], template, holdout),
        )
    )
    for seed in seeds:
        rows.append(
            (
                f"seed {seed['model'].removeprefix('seed:')}",
                holdout_values(seed["code"], template, holdout),
            )
        )
    if args.problem == "fjsp":
        for spec in sorted(s for s in sf.methods("fjsp") if s.startswith("rule:")):
            gaps = []
            for inst, ref in zip(holdout.instances, holdout.references, strict=True):
                res = sf.solve(inst, spec)
                gaps.append(100.0 * (res.objective - ref) / ref)
            rows.append((spec, gaps))

    def means(gaps: list[float]) -> list[float]:
        return [
            float(np.mean([g for g, k in zip(gaps, groups, strict=True) if k == n])) for n in names
        ]

    lines = [
        f"Command: `{command}`",
        "",
        f"## Run: gp, sets `{args.sets}`, {args.offspring} offspring per generation, "
        f"{args.jobs} sandbox worker(s), seed {args.seed}",
        "",
        f"- stop: {summary['stop_reason']}; wall time {wall:.1f} s; {len(gens) - 1} generations, "
        f"{len(counts)} candidates, {summary['evaluations']} sandbox evaluations",
        f"- exported candidate {best['id']} (generation {best['generation']}, {best['operator']}): "
        f"train {best['train_gap']:.3f} %, validation {best['validation_gap']:.3f} %, "
        f"pooled {pooled:.3f} % (chosen on the pooled gap among the validated)",
        "",
        "## Hold-out: mean gap (%) per group, lower is better",
        "",
        "| method | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for label, gaps in rows:
        lines.append(f"| {label} | " + " | ".join(f"{m:.3f}" for m in means(gaps)) + " |")
    best_seed = min(rows[1 : 1 + len(seeds)], key=lambda r: np.mean(r[1]))
    lines += [
        "",
        f"Best seed over the whole hold-out: {best_seed[0]} "
        f"({np.mean(best_seed[1]):.3f} %); discovered {np.mean(rows[0][1]):.3f} %.",
        "",
        "Exported rule:",
        "",
        "```python",
        best["code"].rstrip(),
        "```",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    path = RESULTS / f"discovery_{args.problem}.md"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
