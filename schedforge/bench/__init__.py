"""Batch benchmarking: runner, executors, storage and reports.

Modules, each with one job:

``grid``
    instances × methods (with options) × seeds, with stable run keys;
``suites``
    bundled instance suites (``instances/<suite>/manifest.json``);
``worker`` / ``runner``
    long-lived worker processes and the parent's hard wall-clock limits;
``executors``
    local worker pool or a Dask cluster;
``storage``
    the SQLite database (one row per run, resume);
``reference``
    reference values and the gap to them;
``batch``
    one invocation: skip what is stored, run the rest, store rows;
``experiment``
    TOML experiment files;
``summary`` / ``report``
    the per-method table, the HTML and Markdown report.

Examples
--------
>>> from schedforge.bench import BenchConfig, MethodSpec, run_batch
>>> config = BenchConfig(
...     instances=["suite:smtt-demo"],
...     methods=[MethodSpec.parse("rule:edd"), MethodSpec.parse("ils:mddc?stall=100")],
...     time_limit=1.0, jobs=2, out="runs/demo")
>>> outcome = run_batch(config)  # doctest: +SKIP
"""

from schedforge.bench.batch import BatchOutcome, BenchConfig, Progress, run_batch
from schedforge.bench.grid import MethodSpec
from schedforge.bench.report import write_report
from schedforge.bench.storage import Store
from schedforge.bench.summary import summarize

__all__ = [
    "BatchOutcome",
    "BenchConfig",
    "MethodSpec",
    "Progress",
    "Store",
    "run_batch",
    "summarize",
    "write_report",
]
