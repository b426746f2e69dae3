"""Index backends, chosen by params: dense faiss (flat, hnsw, ivfpq), late-interaction backends, and BM25 for
sparse methods; any of them in contiguous shards (`index.shards`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness import bm25
from harness.api import DenseEmbeddings, Embeddings, Index, MultiVectorEmbeddings, Run, TextEmbeddings
from harness.errors import InputError
from harness.registry import Registry

# imported on demand: faiss and colbert-ai are optional where only some backends are used (GPU machines)
LATE_INDEXES = Registry("index.late.backend", {
    "exact": "harness.index.late:ExactMaxSimIndex",
    "centroid": "harness.index.centroid:CentroidIndex",
    "faiss-twostage": "harness.index.twostage:FaissTwoStageIndex",
    "plaid": "harness.index.plaid:PlaidIndex",
})
TORCH_BACKENDS = ("exact", "centroid")  # search in torch, so on the evaluation device
# the dense and sparse families: one backend each, reading the `index` section of their name (late interaction
# picks one of LATE_INDEXES)
FAMILY_INDEXES = Registry("family", {
    "dense": "harness.index.dense:FaissDenseIndex",
    "sparse": "harness.index.sparse:BM25Index",
})


def make_index(family: str, settings: dict[str, Any]) -> Index:
    """`settings` is params' `index` section: `dense` for single-vector, `late` for late-interaction methods;
    `shards: N` > 1 splits the corpus into N indexes of that kind (harness/index/sharded.py)."""
    if int(settings.get("shards", 1)) > 1:
        from harness.index.sharded import ShardedIndex

        return ShardedIndex(family, settings)
    if family == "late-interaction":
        late = dict(settings.get("late", {}))
        backend = late.pop("backend", "exact")
        return LATE_INDEXES.get(backend)(late.get(backend.replace("-", "_"), {}))
    return FAMILY_INDEXES.get(family, "method.py")(settings.get(family, {}))


def load_index(family: str, index_dir, device: str = "cpu") -> Index:
    """A built index; the torch late-interaction backends (exact, centroid) search on `device`."""
    index_dir = Path(index_dir)
    from harness.index.sharded import SHARDS_FILE, ShardedIndex

    if (index_dir / SHARDS_FILE).is_file():
        return ShardedIndex.load(index_dir, device)
    if family == "late-interaction":
        settings = index_dir / "settings.json"
        if not settings.is_file():
            raise InputError(settings, "-", "index settings not found (was the index stage run?)")
        backend = json.loads(settings.read_text())["backend"]
        cls = LATE_INDEXES.get(backend, str(settings), "backend")
        return cls.load(index_dir, **({"device": device} if backend in TORCH_BACKENDS else {}))
    return FAMILY_INDEXES.get(family, "method.py").load(index_dir)


def exact_search(q: Embeddings, qids: list[str], p: Embeddings, pids: list[str], k: int) -> Run:
    """Exhaustive search in memory (validation during training, small corpora): the reference ranking."""
    if isinstance(q, MultiVectorEmbeddings) and isinstance(p, MultiVectorEmbeddings):
        from harness.index.late import TokenStore, _to_run, exact_maxsim_search

        vals, idx = exact_maxsim_search(q, TokenStore(p.tokens, p.offsets, pids), k)
        return _to_run(qids, pids, vals, idx)
    if isinstance(q, TextEmbeddings) and isinstance(p, TextEmbeddings):
        from harness.index.sparse import BM25Index

        index = BM25Index()
        index.retriever, index.ids = bm25.build(p.texts), list(pids)
        return index.search(q, qids, k)
    if isinstance(q, DenseEmbeddings) and isinstance(p, DenseEmbeddings):
        scores = torch.from_numpy(np.ascontiguousarray(q.vectors)) @ torch.from_numpy(np.ascontiguousarray(p.vectors)).T
    else:
        raise InputError("index", "family", f"no exact search for {type(q).__name__}")
    top = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    return {qid: {pids[int(i)]: float(s) for s, i in zip(vals.tolist(), idx.tolist())}
            for qid, vals, idx in zip(qids, top.values, top.indices)}
