"""The pods benchmark table: placed pods per priority, evictions, moves (no gap)."""

from __future__ import annotations

import subprocess
import sys

import schedforge as sf
from schedforge.bench import pods_table
from schedforge.bench.storage import Store
from schedforge.problems.pods import objective_vector


def test_pods_bench_reports_placed_per_priority_evictions_and_moves(tmp_path):
    folder = tmp_path / "set"
    instances = [
        sf.generate("pods", nodes=4, priorities=2, utilisation=1.2, seed=seed) for seed in (1, 2)
    ]
    for inst in instances:
        sf.write(inst, folder / f"{inst.name}.json")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "schedforge.cli", "bench", str(folder), "-m", "rule:ffd",
         "-m", "kube", "-t", "1", "--no-warmup", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "placed/pods" in proc.stdout and "evict" in proc.stdout
    assert "gap%" not in proc.stdout
    with Store(out) as store:
        lines = {
            line.method: line for line in pods_table.pods_lines(store.runs(), store.instance_data)
        }
    # The table's numbers are the problem's own lexicographic value, summed.
    expected = [objective_vector(i, sf.solve(i, "rule:ffd").solution) for i in instances]
    ffd = lines["rule:ffd"]
    assert (ffd.runs, ffd.solved, ffd.failed) == (2, 2, 0)
    assert sum(c for _, c, _ in ffd.placed) == sum(sum(v.placed) for v in expected)
    assert sum(n for _, _, n in ffd.placed) == sum(i.num_pods for i in instances)
    assert ffd.evictions == sum(v.evictions for v in expected) / 2
    assert ffd.moves == sum(v.moves for v in expected) / 2
    priorities = [p for p, _, _ in ffd.placed]
    assert priorities == sorted(priorities, reverse=True)
    assert "p" in pods_table.to_markdown(list(lines.values()))
