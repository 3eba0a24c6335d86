"""The ``schedforge`` command line (Typer + Rich).

Every error a user can cause ends as one readable line on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schedforge.cli_pods import pods_app
from schedforge.core.errors import InvalidOption, SchedforgeError
from schedforge.core.io import generate as generate_instance
from schedforge.core.io import read_all, write
from schedforge.core.paths import check_output_file, check_output_folder
from schedforge.core.registry import (
    get_problem,
    method_entries,
    parse_value,
    problems,
    stopping_rules_markdown,
)
from schedforge.core.solve import solve as solve_instance
from schedforge.core.warmup import compile_family, reporting

app = typer.Typer(
    name="schedforge",
    help="Scheduling optimisation: solve, benchmark and discover heuristics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
# Seconds before the compile spinner appears (a cache load is done by then).
SPINNER_DELAY = 0.7


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` to a dictionary with typed values."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidOption(f"option {pair!r} is not of the form name=value")
        options[key.strip().replace("-", "_")] = parse_value(value.strip())
    return options


def load_instance(path: Path, index: int | None, fmt: str | None) -> Any:
    """The instance in ``path`` (the ``index``-th, 1-based, of a multi-instance file)."""
    instances = read_all(path, fmt=fmt)
    if index is None:
        first = next(instances, None)
        if first is None:
            raise SchedforgeError(f"{path}: the file holds no instance")
        if next(instances, None) is not None:
            raise SchedforgeError(f"{path} holds several instances; choose one with --index K")
        return first
    if index < 1:
        raise InvalidOption("--index is 1-based")
    for k, inst in enumerate(instances, start=1):
        if k == index:
            return inst
    raise InvalidOption(f"{path} holds fewer than {index} instances")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@app.command()
def solve(
    file: Annotated[
        Path,
        typer.Argument(
            help="Instance file (format from extension/content) or dataset instance "
            "(psplib:j30/j301_1)."
        ),
    ],
    method: Annotated[str, typer.Option("--method", "-m", help="Method spec, e.g. cp, rule:edd.")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", "-t", help="Seconds for the method.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 0,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="Solver threads (default: the method's own)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Method option name=value (repeatable)."),
    ] = None,
    index: Annotated[
        int | None, typer.Option("--index", help="Instance number in a multi-instance file.")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Force the file format.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    gantt: Annotated[
        Path | None, typer.Option("--gantt", help="Write a Gantt chart (png/svg/pdf).")
    ] = None,
) -> None:
    """Solve one instance with one method and print the result.

    Options may follow the method spec (``-m 'ils:mddc?stall=None'``) or be
    given with ``--option name=value``.
    """
    from schedforge.bench.grid import MethodSpec

    if gantt is not None:
        from schedforge.plot import FIGURE_SUFFIXES

        check_output_file(gantt, "--gantt", FIGURE_SUFFIXES)
    spec = MethodSpec.parse(method)
    options = dict(spec.options)
    for key, value in parse_options(option or []).items():
        if key in options:
            raise InvalidOption(f"option {key!r} is given twice (in --method and --option)")
        options[key] = value
    method = spec.spec
    instance = load_instance(file, index, fmt)
    if threads is not None:
        options["threads"] = threads
    result = solve_instance(instance, method, time_limit=time_limit, seed=seed, **options)
    if gantt is not None and result.solution is not None:
        from schedforge.plot import gantt as draw_gantt

        draw_gantt(instance, result.solution, gantt, method=method)
    if as_json:
        data = result.to_dict()
        if result.problem == "pods" and result.solution is not None:
            from schedforge.problems.pods.plan import plan as pods_plan

            data["plan"] = pods_plan(instance, result.solution)  # with pod and node names
        sys.stdout.write(json.dumps(data) + "\n")
        return
    table = Table(title=f"{instance.name} ({result.problem}) — {method}", show_header=False)
    for key in ("status", "objective", "bound", "gap", "runtime", "seed"):
        table.add_row(key, _fmt(getattr(result, key)))
    if instance.reference is not None:
        table.add_row("reference", _fmt(instance.reference))
    for key, value in result.stats.items():
        table.add_row(key, _fmt(value))
    console.print(table)
    if gantt is not None and result.solution is not None:
        console.print(f"Gantt chart written to {gantt}")


@app.command("methods")
def list_methods(
    problem: Annotated[str | None, typer.Argument(help="Problem name; all when omitted.")] = None,
    stopping_rules: Annotated[
        bool,
        typer.Option(
            "--stopping-rules", help="Print the Markdown table of stopping rules (README)."
        ),
    ] = False,
) -> None:
    """List the methods (and their options) of one or every problem."""
    if stopping_rules:
        sys.stdout.write(stopping_rules_markdown())
        return
    from rich import box
    from rich.markup import escape

    from schedforge.core.variants import describe

    names = [problem] if problem else problems()
    for name in names:
        spec = get_problem(name)
        table = Table(
            title=f"{name}: {spec.title}",
            box=box.SIMPLE_HEAD,
            title_justify="left",
            title_style="bold",
        )
        table.add_column("method", no_wrap=True)
        table.add_column("exact")
        table.add_column("what it does (options with their defaults)")
        for entry in method_entries(name):
            variants = entry.variant_names()
            if entry.variants is None:
                shown = entry.name
            elif variants:
                shown = f"{entry.name}:<variant>"
            else:  # a dynamic family with no member yet (no exported heuristic)
                shown = f"{entry.name}:<name> (none yet)"
            text = escape(entry.summary.replace("``", ""))
            if entry.options:
                options = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
                text += f"\n[dim]options: {escape(options)}[/dim]"
            table.add_row(shown, "yes" if entry.exact else "", text)
            for variant in variants:
                table.add_row(f"  {entry.name}:{variant}", "", describe(name, entry.name, variant))
        console.print(table)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def generate(
    ctx: typer.Context,
    problem: Annotated[str, typer.Argument(help="Problem name, e.g. smtt.")],
    count: Annotated[int, typer.Option("--count", "-k", help="Number of instances.")] = 1,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the first instance.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("."),
    ext: Annotated[str, typer.Option("--ext", help="File extension (format).")] = ".json",
) -> None:
    """Generate COUNT seeded instances (instance i uses seed SEED + i).

    Generator parameters follow as --name value, e.g.
    ``schedforge generate smtt --jobs 50 --tf 0.6 --rdd 0.4 --count 10 --out set/``.
    """
    params = _extra_params(ctx.args)
    if count < 1:
        raise InvalidOption("--count must be >= 1")
    if seed < 0 or seed + count > 2**31:
        raise InvalidOption(f"--seed: seeds {seed}..{seed + count - 1} must lie in 0..2**31-1")
    check_output_folder(out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    suffix = ext if ext.startswith(".") else f".{ext}"
    for i in range(count):
        instance = generate_instance(problem, seed=seed + i, **params)
        path = write(instance, out / f"{instance.name}{suffix}")
        console.print(f"wrote {path}")


def _extra_params(args: list[str]) -> dict[str, Any]:
    """``["--jobs", "20", "--weighted"]`` to ``{"jobs": 20, "weighted": True}``."""
    params: dict[str, Any] = {}
    k = 0
    while k < len(args):
        arg = args[k]
        if not arg.startswith("--"):
            raise InvalidOption(
                f"unexpected argument {arg!r}; generator parameters are --name value"
            )
        key, sep, value = arg[2:].partition("=")
        if not sep:
            if k + 1 < len(args) and not args[k + 1].startswith("--"):
                value = args[k + 1]
                k += 1
            else:
                value = "true"
        params[key.replace("-", "_")] = parse_value(value)
        k += 1
    return params


# --- bench commands ---


@app.command()
def bench(
    instances: Annotated[
        list[str] | None,
        typer.Argument(
            help="Instance files, directories, globs, suite:NAME, dataset names (psplib:j30; "
            "schedforge datasets list), or one experiment .toml file."
        ),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", "-m", help="Method spec, options as rh:cp?window=80&step=30."),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", "-t", help="Seconds per run.")
    ] = None,
    seeds: Annotated[str | None, typer.Option("--seeds", help="Seeds: 0,1,2 or 0-4.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel workers.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (results.sqlite).")
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="Reference table FILE or FILE:COLUMN (repeatable)."),
    ] = None,
    executor: Annotated[
        str | None, typer.Option("--executor", help="local (default) or dask.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address tcp://host:8786.")
    ] = None,
    plugin: Annotated[
        list[str] | None,
        typer.Option("--plugin", help="Module or .py file registering methods (repeatable)."),
    ] = None,
    grace: Annotated[
        float | None,
        typer.Option("--grace", help="Seconds past the time limit before a run is killed."),
    ] = None,
    warmup: Annotated[
        bool | None,
        typer.Option("--warmup/--no-warmup", help="Untimed warm-up run per method and worker."),
    ] = None,
    export: Annotated[
        list[Path] | None,
        typer.Option("--export", help="Also export all runs to a .csv or .parquet file."),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run stored ERROR/TIMEOUT runs again.")
    ] = False,
    list_suites: Annotated[
        bool, typer.Option("--list-suites", help="List the bundled suites and exit.")
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Rebuild a damaged OUT/results.sqlite from its readable rows, then exit.",
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Run only the first N instances (to try a set quickly)."),
    ] = None,
) -> None:
    """Benchmark methods over instances; resumable, results in OUT/results.sqlite.

    Every (instance, method, seed) run executes in a worker process with a
    hard limit (time limit + grace); running the same command again skips
    finished runs.
    """
    from schedforge.bench.batch import run_batch
    from schedforge.bench.experiment import load_experiment, make_config
    from schedforge.bench.grid import MethodSpec, parse_seeds
    from schedforge.bench.progress import RichProgress
    from schedforge.bench.storage import Store
    from schedforge.bench.summary import failures, summarize, to_rich, with_gaps

    if list_suites:
        _print_suites()
        return
    if repair:
        _repair(out or Path("bench-results"))
        return
    args = list(instances or [])
    file_values: dict[str, Any] = {}
    if args and args[0].endswith(".toml"):
        file_values = load_experiment(args.pop(0))
    overrides: dict[str, Any] = {
        "instances": args,
        "methods": [MethodSpec.parse(m) for m in method or []],
        "time_limit": time_limit,
        "seeds": parse_seeds(seeds) if seeds is not None else None,
        "jobs": jobs,
        "out": out,
        "references": reference or [],
        "executor": executor or ("dask" if scheduler else None),
        "scheduler": scheduler,
        "plugins": plugin or [],
        "grace": grace,
        "warmup": warmup,
        "export": export or [],
        "retry_failed": retry_failed or None,
        "limit": limit,
    }
    config = make_config(file_values, overrides)
    command = "schedforge bench " + " ".join(sys.argv[2:])
    try:
        outcome = run_batch(
            config,
            progress=RichProgress(err_console),
            command=command,
            warn=lambda text: err_console.print(f"[yellow]warning:[/] {text}", highlight=False),
        )
    except KeyboardInterrupt:
        # Typer turns KeyboardInterrupt into a return value that main() does
        # not see; exit here so Ctrl-C gives status 130 and a useful line.
        err_console.print(
            "interrupted: finished runs are stored; run the same command again to resume"
        )
        sys.exit(130)
    from schedforge.bench import pods_table

    with Store(outcome.database) as store:
        rows = [row for row in store.runs() if row["key"] in outcome.keys]
        # A pods objective folds placed pods per tier, evictions and moves into
        # one number; the pods table shows those instead of a gap.
        pods = pods_table.pods_lines(rows, store.instance_data)
    others = [row for row in rows if row["problem"] != "pods"]
    if others or not pods:
        console.print(to_rich(summarize(others)))
    if pods:
        console.print(pods_table.to_rich(pods))
    sources = sorted({r["reference_source"] for r in with_gaps(others) if r["reference_source"]})
    if sources:
        console.print(f"gap reference: {'; '.join(sources)}", highlight=False)
    failed = failures(rows, limit=5)
    for row in failed:
        console.print(
            f"[red]{row['status']}[/] {row['instance']} {row['method']} seed {row['seed']}: "
            f"{row['message']}",
            highlight=False,
        )
    console.print(
        f"{outcome.done} run(s) done now, {outcome.skipped} already stored in "
        f"{outcome.database}; report: schedforge report {Path(config.out)}",
        highlight=False,
    )


def _repair(folder: Path) -> None:
    from schedforge.bench.storage import repair as repair_store

    damaged, kept, lost = repair_store(folder)
    if not any(kept.values()) and not lost.get("runs"):
        # Not even the batch records could be read: the count is unknown, not 0.
        unread = "nothing in it could be read, so how many runs it held is unknown"
    else:
        unread = f"{lost.get('runs', 0)} run(s) could not be read"
    console.print(
        f"kept {kept['runs']} run(s), {kept['instances']} instance(s) and "
        f"{kept['batches']} batch record(s) in {folder}; {unread}; the damaged file is {damaged}",
        highlight=False,
        soft_wrap=True,
    )


def _print_suites() -> None:
    from schedforge.bench.suites import list_suites

    table = Table(title="bundled suites (use as suite:NAME)")
    for col in ("name", "problem", "instances", "description"):
        table.add_column(col)
    for suite in list_suites():
        table.add_row(suite.name, suite.problem, str(len(suite.files())), suite.description)
    console.print(table)


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="A benchmark output folder (bench --out).")],
    html: Annotated[
        Path | None, typer.Option("--html", help="HTML file (default FOLDER/report.html).")
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Markdown file (default FOLDER/report.md).")
    ] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="Instance for the Gantt charts.")
    ] = None,
) -> None:
    """Write an HTML report (plots embedded) and a Markdown version of a benchmark."""
    from schedforge.bench.report import write_report

    if html is not None:
        check_output_file(html, "--html", (".html", ".htm"), create=True)
    if markdown is not None:
        check_output_file(markdown, "--markdown", (".md", ".markdown"), create=True)
    html_out, md_out = write_report(
        folder, html_path=html, markdown_path=markdown, instance=instance
    )
    console.print(f"wrote {html_out} and {md_out}")


# --- discovery commands ---


def _print_generation(summary: dict[str, Any]) -> None:
    """One progress line per generation of ``schedforge discover``."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}%"

    console.print(
        f"gen {summary['generation']:>3}/{summary['generations']}  "
        f"best train {pct(summary['best_train_gap'])}  "
        f"validation {pct(summary['best_validation_gap'])}  "
        f"evals {summary['evaluations']} ({summary['evals_per_second']:.1f}/s)  "
        f"tokens {summary['tokens']}  cost ${summary['cost']:.4f}  "
        f"{summary['seconds']:.1f}s",
        highlight=False,
        soft_wrap=True,
    )
    counts = summary.get("verdicts")
    if counts:
        line = "         " + "  ".join(
            f"{key} {counts[key]}"
            for key in ("proposed", "rejected", "error", "timeout", "ok", "improved")
        )
        for key in ("no_code", "duplicate"):
            if counts.get(key):
                line += f"  {key.replace('_', ' ')} {counts[key]}"
        top = summary.get("top_rejection")
        if top:
            line += f"  most common rejection ({top[1]}x): {top[0]}"
        console.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command()
