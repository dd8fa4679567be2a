"""Progress on long loads: files done, rows read, rows/s (rich, on stderr; silent when disabled)."""

from __future__ import annotations

import time
from pathlib import Path


class FileProgress:
    def __init__(self, total_files: int, enabled: bool):
        self.enabled = enabled and total_files > 0
        self.rows = 0
        self.t0 = time.monotonic()
        self._progress = None
        self._task = None
        self.total_files = total_files

    def __enter__(self) -> FileProgress:
        if self.enabled:
            # Imported only when shown: rich costs ~0.3 s of imports a scheduled run does not need.
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]ingest[/bold] {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files"),
                TextColumn("{task.fields[rows]:,} rows"),
                TextColumn("{task.fields[rate]:,.0f} rows/s"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("", total=self.total_files, rows=0, rate=0.0)
        return self

    def start(self, path: Path, batch_files: int = 1) -> None:
        """Name what is loading now: one file, or the first of a batch loaded in one pass."""
        if self._progress is not None:
            label = path.name if batch_files <= 1 else f"{path.name} + {batch_files - 1} more (one batch)"
            self._progress.update(self._task, description=label)

    def done(self, rows_read: int) -> None:
        self.rows += rows_read
        if self._progress is not None:
            elapsed = max(time.monotonic() - self.t0, 1e-6)
            self._progress.update(self._task, advance=1, rows=self.rows, rate=self.rows / elapsed)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description="done")
            self._progress.__exit__(*exc)
