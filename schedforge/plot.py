"""Plots: Gantt charts for every problem (and, later, profiles and convergence).

Problem modules describe a schedule as a list of :class:`~schedforge.core.instance.Bar`;
this module draws them, so matplotlib is only imported here, and only when a
plot is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.core.instance import Bar
from schedforge.core.registry import problem_of

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
"""File types the charts are written as (chosen by the extension)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


# Per problem: x-axis label (with unit), y-axis label, what a bar's colour
# stands for, and what a red edge marks.
GANTT_AXES: dict[str, tuple[str, str, str, str]] = {
    "smtt": ("time (time units of the instance)", "", "job", "late job (ends after its due date)"),
    "rcpsp": (
        "time (periods)",
        "activity",
        "resource the activity uses most",
        "ends at the makespan",
    ),
    "fjsp": ("time (time units of the instance)", "machine", "job", "on a critical path"),
    "pods": (
        "share of the node's allocatable CPU (%)",
        "node",
        "priority",
        "moved, newly placed or evicted pod",
    ),
}
_DEFAULT_AXES = ("time", "", "group", "highlighted")
_OBJECTIVE_NAMES = {"smtt": "total (weighted) tardiness", "rcpsp": "makespan", "fjsp": "makespan"}
# Up to this many groups get one legend entry each.
_LEGEND_GROUPS = 12