def discover(
    ctx: typer.Context,
    problem: Annotated[
        str | None, typer.Argument(help="Problem with a template (smtt, ...).")
    ] = None,
    proposer: Annotated[str, typer.Option(help="openai, gp or replay.")] = "gp",
    model: Annotated[str | None, typer.Option(help="Model name (openai).")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1.")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option(help="Answers to replay: JSONL file or earlier run dir.")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option(help="JSON price table {model: {input, output}} USD/1M tokens.")
    ] = None,
    generations: Annotated[int | None, typer.Option(help="Generations after the seeds.")] = None,
    offspring: Annotated[int, typer.Option(help="Proposals per generation.")] = 8,
    islands: Annotated[int, typer.Option(help="Islands (1 = one population).")] = 2,
    population: Annotated[int, typer.Option(help="Candidates kept per island.")] = 6,
    budget_tokens: Annotated[int | None, typer.Option(help="Stop after this many tokens.")] = None,
    budget_cost: Annotated[float | None, typer.Option(help="Stop after this cost (USD).")] = None,
    budget_evaluations: Annotated[
        int | None, typer.Option(help="Stop after this many sandbox evaluations.")
    ] = None,
    budget_seconds: Annotated[
        float | None, typer.Option(help="Stop after this wall time (s).")
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Parallel sandbox workers.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the loop and of gp.")] = 0,
    sets: Annotated[str, typer.Option(help="Instance sets: default or quick.")] = "default",
    engine: Annotated[str, typer.Option(help="Sandbox engine: auto, numba or python.")] = "auto",
    cpu_seconds: Annotated[float, typer.Option(help="Sandbox CPU seconds per evaluation.")] = 10.0,
    wall_seconds: Annotated[
        float, typer.Option(help="Sandbox wall-clock seconds per evaluation.")
    ] = 20.0,
    memory_mb: Annotated[int, typer.Option(help="Sandbox memory (MB) per candidate.")] = 512,
    timeout: Annotated[float | None, typer.Option(help="Seconds per model request.")] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="Longest model answer, in tokens (openai; default 1024).")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786): evaluate there."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Resume the run in this directory.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Export the best as heuristic:NAME (default from the run).")
    ] = None,
    export: Annotated[
        bool | None,
        typer.Option("--export/--no-export", help="Export the best heuristic (default: yes)."),
    ] = None,
) -> None:
    """Evolve heuristics for PROBLEM (or resume a run with --resume DIR).

    Every option is stored in the run; --resume restores them, and accepts
    new values only for the budgets, --generations, --jobs, the endpoint
    options, --name, --export and --cluster.
    """
    from schedforge.discovery.evolve import RESUMABLE_OVERRIDES, DiscoveryConfig, Evolution
    from schedforge.discovery.export import export_candidate

    options = {
        key: value
        for key, value in ctx.params.items()
        if key not in ("out", "resume") and key in DiscoveryConfig.__dataclass_fields__
    }
    for key in ("replay", "prices"):
        if options[key] is not None:
            options[key] = str(options[key])
    # Options typed on the command line (typer ships its own click: compare by name).
    given = {
        key
        for key in ctx.params
        if getattr(ctx.get_parameter_source(key), "name", "") == "COMMANDLINE"
    }
    if resume is not None:
        fixed = sorted(given - set(RESUMABLE_OVERRIDES) - {"resume"})
        if fixed:
            flags = ", ".join(
                "PROBLEM" if k == "problem" else "--" + k.replace("_", "-") for k in fixed
            )
            raise InvalidOption(
                f"{flags}: stored in the run and fixed when it is resumed "
                f"(changeable: {', '.join('--' + k.replace('_', '-') for k in RESUMABLE_OVERRIDES)})"
            )
        run_dir = resume
        overrides = {key: options[key] for key in given if key in options}
        evolution = Evolution(run_dir, overrides=overrides, progress=_print_generation)
    else:
        if problem is None:
            raise InvalidOption("give a PROBLEM, or --resume DIR")
        config = DiscoveryConfig(**{k: v for k, v in options.items() if v is not None})
        run_dir = check_output_folder(
            out or Path(f"discover-{problem}-{proposer}-s{seed}"), "--out"
        )
        evolution = Evolution(run_dir, config, progress=_print_generation)
    cfg = evolution.config
    console.print(
        f"discover {cfg.problem} with {cfg.proposer} in {run_dir} "
        f"(train {len(evolution.sets['train'])}, validation {len(evolution.sets['validation'])}, "
        f"hold-out {len(evolution.sets['holdout'])} instances)",
        highlight=False,
    )
    try:
        summary = evolution.run()
        generations_done = evolution.archive.generations()
    finally:
        evolution.close()
    console.print(f"stopped: {summary['stop_reason']}", highlight=False)
    from schedforge.plot import convergence

    convergence(
        generations_done,
        run_dir / "convergence.png",
        title=f"discovery for {cfg.problem} with {cfg.proposer}: best gap per generation",
    )
    console.print(f"convergence plot: {run_dir / 'convergence.png'}", highlight=False)
    if not cfg.export:
        return
    label = cfg.name or f"{cfg.problem}_{cfg.proposer}_s{cfg.seed}"
    record = export_candidate(run_dir, label)
    gaps = record["gaps"]
    console.print(
        f"exported heuristic:{label} (candidate {record['source']['candidate']}): train "
        f"{gaps['train']:.3f}%, validation {_fmt(gaps['validation'])}%, "
        f"hold-out {_fmt(gaps['holdout'])}%",
        highlight=False,
        soft_wrap=True,
    )


