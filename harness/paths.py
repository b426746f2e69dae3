"""Where every stage reads and writes, relative to the project root. Each pipeline (`params['profile']`) owns
its folders, so pipelines never write over one another."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def params_file(params: dict[str, Any]) -> str:
    """The file the params came from, for error messages (load_params records it)."""
    return str(params.get("_source", "params.yaml"))


def fetch_record(params: dict[str, Any]) -> Path:
    """What the fetch stage verified; the downloads themselves stay in downloads/<card name>/ between runs."""
    return Path("downloads") / f"{params['profile']}.fetch.json"


def data_dir(params: dict[str, Any]) -> Path:
    return Path("data") / params["profile"]


def model_dir(params: dict[str, Any], run_id: str) -> Path:
    """A run's model; `runs.<id>.from: <pipeline>` evaluates the model that pipeline trained (no retraining), under
    the same run id or the one `from_run` names."""
    run = params["runs"].get(run_id, {})
    return Path("models") / run.get("from", params["profile"]) / run.get("from_run", run_id)


def reader_dir(params: dict[str, Any]) -> Path:
    """The pipeline's one VQA reader, shared by every retriever run."""
    return Path("models") / params["profile"] / "_reader"


def checkpoint_dir(params: dict[str, Any], run_id: str) -> Path:
    # Outside the DVC output on purpose: DVC deletes a stage's outputs before re-running it.
    return Path("checkpoints") / params["profile"] / run_id


def index_dir(params: dict[str, Any], run_id: str, corpus_id: str) -> Path:
    return Path("indexes") / params["profile"] / run_id / corpus_id


def results_dir(params: dict[str, Any]) -> Path:
    return Path("results") / params["profile"]


def run_dir(params: dict[str, Any], run_id: str, task: str) -> Path:
    return results_dir(params) / "runs" / task / run_id


def bound_dir(params: dict[str, Any], bound: str) -> Path:
    return results_dir(params) / "vqa_bounds" / bound


def timing_file(params: dict[str, Any], stage: str) -> Path:
    """Wall times and other run-to-run noise, kept out of models and indexes so an identical re-run changes
    nothing downstream."""
    return results_dir(params) / "timings" / f"{stage}.json"


def tables_dir(params: dict[str, Any]) -> Path:
    return results_dir(params) / "tables"


def plots_dir(params: dict[str, Any]) -> Path:
    return results_dir(params) / "plots"
