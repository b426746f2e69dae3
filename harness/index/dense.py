"""Dense index with faiss: exact inner product (Flat), HNSW, or IVF-PQ. Inner product throughout, as DPR scores."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from harness.api import DenseEmbeddings, IndexStats, Run
from harness.atomic import atomic_path, write_json
from harness.errors import InputError

TYPES = ("flat", "hnsw", "ivfpq")


def gpu_ready() -> bool:
    """faiss-gpu installed (`make install-gpu`) and a GPU present: flat and IVF-PQ indexes search there."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


class FaissDenseIndex:
    def __init__(self, settings: dict[str, Any]):
        self.settings = {"type": "flat", "hnsw_m": 32, "ivf_nlist": 64, "pq_m": 16, "nprobe": 8, **settings}
        if self.settings["type"] not in TYPES:
            raise InputError("params.yaml", "index.dense.type", f"must be one of {TYPES}")
        self.index: faiss.Index | None = None
        self.ids: list[str] = []

    def _factory(self, dim: int, n: int) -> faiss.Index:
        s = self.settings
        if s["type"] == "flat":
            return faiss.IndexFlatIP(dim)
        if s["type"] == "hnsw":
            return faiss.IndexHNSWFlat(dim, int(s["hnsw_m"]), faiss.METRIC_INNER_PRODUCT)
        nlist = max(1, min(int(s["ivf_nlist"]), n // 39))  # faiss wants ~39 training points per centroid
        m = int(s["pq_m"])
        if dim % m:
            raise InputError("params.yaml", "index.dense.pq_m", f"must divide the embedding size {dim}")
        return faiss.index_factory(dim, f"IVF{nlist},PQ{m}", faiss.METRIC_INNER_PRODUCT)

    def build(self, emb: DenseEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        vecs = np.ascontiguousarray(emb.vectors, dtype=np.float32)
        t0 = time.perf_counter()
        index = self._factory(vecs.shape[1], vecs.shape[0])
        if not index.is_trained:
            index.train(vecs)
        index.add(vecs)
        build_s = time.perf_counter() - t0
        self.index, self.ids = index, list(ids)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out_dir / "index.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        write_json(out_dir / "ids.json", self.ids)
        write_json(out_dir / "settings.json", self.settings)
        return IndexStats(backend=f"faiss-{self.settings['type']}", vectors=len(ids), items=len(ids),
                          dim=int(vecs.shape[1]), bytes_on_disk=(out_dir / "index.faiss").stat().st_size,
                          build_seconds=build_s)

    @classmethod
    def load(cls, index_dir: Path) -> "FaissDenseIndex":
        index_dir = Path(index_dir)
        if not (index_dir / "index.faiss").is_file():
            raise InputError(index_dir / "index.faiss", "-", "index file not found (was the index stage run?)")
        obj = cls(json.loads((index_dir / "settings.json").read_text()))
        obj.index = faiss.read_index(str(index_dir / "index.faiss"))
        obj.ids = json.loads((index_dir / "ids.json").read_text())
        if gpu_ready() and obj.settings["type"] != "hnsw":  # faiss has no GPU HNSW
            obj._gpu = faiss.StandardGpuResources()  # kept: the GPU index uses it while it lives
            obj.index = faiss.index_cpu_to_gpu(obj._gpu, 0, obj.index)
        return obj

    def search(self, q: DenseEmbeddings, qids: list[str], k: int) -> Run:
        assert self.index is not None, "build or load the index first"
        if self.settings["type"] == "ivfpq":
            faiss.extract_index_ivf(self.index).nprobe = int(self.settings["nprobe"])
        k = min(k, len(self.ids))
        scores, idx = self.index.search(np.ascontiguousarray(q.vectors, dtype=np.float32), k)
        run: Run = {}
        for qid, row_s, row_i in zip(qids, scores, idx):
            run[qid] = {self.ids[i]: float(s) for s, i in zip(row_s, row_i) if i >= 0}
        return run
