"""``schedforge report``: summary tables and plots of a benchmark folder.

Writes one self-contained HTML file (plots embedded as base64 PNG, no
external files or scripts) and a Markdown version for the repository, whose
plots are PNG files in a folder beside it. Contents: the summary table per
method, a performance profile of the gaps, gap against runtime, one Gantt
chart per method on a chosen instance, the best objective per instance and
method, and the failed runs with their messages.
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedforge.bench import pods_table
from schedforge.bench.storage import Store
from schedforge.bench.summary import (
    HEADERS,
    SOLVED,
    failures,
    summarize,
    table_rows,
    to_markdown,
    with_gaps,
)
from schedforge.core.errors import SchedforgeError


@dataclass
class Figure:
    """A rendered plot: title, file name and PNG bytes."""

    title: str
    name: str
    png: bytes


@dataclass
class Report:
    """What :func:`build_report` gathered from the database."""

    rows: list[dict[str, Any]]
    figures: list[Figure] = field(default_factory=list)
    gantt_instance: str | None = None
    pods: list[pods_table.PodsLine] = field(default_factory=list)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def choose_instance(rows: Sequence[dict[str, Any]]) -> str | None:
    """The instance whose Gantt charts say most: solved by the most methods,
    then with the widest spread of objectives between methods."""
    objectives: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        if row["status"] in SOLVED and row["objective"] is not None:
            best = objectives[row["instance"]].get(row["method"], float("inf"))
            objectives[row["instance"]][row["method"]] = min(best, row["objective"])
    if not objectives:
        return None

    def score(name: str) -> tuple[int, float, str]:
        values = list(objectives[name].values())
        return (len(values), max(values) - min(values), name)

    return max(objectives, key=score)


def build_report(
    store: Store, *, instance: str | None = None, max_gantt: int = 8, plots: bool = True
) -> Report:
    """Gather rows and draw the plots.

    Parameters
    ----------
    store
        The benchmark database.
    instance
        Instance for the Gantt charts (default: :func:`choose_instance`).
    max_gantt
        At most this many Gantt charts (one per method).
    plots
        Draw the figures (off for tables only).
    """
    from schedforge import plot

    rows = with_gaps(store.runs())
    if not rows:
        raise SchedforgeError(f"{store.path}: the database holds no run yet")
    report = Report(rows, pods=pods_table.pods_lines(rows, store.instance_data))
    if not plots:
        return report
    methods = sorted({r["method"] for r in rows})
    gaps = {m: [r["gap"] for r in rows if r["method"] == m] for m in methods}
    scope = _scope(rows)
    report.figures.append(
        Figure(
            "Performance profile of the gap to the reference",
            "profile.png",
            _png(plot.performance_profile(gaps, title=f"performance profile: {scope}")),
        )
    )
    points = {
        m: [
            (r["runtime"], r["gap"])
            for r in rows
            if r["method"] == m and r["gap"] is not None and r["runtime"] is not None
        ]
        for m in methods
    }
    report.figures.append(
        Figure(
            "Gap against runtime",
            "gap_vs_time.png",
            _png(plot.gap_vs_time(points, title=f"gap vs runtime (large dots: means): {scope}")),
        )
    )
    name = instance or choose_instance(rows)
    if instance is not None and not any(r["instance"] == instance for r in rows):
        raise SchedforgeError(f"no run on instance {instance!r} in {store.path}")
    report.gantt_instance = name
    if name is not None:
        report.figures.extend(_gantts(store, rows, name, methods[:max_gantt]))
    return report


def _scope(rows: Sequence[dict[str, Any]]) -> str:
    """What a plot over many runs covers: the instance (or how many) and the methods."""
    instances = sorted({r["instance"] for r in rows})
    problems = ", ".join(sorted({r["problem"] for r in rows}))
    methods = len({r["method"] for r in rows})
    what = instances[0] if len(instances) == 1 else f"{len(instances)} {problems} instances"
    return f"{what}, {methods} method{'s' if methods != 1 else ''}"


def _gantts(store: Store, rows, name: str, methods: Sequence[str]) -> list[Figure]:
    from schedforge import plot
    from schedforge.core.registry import get_problem

    data = store.instance_data(name)
    if data is None:
        return []
    problem = get_problem(data["problem"])
    if problem.gantt is None:
        return []
    inst = problem.instance_type.from_dict(data)
    figures = []
    for method in methods:
        runs = [
            r
            for r in rows
            if r["instance"] == name and r["method"] == method and r["solution"] is not None
        ]
        if not runs:
            continue
        best = min(runs, key=lambda r: r["objective"])
        solution = problem.solution_type.from_dict(json.loads(best["solution"]))
        title = f"{name} — {method} (objective {best['objective']:g}, seed {best['seed']})"
        chart = plot.gantt(inst, solution, title=title)
        slug = "".join(c if c.isalnum() else "_" for c in method)
        figures.append(Figure(title, f"gantt_{slug}.png", _png(chart)))
    return figures


def per_instance(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each instance's reference and each method's mean objective."""
    methods = sorted({r["method"] for r in rows})
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    refs: dict[str, str] = {}
    for row in rows:
        refs.setdefault(
            row["instance"], "-" if row["reference"] is None else f"{row['reference']:g}"
        )
        if row["status"] in SOLVED:
            values[row["instance"]][row["method"]].append(row["objective"])
    header = ["instance", "reference", *methods]
    body = []
    for name in sorted(refs):
        cells = [name, refs[name]]
        for method in methods:
            got = values[name].get(method)
            cells.append(f"{statistics.fmean(got):g}" if got else "-")
        body.append(cells)
    return header, body


