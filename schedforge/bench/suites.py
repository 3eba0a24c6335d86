"""Bundled instance suites: ``instances/<suite>/manifest.json``, named ``suite:<suite>``.

A suite is a folder of instance files made by schedforge's own generators
with fixed seeds, and a manifest that records every generator call, so the
files can be rebuilt (and checked) from the manifest alone::

    {
      "name": "smtt-demo",
      "problem": "smtt",
      "description": "...",
      "instances": [
        {"file": "a.json", "problem": "smtt", "seed": 1,
         "params": {"jobs": 20, "tf": 0.6, "rdd": 0.4}},
        ...
      ]
    }

Any problem family adds a suite by writing such a manifest (see
:func:`write_suite`) and running ``python -m schedforge.bench.suites build
instances/<suite>``. Suites are looked up in the folders of the environment
variable ``SCHEDFORGE_SUITES`` (``os.pathsep``-separated), then in the
``instances/`` folder of the source checkout.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.core.io import generate, write

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Suite:
    """A bundled suite: its folder and parsed manifest."""

    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def problem(self) -> str:
        """The problem family of the suite."""
        return str(self.manifest.get("problem", "?"))

    @property
    def description(self) -> str:
        """One line saying what the suite is for."""
        return str(self.manifest.get("description", ""))

    def files(self) -> list[Path]:
        """The instance files, in manifest order."""
        return [self.path / entry["file"] for entry in self.manifest["instances"]]


def search_path() -> list[Path]:
    """The folders searched for suites, in order."""
    folders = [Path(p) for p in os.environ.get("SCHEDFORGE_SUITES", "").split(os.pathsep) if p]
    # The checkout's instances/ folder (two levels above this package).
    folders.append(Path(__file__).resolve().parents[2] / "instances")
    return folders


def list_suites() -> list[Suite]:
    """Every suite found on :func:`search_path` (the first of a name wins)."""
    found: dict[str, Suite] = {}
    for folder in search_path():
        if not folder.is_dir():
            continue
        for manifest in sorted(folder.glob(f"*/{MANIFEST}")):
            suite = load_suite(manifest.parent)
            found.setdefault(suite.name, suite)
    return sorted(found.values(), key=lambda s: s.name)


def load_suite(path: str | Path) -> Suite:
    """Read the suite in folder ``path``; raise ``SchedforgeError`` if its manifest is bad."""
    path = Path(path)
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchedforgeError(f"{path}: no {MANIFEST} in this folder") from None
    except json.JSONDecodeError as exc:
        raise SchedforgeError(f"{manifest_path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    entries = manifest.get("instances")
    if not isinstance(entries, list) or not entries:
        raise SchedforgeError(f"{manifest_path}: 'instances' must be a non-empty list")
    for k, entry in enumerate(entries):
        missing = [key for key in ("file", "problem", "seed") if key not in entry]
        if missing:
            raise SchedforgeError(f"{manifest_path}: instances[{k}] lacks {', '.join(missing)}")
    return Suite(str(manifest.get("name", path.name)), path, manifest)


def find_suite(name: str) -> Suite:
    """The suite called ``name``; the error lists the available ones."""
    suites = list_suites()
    for suite in suites:
        if suite.name == name:
            return suite
    names = ", ".join(s.name for s in suites) or "none"
    raise SchedforgeError(f"unknown suite {name!r}; available: {names}")


def suite_files(name: str) -> list[Path]:
    """The instance files of the suite ``name``; missing files are an error."""
    suite = find_suite(name)
    files = suite.files()
    missing = [f.name for f in files if not f.exists()]
    if missing:
        raise SchedforgeError(
            f"suite {name!r} is incomplete (missing {', '.join(missing[:3])}); rebuild it with "
            f"python -m schedforge.bench.suites build {suite.path}"
        )
    return files


def build_suite(path: str | Path) -> list[Path]:
    """(Re)generate every instance file of the suite in ``path`` from its manifest."""
    suite = load_suite(path)
    written = []
    for entry in suite.manifest["instances"]:
        instance = generate(entry["problem"], seed=int(entry["seed"]), **entry.get("params", {}))
        written.append(write(instance, suite.path / entry["file"]))
    return written


def write_suite(
    path: str | Path,
    *,
    name: str,
    problem: str,
    description: str,
    calls: Sequence[dict[str, Any]],
    ext: str = ".json",
) -> list[Path]:
    """Write a manifest for generator ``calls`` and build the suite in ``path``.

    Parameters
    ----------
    path
        The suite folder (created).
    name, problem, description
        Recorded in the manifest.
    calls
        One ``{"seed": s, "params": {...}}`` per instance.
    ext
        Extension (format) of the instance files.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    entries = []
    for call in calls:
        instance = generate(problem, seed=int(call["seed"]), **call.get("params", {}))
        entries.append(
            {
                "file": f"{instance.name}{ext}",
                "problem": problem,
                "seed": int(call["seed"]),
                "params": dict(call.get("params", {})),
            }
        )
    manifest = {
        "name": name,
        "problem": problem,
        "description": description,
        "generator": f"schedforge.generate({problem!r}, seed=<seed>, **<params>)",
        "rebuild": f"python -m schedforge.bench.suites build instances/{name}",
        "instances": entries,
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return build_suite(path)


def _main(argv: Sequence[str]) -> int:
    if len(argv) == 2 and argv[0] == "build":
        for file in build_suite(argv[1]):
            print(f"wrote {file}")
        return 0
    if len(argv) == 1 and argv[0] == "list":
        for suite in list_suites():
            print(f"{suite.name}\t{suite.problem}\t{len(suite.files())}\t{suite.path}")
        return 0
    print("usage: python -m schedforge.bench.suites build SUITE_DIR | list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