app.add_typer(pods_app, name="pods")

heuristics_app = typer.Typer(help="Exported discovered heuristics (methods heuristic:NAME).")
app.add_typer(heuristics_app, name="heuristics")


@heuristics_app.command("list")
def heuristics_list(
    problem: Annotated[str | None, typer.Argument(help="Only this problem.")] = None,
) -> None:
    """List exported heuristics with their gaps."""
    from schedforge.discovery.export import home, list_heuristics

    table = Table(title=f"heuristics in {home()}")
    table.add_column("problem")
    table.add_column("method", no_wrap=True)
    for col in ("train %", "validation %", "hold-out %"):
        table.add_column(col)
    table.add_column("source", overflow="fold")
    for rec in list_heuristics(problem):
        gaps = rec.get("gaps", {})
        table.add_row(
            rec.get("problem", "?"),
            f"heuristic:{rec.get('name')}",
            _fmt(gaps.get("train")),
            _fmt(gaps.get("validation")),
            _fmt(gaps.get("holdout")),
            str(rec.get("source", {}).get("run", rec.get("error", ""))),
        )
    console.print(table)


@heuristics_app.command("show")
def heuristics_show(name: Annotated[str, typer.Argument(help="Heuristic name.")]) -> None:
    """Print a heuristic's code and provenance (verified first)."""
    from schedforge.discovery.export import find, verify

    record = find(name)
    verify(record)
    meta = {k: v for k, v in record.items() if k != "code"}
    console.print(json.dumps(meta, indent=1), highlight=False)
    sys.stdout.write(record["code"])


