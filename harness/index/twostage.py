"""`faiss-twostage`: faiss IVF-PQ over every document token; each query token fetches its nearest tokens, their
documents become candidates, and candidates are re-ranked by exact MaxSim on the float16 token store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch

from harness.api import IndexStats, MultiVectorEmbeddings, Run
from harness.atomic import atomic_path, write_json
from harness.errors import InputError
from harness.index.late import TokenStore
from harness.index.maxsim import gather_packed, maxsim_packed


class FaissTwoStageIndex:
    """Token ANN (IVF-PQ) for candidates, exact MaxSim re-rank on the float16 token store."""

    backend = "faiss-twostage"

    def __init__(self, settings: dict[str, Any]):
        self.settings = {"nlist": 0, "pq_m": 16, "nbits": 8, "nprobe": 16, "token_k": 32, "candidates": 256,
                         "query_batch": 8, **settings}
        self.store: TokenStore | None = None
        self.index: faiss.Index | None = None
        self.token_doc: np.ndarray | None = None

    def _nlist(self, n_tokens: int) -> int:
        nlist = int(self.settings["nlist"]) or int(4 * np.sqrt(n_tokens))  # 0 = the usual 4 * sqrt(N) rule
        return max(1, min(nlist, n_tokens // 39))  # faiss wants ~39 training points per centroid

    def build(self, emb: MultiVectorEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        out_dir = Path(out_dir)
        t0 = time.perf_counter()
        self.store = TokenStore.write(emb, ids, out_dir)
        vecs = np.ascontiguousarray(emb.tokens, dtype=np.float32)
        dim, m = vecs.shape[1], int(self.settings["pq_m"])
        if dim % m:
            raise InputError("params.yaml", "index.late.pq_m", f"must divide the token size {dim}")
        nlist = self._nlist(len(vecs))
        # PQ codebooks want ~39 training points per code: small corpora get fewer bits per sub-vector.
        nbits = max(4, min(int(self.settings["nbits"]), int(np.log2(max(2, len(vecs) // 39)))))
        index = faiss.index_factory(dim, f"IVF{nlist},PQ{m}x{nbits}", faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vecs if len(vecs) <= 256 * nlist else vecs[rng.choice(len(vecs), 256 * nlist, replace=False)]
        index.train(sample)
        index.add(vecs)
        with atomic_path(out_dir / "tokens.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        write_json(out_dir / "settings.json", {"backend": self.backend, **self.settings, "nlist_used": nlist,
                                               "nbits_used": nbits})
        self.index, self.token_doc = index, np.repeat(np.arange(len(ids)), np.diff(emb.offsets))
        disk = self.store.bytes_on_disk(out_dir) + (out_dir / "tokens.faiss").stat().st_size
        ram = (out_dir / "tokens.faiss").stat().st_size + self.token_doc.nbytes  # the ANN index + token -> doc map
        return IndexStats(self.backend, vectors=len(vecs), items=len(ids), dim=dim, bytes_on_disk=disk,
                          build_seconds=time.perf_counter() - t0,
                          extra={"nlist": nlist, "nbits": nbits, "bytes_per_token_ram": ram / max(1, len(vecs)),
                                 "bytes_per_token_disk": 2.0 * dim})

    @classmethod
    def load(cls, folder: Path) -> "FaissTwoStageIndex":
        folder = Path(folder)
        settings = json.loads((folder / "settings.json").read_text())
        settings.pop("backend", None)
        settings.pop("nlist_used", None)
        settings.pop("nbits_used", None)
        obj = cls(settings)
        obj.store = TokenStore.read(folder)
        obj.index = faiss.read_index(str(folder / "tokens.faiss"))
        obj.token_doc = np.repeat(np.arange(len(obj.store.ids)), np.diff(obj.store.offsets))
        return obj

    def search(self, q: MultiVectorEmbeddings, qids: list[str], k: int) -> Run:
        faiss.extract_index_ivf(self.index).nprobe = int(self.settings["nprobe"])
        sims, tok = self.index.search(np.ascontiguousarray(q.tokens, dtype=np.float32), int(self.settings["token_k"]))
        run: Run = {}
        for i, qid in enumerate(qids):
            s, t = sims[q.offsets[i] : q.offsets[i + 1]], tok[q.offsets[i] : q.offsets[i + 1]]
            run[qid] = self._rerank(q.item(i), self._candidates(s, t), k)
        return run

    def _candidates(self, sims: np.ndarray, tok: np.ndarray) -> np.ndarray:
        """Documents ranked by approximate MaxSim: per query token, the best approximate similarity among the
        document's fetched tokens (0 where none was fetched), summed over query tokens."""
        valid = tok >= 0
        docs = np.where(valid, self.token_doc[np.where(valid, tok, 0)], -1)
        uniq, inv = np.unique(docs[valid], return_inverse=True)
        if len(uniq) == 0:
            return uniq
        best = np.zeros((tok.shape[0], len(uniq)), dtype=np.float32)
        rows = np.nonzero(valid)[0]
        np.maximum.at(best, (rows, inv), np.maximum(sims[valid], 0))
        approx = best.sum(axis=0)
        keep = np.argsort(-approx, kind="stable")[: int(self.settings["candidates"])]
        return np.sort(uniq[keep])

    def _rerank(self, q_tokens: np.ndarray, cand: np.ndarray, k: int) -> dict[str, float]:
        if len(cand) == 0:
            return {}
        block, lengths = gather_packed(self.store.tokens, self.store.offsets, cand)
        with torch.no_grad():
            scores = maxsim_packed(torch.as_tensor(q_tokens, dtype=torch.float32), block, lengths)
        top = torch.topk(scores, min(k, len(cand)))
        return {self.store.ids[int(cand[int(j)])]: float(v) for v, j in zip(top.values, top.indices)}
