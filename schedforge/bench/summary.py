"""Summary tables: one line per method, the table a reader expects in a paper.

For each (problem, method): runs, runs with a solution, runs proven optimal,
failures (``ERROR``/``TIMEOUT``), mean and median gap to the reference,
wins (instances on which the method's mean objective over seeds is the best
of all methods, ties counting for each) and mean runtime.

The reference of an instance is the one stored with its runs (from a
``--reference`` table or the instance's metadata), or else the best
objective found by any run in the database ("best found").
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schedforge.bench.reference import gap

SOLVED = ("OPTIMAL", "FEASIBLE")
FAILED = ("ERROR", "TIMEOUT")


@dataclass(frozen=True)
class MethodSummary:
    """One line of the summary table."""

    problem: str
    method: str
    runs: int
    instances: int
    solved: int
    optimal: int
    failed: int
    mean_gap: float | None
    median_gap: float | None
    wins: int
    mean_time: float | None


def references(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, str]]:
    """Per ``(problem, instance)``: the reference value and its origin.

    A stored reference wins; otherwise the best objective over every run
    of the instance in ``rows`` ("best found").
    """
    found: dict[tuple[str, str], tuple[float, str]] = {}
    best: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row["problem"], row["instance"])
        if row.get("reference") is not None and key not in found:
            found[key] = (row["reference"], row.get("reference_source") or "stored")
        if row["status"] in SOLVED and row["objective"] is not None:
            best[key] = min(best.get(key, row["objective"]), row["objective"])
    for key, value in best.items():
        found.setdefault(key, (value, "best found"))
    return found


def with_gaps(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``rows`` with ``reference``, ``reference_source`` and ``gap`` filled in.

    A method run with several time limits (one database, several batches)
    becomes one method per limit, labelled ``"cp @10s"``, so that results of
    different budgets are never averaged together.
    """
    refs = references(rows)
    limits: dict[tuple[str, str], set[float]] = defaultdict(set)
    for row in rows:
        if row.get("time_limit") is not None:
            limits[(row["problem"], row["method"])].add(row["time_limit"])
    out = []
    for row in rows:
        ref = refs.get((row["problem"], row["instance"]))
        row = dict(row)
        if len(limits[(row["problem"], row["method"])]) > 1:
            row["method"] = f"{row['method']} @{row['time_limit']:g}s"
        if ref is not None:
            row["reference"], row["reference_source"] = ref
        solved = row["status"] in SOLVED
        row["gap"] = gap(row["objective"], row.get("reference")) if solved else None
        out.append(row)
    return out


def summarize(rows: Sequence[dict[str, Any]]) -> list[MethodSummary]:
    """The summary table of ``rows`` (stored runs), one entry per (problem, method)."""
    rows = with_gaps(rows)
    by_method: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_method[(row["problem"], row["method"])].append(row)
    wins = _wins(rows)
    table = []
    for (problem, method), group in sorted(by_method.items()):
        gaps = [r["gap"] for r in group if r["gap"] is not None]
        times = [
            r["runtime"] for r in group if r["runtime"] is not None and r["status"] not in FAILED
        ]
        table.append(
            MethodSummary(
                problem=problem,
                method=method,
                runs=len(group),
                instances=len({r["instance"] for r in group}),
                solved=sum(r["status"] in SOLVED for r in group),
                optimal=sum(r["status"] == "OPTIMAL" for r in group),
                failed=sum(r["status"] in ("ERROR", "TIMEOUT") for r in group),
                mean_gap=statistics.fmean(gaps) if gaps else None,
                median_gap=statistics.median(gaps) if gaps else None,
                wins=wins.get((problem, method), 0),
                mean_time=statistics.fmean(times) if times else None,
            )
        )
    return table


def _wins(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Instances where a method's mean objective over seeds is the best (ties shared)."""
    objectives: dict[tuple[str, str], dict[str, list[float | None]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        value = row["objective"] if row["status"] in SOLVED else None
        objectives[(row["problem"], row["instance"])][row["method"]].append(value)
    wins: dict[tuple[str, str], int] = defaultdict(int)
    for (problem, _), per_method in objectives.items():
        means = {
            method: statistics.fmean(values)
            for method, values in per_method.items()
            if values and all(v is not None for v in values)
        }
        if not means:
            continue
        best = min(means.values())
        for method, value in means.items():
            if value <= best + 1e-9 * max(1.0, abs(best)):
                wins[(problem, method)] += 1
    return wins


# Column headers of the Markdown and HTML tables ...
HEADERS = (
    "problem",
    "method",
    "instances",
    "runs",
    "solved",
    "proven optimal",
    "failed",
    "mean gap %",
    "median gap %",
    "wins",
    "mean time s",
)
# ... and of the terminal table, narrow enough for 80 columns.
SHORT_HEADERS = (
    "problem",
    "method",
    "inst",
    "runs",
    "solved",
    "opt",
    "fail",
    "gap%\nmean",
    "gap%\nmedian",
    "wins",
    "time s\nmean",
)


def table_rows(summary: Sequence[MethodSummary]) -> list[list[str]]:
    """The summary as rows of text cells, in the order of :data:`HEADERS`."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f}"

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    return [
        [
            s.problem,
            s.method,
            str(s.instances),
            str(s.runs),
            f"{s.solved}/{s.runs}",
            str(s.optimal),
            str(s.failed),
            pct(s.mean_gap),
            pct(s.median_gap),
            str(s.wins),
            secs(s.mean_time),
        ]
        for s in summary
    ]


def to_markdown(summary: Sequence[MethodSummary]) -> str:
    """The summary as a GitHub Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(summary)]
    return "\n".join(lines) + "\n"


def to_rich(summary: Sequence[MethodSummary], title: str = "benchmark summary") -> Any:
    """The summary as a :class:`rich.table.Table` (no problem column for one problem)."""
    from rich import box
    from rich.table import Table

    single = len({s.problem for s in summary}) <= 1
    if single and summary:
        title = f"{title} — {summary[0].problem}"
    table = Table(
        title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True
    )
    first = 1 if single else 0
    widest = min(28, max([6, *(len(s.method) for s in summary)]))
    for k, header in enumerate(SHORT_HEADERS[first:], start=first):
        table.add_column(
            header,
            justify="left" if k < 2 else "right",
            no_wrap=k > 1,
            overflow="fold",  # long method specs wrap rather than lose their options
            min_width=widest if k == 1 else max(len(line) for line in header.split("\n")),
        )
    for cells in table_rows(summary):
        table.add_row(*cells[first:])
    return table


def failures(rows: Sequence[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """The first ``limit`` failed runs (``ERROR``/``TIMEOUT``) with their messages."""
    return [r for r in rows if r["status"] in ("ERROR", "TIMEOUT")][:limit]
