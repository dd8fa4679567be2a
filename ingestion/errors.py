"""A landing file that cannot be read at all: rejected whole, the warehouse untouched."""

from __future__ import annotations

from callcenter.errors import UserError


class IngestError(UserError):
    """One line naming the file, the line and the problem (no record content: it may hold numbers)."""

    def __init__(self, file: str, problem: str, line: int | None = None):
        self.file = file
        self.line = line
        self.problem = problem
        where = f"{file}: line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")
