"""The benchmark database: one SQLite file per output folder, one row per run.

Rows are written, one transaction each, as runs finish, so the database
always holds exactly the finished runs: a batch interrupted by Ctrl-C, a
crash or a power cut resumes by running what is missing. Each run has a
unique key (:attr:`schedforge.bench.grid.Task.key`: instance, instance
content hash, method with options, seed, time limit), so a finished run is
never stored twice.

Tables
------
``runs``
    One row per finished run (columns in :data:`RUN_COLUMNS`).
``instances``
    The data of every benchmarked instance (JSON), so reports can draw
    Gantt charts without the original files.
``batches``
    One row per invocation: command, start and end, how it ended.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError

DB_NAME = "results.sqlite"

# (name, SQL type) of every column of ``runs``, in order.
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "TEXT PRIMARY KEY"),
    ("batch", "INTEGER"),
    ("instance", "TEXT NOT NULL"),
    ("instance_hash", "TEXT NOT NULL"),
    ("problem", "TEXT NOT NULL"),
    ("source", "TEXT"),
    ("method", "TEXT NOT NULL"),  # spec with options: "rh:cp?step=30&window=80"
    ("spec", "TEXT NOT NULL"),  # registry spec alone: "rh:cp"
    ("options", "TEXT"),  # JSON
    ("seed", "INTEGER NOT NULL"),
    ("time_limit", "REAL NOT NULL"),
    ("status", "TEXT NOT NULL"),  # OPTIMAL FEASIBLE INFEASIBLE NO_SOLUTION ERROR TIMEOUT
    ("objective", "REAL"),
    ("bound", "REAL"),  # the method's valid lower bound
    ("solver_gap", "REAL"),  # (objective - bound) / |objective| as solve() reports it
    ("reference", "REAL"),  # reference value known when the run was stored
    ("reference_source", "TEXT"),
    ("gap", "REAL"),  # gap to the reference, see schedforge.bench.reference.gap
    ("runtime", "REAL"),  # seconds measured by solve()
    ("wall_time", "REAL"),  # seconds from hand-over to result, measured by the parent
    ("peak_memory_mb", "REAL"),
    ("message", "TEXT"),
    ("traceback", "TEXT"),
    ("solution", "TEXT"),  # JSON of solution.to_dict()
    ("stats", "TEXT"),  # JSON
    ("worker", "TEXT"),  # host:pid
    ("schedforge_version", "TEXT"),
    ("ortools_version", "TEXT"),
    ("pulp_version", "TEXT"),
    ("numba_version", "TEXT"),
    ("finished_at", "TEXT"),  # UTC, ISO 8601
)
COLUMN_NAMES = tuple(name for name, _ in RUN_COLUMNS)
FAILED = ("ERROR", "TIMEOUT")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """The SQLite database of one benchmark folder.

    Parameters
    ----------
    path
        The database file, or a folder (``results.sqlite`` inside it).
    create
        Create the file if absent; otherwise a missing database is an error.
    """

    def __init__(self, path: str | Path, *, create: bool = True):
        path = Path(path)
        if path.is_dir() or (create and path.suffix == ""):
            path = path / DB_NAME
        if not path.exists() and not create:
            raise SchedforgeError(f"{path}: no benchmark database here (run schedforge bench)")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30)
        self.conn.row_factory = sqlite3.Row
        # WAL: readers (a report while the batch runs) never block the writer,
        # and a commit is atomic even if the process dies mid-way.
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        columns = ",\n  ".join(f"{name} {kind}" for name, kind in RUN_COLUMNS)
        with self.conn:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS runs (\n  {columns}\n)")
            self.conn.execute(
                "CREATE INDEX IF NOT EXISTS runs_instance ON runs (problem, instance)"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS instances (hash TEXT, name TEXT, problem TEXT, "
                "data TEXT, PRIMARY KEY (hash, name))"
            )
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "started_at TEXT, finished_at TEXT, command TEXT, executor TEXT, "
                "planned INTEGER, skipped INTEGER, done INTEGER, state TEXT)"
            )

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ batches

    def begin_batch(self, command: str, executor: str, planned: int, skipped: int) -> int:
        """Record the start of an invocation; return its id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO batches (started_at, command, executor, planned, skipped, done, "
                "state) VALUES (?, ?, ?, ?, ?, 0, 'running')",
                (_now(), command, executor, planned, skipped),
            )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def end_batch(self, batch: int, done: int, state: str) -> None:
        """Record how an invocation ended (``finished``, ``interrupted``, ``failed``)."""
        with self.conn:
            self.conn.execute(
                "UPDATE batches SET finished_at = ?, done = ?, state = ? WHERE id = ?",
                (_now(), done, state, batch),
            )

    # ------------------------------------------------------------------ runs

    def finished_keys(self) -> set[str]:
        """Keys of every stored run (resume skips these)."""
        return {row[0] for row in self.conn.execute("SELECT key FROM runs")}

    def add_instances(self, items: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Store ``(hash, name, problem, data)`` of instances (kept once)."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR IGNORE INTO instances (hash, name, problem, data) VALUES (?, ?, ?, ?)",
                [(h, n, p, json.dumps(d, separators=(",", ":"))) for h, n, p, d in items],
            )

    def instance_data(self, name: str) -> dict[str, Any] | None:
        """The stored data of the instance called ``name``, or ``None``."""
        row = self.conn.execute("SELECT data FROM instances WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add_run(self, row: dict[str, Any]) -> None:
        """Store one finished run (its own transaction); an existing key is kept."""
        values = [row.get(name) for name in COLUMN_NAMES]
        placeholders = ", ".join("?" for _ in COLUMN_NAMES)
        with self.conn:
            self.conn.execute(
                f"INSERT OR IGNORE INTO runs ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})",
                values,
            )

    def set_references(
        self, updates: Iterable[tuple[float, str | None, float | None, str]]
    ) -> None:
        """Set ``(reference, reference_source, gap)`` of runs by key (one transaction)."""
        with self.conn:
            self.conn.executemany(
                "UPDATE runs SET reference = ?, reference_source = ?, gap = ? WHERE key = ?",
                list(updates),
            )

    def delete_failed(self, keys: Iterable[str]) -> int:
        """Delete the ``ERROR``/``TIMEOUT`` rows among ``keys`` (to run them again)."""
        keys = list(keys)
        with self.conn:
            deleted = 0
            for start in range(0, len(keys), 500):  # SQLite limits bound parameters
                chunk = keys[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                cur = self.conn.execute(
                    f"DELETE FROM runs WHERE status IN ('ERROR', 'TIMEOUT') AND key IN ({marks})",
                    chunk,
                )
                deleted += cur.rowcount
        return deleted

    def runs(self, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every stored run as a dictionary (optionally filtered by an SQL ``where``)."""
        sql = "SELECT * FROM runs" + (f" WHERE {where}" if where else "")
        sql += " ORDER BY problem, instance, method, seed"
        return [dict(row) for row in self.conn.execute(sql, params)]

    def count(self) -> int:
        """Number of stored runs."""
        return int(self.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def batches(self) -> list[dict[str, Any]]:
        """Every recorded invocation."""
        return [dict(r) for r in self.conn.execute("SELECT * FROM batches ORDER BY id")]

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path) -> Path:
        """Write every run to CSV or Parquet (by the extension of ``path``)."""
        path = Path(path)
        rows = self.runs()
        if path.suffix.lower() == ".csv":
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMN_NAMES)
                writer.writeheader()
                writer.writerows(rows)
            return path
        if path.suffix.lower() == ".parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise SchedforgeError(
                    "Parquet export needs pyarrow: pip install 'schedforge[parquet]'"
                ) from None
            columns = {name: [row[name] for row in rows] for name in COLUMN_NAMES}
            pq.write_table(pa.table(columns), path)
            return path
        raise SchedforgeError(f"{path}: export to .csv or .parquet")