def draw_bars(
    ax: Any,
    bars: Sequence[Bar],
    *,
    max_labels: int = 150,
    axes: tuple[str, str, str, str] = _DEFAULT_AXES,
) -> None:
    """Draw Gantt ``bars`` on a matplotlib axis, one row per distinct ``row``.

    Bars of the same ``group`` share a colour; highlighted bars (late jobs,
    say) get a red edge. Labels are written inside bars while there are few
    enough to read. ``axes`` gives the x label, y label, the meaning of a
    colour and of a red edge (see :data:`GANTT_AXES`); the legend says both.
    """
    from matplotlib.patches import Patch

    rows = list(dict.fromkeys(b.row for b in bars))
    groups = list(dict.fromkeys(b.group for b in bars))
    cmap = _pyplot().get_cmap("tab20")
    for bar in bars:
        y = rows.index(bar.row)
        colour = cmap(groups.index(bar.group) % 20)
        ax.barh(
            y,
            bar.end - bar.start,
            left=bar.start,
            height=0.8,
            color=colour,
            edgecolor="red" if bar.highlight else "black",
            linewidth=1.5 if bar.highlight else 0.5,
        )
        if bar.label and len(bars) <= max_labels:
            ax.text((bar.start + bar.end) / 2, y, bar.label, ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    xlabel, ylabel, colour_means, edge_means = axes
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if len(groups) <= _LEGEND_GROUPS:
        handles = [
            Patch(facecolor=cmap(groups.index(g) % 20), edgecolor="black", label=str(g))
            for g in sorted(groups, key=_natural)
        ]
    else:
        label = f"colour: {colour_means} ({len(groups)} of them; labels on the bars)"
        handles = [Patch(facecolor=cmap(0), edgecolor="black", label=label)]
    if any(b.highlight for b in bars):
        handles.append(Patch(facecolor="white", edgecolor="red", linewidth=1.5, label=edge_means))
    ax.legend(
        handles=handles,
        title=colour_means if len(groups) <= _LEGEND_GROUPS else None,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title_fontsize=8,
        frameon=False,
    )


def _natural(text: str) -> list[Any]:
    # "job 2" before "job 10"; priorities highest first ("priority 1000" before "priority 0").
    parts = [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]
    return [-p if isinstance(p, int) and text.startswith("priority") else p for p in parts]


def _objective_text(problem: Any, instance: Any, solution: Any) -> str:
    if problem.name == "pods":  # the scalar encodes a lexicographic vector; say it in words
        from schedforge.problems.pods import objective_vector

        return str(objective_vector(instance, solution))
    name = _OBJECTIVE_NAMES.get(problem.name, "objective")
    return f"{name} {problem.objective(instance, solution):g}"


def gantt(
    instance: Any,
    solution: Any,
    path: str | Path | None = None,
    *,
    method: str | None = None,
    title: str = "",
) -> Any:
    """Draw the Gantt chart of ``solution`` and save it to ``path`` (PNG, SVG, PDF).

    The title names the instance, the ``method`` that made the schedule and
    its objective value, unless ``title`` is given. Returns the matplotlib
    figure.
    """
    problem = problem_of(instance)
    if problem.gantt is None:
        raise SchedforgeError(f"no Gantt chart for problem {problem.name!r}")
    bars = problem.gantt(instance, solution)
    plt = _pyplot()
    rows = len({b.row for b in bars})
    fig, ax = plt.subplots(figsize=(12, max(2.4, 0.4 * rows + 1.4)))
    draw_bars(ax, bars, axes=GANTT_AXES.get(problem.name, _DEFAULT_AXES))
    if not title:
        by = f" — {method}" if method else ""
        title = (
            f"{instance.name} ({problem.title}){by}\n{_objective_text(problem, instance, solution)}"
        )
    ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def convergence(
    generations: Sequence[dict[str, Any]], path: str | Path | None = None, *, title: str = ""
) -> Any:
    """Best gap per generation of a discovery run, on the training and validation sets.

    Parameters
    ----------
    generations
        Rows of the archive's ``generations`` table (``generation``,
        ``best_train_gap``, ``best_validation_gap`` in percent).
    path
        Where to save the figure (PNG, SVG, PDF); ``None`` to only return it.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label, marker in (
        ("best_train_gap", "train", "o"),
        ("best_validation_gap", "validation", "s"),
    ):
        points = [
            (g["generation"], g[key])
            for g in generations
            if g.get(key) is not None and g[key] != float("inf")
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=marker, label=label, drawstyle="steps-post")
    ax.set_xlabel("generation")
    ax.set_ylabel("best mean gap to reference (%)")
    ax.set_title(title or "heuristic discovery: best gap per generation")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def _finish(fig: Any, path: str | Path | None) -> Any:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        _pyplot().close(fig)
    return fig


def performance_profile(
    gaps: Mapping[str, Sequence[float | None]],
    path: str | Path | None = None,
    *,
    title: str = "",
) -> Any:
    """Performance profile of gaps: the share of runs of each method within gap τ.

    For each method, the curve at τ is the fraction of its runs whose gap to
    the reference is at most τ (a run without a solution never counts), in
    the manner of Dolan & Moré's performance profiles with the gap in place
    of the time ratio, since a gap is defined even where the optimum is 0.
    Higher and further left is better.

    Parameters
    ----------
    gaps
        Method label -> gap of each run (fractions, ``None`` = no solution).
    path
        Where to save the figure (PNG, SVG, PDF); ``None`` to only return it.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Dolan, E. D., & Moré, J. J. (2002). Benchmarking optimization software
    with performance profiles. Mathematical Programming 91(2), 201-213.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    finite = [100 * g for values in gaps.values() for g in values if g is not None]
    top = max([*finite, 1.0]) * 1.05
    styles = ("-", "--", "-.", ":")
    for k, (method, values) in enumerate(gaps.items()):
        if not values:
            continue
        solved = sorted(max(0.0, 100 * g) for g in values if g is not None)
        xs = [0.0, *solved, top]
        ys = [0.0, *[(k + 1) / len(values) for k in range(len(solved))], len(solved) / len(values)]
        if solved and solved[0] == 0.0:
            ys[0] = sum(g == 0.0 for g in solved) / len(values)
        # Varying dashes keep methods that coincide (all at gap 0) visible.
        ax.step(xs, ys, where="post", label=method, linestyle=styles[k % 4], linewidth=1.6)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("gap to reference τ (%)")
    ax.set_ylabel("share of runs with gap ≤ τ")
    ax.set_title(title or "performance profile")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _finish(fig, path)


def gap_vs_time(
    points: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path | None = None,
    *,
    title: str = "",
) -> Any:
    """Gap against runtime: every run as a small dot, each method's mean as a large one.

    Parameters
    ----------
    points
        Method label -> ``(runtime in seconds, gap as a fraction)`` per run
        with a solution.
    path
        Where to save the figure; ``None`` to only return it.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    cmap = plt.get_cmap("tab10")
    for k, (method, runs) in enumerate(points.items()):
        if not runs:
            continue
        colour = cmap(k % 10)
        times = [max(t, 1e-6) for t, _ in runs]
        values = [100 * g for _, g in runs]
        ax.scatter(times, values, s=10, alpha=0.35, color=colour)
        ax.scatter(
            [sum(times) / len(times)],
            [sum(values) / len(values)],
            s=90,
            color=colour,
            edgecolor="black",
            label=method,
        )
    ax.set_xscale("log")
    # Only decades are labelled: minor labels (2×10⁻⁴, 3×10⁻⁴ ...) overlap.
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_yscale("symlog", linthresh=1.0)
    lowest = min([0.0, *(100 * g for runs in points.values() for _, g in runs)])
    ax.set_ylim(bottom=lowest - 0.1)
    ax.set_xlabel("runtime (s, log scale)")
    ax.set_ylabel("gap to reference (%)")
    ax.set_title(title or "gap vs time (large dots: method means)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig, path)


def resource_profile(
    instance: Any,
    solution: Any,
    path: str | Path | None = None,
    *,
    method: str | None = None,
    title: str = "",
) -> Any:
    """Resource usage of an RCPSP schedule over time against the capacity (downtime shown).

    One panel per resource: the usage as a filled step function, the
    capacity as a line, so overloads and downtime windows are visible. The
    title names the instance and the ``method``, unless ``title`` is given.
    Returns the matplotlib figure.
    """
    from schedforge.problems.rcpsp import resource_usage

    if getattr(instance, "problem", None) != "rcpsp":
        raise SchedforgeError("resource_profile draws RCPSP schedules only")
    times, usage, capacity = resource_usage(instance, solution)
    end = max(float(times[-1]), float((solution.start + instance.duration).max())) + 1
    steps = [*times.tolist(), end]
    plt = _pyplot()
    rows = max(instance.num_resources, 1)
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.6 * rows + 0.8), sharex=True, squeeze=False)
    for r in range(instance.num_resources):
        ax = axes[r][0]
        ax.stairs(usage[r], steps, fill=True, alpha=0.5, label="in use")
        ax.stairs(capacity[r], steps, baseline=None, color="red", linewidth=1.2, label="capacity")
        ax.set_ylabel(f"R{r + 1} (units)")
        ax.set_ylim(0, max(int(capacity[r].max()), int(usage[r].max()), 1) * 1.1)
    axes[0][0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1][0].set_xlabel("time (periods)")
    by = f" — {method}" if method else ""
    axes[0][0].set_title(title or f"{instance.name}{by}: resource usage against capacity")
    return _finish(fig, path)
