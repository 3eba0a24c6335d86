"""The experiment grid: instances × methods (with options) × seeds.

A benchmark is the Cartesian product of instances, method specs and seeds.
This module turns the command-line words into that product:

* instance arguments (files, directories, globs, multi-instance files and
  bundled suites ``suite:<name>``, datasets ``psplib:j30``) into instances, via
  :func:`schedforge.read_all`;
* method words such as ``"rh:cp?window=80&step=30"`` into a
  :class:`MethodSpec` (spec plus options, checked against the registry);
* the product into :class:`Task` s, each with a stable :attr:`Task.key` that
  the database uses to skip finished runs when a batch is resumed.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from schedforge.core.budget import Budget
from schedforge.core.errors import InvalidOption, SchedforgeError
from schedforge.core.io import read_all
from schedforge.core.registry import check_options, get_problem, parse_value, resolve


@dataclass(frozen=True)
class MethodSpec:
    """A method spec with its options, e.g. ``rh:cp`` with ``window=80, step=30``.

    Parameters
    ----------
    spec
        The registry spec, ``NAME`` or ``NAME:VARIANT``.
    options
        Method options passed to :func:`schedforge.solve`.
    """

    spec: str
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, text: str, options: dict[str, Any] | None = None) -> MethodSpec:
        """Parse ``"SPEC"`` or ``"SPEC?name=value&name=value"``.

        ``options`` (from a TOML experiment file, already typed) are merged
        in; a name given twice is an error.

        Examples
        --------
        >>> MethodSpec.parse("rh:cp?window=80&step=30").label
        'rh:cp?step=30&window=80'
        """
        spec, _, query = text.strip().partition("?")
        if not spec:
            raise InvalidOption(f"empty method spec in {text!r}")
        merged: dict[str, Any] = {}
        if query:
            try:
                pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
            except ValueError:
                raise InvalidOption(
                    f"method {text!r}: options must be written name=value&name=value"
                ) from None
            for key, value in pairs:
                name = key.strip().replace("-", "_")
                if name in merged:
                    raise InvalidOption(f"method {text!r}: option {name!r} given twice")
                merged[name] = parse_value(value.strip())
        for key, value in (options or {}).items():
            if key in merged:
                raise InvalidOption(f"method {text!r}: option {key!r} given twice")
            merged[key] = value
        for reserved in ("time_limit", "seed"):
            if reserved in merged:
                raise InvalidOption(
                    f"method {text!r}: {reserved} is set for the whole batch "
                    "(--time-limit, --seeds), not per method"
                )
        return cls(spec.strip(), tuple(sorted(merged.items())))

    @property
    def label(self) -> str:
        """The canonical text form, options sorted by name (a database key)."""
        if not self.options:
            return self.spec
        return self.spec + "?" + "&".join(f"{k}={_text(v)}" for k, v in self.options)

    def check(self, problem: str) -> None:
        """Raise ``UnknownMethod``/``InvalidOption`` if ``problem`` cannot run this."""
        entry, _ = resolve(problem, self.spec)
        options = dict(self.options)
        if "threads" in options:  # a budget argument of solve(), not a method option
            try:
                Budget(threads=options.pop("threads"))
            except InvalidOption as exc:
                raise InvalidOption(f"method {self.label!r}: {exc}") from None
        check_options(entry, self.spec, options)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def instance_hash(instance: Any) -> str:
    """A short content hash of an instance's data (name and metadata excluded).

    Two files holding the same numbers hash the same; the database uses it
    to tell apart different instances that happen to share a name.
    """
    data = instance.to_dict()
    data.pop("name", None)
    data.pop("metadata", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BenchInstance:
    """An instance of the grid with where it came from and its content hash."""

    instance: Any
    source: str
    hash: str

    @property
    def name(self) -> str:
        """The instance's name."""
        return self.instance.name

    @property
    def problem(self) -> str:
        """The instance's problem family."""
        return self.instance.problem


@dataclass(frozen=True)
class Task:
    """One run of the grid: (instance, method with options, seed) under a time limit.

    ``key`` identifies the run in the database: the same command run twice
    produces the same keys, so finished runs are skipped.
    """

    instance: BenchInstance
    method: MethodSpec
    seed: int
    time_limit: float
    key: str = field(init=False)

    def __post_init__(self) -> None:
        text = "|".join(
            [
                self.instance.name,
                self.instance.hash,
                self.method.label,
                str(self.seed),
                repr(float(self.time_limit)),
            ]
        )
        object.__setattr__(self, "key", hashlib.sha1(text.encode()).hexdigest()[:20])

    def payload(self) -> dict[str, Any]:
        """The plain, picklable message a worker process needs to run this task."""
        return {
            "key": self.key,
            "problem": self.instance.problem,
            "instance_hash": self.instance.hash,
            "instance": self.instance.instance.to_dict(),
            "method": self.method.spec,
            "options": dict(self.method.options),
            "seed": self.seed,
            "time_limit": self.time_limit,
        }