def _md_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        for cells in body
    ]
    return "\n".join(lines) + "\n"


def _html_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in body
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _failure_rows(rows) -> list[list[str]]:
    return [
        [r["instance"], r["method"], str(r["seed"]), r["status"], (r["message"] or "")[:200]]
        for r in failures(rows, limit=50)
    ]


def _context(report: Report) -> dict[str, Any]:
    rows = report.rows
    refs = {r["reference_source"] for r in rows if r.get("reference_source")}
    return {
        "runs": len(rows),
        "instances": len({r["instance"] for r in rows}),
        "methods": len({r["method"] for r in rows}),
        "time_limits": sorted({r["time_limit"] for r in rows}),
        "seeds": sorted({r["seed"] for r in rows}),
        "references": sorted(refs),
        "versions": sorted(
            {
                f"schedforge {r['schedforge_version']}, ortools {r['ortools_version']}, "
                f"pulp {r['pulp_version']}, numba {r['numba_version']}"
                for r in rows
                if r.get("schedforge_version")
            }
        ),
    }


def _intro(report: Report) -> str:
    c = _context(report)
    limits = ", ".join(f"{t:g}" for t in c["time_limits"])
    return (
        f"{c['runs']} runs: {c['instances']} instances × {c['methods']} methods × "
        f"seeds {', '.join(map(str, c['seeds']))}; time limit {limits} s. "
        f"Gap = (objective − reference) / max(|objective|, |reference|); reference from "
        f"{'; '.join(c['references']) or 'the best objective found'}."
    )


def to_markdown_report(report: Report, figure_dir: str) -> str:
    """The report as Markdown, with figures linked from ``figure_dir``."""
    parts = ["# Benchmark report", "", _intro(report), "", "## Summary", ""]
    others = [r for r in report.rows if r["problem"] != "pods"]
    if others or not report.pods:
        parts.append(to_markdown(summarize(others)))
    if report.pods:
        parts += [
            "Pods: placed per priority, evictions and moves",
            "",
            pods_table.to_markdown(report.pods),
        ]
    for figure in report.figures:
        parts += [f"## {figure.title}", "", f"![{figure.title}]({figure_dir}/{figure.name})", ""]
    header, body = per_instance(report.rows)
    parts += ["## Mean objective per instance", "", _md_table(header, body)]
    fails = _failure_rows(report.rows)
    if fails:
        parts += [
            "## Failed runs",
            "",
            _md_table(["instance", "method", "seed", "status", "message"], fails),
        ]
    for line in _context(report)["versions"]:
        parts.append(f"Versions: {line}  ")
    return "\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td:first-child, td:nth-child(2) { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #555; }
"""


def to_html_report(report: Report) -> str:
    """The report as one self-contained HTML page (figures embedded)."""
    others = [r for r in report.rows if r["problem"] != "pods"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>schedforge benchmark</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Benchmark report</h1>",
        f"<p class='note'>{html.escape(_intro(report))}</p>",
        "<h2>Summary</h2>",
    ]
    if others or not report.pods:
        parts.append(_html_table(HEADERS, table_rows(summarize(others))))
    if report.pods:
        parts.append("<p>Pods: placed per priority, evictions and moves</p>")
        parts.append(_html_table(pods_table.HEADERS, pods_table.table_rows(report.pods)))
    for figure in report.figures:
        data = base64.b64encode(figure.png).decode("ascii")
        parts.append(f"<h2>{html.escape(figure.title)}</h2>")
        parts.append(f"<img alt='{html.escape(figure.title)}' src='data:image/png;base64,{data}'>")
    header, body = per_instance(report.rows)
    parts += ["<h2>Mean objective per instance</h2>", _html_table(header, body)]
    fails = _failure_rows(report.rows)
    if fails:
        parts += [
            "<h2>Failed runs</h2>",
            _html_table(["instance", "method", "seed", "status", "message"], fails),
        ]
    for line in _context(report)["versions"]:
        parts.append(f"<p class='note'>Versions: {html.escape(line)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    folder: str | Path,
    *,
    html_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    instance: str | None = None,
) -> tuple[Path, Path]:
    """Write the HTML and Markdown reports of the benchmark in ``folder``.

    Defaults: ``folder/report.html`` and ``folder/report.md`` (its figures
    in ``folder/report_files/``). Returns both paths.
    """
    folder = Path(folder)
    html_out = Path(html_path) if html_path else folder / "report.html"
    md_out = Path(markdown_path) if markdown_path else folder / "report.md"
    with Store(folder, create=False) as store:
        report = build_report(store, instance=instance)
    html_out.parent.mkdir(parents=True, exist_ok=True)
    html_out.write_text(to_html_report(report), encoding="utf-8")
    figure_dir = md_out.with_name(md_out.stem + "_files")
    figure_dir.mkdir(parents=True, exist_ok=True)
    for figure in report.figures:
        (figure_dir / figure.name).write_bytes(figure.png)
    md_out.write_text(to_markdown_report(report, figure_dir.name), encoding="utf-8")
    return html_out, md_out
