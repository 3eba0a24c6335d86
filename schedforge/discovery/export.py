"""Discovered heuristics as ordinary methods: ``heuristic:<name>``.

An exported heuristic is a JSON file (code, normalised hash, provenance and
its train / validation / hold-out gaps) written to the user directory
``$SCHEDFORGE_HOME/heuristics/<problem>/<name>.json`` (default
``~/.schedforge``) and to ``<run dir>/heuristics/``. This module registers,
for every problem with a template, a method ``heuristic`` whose variants are
the files in the user directory, so ``sf.solve(inst, "heuristic:<name>")``
and ``schedforge bench -m heuristic:<name>`` work in any later process.

Loading verifies the file again: the hash must match the code and the code
must pass the sandbox's static allow-list; a file edited by hand into
something unsafe is refused. The heuristic then runs in-process through the
template's skeleton (compiled with numba, with bounds checks, when it
compiles, else Python, reported in ``stats``), with the same globals as in
the sandbox: read-only ``np`` and ``math`` holding the allow-listed names,
never the real modules. It works on a private copy of the instance's arrays,
and the process's shared state (the ``numpy``, ``math`` and ``builtins``
modules) is compared after each run: a change is undone and reported as an
error, so no later result of the process is computed with patched modules.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.core.registry import method
from schedforge.core.result import Outcome

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def home() -> Path:
    """The user directory: ``$SCHEDFORGE_HOME``, else ``~/.schedforge``."""
    env = os.environ.get("SCHEDFORGE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".schedforge"


def heuristics_dir(problem: str) -> Path:
    """Where exported heuristics of ``problem`` live."""
    return home() / "heuristics" / problem


def check_name(name: str) -> str:
    """``name`` if it is a valid heuristic name (lower case, digits, ``_``)."""
    if not _NAME.match(name or ""):
        raise SchedforgeError(
            f"invalid heuristic name {name!r}: use lower-case letters, digits and _ "
            "(starting with a letter, at most 64 characters)"
        )
    return name


def names(problem: str) -> list[str]:
    """Names of the exported heuristics of ``problem`` (cheap: a directory listing)."""
    folder = heuristics_dir(problem)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if _NAME.match(p.stem))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader never sees half a file


def list_heuristics(problem: str | None = None) -> list[dict[str, Any]]:
    """Every exported heuristic (optionally of one problem), as stored."""
    from schedforge.discovery.templates import template_names

    found = []
    for prob in [problem] if problem else template_names():
        for name in names(prob):
            try:
                found.append(json.loads((heuristics_dir(prob) / f"{name}.json").read_text()))
            except (OSError, ValueError):
                found.append({"name": name, "problem": prob, "error": "unreadable file"})
    return found


def find(name: str) -> dict[str, Any]:
    """The stored record of heuristic ``name`` (any problem); lists the known ones otherwise."""
    matches = [h for h in list_heuristics() if h.get("name") == name]
    if not matches:
        known = ", ".join(f"{h['problem']}:{h['name']}" for h in list_heuristics()) or "none"
        raise SchedforgeError(f"no exported heuristic {name!r} in {home()}; known: {known}")
    if len(matches) > 1:
        probs = ", ".join(h["problem"] for h in matches)
        raise SchedforgeError(f"heuristic {name!r} exists for several problems: {probs}")
    return matches[0]


def verify(record: dict[str, Any]) -> None:
    """Check a stored heuristic again: hash of the code and the static allow-list.

    Raises
    ------
    SchedforgeError
        Naming what failed.
    """
    from schedforge.discovery.sandbox import CandidateRejected, check_code, normalised_hash
    from schedforge.discovery.templates import get_template

    name = record.get("name", "?")
    code = record.get("code")
    if not isinstance(code, str):
        raise SchedforgeError(f"heuristic {name!r}: the file holds no code")
    template = get_template(str(record.get("problem")))
    if normalised_hash(code, template) != record.get("hash"):
        raise SchedforgeError(
            f"heuristic {name!r}: the code does not match its recorded hash (edited by hand?)"
        )
    try:
        check_code(code, template)
    except CandidateRejected as exc:
        raise SchedforgeError(f"heuristic {name!r} fails the sandbox check: {exc}") from None


def export_candidate(
    run_dir: str | Path,
    name: str,
    candidate_id: int | None = None,
    *,
    holdout: bool = True,
) -> dict[str, Any]:
    """Export a run's best candidate (or ``candidate_id``) as heuristic ``name``.

    The candidate is evaluated on the hold-out set first (when ``holdout``
    and not done yet); the record goes to the user directory and to
    ``<run_dir>/heuristics/``.

    Returns
    -------
    dict
        The stored record.
    """
    from schedforge.discovery.archive import Archive
    from schedforge.discovery.evolve import DiscoveryConfig, best_candidate
    from schedforge.discovery.sandbox import Limits, SandboxPool
    from schedforge.discovery.templates import get_template

    check_name(name)
    run_dir = Path(run_dir)
    db = run_dir / "archive.sqlite"
    if not db.exists():
        raise SchedforgeError(f"{run_dir}: not a discovery run (no archive.sqlite)")
    archive = Archive(db)
    try:
        config = DiscoveryConfig.from_dict(archive.get_meta("config"))
        cand = archive.candidate(candidate_id) if candidate_id else best_candidate(archive)
        if cand is None or cand["verdict"] != "ok":
            what = f"candidate {candidate_id}" if candidate_id else "an accepted candidate"
            raise SchedforgeError(f"{run_dir}: no {what} to export")
        template = get_template(config.problem)
        if holdout and cand["holdout_gap"] is None:
            sets = template.sets(config.sets)
            limits = Limits(config.cpu_seconds, config.wall_seconds * 4, config.memory_mb)
            with SandboxPool(template, sets, limits=limits, engine=config.engine) as pool:
                ev = pool.evaluate(cand["code"], "holdout")
            if not ev.ok:
                raise SchedforgeError(
                    f"candidate {cand['id']} fails on the hold-out set: {ev.verdict}: {ev.message}"
                )
            archive.update_candidate(cand["id"], holdout_gap=ev.mean_gap, holdout_gaps=ev.gaps)
            cand = archive.candidate(cand["id"])
        record = {
            "name": name,
            "problem": config.problem,
            "function": template.function_name,
            "code": cand["code"],
            "hash": cand["hash"],
            "gaps": {
                "train": cand["train_gap"],
                "validation": cand["validation_gap"],
                "holdout": cand["holdout_gap"],
            },
            "source": {
                "run": str(run_dir.resolve()),
                "candidate": cand["id"],
                "generation": cand["generation"],
                "operator": cand["operator"],
                "model": cand["model"],
                "proposer": config.proposer,
                "sets": config.sets,
            },
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    finally:
        archive.close()
    verify(record)
    _write_json(heuristics_dir(config.problem) / f"{name}.json", record)
    _write_json(run_dir / "heuristics" / f"{name}.json", record)
    return record


# --------------------------------------------------------------------------
# The registered method

_loaded: dict[tuple[str, str], tuple[str, Any, Any, str | None]] = {}


def _load(problem: str, name: str) -> tuple[Any, Any, str | None]:
    """``(python_func, numba_func or None, numba_error)``, verified and cached by hash."""
    from schedforge.discovery.sandbox import compile_numba, load_function
    from schedforge.discovery.templates import get_template

    path = heuristics_dir(problem) / f"{name}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchedforgeError(f"{path}: cannot read heuristic ({exc})") from None
    cached = _loaded.get((problem, name))
    if cached is not None and cached[0] == record.get("hash"):
        return cached[1], cached[2], cached[3]
    record.setdefault("name", name)
    verify(record)
    template = get_template(problem)
    func = load_function(record["code"], template)
    compiled, error = compile_numba(func, template)
    _loaded[(problem, name)] = (record["hash"], func, compiled, error)
    return func, compiled, error


def run_heuristic(instance: Any, variant: str, *, budget: Any) -> Outcome:
    """Run an exported discovered heuristic (``heuristic:<name>``) through its skeleton.

    A constructive rule: one pass of the template's dispatch skeleton, so it
    finishes on its own and the budget's time limit is never binding;
    deterministic, so the seed is unused; single-threaded. The code is verified again when first loaded in a
    process; ``stats["engine"]`` says whether numba compiled it.
    """
    import numpy as np

    from schedforge.discovery.guard import SharedState
    from schedforge.discovery.templates import CandidateError, get_template

    problem = instance.problem
    template = get_template(problem)
    func, compiled, error = _load(problem, variant)
    arrays = {k: np.array(v, copy=True) for k, v in template.encode(instance).items()}
    state = SharedState()
    try:
        if compiled is not None:
            raw = template.run_numba(compiled, arrays)
        else:
            raw = template.run_python(func, arrays)
    except CandidateError as exc:
        raise SchedforgeError(f"heuristic {variant!r} failed on {instance.name}: {exc}") from None
    except Exception as exc:  # untrusted code: an index out of range, a division by zero, ...
        raise SchedforgeError(
            f"heuristic {variant!r} failed on {instance.name}: {type(exc).__name__}: {exc}"[:500]
        ) from None
    finally:
        changed = state.changes()
        if changed:
            state.restore()
    if changed:
        raise SchedforgeError(
            f"heuristic {variant!r} changed shared state ({', '.join(changed[:5])}); "
            "undone, and its result discarded"
        )
    stats: dict[str, Any] = {"engine": "numba" if compiled is not None else "python"}
    if error:
        stats["numba_error"] = error
    return Outcome(solution=template.decode(instance, raw), stats=stats)


def _register() -> None:
    from schedforge.discovery.templates import template_names

    for problem in template_names():
        method(
            problem,
            "heuristic",
            variants=lambda p=problem: names(p),
            default_stop="one pass of the dispatch skeleton",
        )(run_heuristic)


_register()
