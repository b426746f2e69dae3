"""Sharded corpus encoding: under torchrun each rank encodes a contiguous shard of the passages (whole encoding
batches, so each rank encodes exactly the batches one process would) into its own part file; the parts, joined
in rank order, are the one-process embeddings. Part files live in a folder every rank can read (one machine, or
a shared file system)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.api import DenseEmbeddings, Embeddings, MultiVectorEmbeddings, Passage
from harness.atomic import atomic_path
from harness.distributed.runtime import Group, barrier, current, shard_bounds


def _save(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)


def write_part(emb: Embeddings, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(emb, DenseEmbeddings):
        _save(folder / "vectors.npy", emb.vectors)
    else:
        _save(folder / "tokens.npy", emb.tokens)
        _save(folder / "offsets.npy", emb.offsets)


def join_parts(folders: list[Path]) -> Embeddings:
    """The parts' embeddings in order (offsets shifted by the tokens before each part)."""
    if (folders[0] / "vectors.npy").is_file():
        return DenseEmbeddings(np.concatenate([np.load(f / "vectors.npy", allow_pickle=False) for f in folders]))
    tokens, offsets, base = [], [np.zeros(1, dtype=np.int64)], 0
    for f in folders:
        t, o = np.load(f / "tokens.npy", allow_pickle=False), np.load(f / "offsets.npy", allow_pickle=False)
        tokens.append(t)
        offsets.append(o[1:].astype(np.int64) + base)
        base += int(o[-1])
    return MultiVectorEmbeddings(np.concatenate(tokens), np.concatenate(offsets))


def encode_passages_sharded(model: Any, passages: list[Passage], parts_dir: Path, group: Group | None = None
                            ) -> Embeddings:
    """The model's passage embeddings, encoded by all ranks of the group (one process: all of them here)."""
    group = group or current()
    if not group.active or not isinstance(model, torch.nn.Module) or not list(model.parameters()):
        return model.encode_passages(passages)  # one process, or nothing to encode (BM25 analyses text)
    batch = int(getattr(model, "params", {}).get("encode_batch_size", 64))
    lo, hi = shard_bounds(len(passages), group.rank, group.world, align=batch)
    write_part(model.encode_passages(passages[lo:hi]), parts_dir / f"rank-{group.rank:03d}")
    barrier(group)
    emb = join_parts([parts_dir / f"rank-{r:03d}" for r in range(group.world)])
    barrier(group)  # every rank has read every part
    if group.main:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return emb
