"""Inputs a user supplies that this project does not ship (the A-OKVQA val file): whether a pipeline lacks one,
in one line, so the all-tables command and the study tables can say "not provided" instead of failing."""

from __future__ import annotations

from typing import Any


def missing_input(params: dict[str, Any]) -> str | None:
    if params["dataset"].get("source") == "aokvqa":
        from harness.data.aokvqa import missing_val_file

        return missing_val_file(params)
    return None
