"""Options of the bi-population GA compared on a PSPLIB subset (parameter choice).

Mean deviation from the critical-path bound of ``bpga`` with each set of
options given as JSON, one line per variant, on ``limit`` evenly spaced
instances (shifted by ``offset``) with one seed and one schedule budget:

    .venv/bin/python benchmarks/rcpsp_bpga_variants.py j120 60 1 5000 0 '{}' '{"decompose": 0.1}'

Arguments: set, limit, seed, schedules, offset, then the variants. Prints
only; the runs behind the notes in ``benchmarks/results/rcpsp_ga.md``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rcpsp_psplib import load

from schedforge.core.budget import Budget
from schedforge.heuristics.rcpsp_bpga import bpga


def main(argv: list[str]) -> None:
    set_name, limit, seed, schedules, offset = argv[0], *map(int, argv[1:5])
    insts = load(set_name, limit, offset)
    for options in (json.loads(a) for a in argv[5:]):
        bpga(insts[0], budget=Budget(seed=0), schedules=100, **options)  # compile
        begin, devs = time.perf_counter(), []
        for inst in insts:
            out = bpga(inst, budget=Budget(seed=seed), schedules=schedules, **options)
            assert out.stats["schedules"] <= schedules
            lb = inst.metadata["cpm_lb"]
            devs.append(100.0 * (out.objective - lb) / lb)
        print(
            f"{set_name} n={len(insts)} seed={seed} schedules={schedules} {json.dumps(options)}: "
            f"{statistics.fmean(devs):.3f} % ({time.perf_counter() - begin:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
