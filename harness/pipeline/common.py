"""What several stages share: resolving a run's settings, loading its method, its dataset and its device."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness import methods, paths
from harness.api import MethodSpec
from harness.data.schema import Dataset
from harness.params import params_hash, run_settings
from harness.provenance import hash_files


@dataclass
class RunContext:
    params: dict[str, Any]
    run_id: str
    spec: MethodSpec
    settings: dict[str, Any]

    @property
    def settings_hash(self) -> str:
        return params_hash(self.settings)

    def retriever_class(self) -> Any:
        return methods.retriever_class(self.spec)


def run_context(params: dict[str, Any], run_id: str) -> RunContext:
    from harness.errors import InputError

    if run_id not in params["runs"]:
        raise InputError("params.yaml", f"runs.{run_id}", f"no such run; runs are {sorted(params['runs'])}")
    spec = methods.get(params["runs"][run_id]["method"])
    return RunContext(params, run_id, spec, run_settings(params, run_id, methods.default_params(spec)))


def load_dataset(params: dict[str, Any], check_images: bool = True) -> Dataset:
    return Dataset(paths.data_dir(params), check_images=check_images)


def data_hash(params: dict[str, Any]) -> str:
    root = paths.data_dir(params)
    return hash_files([root / "queries.jsonl", root / "corpus.jsonl", root / "qrels"])


def pick_device(requested: str | None = None) -> str:
    if requested and requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def model_hash(model_dir: Path) -> str:
    return hash_files([Path(model_dir) / "model.safetensors"])
