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
    One row per invocation: command, start and end, how it ended, and the
    process (host, pid) that ran it. A batch still ``running`` whose process
    is gone is marked ``interrupted`` the next time the database is opened.

The file is checked when opened: it must be an SQLite database marked with
:data:`APPLICATION_ID` (or an older schedforge database, then marked) and
pass ``PRAGMA quick_check``. An empty, damaged or foreign file is refused
with :class:`DamagedStore`, never treated as an empty store; :func:`repair`
copies every readable row into a fresh database.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from schedforge.core.errors import SchedforgeError
from schedforge.core.procpool import alive

DB_NAME = "results.sqlite"

APPLICATION_ID = 0x53464231  # "SFB1" in the SQLite header: a schedforge results file
_SQLITE_MAGIC = b"SQLite format 3\x00"


class DamagedStore(SchedforgeError):
    """The results file is empty, damaged or not a schedforge database."""

    def __init__(self, path: Path, problem: str):
        self.path = path
        super().__init__(
            f"{path}: {problem}. Nothing was changed. Either write new results elsewhere "
            f"(bench --out ANOTHER_FOLDER), or run "
            f"'schedforge bench --repair --out {path.parent}' to keep every readable run "
            "(the damaged file is kept next to it)"
        )


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
        if not path.exists():
            _create_file(path)
        _check_file(path)
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=30)
            self.conn.row_factory = sqlite3.Row
            self._check_database()
            # WAL: readers (a report while the batch runs) never block the writer,
            # and a commit is atomic even if the process dies mid-way.
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.conn.close()
            raise DamagedStore(path, f"the database is damaged ({exc})") from None
        except DamagedStore:
            self.conn.close()
            raise

    def _check_database(self) -> None:
        """Refuse a foreign or damaged database (see the module docstring)."""
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
        # An older schedforge database has no application id but its tables.
        if app_id != APPLICATION_ID and not (app_id == 0 and {"runs", "batches"} <= tables):
            raise DamagedStore(
                self.path, "this SQLite file belongs to another program, not to schedforge bench"
            )
        problems = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise DamagedStore(self.path, f"the database is damaged ({problems[0]})")

    def _create(self) -> None:
        columns = ",\n  ".join(f"{name} {kind}" for name, kind in RUN_COLUMNS)
        with self.conn:
            self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
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
                "planned INTEGER, skipped INTEGER, done INTEGER, state TEXT, "
                "host TEXT, pid INTEGER)"
            )
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(batches)")}
            for column, kind in (("host", "TEXT"), ("pid", "INTEGER")):
                if column not in have:  # a database written before these columns
                    self.conn.execute(f"ALTER TABLE batches ADD COLUMN {column} {kind}")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ batches

    def begin_batch(self, command: str, executor: str, planned: int, skipped: int) -> int:
        """Record the start of an invocation (with this process); return its id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO batches (started_at, command, executor, planned, skipped, done, "
                "state, host, pid) VALUES (?, ?, ?, ?, ?, 0, 'running', ?, ?)",
                (_now(), command, executor, planned, skipped, platform.node(), os.getpid()),
            )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def mark_interrupted(self) -> int:
        """Mark ``interrupted`` every ``running`` batch of this host whose process is gone.

        A batch killed with ``kill -9`` (or by a power cut) cannot record its
        end; this records it the next time the database is opened. Batches of
        other hosts are left alone (their processes cannot be seen from here).
        Returns how many were marked.
        """
        rows = self.conn.execute(
            "SELECT id, pid FROM batches WHERE state = 'running' AND host = ?",
            (platform.node(),),
        ).fetchall()
        gone = [int(r[0]) for r in rows if r[1] is None or not _alive(int(r[1]))]
        with self.conn:
            self.conn.executemany(
                "UPDATE batches SET state = 'interrupted' WHERE id = ?", [(i,) for i in gone]
            )
        return len(gone)

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


def _create_file(path: Path) -> None:
    """Create an empty marked database at ``path`` atomically.

    Made under a temporary name and linked into place, so that a reader
    opening ``path`` meanwhile (a report while a batch starts) never sees a
    half-made file; when another process created it first, theirs is kept.
    """
    work = path.with_name(f".{path.name}.{os.getpid()}.new")
    work.unlink(missing_ok=True)
    conn = sqlite3.connect(work)
    try:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.commit()
    finally:
        conn.close()
    try:
        os.link(work, path)
    except FileExistsError:
        pass
    finally:
        work.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether the process of a batch still runs (this one always does)."""
    return pid == os.getpid() or alive(pid)


def _check_file(path: Path) -> None:
    """Refuse what is not an SQLite file before SQLite sees it."""
    if not path.is_file():
        raise DamagedStore(path, "is not a regular file")
    try:
        with path.open("rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise DamagedStore(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise DamagedStore(path, "is empty (0 bytes), so every stored run is gone or unreadable")
    if head != _SQLITE_MAGIC:
        raise DamagedStore(path, "does not start with an SQLite header (damaged or not a database)")


# ---------------------------------------------------------------------- repair

_TABLES = ("runs", "instances", "batches")
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)
# Rowids probed past the last readable row before giving up on a table.
_PROBE_GAP = 5000


