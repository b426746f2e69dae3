"""The code's layering: stage code (harness/pipeline) and reporting (harness/report) sit above the shared modules,
so a shared module (paths, tasks, dvcfile, ...) never imports either, and the two never import each other; stage
functions stay short enough to read in one screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"
ENTRY_POINTS = {"__main__.py", "cli.py", "repro_all.py", "score_cli.py"}  # the commands: they may call anything
UPPER = ("harness.pipeline", "harness.report")
MAX_STAGE_FUNCTION_LINES = 60


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]  # `from harness import report`
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def _layer(module: str) -> str | None:
    return next((u for u in UPPER if module == u or module.startswith(u + ".")), None)


@pytest.mark.parametrize("path", sorted(HARNESS.rglob("*.py")), ids=lambda p: str(p.relative_to(HARNESS)))
def test_no_upward_import(path: Path) -> None:
    if path.parent == HARNESS and path.name in ENTRY_POINTS:
        return
    own = _layer(".".join(("harness", *path.relative_to(HARNESS).with_suffix("").parts)))
    wrong = [m for m in _imports(path) if _layer(m) not in (None, own)]
    assert not wrong, f"{path.relative_to(HARNESS.parent)} imports {wrong}: a layer above (or beside) its own"


def test_stage_functions_are_short() -> None:
    long = []
    for path in sorted((HARNESS / "pipeline").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_STAGE_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.name} ({lines} lines)")
    assert not long, f"stage functions over {MAX_STAGE_FUNCTION_LINES} lines: {long}"