@heuristics_app.command("export")
def heuristics_export(
    name: Annotated[str, typer.Argument(help="Name of the new method heuristic:NAME.")],
    run: Annotated[Path, typer.Option("--run", help="Run directory to export from.")],
    candidate: Annotated[
        int | None, typer.Option(help="Candidate id (default: best on validation).")
    ] = None,
) -> None:
    """Export a run's best (or a chosen) candidate as method heuristic:NAME."""
    from schedforge.discovery.export import export_candidate

    record = export_candidate(run, name, candidate)
    console.print(
        f"exported heuristic:{name} for {record['problem']} "
        f"(hold-out gap {_fmt(record['gaps']['holdout'])}%)",
        highlight=False,
    )


datasets_app = typer.Typer(
    help="The public benchmark sets shipped with schedforge (use NAME wherever a path goes)."
)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def datasets_list(
    problem: Annotated[str | None, typer.Argument(help="Only this problem family.")] = None,
) -> None:
    """List the bundled sets: name, family, instance count, reference values."""
    from schedforge.benchsets import datasets

    if problem is not None:
        get_problem(problem)
    table = Table(title="bundled datasets (NAME goes wherever a path does)")
    for col in ("name", "problem", "instances", "reference values", "description"):
        table.add_column(col, no_wrap=col in ("name", "instances"))
    for entry in datasets(problem):
        # The table file is in `datasets info`; the list stays narrow.
        reference = entry.reference.split(" (")[0]
        table.add_row(entry.name, entry.problem, str(entry.instances), reference, entry.description)
    console.print(table)


