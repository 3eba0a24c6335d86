"""The SQLite archive of a discovery run: every candidate, every generation.

One file, ``<run dir>/archive.sqlite``, in WAL mode, written one committed
transaction at a time: a proposal is stored before it is evaluated, each
evaluation as soon as it finishes, and a generation's population and
summary in one transaction at its end. A run killed at any point
(``kill -9``, Ctrl-C, power loss) therefore loses at most the call in
flight, and :func:`schedforge.discovery.evolve.Evolution.run` resumes from
the file without repeating a proposal or an evaluation.

Tables
------
``meta``
    ``key``/``value`` (JSON): the run configuration, the problem, elapsed time.
``candidates``
    Code, normalised hash, genome, parents, operator, island, prompt,
    response, model, tokens, cost, timings, verdict and message, engine and
    numba fallback reason, gaps per training instance, mean train /
    validation / hold-out gaps.
``generations``
    Per generation: best candidate, its train and validation gap,
    evaluations, tokens, cost, seconds.
``populations``
    Island membership at the end of each generation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    generation INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    island INTEGER NOT NULL,
    operator TEXT NOT NULL,
    parents TEXT NOT NULL,
    code TEXT,
    hash TEXT,
    genome TEXT,
    prompt TEXT,
    response TEXT,
    model TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    propose_seconds REAL,
    status TEXT NOT NULL,
    verdict TEXT,
    message TEXT,
    duplicate_of INTEGER,
    engine TEXT,
    numba_error TEXT,
    train_gap REAL,
    train_objectives TEXT,
    train_gaps TEXT,
    validation_gap REAL,
    validation_gaps TEXT,
    holdout_gap REAL,
    holdout_gaps TEXT,
    eval_seconds REAL,
    UNIQUE (generation, idx)
);
CREATE INDEX IF NOT EXISTS candidates_hash ON candidates (hash);
CREATE TABLE IF NOT EXISTS generations (
    generation INTEGER PRIMARY KEY,
    best_id INTEGER,
    best_train_gap REAL,
    best_validation_gap REAL,
    evaluations INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    cost REAL NOT NULL,
    seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS populations (
    generation INTEGER NOT NULL,
    island INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL,
    PRIMARY KEY (generation, island, rank)
);
"""

#: Columns that hold JSON.
_JSON_COLUMNS = (
    "parents",
    "genome",
    "train_objectives",
    "train_gaps",
    "validation_gaps",
    "holdout_gaps",
)
#: Columns that measure time; they differ between identical runs.
TIMING_COLUMNS = ("propose_seconds", "eval_seconds")


