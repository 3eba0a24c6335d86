"""SMTT constructive rules and local search: gaps to the optimum and times.

Sets (the bundled datasets, see ``schedforge datasets list``):

* n = 20: ``smtt/cetinkaya2025_n20_uniform.jsonl`` (800 instances, the set of
  Table 2 of Çetinkaya et al. 2025, arXiv:2510.24013);
* n = 100, 200: ``smtt/shang2017_n100.jsonl``, ``shang2017_n200.jsonl``
  (200 instances each, optima by Shang, T'kindt & Della Croce);
* ``orlib-wt/wt40.txt`` (125 weighted instances, OR-Library optima) for
  ``ils:atc`` at 1 s per instance (``--no-wt40`` skips it).

Gap: mean over instances with a non-zero optimum of ``100·(H − OPT)/OPT``,
as in the paper; "opt" counts instances where H equals the optimum. Times:
``sf.solve`` wall time per instance (wrapper, validation and evaluation
included); for the rules also the compiled kernel alone on prepared arrays
(CPU and wall time, best of 7 passes over the set), and for the dispatching
rules the generic dispatch skeleton that discovered priorities plug into.

Run ``.venv/bin/python benchmarks/smtt_heuristics.py`` (about 7 minutes on
an idle 2-core machine) or ``--quick`` (every 10th instance, no wt40).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import schedforge as sf
from schedforge.benchsets import unpacked
from schedforge.heuristics import smtt as rules

SMTT = unpacked("smtt")
RESULTS = Path(__file__).resolve().parent / "results" / "smtt_heuristics.md"
SETS = {
    20: SMTT / "cetinkaya2025_n20_uniform.jsonl",
    100: SMTT / "shang2017_n100.jsonl",
    200: SMTT / "shang2017_n200.jsonl",
}
WT40 = "orlib:wt40"
LOCAL = ["ls:edd", "ls:mdd", "ls:atc", "ls:psk", "ls:mddc"]
ITERATED = ["ils:atc", "ils:mddc"]
ILS_SECONDS = 0.1
SKELETON_RULES = ("edd", "spt", "wspt", "mdd", "atc", "mddc")
# Published mean gaps (%) of Çetinkaya et al. (2025), Table 2, n = 20 uniform.
PUBLISHED = {
    "rule:edd": "≈46.6",
    "rule:eddc": "12.83",
    "rule:mdd": "1.86",
    "rule:mddc": "1.70",
    "rule:psk": "1.77",
    "rule:aug-mdd": "1.21",
    "rule:aug-mddc": "0.79",
}


def _gap_row(instances, spec, **options):
    gaps, hits, times = [], 0, []
    for inst in instances:
        res = sf.solve(inst, spec, seed=0, **options)
        ref = inst.reference
        hits += res.objective == ref
        times.append(res.runtime)
        if ref:
            gaps.append(100.0 * (res.objective - ref) / ref)
    return float(np.mean(gaps)), hits, float(np.mean(times))


def _best_pass_us(call, arguments, clock, repeats=7):
    """Best over passes of the mean time per call, in µs, on ``clock``."""
    call(*arguments[0])
    best = np.inf
    for _ in range(repeats):
        start = clock()
        for args in arguments:
            call(*args)
        best = min(best, (clock() - start) / len(arguments))
    return best * 1e6


def _kernel_us(arrays, rule, clock):
    code, augmented = rules.rule_code(rule)
    arguments = [(*arr, code, rules.DEFAULT_ATC_K, augmented) for arr in arrays]
    return _best_pass_us(rules.kernel_sequence, arguments, clock)


def _skeleton_us(arrays, rule, clock):
    code, _ = rules.rule_code(rule)
    params = (float(code), rules.DEFAULT_ATC_K)  # the built-in priority's parameters
    arguments = [
        (
            p,
            d,
            w,
            np.lexsort((np.arange(len(p)), p, d)) if rule == "mddc" else np.arange(len(p)),
            params,
        )
        for p, d, w in arrays
    ]
    return _best_pass_us(rules.dispatch, arguments, clock)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="every 10th instance, no wt40")
    parser.add_argument("--no-wt40", action="store_true", help="skip the wt40 section")
    args = parser.parse_args()
    command = ".venv/bin/python benchmarks/smtt_heuristics.py" + (" --quick" if args.quick else "")
    command += " --no-wt40" if args.no_wt40 else ""
    step = 10 if args.quick else 1
    data = {n: list(sf.read_all(path))[::step] for n, path in SETS.items()}
    # Compile (or load) every kernel before timing anything.
    for spec in [f"rule:{r}" for r in rules.RULES] + LOCAL + ITERATED:
        sf.solve(data[20][0], spec, time_limit=1.0, seed=0)

    lines = [
        "# SMTT rules and local search: gap to the optimum and time per instance",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at start "
        f"{os.getloadavg()[0]:.1f} (the machine is shared, times are noisy).",
        "",
        f"Sets: n = 20 Çetinkaya et al. 2025 uniform ({len(data[20])} instances), "
        f"n = 100 / 200 Shang et al. ({len(data[100])} / {len(data[200])}). Gap = mean over "
        "instances with non-zero optimum of 100·(H − OPT)/OPT; opt = instances solved to "
        "the optimum; time = mean `sf.solve` wall time per instance. "
        f"`ils:*` run {ILS_SECONDS} s per instance (`stall=None`: the whole budget).",
        "",
    ]
    header = "| method | paper n=20 | " + " | ".join(
        f"n={n} gap % | n={n} opt | n={n} ms" for n in SETS
    )
    lines += [header + " |", "|" + "---|" * (2 + 3 * len(SETS))]
    specs = [(f"rule:{r}", {}) for r in rules.RULES]
    specs += [(s, {}) for s in LOCAL]
    specs += [(s, {"time_limit": ILS_SECONDS, "stall": None}) for s in ITERATED]
    summary = {}
    for spec, options in specs:
        cells = [spec, PUBLISHED.get(spec, "")]
        for n, instances in data.items():
            gap, hits, seconds = _gap_row(instances, spec, **options)
            summary[(spec, n)] = gap
            cells += [f"{gap:.2f}", f"{hits}/{len(instances)}", f"{seconds * 1e3:.2f}"]
        line = "| " + " | ".join(cells) + " |"
        print(line, flush=True)
        lines.append(line)

    arrays = [rules._arrays(inst) for inst in data[200]]
    lines += [
        "",
        "## Rule time at n = 200 (µs per instance, after compilation)",
        "",
        "kernel = the compiled `kernel_sequence` on prepared int64 arrays (no Python "
        "wrapper), as CPU time of the thread (`time.thread_time`, which leaves out the "
        "time other processes hold the core) and as wall time; skeleton = the generic "
        "dispatch loop with the same priority (`dispatch`, the path of discovered "
        "heuristics; same sequences, tested), CPU time; solve = full `sf.solve` wall time "
        "(conversion, validation, evaluation, Result). Best of 7 passes over the set. "
        f"Load average before this table: {os.getloadavg()[0]:.1f}. Target: kernel < 50 µs.",
        "",
        "| rule | kernel CPU µs | kernel wall µs | skeleton CPU µs | sf.solve wall µs |",
        "|---|---|---|---|---|",
    ]
    for rule in rules.RULES:
        cpu = _kernel_us(arrays, rule, time.thread_time)
        wall = _kernel_us(arrays, rule, time.perf_counter)
        skeleton = (
            f"{_skeleton_us(arrays, rule, time.thread_time):.1f}" if rule in SKELETON_RULES else ""
        )
        solve_us = 1e6 * min(
            np.mean([sf.solve(inst, f"rule:{rule}").runtime for inst in data[200]])
            for _ in range(3)
        )
        line = f"| {rule} | {cpu:.1f} | {wall:.1f} | {skeleton} | {solve_us:.1f} |"
        print(line, flush=True)
        lines.append(line)

    lines += ["", "## Targets", ""]
    lines.append(
        f"- `ils:mddc`, {ILS_SECONDS} s per instance, n = 100: mean gap "
        f"{summary[('ils:mddc', 100)]:.4f} % (target < 0.1 %)."
    )
    if not (args.quick or args.no_wt40):
        wt40 = list(sf.read_all(WT40))
        for options, label in (
            ({"time_limit": 1.0, "stall": None}, "1 s per instance, whole budget (`stall=None`)"),
            ({"time_limit": 1.0}, "1 s limit, default stall rule (500 kicks without improvement)"),
        ):
            gap, hits, seconds = _gap_row(wt40, "ils:atc", **options)
            line = (
                f"- `ils:atc` on OR-Library wt40, {label}: published optimum reached on "
                f"{hits}/125 (target >= 120), mean gap {gap:.4f} %, mean time {seconds:.3f} s."
            )
            print(line, flush=True)
            lines.append(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
