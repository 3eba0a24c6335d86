"""Heuristic discovery on SMTT: sandbox throughput, a fixed-budget run, hold-out gaps.

Three parts, one table each:

1. **Sandbox throughput**: distinct GP candidates evaluated per second on the
   default SMTT training set (40 instances, n = 20, Çetinkaya et al. 2025),
   with ``--jobs`` workers and with one, Python and numba engines.
   Target: >= 20 candidates/s with two workers.
2. **The runs**: ``gp`` (or ``openai`` with ``--base-url``) on the plain
   template ``smtt`` and on its augmented variant ``smtt-aug`` (the rule,
   then the augmentation step of the ``aug-*`` rules), side by side, one
   sandbox worker each, until ``--budget-seconds`` or ``--generations``;
   trained on ``--sets`` (default ``large``: generated n = 100 and 200
   instances of the Shang et al. classes, never the hold-out, with MDDC
   resp. Augmented MDDC as reference; the search ranks on the mean gap,
   the export on the worse of the two sizes' mean gaps over training and
   validation, so the exported rule must beat the reference at both sizes).
3. **Hold-out**: each run's exported heuristic (best mean gap over training
   and validation pooled, among the validated candidates) against
   the seeds and the built-in rules on the Shang et al. (2021) n = 100 and
   n = 200 sets (instances with a positive optimum), mean gap to the optimum
   in percent; Çetinkaya et al. (2025) report MDDC at 1.52 % / 2.00 % and
   Augmented MDDC at 1.08 % / 1.44 %. Next to it, the same rows on a
   generated *check* set (10 instances per Shang class and size, seed 7000,
   never seen by a run) as mean gap to MDDC resp. Augmented MDDC: a
   judgement of generalisation that does not spend the hold-out.

Run ``.venv/bin/python benchmarks/discovery_smtt.py [--quick]``; the table is
printed and written to ``benchmarks/results/discovery_smtt.md``.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import shlex
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import schedforge as sf
from schedforge.benchsets import unpacked
from schedforge.discovery.evolve import DiscoveryConfig, Evolution, best_candidate, pooled_gap
from schedforge.discovery.prompts import OPERATORS, Parent, Request
from schedforge.discovery.proposers import GPProposer
from schedforge.discovery.sandbox import SandboxPool, compile_numba, load_function
from schedforge.discovery.templates import gap_percent, generated_shang_set, get_template

PAPER_MDDC = {100: 1.52, 200: 2.00}  # Çetinkaya et al. (2025), mean gap %
PAPER_AUG_MDDC = {100: 1.08, 200: 1.44}
RESULTS = Path(__file__).resolve().parent / "results" / "discovery_smtt.md"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def gp_candidates(template, count: int, seed: int) -> list[str]:
    """``count`` distinct GP candidates (random operators applied to the seeds)."""
    proposer = GPProposer(template)
    rng = random.Random(seed)
    seeds = [Parent(k, "", 1.0, g) for k, g in enumerate(template.gp_seeds.values())]
    codes: dict[str, None] = {}
    while len(codes) < count:
        parents = tuple(rng.sample(seeds, 2))
        request = Request(rng.choice(OPERATORS), parents, seed=rng.randrange(2**31))
        codes[proposer.propose(request).code] = None
    return list(codes)


def throughput(template, sets, jobs: int, engine: str, codes: list[str]) -> tuple[float, int]:
    """Candidates per second over ``codes`` (workers started and warmed up first)."""
    train = {"train": sets["train"]}
    with SandboxPool(template, train, jobs=jobs, engine=engine) as pool:
        pool.evaluate_many([template.seeds["edd"]] * jobs)  # start every worker
        start = time.perf_counter()
        results = pool.evaluate_many(codes)
        elapsed = time.perf_counter() - start
    return len(codes) / elapsed, sum(r.ok for r in results)


def mean_gap(code: str, template, instances, references) -> float:
    """Mean gap of a candidate over ``instances`` (numba skeleton, in-process)."""
    func = load_function(code, template)
    compiled, error = compile_numba(func, template)
    gaps = []
    for inst, ref in zip(instances, references, strict=True):
        arrays = template.encode(inst)
        seq = (
            template.run_numba(compiled, arrays)
            if error is None
            else template.run_python(func, arrays)
        )
        value = sf.get_problem("smtt").objective(inst, template.decode(inst, seq))
        gaps.append(gap_percent(value, ref))
    return float(np.mean(gaps))


def holdout_gaps(code: str, template, n: int) -> float:
    """Mean gap of a candidate to the optimum on the Shang set of size ``n``."""
    instances = read_shang(n)
    return mean_gap(code, template, instances, [i.metadata["optimum"] for i in instances])


@functools.cache
def check_set(reference: str, n: int):
    """A generated set the runs never see: 10 instances per Shang class of size ``n``.

    Seed 7000 is disjoint from the training (500) and validation (900)
    seeds; the reference is ``rule:<reference>``, so a negative gap means
    better than that rule. It judges generalisation without the hold-out.
    """
    return generated_shang_set(f"check-n{n}", 10, (n,), 7000, reference)


def check_gaps(code: str, template, reference: str) -> list[float]:
    """Mean gap to ``rule:<reference>`` on the check sets of n = 100 and 200."""
    sets = [check_set(reference, n) for n in (100, 200)]
    return [mean_gap(code, template, s.instances, s.references) for s in sets]


def read_shang(n: int) -> list:
    """Shang et al. instances of size ``n`` with a positive optimum."""
    path = unpacked("smtt") / f"shang2017_n{n}.jsonl"
    return [i for i in sf.read_all(path) if i.metadata.get("optimum", 0) > 0]


def rule_gap(rule: str, n: int, check: str | None = None) -> float:
    """Mean gap of ``rule:<rule>`` on the Shang set of size ``n``.

    With ``check``, on the check set of size ``n`` instead (gap to ``rule:<check>``).
    """
    if check is None:
        instances = read_shang(n)
        references = [i.metadata["optimum"] for i in instances]
    else:
        instances, references = check_set(check, n).instances, check_set(check, n).references
    gaps = []
    for inst, ref in zip(instances, references, strict=True):
        res = sf.solve(inst, f"rule:{rule}")
        gaps.append(gap_percent(res.objective, ref))
    return float(np.mean(gaps))


def table_row(label: str, candidate: dict, template) -> str:
    """A candidate's hold-out and check gaps as a table row."""
    reference = "aug-mddc" if template.name == "smtt-aug" else "mddc"
    gaps = [holdout_gaps(candidate["code"], template, n) for n in (100, 200)]
    gaps += check_gaps(candidate["code"], template, reference)
    return f"| {label} | " + " | ".join(f"{g:.3f}" for g in gaps) + " |"