@datasets_app.command("info")
def datasets_info(
    name: Annotated[str, typer.Argument(help="Dataset name (psplib:j30) or a folder.")],
    show: Annotated[int, typer.Option("--show", help="Instances to list.")] = 5,
) -> None:
    """Where a set comes from, how to cite it, its reference values and first instances."""
    from schedforge.benchsets import dataset

    entry = dataset(name)
    items = list(entry.items(strict=entry.archive is not None))
    with_ref = sum(inst.reference is not None for _, inst in items)
    table = Table(title=entry.name, show_header=False)
    rows = [
        ("problem", entry.problem or ", ".join(sorted({i.problem for _, i in items}))),
        ("description", entry.description),
        ("instances", f"{len(items)} in {len({p for p, _ in items})} file(s)"),
        ("reference values", f"{entry.reference}; attached to {with_ref} of {len(items)}"),
        ("source", entry.source),
        ("citation", entry.citation),
        ("license", entry.license),
        ("files", str(entry.root())),
    ]
    for key, value in rows:
        if value:
            table.add_row(key, value)
    console.print(table)
    if items and show > 0:
        sample = Table(title=f"first {min(show, len(items))} instances")
        for col in ("instance", "optimum", "best known", "lower bound"):
            sample.add_column(col)
        for _, inst in items[:show]:
            meta = inst.metadata
            sample.add_row(
                inst.name,
                *(_fmt(meta.get(k)) for k in ("optimum", "best_known", "lower_bound")),
            )
        console.print(sample)


