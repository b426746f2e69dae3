"""PLAID (Santhanam et al., 2022) through colbert-ai, fed our own token embeddings (its text encoder does not
load under transformers 5). An optional extra: `pip install colbert-ai`; without it this backend stops with
one clear line. colbert-ai compiles two small C++ extensions on first use (cached under ~/.cache)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.api import IndexStats, MultiVectorEmbeddings, Run
from harness.atomic import write_json
from harness.errors import InputError
from harness.index.late import TokenStore


def available() -> bool:
    try:
        import colbert  # noqa: F401
    except ImportError:
        return False
    return True


def _require() -> None:
    if not available():
        raise InputError("params.yaml", "index.late.backend",
                         "'plaid' needs the optional extra colbert-ai (pip install 'flmr-bench[plaid]')")


@contextlib.contextmanager
def _quiet():
    """colbert-ai prints a great deal; keep stage logs readable."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class _StoreEncoder:
    """Stands in for colbert-ai's CollectionEncoder: passages are row numbers into our token store."""

    def __init__(self, emb: MultiVectorEmbeddings):
        self.emb = emb

    def encode_passages(self, passages: list[str]):
        if not passages:
            return None, None
        rows = [int(p) for p in passages]
        parts = [self.emb.item(r) for r in rows]
        return torch.from_numpy(np.concatenate(parts).astype(np.float32)), [len(p) for p in parts]


class PlaidIndex:
    backend = "plaid"
    # colbert-ai's own defaults by k (Searcher.dense_search); settings of None mean "as colbert-ai chooses".
    DEFAULTS = ((10, 1, 0.5, 256), (100, 2, 0.45, 1024), (None, 4, 0.4, 4096))

    def __init__(self, settings: dict[str, Any]):
        self.settings = {"nbits": 2, "kmeans_niters": 4, "ncells": None, "centroid_score_threshold": None,
                         "ndocs": None, **settings}
        self.scorer = None
        self.ids: list[str] = []
        self.folder: Path | None = None

    def _config(self, **extra: Any):
        from colbert.infra.config import ColBERTConfig

        return ColBERTConfig(nbits=int(self.settings["nbits"]), kmeans_niters=int(self.settings["kmeans_niters"]),
                             avoid_fork_if_possible=True, nranks=1, gpus=0, **extra)

    def build(self, emb: MultiVectorEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        _require()
        from colbert.data.collection import Collection
        from colbert.indexing.collection_indexer import CollectionIndexer
        from colbert.indexing.index_saver import IndexSaver
        from colbert.infra.run import Run as ColbertRun
        from colbert.infra.config import RunConfig

        out_dir = Path(out_dir)
        t0 = time.perf_counter()
        TokenStore.write(emb, ids, out_dir)  # our ids and the exact tokens, for re-ranking and checks
        plaid_dir = out_dir / "plaid"
        max_len = int(np.diff(emb.offsets).max(initial=1))
        config = self._config(dim=int(emb.tokens.shape[1]), doc_maxlen=max_len, index_path=str(plaid_dir),
                              root=str(out_dir), experiment="plaid")
        torch.manual_seed(0)
        np.random.seed(0)
        import random
        random.seed(0)
        with _quiet(), ColbertRun().context(RunConfig(nranks=1, root=str(out_dir), experiment="plaid")):
            indexer = CollectionIndexer.__new__(CollectionIndexer)
            indexer.verbose, indexer.config, indexer.rank, indexer.nranks = 0, config, 0, 1
            indexer.use_gpu = False
            indexer.collection = Collection.cast([str(i) for i in range(len(ids))])
            indexer.encoder = _StoreEncoder(emb)
            indexer.saver = IndexSaver(config)
            plaid_dir.mkdir(parents=True, exist_ok=True)
            indexer.run([[None]])
        write_json(out_dir / "settings.json", {"backend": self.backend, **self.settings})
        build_seconds = time.perf_counter() - t0
        plaid_bytes = sum(f.stat().st_size for f in plaid_dir.rglob("*") if f.is_file())
        n_tok = int(emb.tokens.shape[0])
        ram = PlaidIndex.load(out_dir).ram_bytes()
        return IndexStats(self.backend, vectors=n_tok, items=len(ids), dim=int(emb.tokens.shape[1]),
                          bytes_on_disk=plaid_bytes, build_seconds=build_seconds,
                          extra={"nbits": int(self.settings["nbits"]), "bytes_per_token_ram": ram / n_tok,
                                 "bytes_per_token_disk": plaid_bytes / n_tok})

    def ram_bytes(self) -> int:
        """What the loaded searcher holds in memory: every tensor reachable from colbert-ai's IndexScorer (codec
        centroids, which it widens to float32 on CPU, codes, residuals, IVF, document lengths, strided offsets),
        each storage counted once. More than the files on disk: float16 centroids and int32 lengths widen."""
        seen: dict[int, int] = {}

        def walk(obj: Any, depth: int) -> None:
            if isinstance(obj, torch.Tensor):
                seen[obj.untyped_storage().data_ptr()] = obj.untyped_storage().nbytes()
            elif depth < 4 and isinstance(obj, (list, tuple)):
                for item in obj:
                    walk(item, depth + 1)
            elif depth < 4 and isinstance(obj, dict):
                for item in obj.values():
                    walk(item, depth + 1)
            elif depth < 4 and hasattr(obj, "__dict__") and not isinstance(obj, type):
                for item in vars(obj).values():
                    walk(item, depth + 1)

        walk(self.scorer, 0)
        return sum(seen.values())

    @classmethod
    def load(cls, folder: Path) -> "PlaidIndex":
        _require()
        from colbert.modeling.colbert import ColBERT
        from colbert.search.index_storage import IndexScorer

        folder = Path(folder)
        settings = json.loads((folder / "settings.json").read_text())
        settings.pop("backend", None)
        obj = cls(settings)
        obj.folder = folder
        obj.ids = json.loads((folder / "ids.json").read_text())
        with _quiet():
            ColBERT.try_load_torch_extensions(False)  # the packed MaxSim kernel search needs
            IndexScorer.try_load_torch_extensions(False)
            obj.scorer = IndexScorer(str(folder / "plaid"), use_gpu=False, load_index_with_mmap=False)
        return obj

    def _search_config(self, k: int):
        for limit, ncells, threshold, ndocs in self.DEFAULTS:
            if limit is None or k <= limit:
                break
        s = self.settings
        return self._config(ncells=s["ncells"] or ncells,
                            centroid_score_threshold=s["centroid_score_threshold"] or threshold,
                            ndocs=s["ndocs"] or max(ndocs, 4 * k))

    def search(self, q: MultiVectorEmbeddings, qids: list[str], k: int) -> Run:
        config = self._search_config(k)
        run: Run = {}
        with torch.inference_mode(), _quiet():
            for i, qid in enumerate(qids):
                Q = torch.from_numpy(np.asarray(q.item(i), dtype=np.float32))[None]
                pids, scores = self.scorer.rank(config, Q)
                run[qid] = {self.ids[int(p)]: float(s) for p, s in zip(pids[:k], scores[:k])}
        return run
