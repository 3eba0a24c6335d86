"""TOML experiment files: a whole batch in one reviewable file.

Example (``schedforge bench experiment.toml``)::

    instances = ["suite:smtt-demo", "data/smtt/*.txt"]   # relative to this file
    methods = ["rule:edd", "ils:mddc"]                    # plain specs ...
    time_limit = 2.0
    seeds = [0, 1, 2]
    jobs = 2
    out = "runs/smtt"
    reference = ["optima.csv"]
    executor = "local"          # or "dask", with scheduler = "tcp://host:8786"
    plugins = []                # modules or .py files registering methods
    export = ["runs/smtt/results.csv"]

    [[method]]                  # ... and/or specs with typed options
    spec = "rh:cp"
    options = { window = 80, step = 30 }

Relative paths (instances, out, reference, plugin files, export) are taken
relative to the folder of the TOML file. Options given on the command line
override the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from schedforge.bench.batch import BenchConfig
from schedforge.bench.grid import MethodSpec, parse_seeds
from schedforge.benchsets import is_dataset_name
from schedforge.core.errors import InvalidOption, ParseError, SchedforgeError
from schedforge.core.text import read_text

KNOWN_KEYS = {
    "instances",
    "methods",
    "method",
    "time_limit",
    "seeds",
    "jobs",
    "out",
    "reference",
    "executor",
    "scheduler",
    "plugins",
    "grace",
    "warmup",
    "warmup_limit",
    "export",
    "retry_failed",
    "limit",
}


def load_experiment(path: str | Path) -> dict[str, Any]:
    """Read an experiment file into keyword arguments of :class:`BenchConfig`.

    Raises
    ------
    SchedforgeError
        On invalid TOML (with the line) or unknown keys.
    """
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(path, None, f"invalid TOML ({exc})") from None
    except ValueError as exc:
        # tomllib itself refuses integers of more than 4300 digits this way.
        raise ParseError(path, None, f"a value TOML cannot hold ({exc})") from None
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise SchedforgeError(
            f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    base = path.parent

    def rel(value: str) -> str:
        if value.startswith("suite:") or is_dataset_name(value) or Path(value).is_absolute():
            return value
        return str(base / value)

    def text(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ParseError(path, None, f"{key} must be text, found {value!r}"[:200])
        return value

    def as_list(key: str) -> list[str]:
        value = data.get(key, [])
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            raise ParseError(path, None, f"{key} must be text or a list of text")
        return [text(key, v) for v in values]

    def flag(key: str) -> bool:
        if not isinstance(data[key], bool):
            raise ParseError(path, None, f"{key} must be true or false, found {data[key]!r}")
        return data[key]

    config: dict[str, Any] = {}
    if "instances" in data:
        config["instances"] = [rel(v) for v in as_list("instances")]
    specs = [MethodSpec.parse(text) for text in as_list("methods")]
    tables = data.get("method", [])
    if not isinstance(tables, list):
        raise ParseError(path, None, "method must be [[method]] tables with a spec")
    for k, table in enumerate(tables):
        if not isinstance(table, dict) or "spec" not in table:
            raise SchedforgeError(f"{path}: [[method]] number {k + 1} has no spec")
        extra = sorted(set(table) - {"spec", "options"})
        if extra:
            raise SchedforgeError(f"{path}: [[method]] {table['spec']!r}: unknown key(s) {extra}")
        options = table.get("options", {})
        if not isinstance(options, dict):
            raise ParseError(path, None, f"[[method]] number {k + 1}: options must be a table")
        specs.append(MethodSpec.parse(text("spec", table["spec"]), dict(options)))
    if specs:
        config["methods"] = specs
    for key in ("time_limit", "grace", "warmup_limit"):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int | float):
                raise SchedforgeError(f"{path}: {key} must be a number of seconds")
            config[key] = float(data[key])
    if "seeds" in data:
        seeds = data["seeds"]
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = [seeds]
        if not isinstance(seeds, str | list):
            raise ParseError(path, None, "seeds must be a list of integers or text like '0-4'")
        config["seeds"] = parse_seeds(seeds)
    for key in ("jobs", "limit"):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int):
                raise SchedforgeError(f"{path}: {key} must be an integer")
            config[key] = data[key]
    if "out" in data:
        config["out"] = Path(rel(text("out", data["out"])))
    if "reference" in data:
        config["references"] = [rel(v) for v in as_list("reference")]
    for key in ("executor", "scheduler"):
        if key in data:
            config[key] = text(key, data[key])
    for key in ("warmup", "retry_failed"):
        if key in data:
            config[key] = flag(key)
    if "plugins" in data:
        config["plugins"] = [rel(v) if v.endswith(".py") else v for v in as_list("plugins")]
    if "export" in data:
        config["export"] = [Path(rel(v)) for v in as_list("export")]
    return config


def make_config(file_values: dict[str, Any], overrides: dict[str, Any]) -> BenchConfig:
    """A :class:`BenchConfig` from file values overridden by command-line values.

    ``overrides`` holds only what the command line set (``None`` entries and
    empty lists are ignored); lists such as methods replace the file's.
    """
    merged = dict(file_values)
    for key, value in overrides.items():
        if value is None or (isinstance(value, list) and not value):
            continue
        merged[key] = value
    # A time limit of 0 is given, not missing: BenchConfig.check() refuses it.
    missing = [key for key in ("instances", "methods") if not merged.get(key)]
    missing += ["time_limit"] if merged.get("time_limit") is None else []
    if missing:
        flags = {"instances": "INSTANCES", "methods": "--method", "time_limit": "--time-limit"}
        raise InvalidOption(
            "missing " + ", ".join(flags[m] for m in missing) + " (on the command line or in "
            "an experiment .toml file)"
        )
    return BenchConfig(**merged)
