"""Reference values (optima, best known values) and the gap to them.

A run's reference value comes, in order of preference, from

1. a ``--reference FILE`` table: a CSV file with a header (the
   ``bounds.csv`` tables of the PSPLIB and FJSP sets, the SMTT
   ``optima.csv``) or an OR-Library list of values (``wtopt40.txt``,
   ``wtbest100b.txt``), see :func:`load_reference`;
2. the instance's own metadata (``optimum``, else ``best_known``), e.g. the
   OR-Library optima attached by the reader;
3. the best objective stored in the database for that instance (filled in
   when the summary is made, see :mod:`schedforge.bench.summary`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schedforge.core.errors import ParseError, SchedforgeError
from schedforge.core.text import finite_float, read_csv, read_text

# Columns naming the instance, most specific first.
NAME_COLUMNS = ("instance", "name", "id", "fjsplib_name")
PATH_COLUMNS = ("file", "path")
# Columns holding the reference value, preferred first: a proven optimum,
# then the best known upper bound.
VALUE_COLUMNS = (
    "optimum",
    "opt",
    "ub",
    "upper_bound",
    "best_known",
    "bks",
    "reference",
    "value",
    "makespan",
)


def gap(objective: float | None, reference: float | None) -> float | None:
    """Relative gap of ``objective`` to ``reference`` (minimisation).

    ``(objective − reference) / max(|objective|, |reference|)``: the same
    convention as :attr:`schedforge.Result.gap` (divide by the objective)
    whenever the method does not beat the reference, finite when the
    optimum is 0 (SMTT instances often have optimum 0: an objective of 5
    then has gap 1.0, not infinity), and negative when a method beats a
    best-known value. ``None`` when either value is unknown; 0 when both are 0.
    """
    if objective is None or reference is None:
        return None
    scale = max(abs(objective), abs(reference))
    if scale == 0:
        return 0.0
    return (objective - reference) / scale


@dataclass
class ReferenceTable:
    """Reference values read from one file, looked up by path or by name."""

    source: str
    by_path: dict[str, tuple[float, str]] = field(default_factory=dict)
    by_name: dict[str, tuple[float, str]] = field(default_factory=dict)

    def lookup(self, name: str, source_path: str | None = None) -> tuple[float, str] | None:
        """``(value, where)`` for an instance, or ``None``.

        A row naming a file matches an instance read from a path ending in
        that file (so ``hurink/edata/la01.fjs`` and ``hurink/rdata/la01.fjs``
        stay apart); otherwise the instance name is matched exactly, then
        case-insensitively.
        """
        if source_path:
            normal = source_path.replace("\\", "/")
            for suffix, found in self.by_path.items():
                if normal.endswith("/" + suffix) or normal == suffix:
                    return found
        for key in (name, name.lower()):
            if key in self.by_name:
                return self.by_name[key]
        return None

    def __len__(self) -> int:
        return max(len(self.by_name), len(self.by_path))


def load_reference(spec: str | Path) -> ReferenceTable:
    """Read a reference table; ``spec`` is ``FILE`` or ``FILE:COLUMN``.

    CSV files need a header with an instance column (``instance``, ``name``,
    ``id``, ``fjsplib_name`` or a ``file`` path) and a value column: the one
    named after the colon, else the first of ``optimum``, ``opt``, ``ub``,
    ``upper_bound``, ``best_known``, ``bks``, ``reference``, ``value``,
    ``makespan``. Files of bare numbers are OR-Library tables: the k-th value
    belongs to instance ``wt<n>_<k>`` of ``wt<n>.txt`` (``n`` from the file
    name, ``wtopt40.txt`` -> ``wt40``).

    Raises
    ------
    SchedforgeError
        When the file is missing or no instance or value column is found.
    """
    text = str(spec)
    column: str | None = None
    path = Path(text)
    if not path.exists() and ":" in text:
        head, _, tail = text.rpartition(":")
        if Path(head).exists():
            path, column = Path(head), tail
    if not path.exists():
        raise SchedforgeError(f"reference file {text}: no such file")
    content = read_text(path)
    first = content.lstrip().split("\n", 1)[0]
    if re.fullmatch(r"[\d\s.+-]*", first):
        return _read_orlib_values(path, content)
    return _read_csv(path, column)


def _value(raw: str, path: Path, line: int | None, what: str) -> float:
    """A reference value: a finite number (an infinite optimum would poison every gap)."""
    try:
        return finite_float(raw, what)
    except ValueError as exc:
        raise ParseError(path, line, str(exc)) from None


def _read_orlib_values(path: Path, content: str) -> ReferenceTable:
    match = re.search(r"(\d+)", path.stem)
    if match is None:
        raise SchedforgeError(
            f"{path}: a list of values needs the instance size in its name (wtopt40.txt)"
        )
    size = int(match.group(1))
    table = ReferenceTable(path.name)
    proven = "opt" in path.stem.lower()
    for k, value in enumerate(content.split(), start=1):
        number = _value(value, path, None, f"value {k}")
        table.by_name[f"wt{size}_{k:03d}"] = (
            number,
            f"{path.name}" + (" (optimum)" if proven else " (best known)"),
        )
    return table


def _read_csv(path: Path, column: str | None) -> ReferenceTable:
    header, rows = read_csv(path)
    lowered = {h.lower(): h for h in header}
    if column is not None:
        if column not in header:
            raise SchedforgeError(
                f"{path}: no column {column!r}; columns: {', '.join(header) or 'none'}"
            )
        value_col = column
    else:
        value_col = next((lowered[c] for c in VALUE_COLUMNS if c in lowered), None)
        if value_col is None:
            raise SchedforgeError(
                f"{path}: no reference column (one of {', '.join(VALUE_COLUMNS)}); "
                f"choose one with --reference {path}:COLUMN"
            )
    name_cols = [lowered[c] for c in NAME_COLUMNS if c in lowered]
    path_cols = [lowered[c] for c in PATH_COLUMNS if c in lowered]
    if not name_cols and not path_cols:
        raise SchedforgeError(
            f"{path}: no instance column (one of {', '.join(NAME_COLUMNS + PATH_COLUMNS)})"
        )
    proven_col = next((lowered[c] for c in ("optimal", "status") if c in lowered), None)
    table = ReferenceTable(path.name)
    ambiguous: set[str] = set()
    for number, row in rows:
        raw = (row.get(value_col) or "").strip()
        if not raw:
            continue
        try:
            value = finite_float(raw, value_col)
        except ValueError as exc:
            if re.fullmatch(r"[^\d]*", raw):
                continue  # a word such as "-" or "unknown": no value for this row
            raise ParseError(path, number, str(exc)) from None
        where = f"{path.name}:{value_col}" + _proven_note(row, proven_col)
        entry = (value, where)
        for col in path_cols:
            if row.get(col):
                file = row[col].strip().replace("\\", "/")
                table.by_path[file] = entry
                _add_name(table, Path(file).stem, entry, ambiguous)
        for col in name_cols:
            if row.get(col):
                _add_name(table, row[col].strip(), entry, ambiguous)
    for key in ambiguous:
        table.by_name.pop(key, None)
    return table


def _proven_note(row: dict[str, Any], proven_col: str | None) -> str:
    if proven_col is None:
        return ""
    flag = (row.get(proven_col) or "").strip().lower()
    if flag in ("1", "true", "closed", "optimal"):
        return " (optimum)"
    if flag in ("0", "false", "open"):
        return " (best known)"
    return ""


def _add_name(table: ReferenceTable, name: str, entry: tuple[float, str], ambiguous: set) -> None:
    # A name that two rows give different values (la01 in four Hurink sets)
    # cannot be matched by name alone; such instances need the path match.
    for key in {name, name.lower()}:
        seen = table.by_name.get(key)
        if seen is not None and seen[0] != entry[0]:
            ambiguous.add(key)
        table.by_name.setdefault(key, entry)


def reference_for(
    instance: Any, source: str | None, tables: list[ReferenceTable]
) -> tuple[float | None, str | None]:
    """The reference value of ``instance`` and where it came from.

    ``--reference`` tables first (in the order given), then the instance's
    metadata (``optimum``, else ``best_known``); ``(None, None)`` if none.
    """
    for table in tables:
        found = table.lookup(instance.name, source)
        if found is not None:
            return found
    for key in ("optimum", "best_known"):
        value = instance.metadata.get(key)
        if value is not None:
            return float(value), f"metadata:{key}"
    return None, None