def repair(folder: str | Path) -> tuple[Path, dict[str, int], dict[str, int]]:
    """Copy every readable row of a damaged results file into a fresh one.

    The damaged file is renamed ``results.sqlite.damaged-<time>`` (with its
    ``-wal``/``-shm`` files) and a new ``results.sqlite`` holds what could
    be read. A garbage file header is rebuilt (in a temporary copy) before
    reading.

    Returns
    -------
    tuple
        The path of the kept damaged file, rows kept per table and rows
        lost per table (for runs: unreadable rows, or runs the batch
        records count beyond those read, whichever is more).
    """
    folder = Path(folder)
    path = folder / DB_NAME if folder.is_dir() or folder.suffix == "" else folder
    if not path.exists():
        raise SchedforgeError(f"{path}: no benchmark database here; nothing to repair")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    damaged = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(damaged)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(damaged.with_name(damaged.name + suffix))
    rows, lost = _readable_rows(damaged)
    # Rows past the last readable page leave no trace in the runs table; the
    # batch records say how many runs were stored in all.
    stored = sum(int(b.get("done") or 0) for b in rows.get("batches", []))
    lost["runs"] = max(lost.get("runs", 0), stored - len(rows.get("runs", [])))
    kept = {name: 0 for name in _TABLES}
    with Store(path) as store:
        columns = {
            name: [r[1] for r in store.conn.execute(f"PRAGMA table_info({name})")]
            for name in _TABLES
        }
        with store.conn:
            for name in _TABLES:
                for row in rows.get(name, []):
                    fields = [c for c in row if c in columns[name]]
                    marks = ", ".join("?" for _ in fields)
                    cur = store.conn.execute(
                        f"INSERT OR IGNORE INTO {name} ({', '.join(fields)}) VALUES ({marks})",
                        [row[c] for c in fields],
                    )
                    kept[name] += cur.rowcount
            # A batch cut short by the damage did not finish.
            store.conn.execute("UPDATE batches SET state = 'interrupted' WHERE state = 'running'")
    return damaged, kept, lost


def _readable_rows(path: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Rows of each table that can be read from ``path``, and rows known unreadable."""
    work = path.with_name(path.name + ".reading")
    shutil.copyfile(path, work)
    # Runs committed after the last checkpoint live in the -wal file (after
    # a kill -9, say); SQLite replays it when the copy is opened.
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, work.with_name(work.name + "-wal"))
    try:
        conn = _open_readable(work)
        if conn is None:
            return {}, {}
        try:
            rows: dict[str, list[dict[str, Any]]] = {}
            lost: dict[str, int] = {}
            for name in _TABLES:
                rows[name], lost[name] = _table_rows(conn, name)
            return rows, lost
        finally:
            conn.close()
    finally:
        for leftover in (work, *(work.with_name(work.name + x) for x in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _open_readable(work: Path) -> sqlite3.Connection | None:
    """A connection to ``work`` that can read its schema, rebuilding the header if needed."""

    def attempt() -> sqlite3.Connection | None:
        conn = sqlite3.connect(work)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("SELECT name FROM sqlite_master").fetchall()
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            return None

    conn = attempt()
    if conn is not None:
        return conn
    original = work.read_bytes()
    if len(original) < 512:
        return None
    for page_size in _PAGE_SIZES:
        work.write_bytes(_rebuilt_header(page_size) + original[100:])
        conn = attempt()
        if conn is not None:
            return conn
    return None


def _rebuilt_header(page_size: int) -> bytes:
    """A plausible 100-byte SQLite header (the file's own was overwritten)."""
    header = bytearray(100)
    header[0:16] = _SQLITE_MAGIC
    header[16:18] = (1 if page_size == 65536 else page_size).to_bytes(2, "big")
    header[18], header[19] = 1, 1  # legacy journal: readable without the -wal file
    header[21], header[22], header[23] = 64, 32, 32  # fixed by the file format
    header[24:28] = (1).to_bytes(4, "big")
    header[40:44] = (1).to_bytes(4, "big")  # schema cookie
    header[44:48] = (4).to_bytes(4, "big")  # schema format
    header[56:60] = (1).to_bytes(4, "big")  # UTF-8
    header[68:72] = APPLICATION_ID.to_bytes(4, "big")
    # Bytes 28-31 (size in pages) stay 0 with 92-95 != 24-27: SQLite then
    # takes the size from the file length.
    header[96:100] = (3045000).to_bytes(4, "big")
    return bytes(header)


def _table_rows(conn: sqlite3.Connection, name: str) -> tuple[list[dict[str, Any]], int]:
    """Readable rows of one table, in rowid order, and how many rowids failed."""
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {name}")], 0
    except sqlite3.DatabaseError:
        pass
    rows: list[dict[str, Any]] = []
    failed: list[int] = []
    rowid, misses = 0, 0
    while misses < _PROBE_GAP:
        rowid += 1
        try:
            row = conn.execute(f"SELECT * FROM {name} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            failed.append(rowid)
            misses += 1
            continue
        if row is None:
            misses += 1
            continue
        rows.append(dict(row))
        misses = 0
    last = len(rows) and rowid - misses
    return rows, sum(1 for r in failed if r <= last)
