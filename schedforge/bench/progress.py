"""A live Rich progress bar for a batch: runs done, failures, running, ETA."""

from __future__ import annotations

from typing import Any

from schedforge.bench.batch import Progress
from schedforge.bench.grid import Task


class RichProgress(Progress):
    """Shows ``done/total``, failures, runs in flight, elapsed time and ETA.

    Parameters
    ----------
    console
        The :class:`rich.console.Console` to draw on (stderr, so that the
        summary table on stdout can be piped).
    """

    def __init__(self, console: Any):
        self.console = console
        self.bar: Any = None
        self.task_id: Any = None
        self.failed = 0
        self.running = 0

    def begin(self, total: int, skipped: int) -> None:
        """Start the bar; say how many stored runs are skipped."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        if skipped:
            self.console.print(f"resuming: {skipped} finished run(s) already stored, {total} to go")
        self.bar = Bar(
            TextColumn("[bold]bench"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/]  {task.fields[running]} running"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.bar.start()
        self.task_id = self.bar.add_task("bench", total=total, failed=0, running=0)

    def started(self, task: Task) -> None:
        """One more run in flight."""
        self.running += 1
        self.bar.update(self.task_id, running=self.running)

    def finished(self, task: Task, row: dict[str, Any]) -> None:
        """Advance the bar; count failures."""
        self.running = max(0, self.running - 1)
        if row["status"] in ("ERROR", "TIMEOUT"):
            self.failed += 1
        self.bar.update(self.task_id, advance=1, failed=self.failed, running=self.running)

    def end(self) -> None:
        """Stop drawing."""
        if self.bar is not None:
            self.bar.stop()
