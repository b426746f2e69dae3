"""Index backends, chosen by params: dense faiss (flat, hnsw, ivfpq); late-interaction backends join here."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness.api import DenseEmbeddings, Embeddings, Index, Run
from harness.errors import InputError


def make_index(family: str, settings: dict[str, Any]) -> Index:
    if family == "dense":
        from harness.index.dense import FaissDenseIndex

        return FaissDenseIndex(settings.get("dense", {}))
    raise InputError("params.yaml", "index", f"no index backend for family {family!r}")


def load_index(family: str, index_dir) -> Index:
    if family == "dense":
        from harness.index.dense import FaissDenseIndex

        return FaissDenseIndex.load(index_dir)
    raise InputError(index_dir, "index", f"no index backend for family {family!r}")


def exact_search(q: Embeddings, qids: list[str], p: Embeddings, pids: list[str], k: int) -> Run:
    """Exhaustive search in memory (validation during training, small corpora): the reference ranking."""
    if isinstance(q, DenseEmbeddings) and isinstance(p, DenseEmbeddings):
        scores = torch.from_numpy(np.ascontiguousarray(q.vectors)) @ torch.from_numpy(np.ascontiguousarray(p.vectors)).T
    else:
        raise InputError("index", "family", f"no exact search for {type(q).__name__}")
    top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    return {qid: {pids[int(i)]: float(s) for s, i in zip(vals.tolist(), idx.tolist())}
            for qid, vals, idx in zip(qids, top.values, top.indices)}
