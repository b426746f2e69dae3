"""One error type for bad input: the CLI prints it as a single line naming the file and the field."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input (data file, params, model folder). Message: `<file>: <field>: <problem>`."""

    def __init__(self, path: str | Path, field: str, problem: str, line: int | None = None):
        self.path = str(path)
        self.field = field
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: field '{field}': {problem}")
