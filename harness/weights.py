"""Weights files that every process writes byte for byte the same.

`safetensors.torch.save_model` records which tied tensors it dropped as header metadata; the header is written from a
Rust hash map, so with several tied names (a T5's shared embedding and LM head) the order, and the file's hash,
change from one process to the next. Here each group of tensors sharing storage is saved once, under its
alphabetically first name, with no alias table: `safetensors.torch.load_model` re-ties the others on load because
the module itself shares them."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file


def unique_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with each shared tensor kept once (first name in sorted order), contiguous."""
    kept: dict[str, torch.Tensor] = {}
    seen: set[tuple] = set()
    state = module.state_dict()
    for name in sorted(state):
        t = state[name]
        where = (t.device, t.untyped_storage().data_ptr(), t.storage_offset(), t.dtype, tuple(t.shape),
                 tuple(t.stride()))
        if where in seen:
            continue
        seen.add(where)
        kept[name] = t.detach().contiguous()
    return kept


def save_weights(module: torch.nn.Module, path: Path) -> None:
    save_file(unique_state(module), str(path), metadata={"format": "pt"})