@datasets_app.command("export")
def datasets_export(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. psplib:j30.")],
    folder: Annotated[Path, typer.Argument(help="Folder to copy the files into.")],
) -> None:
    """Copy a set's files with its tables and README into FOLDER (the same layout)."""
    from schedforge.benchsets import dataset

    written = dataset(name).export(check_output_folder(folder, "FOLDER"))
    console.print(
        f"wrote {len(written)} files to {folder}; read them with sf.read_all(PATH) "
        "or schedforge bench PATH",
        highlight=False,
    )


@app.command()
def warmup(
    families: Annotated[
        list[str] | None, typer.Argument(help="Problem families; all when omitted.")
    ] = None,
) -> None:
    """Compile the numba kernels of every method of the families ahead of time."""
    names = families or problems()
    for name in names:
        get_problem(name)
    for name in names:
        seconds = compile_family(name)
        console.print(f"{name}: ready ({seconds:.1f} s)", highlight=False)


@contextlib.contextmanager
def _compile_spinner(problem: str) -> Iterator[None]:
    """A spinner while ``problem``'s kernels compile; quiet when they load quickly.

    Loading compiled kernels from numba's cache takes well under a second;
    only a real compilation lasts long enough for the spinner to appear.
    """
    text = f"compiling kernels for {problem}, once per machine …"
    status = err_console.status(text)
    timer = threading.Timer(SPINNER_DELAY, status.start)
    timer.start()
    began = time.perf_counter()
    try:
        yield
    finally:
        timer.cancel()
        status.stop()
        if time.perf_counter() - began >= SPINNER_DELAY:
            err_console.print(
                f"compiled kernels for {problem} in {time.perf_counter() - began:.1f} s "
                "(cached for later runs)",
                highlight=False,
            )


def _usage_message(exc: Any) -> str:
    """A usage error in one line, without click's guessed alternatives.

    Click suggests the option closest in spelling (``--time`` gets
    ``--format``), which misleads more than it helps; the help lists them all.
    """
    message = " ".join(exc.format_message().split())
    message = re.sub(r"\s*\(Possible options?: [^)]*\)", "", message)
    message = re.sub(r"\s*Did you mean [^?]*\?", "", message)
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "schedforge"
    return f"{message}; see '{path} --help'"


def main() -> None:
    """Console entry point: run the app, turning library errors into one line."""
    try:
        with reporting(_compile_spinner):
            code = app(standalone_mode=False)
        # Without standalone mode Typer returns (not raises) the exit code of
        # an interrupted command (130 on Ctrl-C); pass it on.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except SchedforgeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors of the (vendored) click parser: duck-typed because
        # Typer ships its own copy of click's exception classes.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            err_console.print(f"[bold red]error:[/] {_usage_message(exc)}", highlight=False)
            sys.exit(exc.exit_code or 2)
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