class Archive:
    """A run's archive (see module docstring). Thread-safe; one connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=FULL")
        self.con.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable transaction."""
        with self._lock:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        """A meta value (JSON-decoded)."""
        with self._lock:
            row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        """Store a meta value (JSON)."""
        with self.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    # -- candidates ---------------------------------------------------------

    def insert_candidate(self, **fields: Any) -> int:
        """Insert a candidate row; JSON columns are encoded. Returns its id."""
        row = {
            k: (json.dumps(v) if k in _JSON_COLUMNS and v is not None else v)
            for k, v in fields.items()
        }
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction() as con:
            cur = con.execute(
                f"INSERT INTO candidates ({cols}) VALUES ({marks})", tuple(row.values())
            )
            return int(cur.lastrowid)

    def update_candidate(
        self, candidate_id: int, con: sqlite3.Connection | None = None, **fields: Any
    ) -> None:
        """Update columns of one candidate (in ``con``'s transaction, or its own)."""
        row = {
            k: (json.dumps(v) if k in _JSON_COLUMNS and v is not None else v)
            for k, v in fields.items()
        }
        sets = ", ".join(f"{k} = ?" for k in row)
        if con is not None:
            con.execute(f"UPDATE candidates SET {sets} WHERE id = ?", (*row.values(), candidate_id))
            return
        with self.transaction() as own:
            own.execute(f"UPDATE candidates SET {sets} WHERE id = ?", (*row.values(), candidate_id))

    def candidates(self, where: str = "1", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Candidate rows (JSON decoded), ordered by generation and index."""
        with self._lock:
            rows = self.con.execute(
                f"SELECT * FROM candidates WHERE {where} ORDER BY generation, idx", tuple(params)
            ).fetchall()
        out = []
        for row in rows:
            item = dict(row)
            for key in _JSON_COLUMNS:
                if item.get(key) is not None:
                    item[key] = json.loads(item[key])
            out.append(item)
        return out

    def candidate(self, candidate_id: int) -> dict[str, Any] | None:
        """One candidate by id."""
        found = self.candidates("id = ?", (candidate_id,))
        return found[0] if found else None

    def find_hash(self, code_hash: str) -> int | None:
        """The id of the first candidate with this normalised hash."""
        with self._lock:
            row = self.con.execute(
                "SELECT id FROM candidates WHERE hash = ? ORDER BY generation, idx LIMIT 1",
                (code_hash,),
            ).fetchone()
        return None if row is None else int(row[0])

    def totals(self) -> dict[str, float]:
        """Evaluations (train + validation + hold-out runs), tokens and cost so far."""
        with self._lock:
            row = self.con.execute(
                "SELECT COUNT(*) FILTER (WHERE status = 'evaluated' AND verdict NOT IN "
                "('duplicate', 'no_code', 'proposer_error')), "
                "COALESCE(SUM(prompt_tokens + completion_tokens), 0), COALESCE(SUM(cost), 0), "
                "COUNT(*) FILTER (WHERE validation_gap IS NOT NULL) "
                "FROM candidates"
            ).fetchone()
        return {
            "evaluations": int(row[0]) + int(row[3]),
            "tokens": int(row[1]),
            "cost": float(row[2]),
        }

    # -- generations and populations ---------------------------------------

    def generations(self) -> list[dict[str, Any]]:
        """Finished generations, in order."""
        with self._lock:
            rows = self.con.execute("SELECT * FROM generations ORDER BY generation").fetchall()
        return [dict(r) for r in rows]

    def last_generation(self) -> int:
        """The last finished generation, or -1."""
        with self._lock:
            row = self.con.execute("SELECT MAX(generation) FROM generations").fetchone()
        return -1 if row[0] is None else int(row[0])

    def population(self, generation: int) -> list[list[int]]:
        """Island membership (candidate ids by rank) at the end of ``generation``."""
        with self._lock:
            rows = self.con.execute(
                "SELECT island, candidate_id FROM populations WHERE generation = ? "
                "ORDER BY island, rank",
                (generation,),
            ).fetchall()
        islands: dict[int, list[int]] = {}
        for island, cid in rows:
            islands.setdefault(int(island), []).append(int(cid))
        return [islands[k] for k in sorted(islands)]

    def finish_generation(
        self,
        con: sqlite3.Connection,
        generation: int,
        islands: list[list[int]],
        summary: dict[str, Any],
    ) -> None:
        """Record a generation's populations and summary (inside ``con``'s transaction)."""
        for island, members in enumerate(islands):
            for rank, cid in enumerate(members):
                con.execute(
                    "INSERT INTO populations (generation, island, rank, candidate_id) "
                    "VALUES (?, ?, ?, ?)",
                    (generation, island, rank, cid),
                )
        con.execute(
            "INSERT INTO generations (generation, best_id, best_train_gap, best_validation_gap, "
            "evaluations, tokens, cost, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                generation,
                summary.get("best_id"),
                summary.get("best_train_gap"),
                summary.get("best_validation_gap"),
                int(summary.get("evaluations", 0)),
                int(summary.get("tokens", 0)),
                float(summary.get("cost", 0.0)),
                float(summary.get("seconds", 0.0)),
            ),
        )

    def dump(self, *, timings: bool = False) -> dict[str, list[tuple]]:
        """Every table as sorted tuples (optionally without timing columns), for comparisons."""
        out: dict[str, list[tuple]] = {}
        with self._lock:
            for table in ("candidates", "generations", "populations"):
                cur = self.con.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cur.description]
                skip = set() if timings else {*TIMING_COLUMNS, "seconds"}
                keep = [i for i, n in enumerate(names) if n not in skip]
                out[table] = sorted(tuple(row[i] for i in keep) for row in cur.fetchall())
        return out