def expand_instances(args: Sequence[str | Path]) -> list[BenchInstance]:
    """Read every instance named by ``args`` (files, directories, globs, suites, datasets).

    A dataset name (``psplib:j30``, see :mod:`schedforge.benchsets`) reads the
    bundled set with its reference values. Directories are searched
    recursively for files a reader recognises (unrecognised files are
    skipped, so a directory may hold README files; a ``bounds.csv`` beside
    them gives reference values);
    a file named explicitly must be readable. The same instance named twice
    is kept once; different instances with the same name are renamed after
    their folders (``edata/la01``, ``rdata/la01``), because results are
    reported by name.

    Raises
    ------
    SchedforgeError
        When an argument matches nothing or two instances share a name.
    """
    from schedforge.bench.suites import suite_files
    from schedforge.benchsets import dataset, is_dataset_name, read_named

    found: list[BenchInstance] = []
    for arg in args:
        text = str(arg)
        path = Path(text)
        if text.startswith("suite:"):
            for file in suite_files(text.removeprefix("suite:")):
                found.extend(_read(file, strict=True))
        elif not path.exists() and is_dataset_name(text):
            for instance in read_named(text):
                source = str(instance.metadata.get("source", text))
                found.append(BenchInstance(instance, source, instance_hash(instance)))
        elif path.is_dir():
            items = list(dataset(path).items(strict=False))
            if not items:
                raise SchedforgeError(f"{path}: no instance file found in this directory")
            found.extend(
                BenchInstance(inst, str(file), instance_hash(inst)) for file, inst in items
            )
        elif path.is_file():
            found.extend(_read(path, strict=True))
        else:
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise SchedforgeError(
                    f"{text}: no such file, directory, glob match, suite or dataset "
                    "(schedforge datasets list)"
                )
            for match in matches:
                if Path(match).is_file():
                    found.extend(_read(Path(match), strict=True))
    return _deduplicate(found)


def _read(path: Path, *, strict: bool) -> Iterable[BenchInstance]:
    try:
        instances = list(read_all(path))
    except SchedforgeError:
        if strict:
            raise
        return []
    return [BenchInstance(inst, str(path), instance_hash(inst)) for inst in instances]


def _deduplicate(found: list[BenchInstance]) -> list[BenchInstance]:
    """Keep each instance once; give different instances that share a name distinct names.

    Results are reported by name, so Hurink's ``edata/la01.fjs`` and
    ``rdata/la01.fjs`` (both named ``la01`` by the reader) become
    ``edata/la01`` and ``rdata/la01``: the shortest tail of their folders
    that tells them apart.
    """
    groups: dict[str, list[BenchInstance]] = {}
    for item in found:
        group = groups.setdefault(item.name, [])
        if all(seen.hash != item.hash for seen in group):
            group.append(item)
    result: list[BenchInstance] = []
    taken = {name for name, group in groups.items() if len(group) == 1}
    for name, group in groups.items():
        if len(group) == 1:
            result.append(group[0])
            continue
        labels = _distinct_labels(name, [Path(item.source).parent.parts for item in group])
        for item, label in zip(group, labels, strict=True):
            if label in taken:
                raise SchedforgeError(
                    f"cannot give {item.source} a unique instance name ({label!r} is taken)"
                )
            taken.add(label)
            renamed = item.instance.replace(name=label)
            result.append(BenchInstance(renamed, item.source, item.hash))
    return result


def _distinct_labels(name: str, folders: list[tuple[str, ...]]) -> list[str]:
    """``folder/.../name`` with the fewest trailing folders that makes every label unique."""
    deepest = max(len(parts) for parts in folders)
    for depth in range(1, deepest + 1):
        labels = ["/".join([*parts[-depth:], name]) for parts in folders]
        if len(set(labels)) == len(labels):
            return labels
    # Same file (or same folders): number them in reading order.
    return [f"{name}#{k}" for k in range(1, len(folders) + 1)]


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """``"0,1,2"`` or ``"0-4"`` (inclusive) or a list, to a list of distinct seeds."""
    if not isinstance(text, str):
        seeds = []
        for value in text:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidOption(f"seeds: expected integers, found {value!r}")
            seeds.append(value)
    else:
        seeds = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            low, sep, high = part.partition("-")
            try:
                if sep and low:
                    if int(high) - int(low) > 100_000:
                        raise InvalidOption(f"seeds {text!r}: a range of at most 100000 seeds")
                    seeds.extend(range(int(low), int(high) + 1))
                else:
                    seeds.append(int(part))
            except ValueError:
                raise InvalidOption(
                    f"seeds {text!r}: expected integers like 0,1,2 or a range 0-4"
                ) from None
    if not seeds:
        raise InvalidOption("no seed given")
    for seed in seeds:
        if not 0 <= seed < 2**31:
            raise InvalidOption(f"seeds: every seed must satisfy 0 <= seed < 2**31, got {seed}")
    return list(dict.fromkeys(seeds))


def build_grid(
    instances: Sequence[BenchInstance],
    method_specs: Sequence[MethodSpec],
    seeds: Sequence[int],
    time_limit: float,
) -> list[Task]:
    """Every (instance, method, seed) task, after checking each method exists.

    A method must exist for every problem among the instances; the error
    lists the methods that do.
    """
    if not instances:
        raise SchedforgeError("no instance to benchmark")
    if not method_specs:
        raise InvalidOption("no method given; add --method M (schedforge methods lists them)")
    if not time_limit > 0:
        raise InvalidOption(f"time limit must be a positive number of seconds, got {time_limit}")
    problems = sorted({inst.problem for inst in instances})
    for problem in problems:
        get_problem(problem)
        for spec in method_specs:
            spec.check(problem)
    labels = [m.label for m in method_specs]
    if len(set(labels)) != len(labels):
        raise InvalidOption("the same method (with the same options) is given twice")
    return [
        Task(inst, spec, seed, float(time_limit))
        for inst in instances
        for spec in method_specs
        for seed in seeds
    ]
