"""Named choices, each kind in one table: a name from params maps to `module:attribute`, imported only when that
name is chosen (faiss, colbert-ai and BLIP-2 stay optional where another choice is made). An unknown name is one
line naming the params file, the field and the names known. `harness/code_deps.py` reads the `module:attribute`
strings as imports, so a stage's DVC dependencies still list the code a choice runs."""

from __future__ import annotations

import importlib
from typing import Any

from harness.errors import InputError


class Registry:
    def __init__(self, field: str, entries: dict[str, str]) -> None:
        self.field = field  # the params field the name comes from, for error messages
        self.entries = dict(entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def check(self, name: str, source: str = "params.yaml", field: str | None = None) -> None:
        if name not in self.entries:
            raise InputError(source, field or self.field, f"must be one of {', '.join(self.names)}, got {name!r}")

    def get(self, name: str, source: str = "params.yaml", field: str | None = None) -> Any:
        """The object `name` stands for; `source` and `field`: where the name was read, for the error."""
        self.check(name, source, field)
        module, _, attr = self.entries[name].partition(":")
        return getattr(importlib.import_module(module), attr)
