"""The ``schedforge`` command line (Typer + Rich).

Every error a user can cause ends as one readable line on stderr and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from schedforge.core.errors import InvalidOption, SchedforgeError
from schedforge.core.io import generate as generate_instance
from schedforge.core.io import read_all, write
from schedforge.core.registry import get_problem, method_entries, problems
from schedforge.core.solve import solve as solve_instance

app = typer.Typer(
    name="schedforge",
    help="Scheduling optimisation: solve, benchmark and discover heuristics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


def parse_value(text: str) -> Any:
    """Turn a command-line option value into int, float, bool or str."""
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


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
    file: Annotated[Path, typer.Argument(help="Instance file (format from extension/content).")],
    method: Annotated[str, typer.Option("--method", "-m", help="Method spec, e.g. cp, rule:edd.")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", "-t", help="Seconds for the method.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 0,
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
    """Solve one instance with one method and print the result."""
    instance = load_instance(file, index, fmt)
    result = solve_instance(
        instance, method, time_limit=time_limit, seed=seed, **parse_options(option or [])
    )
    if gantt is not None and result.solution is not None:
        from schedforge.plot import gantt as draw_gantt

        draw_gantt(instance, result.solution, gantt, title=f"{instance.name} — {method}")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
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
) -> None:
    """List the methods (and their options) of one or every problem."""
    names = [problem] if problem else problems()
    table = Table(title="schedforge methods")
    for col in ("problem", "method", "exact", "options", "summary"):
        table.add_column(col)
    for name in names:
        get_problem(name)
        for entry in method_entries(name):
            specs = entry.specs()
            shown = ", ".join(specs) if len(specs) <= 8 else f"{entry.name}:<{len(specs)} variants>"
            opts = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
            table.add_row(name, shown, "yes" if entry.exact else "", opts, entry.summary)
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


# --- discovery commands ---


def main() -> None:
    """Console entry point: run the app, turning library errors into one line."""
    try:
        app(standalone_mode=False)
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
            err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
            sys.exit(exc.exit_code or 2)
        if type(exc).__name__ == "Exit" and hasattr(exc, "exit_code"):
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
