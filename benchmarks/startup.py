"""How long do ``import schedforge`` and the first ``sf.read()`` take in a fresh process?

Each measurement is a new Python process (nothing imported yet), run
``--repeats`` times after one untimed run that writes the bytecode caches
(``__pycache__``), as on a user's machine after the first use:

- ``python -c "pass"``: the interpreter alone, for reference;
- ``python -c "import schedforge"``: the whole process, wall clock;
- inside the process: ``import schedforge``, then the first ``sf.read()``
  of a PSPLIB ``.sm`` file (importing the problem modules and numpy, then
  parsing), then a second read.

Targets: the import command under 0.5 s, the first read under 1 s.

    .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "startup.md"

_IN_PROCESS = """
import json, sys, time
t0 = time.perf_counter()
import schedforge as sf
t1 = time.perf_counter()
sf.read(sys.argv[1])
t2 = time.perf_counter()
sf.read(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first read": t2 - t1, "second read": t3 - t2}))
"""


def wall(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process."""
    began = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    command = "python benchmarks/startup.py " + shlex.join(argv or sys.argv[1:])
    # Bytecode caching on, as by default: a setting that turns it off makes
    # every process compile schedforge's modules from source again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    py = sys.executable

    import schedforge as sf

    with tempfile.TemporaryDirectory() as tmp:
        sm = Path(tmp) / "j301_1.sm"
        sf.write(sf.read("psplib:j30/j301_1"), sm)
        load = os.getloadavg()[0]
        rows: dict[str, list[float]] = {}
        wall([py, "-c", "import schedforge"], env)  # writes the caches
        wall([py, "-c", _IN_PROCESS, str(sm)], env)
        for _ in range(args.repeats):
            rows.setdefault('`python -c "pass"` (process)', []).append(
                wall([py, "-c", "pass"], env)
            )
            rows.setdefault('`python -c "import schedforge"` (process)', []).append(
                wall([py, "-c", "import schedforge"], env)
            )
            out = subprocess.run(
                [py, "-c", _IN_PROCESS, str(sm)], env=env, check=True, capture_output=True
            )
            for key, value in json.loads(out.stdout).items():
                rows.setdefault(f"{key} (in the process)", []).append(value)
    lines = [
        "# Start-up: `import schedforge` and the first `sf.read()`",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Fresh Python processes, {args.repeats} runs each after one that writes the "
        "bytecode caches; the read is of PSPLIB `j301_1.sm` (a file on disk). Seconds. "
        f"Shared 2-core machine, 1-minute load average at the start {load:.1f}.",
        "",
        "| measured | median | min | max |",
        "|---|---|---|---|",
    ]
    for key, values in rows.items():
        lines.append(
            f"| {key} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |"
        )
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