def run_one(name: str, config: DiscoveryConfig, out: Path) -> dict:
    """One discovery run; its summary, best candidates and generation times."""
    evo = Evolution(
        out,
        config,
        progress=lambda s: print(
            f"[{name}] gen {s['generation']}: train {s['best_train_gap']:.3f}%", flush=True
        ),
    )
    start = time.perf_counter()
    try:
        summary = evo.run()
        gens = evo.archive.generations()
        best = best_candidate(evo.archive)
        counts = evo.archive.candidates()
        by_train = min(
            (c for c in counts if c["verdict"] == "ok"), key=lambda c: (c["train_gap"], c["id"])
        )
        seeds = evo.archive.candidates("generation = 0 AND verdict = 'ok'")
        fitness = evo.archive.get_meta("fitness")
    finally:
        evo.close()
    return {
        "summary": summary,
        "gens": gens,
        "best": best,
        "by_train": by_train,
        "counts": counts,
        "seeds": seeds,
        "pooled": pooled_gap(best, fitness),
        "wall": time.perf_counter() - start,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budget (smoke run)")
    parser.add_argument("--proposer", default="gp", choices=("gp", "openai", "replay"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--replay", default=None)
    parser.add_argument("--prices", default=None, help="JSON price table (openai)")
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--budget-seconds", type=float, default=900.0, help="per run")
    parser.add_argument("--offspring", type=int, default=16)
    parser.add_argument("--sets", default="large", choices=("default", "large", "quick"))
    parser.add_argument("--templates", default="smtt,smtt-aug", help="comma-separated")
    parser.add_argument("--jobs", type=int, default=2, help="throughput test workers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--validate-top", type=int, default=3, help="best candidates on train validated per gen"
    )
    parser.add_argument("--candidates", type=int, default=200, help="for the throughput test")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: temp)")
    args = parser.parse_args(argv)
    generations = args.generations or (5 if args.quick else 10_000)
    candidates = 60 if args.quick else args.candidates
    command = "python benchmarks/discovery_smtt.py " + shlex.join(argv or sys.argv[1:])
    names = [n for n in args.templates.split(",") if n]

    template = get_template("smtt")
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} cores shared with other jobs; load average at the start "
        f"{load_average()}.",
        "",
    ]
    if not args.no_throughput:
        sets = template.sets("default")
        codes = gp_candidates(template, candidates, args.seed)
        lines += [
            f"## Sandbox throughput ({len(codes)} distinct GP candidates, "
            f"train set {len(sets['train'])} instances)",
            "",
            "| jobs | engine | candidates/s | accepted |",
            "|---:|---|---:|---:|",
        ]
        for jobs, engine, subset in (
            (1, "auto", codes),
            (args.jobs, "auto", codes),
            (args.jobs, "numba", codes[: max(10, len(codes) // 10)]),
        ):
            rate, ok = throughput(template, sets, jobs, engine, subset)
            lines.append(f"| {jobs} | {engine} | {rate:.1f} | {ok}/{len(subset)} |")
            print(lines[-1], flush=True)

    for name in names:
        get_template(name).sets(args.sets)  # build the sets once, before the clocks start
    out = args.out or Path(tempfile.mkdtemp(prefix="discovery-smtt-"))
    configs = {
        name: DiscoveryConfig(
            problem=name,
            proposer=args.proposer,
            model=args.model,
            base_url=args.base_url,
            replay=args.replay,
            prices=args.prices,
            generations=generations,
            offspring=args.offspring,
            budget_seconds=None if args.quick else args.budget_seconds,
            jobs=1,
            seed=args.seed,
            sets=args.sets,
            validate_top=args.validate_top,
        )
        for name in names
    }
    # The runs go side by side, one sandbox worker each: two cores in all.
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {n: pool.submit(run_one, n, c, out / n) for n, c in configs.items()}
        runs = {n: f.result() for n, f in futures.items()}

    rules = ("edd", "mdd", "psk", "mddc", "aug-mdd", "aug-mddc")
    rule_rows = {r: [rule_gap(r, n) for n in (100, 200)] for r in rules}
    extra: list[str] = []
    for name, run in runs.items():
        tmpl = get_template(name)
        reference = "aug-mddc" if name == "smtt-aug" else "mddc"
        summary, gens, best, by_train = run["summary"], run["gens"], run["best"], run["by_train"]
        per_gen = np.diff([g["seconds"] for g in gens]) if len(gens) > 1 else np.zeros(1)
        lines += [
            "",
            f"## Run `{name}`: {args.proposer}, sets `{args.sets}`, {args.offspring} offspring "
            f"per generation, 1 sandbox worker, seed {args.seed}",
            "",
            f"- stop: {summary['stop_reason']}; wall time {run['wall']:.1f} s; "
            f"{len(gens) - 1} generations, {len(run['counts'])} candidates, "
            f"{summary['evaluations']} sandbox evaluations",
            f"- time per generation: mean {per_gen.mean():.2f} s, max {per_gen.max():.2f} s",
            f"- tokens {summary['tokens']}, cost ${summary['cost']:.4f}",
            f"- exported candidate {best['id']} (generation {best['generation']}, "
            f"{best['operator']}): train {best['train_gap']:.3f} %, validation "
            f"{best['validation_gap']:.3f} %, pooled {run['pooled']:.3f} % (best mean gap over "
            "train and validation pooled in the worse size group, among the candidates validated "
            "as best few on train by mean gap; gaps to the reference rule)",
            f"- hold-out: mean gap to the optimum on the Shang sets; check: mean gap to "
            f"rule:{reference} on generated instances the run never saw (10 per Shang class "
            "and size, seed 7000), negative = better than that rule",
            "",
            "| method | hold-out n = 100 | hold-out n = 200 | check n = 100 | check n = 200 |",
            "|---|---:|---:|---:|---:|",
        ]
        lines.append(table_row(f"discovered, exported (candidate {best['id']})", best, tmpl))
        if by_train["id"] != best["id"]:
            label = f"best by train gap (candidate {by_train['id']})"
            lines.append(table_row(label, by_train, tmpl))
        for seed in sorted(run["seeds"], key=lambda c: (c["train_gap"], c["id"])):
            lines.append(table_row(f"seed {seed['model']} (this template)", seed, tmpl))
        for r in rules:
            checks = [rule_gap(r, n, reference) for n in (100, 200)]
            lines.append(
                f"| rule:{r} | {rule_rows[r][0]:.3f} | {rule_rows[r][1]:.3f} | "
                f"{checks[0]:.3f} | {checks[1]:.3f} |"
            )
        paper = PAPER_AUG_MDDC if name == "smtt-aug" else PAPER_MDDC
        label = "Augmented MDDC" if name == "smtt-aug" else "MDDC"
        lines.append(
            f"| {label}, Çetinkaya et al. (2025) | {paper[100]:.2f} | {paper[200]:.2f} | | |"
        )
        extra += ["", f"Exported `{name}` rule (candidate {best['id']}):", "", "```python"]
        extra += [best["code"].rstrip(), "```"]
    lines += ["", f"Load average at the end: {load_average()}.", *extra]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
