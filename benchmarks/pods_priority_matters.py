"""The "Priority Matters" grid: in-process lexicographic CP-SAT against kube-scheduler.

Christensen, Giallorenzo & Mauro (2025, arXiv:2511.08373) generate clusters
of {4, 8, 16, 32} nodes × {4, 8} average pods per node × {1, 2, 4} priority
levels × target utilisation {0.90, 0.95, 1.00, 1.05}, let kube-scheduler
place the pods, keep the scenarios where pods stay pending, and run their
CP-SAT model as a fallback with a 1 s and a 10 s window. They report that it
places more high-priority pods (lexicographically) in over 44 % (1 s) and
73 % (10 s) of the scenarios, certifies the default placement optimal in
over 19 %, and fails to return a plan within 1 s on 32 nodes.

This script reproduces the protocol with schedforge:

1. ``generate("pods", nodes, pods_per_node, priorities, utilisation, seed)``;
2. ``kube`` without preemption places the pods; the scenario is kept when a
   pod stays pending;
3. the snapshot after kube (its placement as the current one) is solved
   with ``cp`` in process, model building included, for each window.

Per cell and overall: kept scenarios, and per window the share **improved**
(placed pods per tier lexicographically larger than kube's), the share
**proven** (every tier proven optimal: the plan's placed vector is the
lexicographic optimum), the share where kube's placement is **certified**
optimal (proven and not improved), the share **failed** (no plan, or the
run exceeded the window), mean and max wall time, and the mean evictions
and the mean/max moves of the plans (and, below the table, the moves before
the ``reduce_moves`` repair). A second table switches on GPUs, taints,
selectors and anti-affinity, where the paper has no numbers.

With ``--rules`` the scenarios carry the scheduling rules schedforge
models beyond resources: a fifth of the ReplicaSets with several replicas
use one host port (replicas conflict), a tenth have ``preemptionPolicy:
Never``, a tenth of those with several replicas keep their replicas in
different zones (required anti-affinity by ``topology.kubernetes.io/zone``;
the nodes are spread over three zones), and half of the ReplicaSets with several replicas get a
PodDisruptionBudget ``maxUnavailable: 1`` on the kube snapshot. ``cp`` then
runs once per disruption mode (``--modes``: ``none``, ``max_moves=K``,
``moves_per_pod=R``, or several joined by commas; ``max_moves=K`` alone
implies ``moves_per_pod=1``, ``max_moves=K,moves_per_pod=off`` is the bare
cap; ``move_cost=C,eviction_cost=C`` the weighted mode), side by side; a run *fails* when it returns no plan
or takes longer than the window + 0.2 s (the first call, with its compile
and import time, included). Per mode: share improved, share certified
(kube's placement proven optimal), failures, mean wall, and moves and
evictions per extra pod placed (sums over the improved scenarios). The
table goes to ``benchmarks/results/pods_priority_matters_rules.md``.

Usage::

    .venv/bin/python benchmarks/pods_priority_matters.py                  # 1 s grid, 20 seeds
    .venv/bin/python benchmarks/pods_priority_matters.py --quick          # 3 seeds
    .venv/bin/python benchmarks/pods_priority_matters.py --windows 1 10 --seeds 20   # full protocol
    .venv/bin/python benchmarks/pods_priority_matters.py --rules --modes none max_moves=2 moves_per_pod=1

The table is printed and written to ``benchmarks/results/pods_priority_matters.md``
(``--out`` to change), with the exact command at the top.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

import schedforge as sf
from schedforge.problems.pods import objective_vector

RESULTS = Path(__file__).resolve().parent / "results" / "pods_priority_matters.md"
RULES_RESULTS = RESULTS.with_name("pods_priority_matters_rules.md")
PAPER = {1.0: 44.0, 10.0: 73.0}
# Seconds over the window after which a run counts as failed.
GRACE = 0.2
ZONE = "topology.kubernetes.io/zone"


def with_rules(inst, seed: int):
    """Host ports, zone anti-affinity and preemptionPolicy Never on some ReplicaSets.

    The nodes are spread over three zones (``topology.kubernetes.io/zone``).
    """
    rng = np.random.default_rng([seed, 2])
    sets = sorted(set(inst.owner))
    size = {s: inst.owner.count(s) for s in sets}
    port = {s: f"TCP//{8000 + k}" for k, s in enumerate(sets) if size[s] > 1 and rng.random() < 0.2}
    never = {s for s in sets if rng.random() < 0.1}
    # Drawn after the others so that ports and Never stay as they were without zones.
    apart = {s for s in sets if size[s] > 1 and rng.random() < 0.1}

    def zone_term(owner: str) -> tuple:
        if owner not in apart:
            return ()
        name = owner.split("/")[-1]
        selector = [{"key": "replicaset", "operator": "In", "values": [name]}]
        return ({"selector": selector, "namespaces": (), "topology": ZONE},)

    return inst.replace(
        host_ports=[(port[o],) if o in port else () for o in inst.owner],
        preempt_never=[o in never for o in inst.owner],
        node_labels=[{**lab, ZONE: f"zone-{n % 3}"} for n, lab in enumerate(inst.node_labels)],
        pod_labels=[
            {**lab, "replicaset": o.split("/")[-1]}
            for lab, o in zip(inst.pod_labels, inst.owner, strict=True)
        ],
        anti_affinity_terms=[
            tuple(terms) + zone_term(o)
            for terms, o in zip(inst.anti_affinity_terms, inst.owner, strict=True)
        ],
    )


def with_budgets(snapshot, seed: int):
    """PodDisruptionBudgets ``maxUnavailable: 1`` on half the ReplicaSets with several replicas."""
    rng = np.random.default_rng([seed, 3])
    owners = list(snapshot.owner)
    sets = [s for s in sorted(set(owners)) if owners.count(s) > 1 and rng.random() < 0.5]
    index = {s: b for b, s in enumerate(sets)}
    running = snapshot.current_node >= 0
    allowed = []
    for s in sets:
        members = [p for p, o in enumerate(owners) if o == s]
        healthy = int(running[members].sum())
        allowed.append(max(0, healthy - (len(members) - 1)))
    return snapshot.replace(
        pdb=[index.get(o, -1) for o in owners],
        pdb_names=tuple(f"default/{s.split('/')[-1]}" for s in sets),
        pdb_allowed=allowed,
    )


def parse_mode(text: str) -> dict:
    """``none``, or ``max_moves=K``, ``max_evictions=K``, ``moves_per_pod=R|off``,
    ``move_cost=C``, ``eviction_cost=C`` joined by commas."""
    if text == "none":
        return {}
    out: dict = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key == "moves_per_pod":
            out[key] = False if value == "off" else float(value)
        elif key in ("move_cost", "eviction_cost"):
            out[key] = float(value)
        else:
            out[key] = int(value)
    return out


def run_rules_cell(params: dict, seeds: range, window: float, modes: list[str]) -> dict:
    """One cell with rules on: per mode, the records of the kept scenarios."""
    kept, total = 0, 0
    records: dict[str, list[dict]] = defaultdict(list)
    for seed in seeds:
        total += 1
        inst = with_rules(sf.generate("pods", seed=seed, **params), seed)
        kube = sf.solve(inst, "kube", preemption=False)
        if (kube.solution.node >= 0).all():
            continue
        kept += 1
        snapshot = with_budgets(inst.with_placement(kube.solution.node), seed)
        base = objective_vector(snapshot, kube.solution)
        for mode in modes:
            start = time.perf_counter()
            res = sf.solve(snapshot, "cp", time_limit=window, seed=seed, **parse_mode(mode))
            wall = time.perf_counter() - start
            ok = res.solution is not None and wall <= window + GRACE
            value = objective_vector(snapshot, res.solution) if res.solution is not None else None
            improved = value is not None and value.placed > base.placed
            records[mode].append(
                {
                    "improved": improved,
                    "certified": bool(res.stats.get("tiers_proven")) and ok and not improved,
                    "failed": not ok,
                    "wall": wall,
                    "extra": sum(value.placed) - sum(base.placed) if improved else 0,
                    "evictions": value.evictions if improved else 0,
                    "moves": value.moves if improved else 0,
                }
            )
    return {"kept": kept, "total": total, "records": records}


def rules_summary(records: list[dict]) -> dict:
    n = len(records)
    if n == 0:
        return {}
    extra = sum(r["extra"] for r in records)
    return {
        "improved": 100.0 * sum(r["improved"] for r in records) / n,
        "certified": 100.0 * sum(r["certified"] for r in records) / n,
        "failed": 100.0 * sum(r["failed"] for r in records) / n,
        "mean": sum(r["wall"] for r in records) / n,
        "max": max(r["wall"] for r in records),
        "moves_per_pod": sum(r["moves"] for r in records) / extra if extra else 0.0,
        "evictions_per_pod": sum(r["evictions"] for r in records) / extra if extra else 0.0,
        "extra": extra / n,
    }


def rules_table(cells: list[tuple[dict, dict]], modes: list[str], window: float) -> list[str]:
    head = "| nodes | pods/node | prios | util | kept |"
    rule = "|---:|---:|---:|---:|---:|"
    for mode in modes:
        head += (
            f" {mode}: impr % | cert % | fail % | mean s | max s | extra | moves/pod | evict/pod |"
        )
        rule += "---:|" * 8
    lines = [f"### Rules on, {window:g} s window, per disruption mode", "", head, rule]
    overall: dict[str, list[dict]] = defaultdict(list)
    kept = total = 0

    def cells_of(s: dict) -> str:
        if not s:
            return " - |" * 8
        return (
            f" {s['improved']:.0f} | {s['certified']:.0f} | {s['failed']:.0f} | "
            f"{s['mean']:.2f} | {s['max']:.2f} | {s['extra']:.2f} | "
            f"{s['moves_per_pod']:.2f} | {s['evictions_per_pod']:.2f} |"
        )

    for params, out in cells:
        kept += out["kept"]
        total += out["total"]
        row = (
            f"| {params['nodes']} | {params['pods_per_node']} | {params['priorities']} | "
            f"{params['utilisation']:.2f} | {out['kept']}/{out['total']} |"
        )
        for mode in modes:
            overall[mode].extend(out["records"][mode])
            row += cells_of(rules_summary(out["records"][mode]))
        lines.append(row)
    row = f"| **all** | | | | {kept}/{total} |"
    for mode in modes:
        row += cells_of(rules_summary(overall[mode]))
    lines += [row, ""]
    largest = max(cells, key=lambda c: (c[0]["nodes"], c[0]["pods_per_node"]))[0]
    big = [
        out
        for params, out in cells
        if (params["nodes"], params["pods_per_node"])
        == (largest["nodes"], largest["pods_per_node"])
    ]
    for mode in modes:
        s = rules_summary(overall[mode])
        runs = [r for out in big for r in out["records"][mode]]
        if s:
            lines.append(
                f"- `{mode}` on {largest['nodes']} nodes x {largest['pods_per_node']} pods "
                f"per node: {sum(r['failed'] for r in runs)} failed of {len(runs)} runs, "
                f"slowest {max((r['wall'] for r in runs), default=0):.2f} s."
            )
            lines.append(
                f"- `{mode}`: improved {s['improved']:.1f} % of kept scenarios "
                f"(paper, without rules: > {PAPER.get(window, 0):.0f} %), certified "
                f"{s['certified']:.1f} %, failed {s['failed']:.1f} %, "
                f"{s['moves_per_pod']:.2f} moves and {s['evictions_per_pod']:.2f} evictions per "
                "extra pod placed."
            )
    lines.append("")
    return lines


def run_cell(params: dict, seeds: range, windows: list[float], workers: int) -> dict:
    """Run one grid cell; returns the per-window records of the kept scenarios."""
    kept, total = 0, 0
    records: dict[float, list[dict]] = defaultdict(list)
    for seed in seeds:
        total += 1
        inst = sf.generate("pods", seed=seed, **params)
        kube = sf.solve(inst, "kube", preemption=False)
        if (kube.solution.node >= 0).all():
            continue
        kept += 1
        snapshot = inst.with_placement(kube.solution.node)
        base = objective_vector(snapshot, kube.solution)
        for window in windows:
            start = time.perf_counter()
            res = sf.solve(snapshot, "cp", time_limit=window, seed=seed, threads=workers)
            wall = time.perf_counter() - start
            ok = res.solution is not None and wall <= window
            value = objective_vector(snapshot, res.solution) if res.solution is not None else None
            improved = value is not None and value.placed > base.placed
            proven = bool(res.stats.get("tiers_proven"))
            records[window].append(
                {
                    "improved": improved,
                    "proven": proven and ok,
                    "certified": proven and ok and not improved,
                    "failed": not ok,
                    "wall": wall,
                    "evictions": value.evictions if value else 0,
                    "moves": value.moves if value else 0,
                    # Moves of the plan before reduce_moves sent pods home.
                    "raw_moves": res.stats.get("repair", {}).get("moves", [0])[0],
                }
            )
    return {"kept": kept, "total": total, "records": records}


def summarise(records: list[dict]) -> dict:
    n = len(records)
    if n == 0:
        return {}

    def share(key):
        return 100.0 * sum(r[key] for r in records) / n

    return {
        "improved": share("improved"),
        "proven": share("proven"),
        "certified": share("certified"),
        "failed": share("failed"),
        "mean": sum(r["wall"] for r in records) / n,
        "max": max(r["wall"] for r in records),
        "evict": sum(r["evictions"] for r in records) / n,
        "moves": sum(r["moves"] for r in records) / n,
        "max_moves": max(r["moves"] for r in records),
        "raw_moves": sum(r["raw_moves"] for r in records) / n,
        "max_raw_moves": max(r["raw_moves"] for r in records),
    }


def table(title: str, cells: list[tuple[dict, dict]], windows: list[float]) -> list[str]:
    head = "| nodes | pods/node | prios | util | kept |"
    rule = "|---:|---:|---:|---:|---:|"
    for w in windows:
        head += f" impr {w:g}s % | proven % | kube opt % | fail % | mean s | max s | evict | moves mean/max |"
        rule += "---:|" * 8
    lines = [f"### {title}", "", head, rule]
    overall: dict[float, list[dict]] = defaultdict(list)
    kept = total = 0
    for params, out in cells:
        kept += out["kept"]
        total += out["total"]
        row = (
            f"| {params['nodes']} | {params['pods_per_node']} | {params['priorities']} | "
            f"{params['utilisation']:.2f} | {out['kept']}/{out['total']} |"
        )
        for w in windows:
            overall[w].extend(out["records"][w])
            s = summarise(out["records"][w])
            if not s:
                row += " - |" * 8
                continue
            row += (
                f" {s['improved']:.0f} | {s['proven']:.0f} | {s['certified']:.0f} | "
                f"{s['failed']:.0f} | {s['mean']:.2f} | {s['max']:.2f} | {s['evict']:.1f} | "
                f"{s['moves']:.1f}/{s['max_moves']} |"
            )
        lines.append(row)
    row = f"| **all** | | | | {kept}/{total} |"
    for w in windows:
        s = summarise(overall[w])
        if not s:
            row += " - |" * 8
            continue
        row += (
            f" **{s['improved']:.1f}** | {s['proven']:.1f} | {s['certified']:.1f} | "
            f"**{s['failed']:.1f}** | {s['mean']:.2f} | {s['max']:.2f} | {s['evict']:.1f} | "
            f"{s['moves']:.1f}/{s['max_moves']} |"
        )
    lines.append(row)
    lines.append("")
    for w in windows:
        if w in PAPER and overall[w]:
            s = summarise(overall[w])
            lines.append(
                f"- {w:g} s window: improved in {s['improved']:.1f} % of kept scenarios "
                f"(paper: > {PAPER[w]:.0f} %), failed {s['failed']:.1f} %."
            )
        if overall[w]:
            s = summarise(overall[w])
            lines.append(
                f"- {w:g} s window: moves per plan mean {s['moves']:.1f}, max "
                f"{s['max_moves']} (before the `reduce_moves` repair: mean "
                f"{s['raw_moves']:.1f}, max {s['max_raw_moves']})."
            )
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per cell (paper grid)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--windows", type=float, nargs="+", default=[1.0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--pods-per-node", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--priorities", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--utilisation", type=float, nargs="+", default=[0.9, 0.95, 1.0, 1.05])
    parser.add_argument("--workers", type=int, default=1, help="CP-SAT workers")
    parser.add_argument("--realistic-seeds", type=int, default=5, help="seeds per cell, table 2")
    parser.add_argument("--skip-realistic", action="store_true", help="no second table")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 2 in table 2")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rules", action="store_true", help="rules on, modes side by side")
    parser.add_argument("--modes", nargs="+", default=["none", "max_moves=2", "moves_per_pod=1"])
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.realistic_seeds = 3, 2
    if args.rules:
        rules_main(args)
        return
    args.out = args.out or RESULTS

    command = "python benchmarks/pods_priority_matters.py " + shlex.join(sys.argv[1:])
    started = time.perf_counter()
    grid = [
        dict(nodes=n, pods_per_node=k, priorities=p, utilisation=u)
        for n in args.nodes
        for k in args.pods_per_node
        for p in args.priorities
        for u in args.utilisation
    ]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    cells = []
    for params in grid:
        out = run_cell(params, seeds, args.windows, args.workers)
        cells.append((params, out))
        print(params, out["kept"], {w: summarise(r) for w, r in out["records"].items()}, flush=True)
    lines = [
        '# Pod packing: the "Priority Matters" grid',
        "",
        f"Command: `{command}`",
        "",
        f"{args.seeds} seeds per cell (seeds {seeds.start}..{seeds.stop - 1}), windows "
        f"{', '.join(f'{w:g} s' for w in args.windows)}, CP-SAT workers {args.workers}, "
        "model building in process and inside the window. `kept` = scenarios where kube "
        "without preemption leaves pods pending. A run *fails* when it returns no plan or "
        "exceeds its window (wall clock, `solve()` included).",
        "",
    ]
    lines += table("Paper grid (CPU and memory only)", cells, args.windows)
    if not args.skip_realistic:
        realistic = []
        rseeds = range(args.first_seed, args.first_seed + args.realistic_seeds)
        for params in grid:
            if params["utilisation"] not in (0.95, 1.05):
                continue
            params = {**params, "gpus": True, "taints": True, "selectors": True}
            params["anti_affinity"] = True
            out = run_cell(params, rseeds, args.windows, args.workers)
            realistic.append((params, out))
            print(params, out["kept"], flush=True)
        lines += table(
            f"GPUs, taints, selectors and anti-affinity on ({args.realistic_seeds} seeds, "
            "utilisation 0.95 and 1.05)",
            realistic,
            args.windows,
        )
    lines.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


def rules_main(args) -> None:
    """The grid with rules on, one table with the disruption modes side by side."""
    command = "python benchmarks/pods_priority_matters.py " + shlex.join(sys.argv[1:])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    window = args.windows[0]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    cells = []
    for n in args.nodes:
        for k in args.pods_per_node:
            for p in args.priorities:
                for u in args.utilisation:
                    params = dict(nodes=n, pods_per_node=k, priorities=p, utilisation=u)
                    out = run_rules_cell(params, seeds, window, args.modes)
                    cells.append((params, out))
                    print(params, out["kept"], flush=True)
    lines = [
        '# Pod packing: the "Priority Matters" grid with scheduling rules',
        "",
        f"Command: `{command}`",
        "",
        f"{args.seeds} seeds per cell (seeds {seeds.start}..{seeds.stop - 1}), window "
        f"{window:g} s, one CP-SAT worker. Rules on: host ports, zone anti-affinity, "
        "preemptionPolicy Never and PodDisruptionBudgets (see the script's docstring). A run fails when it returns no "
        f"plan or takes longer than the window + {GRACE} s, the first call of the process "
        "included. moves/pod and evict/pod: moves and evictions per extra pod placed, over "
        "the improved scenarios.",
        "",
        f"Machine: {os.cpu_count()} cores shared with other jobs; load average at the start "
        f"(1, 5, 15 min): {load}.",
        "",
    ]
    lines += rules_table(cells, args.modes, window)
    lines.append(f"Total benchmark time: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    out = args.out or RULES_RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
