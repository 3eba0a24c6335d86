"""The pods benchmark table: what a cluster operator reads, instead of a gap.

A pods objective is a lexicographic vector (pods running per priority tier,
highest first, then evictions, then moves) folded into one number, so a gap
to it says nothing a person can use. This table gives, per method, the pods
placed per priority (summed over the solved runs, out of the pods of that
priority), the mean evictions and moves per solved run, wins (instances
where the method's plan is the best, ties for each) and the mean runtime.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from schedforge.bench.summary import FAILED, SOLVED, _wins

HEADERS = (
    "method",
    "runs",
    "solved",
    "failed",
    "placed per priority (placed/pods)",
    "evictions (mean)",
    "moves (mean)",
    "wins",
    "mean time s",
)


@dataclass(frozen=True)
class PodsLine:
    """One method's line of the pods table."""

    method: str
    runs: int
    solved: int
    failed: int
    placed: tuple[tuple[int, int, int], ...]  # (priority, placed, pods), highest priority first
    evictions: float | None
    moves: float | None
    wins: int
    mean_time: float | None


def pods_lines(
    rows: Sequence[dict[str, Any]], instance_data: Callable[[str], dict[str, Any] | None]
) -> list[PodsLine]:
    """The table for the ``pods`` rows of ``rows``.

    ``instance_data(name)`` gives an instance's stored dictionary
    (:meth:`schedforge.bench.storage.Store.instance_data`).
    """
    from schedforge.problems.pods import PodsInstance, PodsSolution, objective_vector

    rows = [r for r in rows if r["problem"] == "pods"]
    instances: dict[str, PodsInstance | None] = {}
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_method[row["method"]].append(row)
        if row["instance"] not in instances:
            data = instance_data(row["instance"])
            instances[row["instance"]] = PodsInstance.from_dict(data) if data else None
    wins = _wins(rows)
    lines = []
    for method, group in sorted(by_method.items()):
        placed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        evictions, moves = [], []
        for row in group:
            instance = instances.get(row["instance"])
            if row["status"] not in SOLVED or not row.get("solution") or instance is None:
                continue
            value = objective_vector(instance, PodsSolution.from_dict(json.loads(row["solution"])))
            sizes = defaultdict(int)
            for priority in instance.priority:
                sizes[int(priority)] += 1
            for priority, count in zip(value.tiers, value.placed, strict=True):
                placed[int(priority)][0] += count
                placed[int(priority)][1] += sizes[int(priority)]
            evictions.append(value.evictions)
            moves.append(value.moves)
        times = [
            r["runtime"] for r in group if r["runtime"] is not None and r["status"] not in FAILED
        ]
        lines.append(
            PodsLine(
                method=method,
                runs=len(group),
                solved=sum(r["status"] in SOLVED for r in group),
                failed=sum(r["status"] in FAILED for r in group),
                placed=tuple((p, c[0], c[1]) for p, c in sorted(placed.items(), reverse=True)),
                evictions=statistics.fmean(evictions) if evictions else None,
                moves=statistics.fmean(moves) if moves else None,
                wins=wins.get(("pods", method), 0),
                mean_time=statistics.fmean(times) if times else None,
            )
        )
    return lines


def table_rows(lines: Sequence[PodsLine]) -> list[list[str]]:
    """The table as rows of text cells, in the order of :data:`HEADERS`."""

    def num(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    return [
        [
            line.method,
            str(line.runs),
            f"{line.solved}/{line.runs}",
            str(line.failed),
            "  ".join(f"p{p}: {c}/{n}" for p, c, n in line.placed) or "-",
            num(line.evictions, 1),
            num(line.moves, 1),
            str(line.wins),
            num(line.mean_time, 3),
        ]
        for line in lines
    ]


def to_markdown(lines: Sequence[PodsLine]) -> str:
    """The table as GitHub Markdown."""
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(cells) + " |" for cells in table_rows(lines)]
    return "\n".join(out) + "\n"


def to_rich(lines: Sequence[PodsLine]) -> Any:
    """The table for the terminal."""
    from rich import box
    from rich.table import Table

    table = Table(
        title="benchmark summary — pods (placed per priority, evictions, moves)",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )
    short = ("method", "runs", "solved", "fail", "placed/pods\nper priority", "evict\nmean",
             "moves\nmean", "wins", "time s\nmean")  # fmt: skip
    for k, header in enumerate(short):
        table.add_column(header, justify="left" if k in (0, 4) else "right", overflow="fold")
    for cells in table_rows(lines):
        cells[4] = cells[4].replace("  ", "\n")
        table.add_row(*cells)
    return table
