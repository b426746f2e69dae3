"""Save and load model folders: weights as safetensors, a JSON config, the tokenizer. Nothing is pickled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model

from harness.errors import InputError
from harness.weights import save_weights

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_folder(module: torch.nn.Module, config: dict[str, Any], out_dir: Path, tokenizer: Any = None) -> None:
    """Write into `out_dir`; callers that publish a folder wrap this in `atomic_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights(module, out_dir / WEIGHTS)  # the same bytes in every process, tied tensors once
    (out_dir / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out_dir / "tokenizer"))


def read_config(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / CONFIG
    if not path.is_file():
        raise InputError(path, "-", "model folder has no config.json (was the train stage run?)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_weights(module: torch.nn.Module, model_dir: Path, device: str = "cpu") -> None:
    path = Path(model_dir) / WEIGHTS
    if not path.is_file():
        raise InputError(path, "-", "weights file not found")
    missing, unexpected = load_model(module, str(path), strict=False, device=device)
    if missing or unexpected:
        raise InputError(path, "-", f"weights do not fit the model: missing {list(missing)[:3]}, "
                                    f"unexpected {list(unexpected)[:3]}")
