"""Where every stage reads and writes, relative to the project root (the folder holding params.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def fetch_record(params: dict[str, Any]) -> Path:
    """What the fetch stage verified; the downloads themselves stay in downloads/<card name>/ between runs."""
    return Path("downloads") / f"{params['dataset']['name']}.fetch.json"


def data_dir(params: dict[str, Any]) -> Path:
    return Path("data") / params["dataset"]["name"]


def model_dir(params: dict[str, Any], run_id: str) -> Path:
    return Path("models") / params["profile"] / run_id


def reader_dir(params: dict[str, Any]) -> Path:
    """The profile's one VQA reader, shared by every retriever run."""
    return Path("models") / params["profile"] / "_reader"


def checkpoint_dir(params: dict[str, Any], run_id: str) -> Path:
    # Outside the DVC output on purpose: DVC deletes a stage's outputs before re-running it.
    return Path("checkpoints") / params["profile"] / run_id


def index_dir(params: dict[str, Any], run_id: str) -> Path:
    return Path("indexes") / params["profile"] / run_id


def run_dir(params: dict[str, Any], run_id: str) -> Path:
    return Path("results") / params["profile"] / "runs" / run_id


def tables_dir(params: dict[str, Any]) -> Path:
    return Path("results") / params["profile"] / "tables"


def plots_dir(params: dict[str, Any]) -> Path:
    return Path("results") / params["profile"] / "plots"
