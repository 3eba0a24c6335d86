"""Heuristic discovery with a real model: what share of its answers is usable, at what cost.

Runs the evolution loop against any OpenAI-compatible chat-completions
endpoint (a local llama.cpp, vLLM or Ollama server, or a hosted API) and
prints, per generation, the share of answers that

* **parse**: hold a function with the template's name;
* **pass** the sandbox's allow-list (a duplicate counts as its original);
* **evaluate**: run and give valid solutions on every training instance;
* **improve**: beat every earlier generation's best training gap;

with the tokens and the seconds per answer (model call, sandbox evaluation).
Not part of CI (it needs a model). With a local llama.cpp server::

    llama-server -m qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --port 8080 -c 8192
    .venv/bin/python benchmarks/discovery_real_model.py \\
        --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder-0.5b

The table is printed and written, with the command, to
``benchmarks/results/discovery_real_model_<problem>.md`` (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from schedforge.discovery.archive import Archive
from schedforge.discovery.evolve import DiscoveryConfig, Evolution

RESULTS = Path(__file__).resolve().parent / "results"

NO_ANSWER = ("no_code", "proposer_error")


def _resolved(row: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str | None:
    """A duplicate's verdict is its original's."""
    seen = set()
    while row["verdict"] == "duplicate" and row.get("duplicate_of") in by_id:
        if row["id"] in seen:
            break
        seen.add(row["id"])
        row = by_id[row["duplicate_of"]]
    return row["verdict"]


def generation_table(archive: Archive) -> list[dict[str, Any]]:
    """One row per generation after the seeds (see the module docstring)."""
    rows = archive.candidates()
    by_id = {r["id"]: r for r in rows}
    best = min(
        (r["train_gap"] for r in rows if r["generation"] == 0 and r["verdict"] == "ok"),
        default=math.inf,
    )
    table = []
    for generation in sorted({r["generation"] for r in rows} - {0}):
        answers = [r for r in rows if r["generation"] == generation]
        verdicts = [_resolved(r, by_id) for r in answers]
        parsed = [v not in NO_ANSWER for v in verdicts]
        passed = [p and v != "rejected" for p, v in zip(parsed, verdicts, strict=True)]
        evaluated = [v in ("ok", "behaviour_duplicate") for v in verdicts]
        gaps = [r["train_gap"] for r in answers if r["verdict"] == "ok"]
        improved = sum(g < best for g in gaps)
        best = min([best, *gaps])
        count = len(answers)
        table.append(
            {
                "generation": generation,
                "answers": count,
                "parse": sum(parsed) / count,
                "pass": sum(passed) / count,
                "evaluate": sum(evaluated) / count,
                "improve": improved / count,
                "tokens": sum(r["prompt_tokens"] + r["completion_tokens"] for r in answers) / count,
                "completion_tokens": sum(r["completion_tokens"] for r in answers) / count,
                "model_s": sum(r["propose_seconds"] or 0.0 for r in answers) / count,
                "eval_s": sum(r["eval_seconds"] or 0.0 for r in answers) / count,
                "best_train_gap": best,
            }
        )
    return table


def render(table: list[dict[str, Any]], title: str, command: str) -> str:
    """The table as Markdown."""
    lines = [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        "| gen | answers | parse | pass allow-list | evaluate | improve | tokens/answer "
        "| of which completion | model s/answer | sandbox s/answer | best train gap |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        lines.append(
            f"| {row['generation']} | {row['answers']} | {row['parse']:.0%} | {row['pass']:.0%} "
            f"| {row['evaluate']:.0%} | {row['improve']:.0%} | {row['tokens']:.0f} "
            f"| {row['completion_tokens']:.0f} | {row['model_s']:.1f} | {row['eval_s']:.2f} "
            f"| {row['best_train_gap']:.3f} % |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--model", required=True, help="model name as the endpoint knows it")
    parser.add_argument("--problem", default="smtt")
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--offspring", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per model call")
    parser.add_argument("--jobs", type=int, default=1, help="parallel calls and sandbox workers")
    parser.add_argument("--sets", default="default", help="default or quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="run directory (default: temp)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    command = "python benchmarks/discovery_real_model.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    config = DiscoveryConfig(
        problem=args.problem,
        proposer="openai",
        model=args.model,
        base_url=args.base_url,
        timeout=args.timeout,
        max_tokens=args.max_tokens,
        generations=args.generations,
        offspring=args.offspring,
        jobs=args.jobs,
        sets=args.sets,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="discovery-real-model-") as tmp:
        run_dir = args.out or Path(tmp) / "run"
        evolution = Evolution(
            run_dir,
            config,
            progress=lambda s: print(f"generation {s['generation']} done", flush=True),
        )
        try:
            summary = evolution.run()
            table = generation_table(evolution.archive)
        finally:
            evolution.close()
    title = f"Discovery with {args.model} on {args.problem} ({summary['stop_reason']})"
    text = render(table, title, command)
    print(text)
    if not args.no_write:
        path = RESULTS / f"discovery_real_model_{args.problem}.md"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
