"""``schedforge pods``: plans a cluster operator can apply, and their check.

``pods plan`` solves a ``kubectl get nodes,pods,... -o json`` snapshot and
writes the ordered steps (JSON), a ``kubectl`` script and a summary;
``pods check`` replays a plan's steps on a snapshot and names the first
rule a step breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from schedforge.core.errors import ParseError, SchedforgeError
from schedforge.core.registry import parse_value

pods_app = typer.Typer(help="Kubernetes pod packing: applicable plans and their check.")
console = Console()

IgnoreOption = Annotated[
    list[str] | None,
    typer.Option(
        "--ignore",
        help="Plan without this unmodelled scheduling rule (repeatable); "
        "the rules dropped are printed.",
    ),
]


def read_snapshot(paths: list[Path], ignore: list[str] | None):
    """The instance of a snapshot: kubectl files, or any pods file."""
    from schedforge.core.io import read
    from schedforge.problems.pods.kubectl import read_kubectl

    if len(paths) == 1 and not ignore:
        instance = read(paths[0], problem="pods")
    else:
        instance = read_kubectl(*paths, ignore=tuple(ignore or ()))
    if instance.problem != "pods":
        raise SchedforgeError(f"{paths[0]} is a {instance.problem} instance, not a pods snapshot")
    return instance


def print_ignored(instance) -> None:
    """Say which rules the plan does not take into account."""
    ignored = [i for i in instance.metadata.get("ignored") or () if "ignored (" in i]
    for item in ignored:
        console.print(f"[yellow]not modelled:[/] {item}", highlight=False, soft_wrap=True)


@pods_app.command("plan")
def plan_command(
    snapshot: Annotated[list[Path], typer.Argument(help="kubectl JSON/YAML file(s).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the plan files.")],
    method: Annotated[str, typer.Option("--method", "-m", help="Method spec.")] = "cp",
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", "-t", help="Seconds for the method.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 0,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", help="Method option name=value, e.g. max_moves=3."),
    ] = None,
    ignore: IgnoreOption = None,
) -> None:
    """Solve a snapshot and write steps.json, apply.sh and summary.txt to OUT."""
    from schedforge.core.solve import solve
    from schedforge.problems.pods.apply import check_steps, kubectl_script, plan_steps, steps_json
    from schedforge.problems.pods.plan import plan_report

    instance = read_snapshot(snapshot, ignore)
    options: dict[str, Any] = {}
    for pair in option or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SchedforgeError(f"option {pair!r} is not of the form name=value")
        options[key.strip().replace("-", "_")] = parse_value(value.strip())
    result = solve(instance, method, time_limit=time_limit, seed=seed, **options)
    if result.solution is None:
        raise SchedforgeError(f"{method} found no plan ({result.status.value})")
    steps = plan_steps(instance, result.solution)
    steps["method"] = method
    steps["status"] = result.status.value
    problems = check_steps(instance, steps)
    if problems:  # never write a plan that its own check refuses
        raise SchedforgeError(f"the plan fails its check: {problems[0]}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "steps.json").write_text(steps_json(steps), encoding="utf-8")
    script = out / "apply.sh"
    script.write_text(kubectl_script(steps), encoding="utf-8")
    script.chmod(0o755)
    evictions = sum(s["action"] == "evict" for s in steps["steps"])
    summary = [
        plan_report(instance, result.solution),
        "",
        f"{len(steps['steps'])} steps: {evictions} evictions, "
        f"{len(steps['steps']) - evictions} bindings ({method}, {result.status.value}, "
        f"{result.runtime:.2f} s)",
    ]
    ignored = [i for i in instance.metadata.get("ignored") or () if "ignored (" in i]
    if ignored:
        summary += ["", "not modelled (ignored on request):", *[f"  {i}" for i in ignored]]
    (out / "summary.txt").write_text("\n".join(summary) + "\n", encoding="utf-8")
    console.print("\n".join(summary), highlight=False, soft_wrap=True, markup=False)
    console.print(f"wrote {out / 'steps.json'}, {script}, {out / 'summary.txt'}")


@pods_app.command("check")
def check_command(
    snapshot: Annotated[Path, typer.Argument(help="kubectl JSON/YAML snapshot.")],
    plan: Annotated[Path, typer.Argument(help="steps.json, or the folder holding it.")],
    ignore: IgnoreOption = None,
) -> None:
    """Replay a plan's steps on the snapshot; exit 1 naming the first violated rule."""
    from schedforge.problems.pods.apply import check_steps

    instance = read_snapshot([snapshot], ignore)
    path = plan / "steps.json" if plan.is_dir() else plan
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SchedforgeError(f"{path}: can not read the plan ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
    print_ignored(instance)
    problems = check_steps(instance, data)
    if problems:
        raise SchedforgeError(f"plan {path} breaks a rule: {problems[0]}")
    console.print(f"plan {path}: {len(data['steps'])} steps, every rule holds")
