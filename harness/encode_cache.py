"""Cache of encoded corpora and query sets: a re-run with the same weights, settings and passages reads the vectors back
instead of encoding again (an index rebuilt with other settings; a zero-shot model scored on validation and
then indexed). Entries live under .cache/encoded/<key>/, written atomically, least recently used evicted past
FLMR_BENCH_ENCODE_CACHE_GIB (default 8); FLMR_BENCH_ENCODE_CACHE=0 turns the cache off, and deleting the
folder is always safe."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.api import DenseEmbeddings, Embeddings, MultiVectorEmbeddings, Passage, Query
from harness.atomic import atomic_dir
from harness.code_deps import code_digest, method_code

CACHE_DIR = Path(".cache") / "encoded"


def enabled() -> bool:
    return os.environ.get("FLMR_BENCH_ENCODE_CACHE", "1") != "0"


def limit_bytes() -> int:
    return int(float(os.environ.get("FLMR_BENCH_ENCODE_CACHE_GIB", "8")) * 2**30)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def evict(cache_dir: Path, keep: Path) -> None:
    """Least recently used entries go first once the cache holds more than its limit (never `keep`)."""
    entries = [d for d in Path(cache_dir).iterdir() if (d / "done").is_file()]
    sizes = {d: _size(d) for d in entries}
    total = sum(sizes.values())
    for d in sorted(entries, key=lambda d: (d / "done").stat().st_mtime):
        if total <= limit_bytes():
            break
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)
            total -= sizes[d]


def weights_digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        # reshape(-1): a 0-dim tensor (BatchNorm's num_batches_tracked) cannot be viewed as bytes; for every other
        # tensor the bytes are the same as before, so existing cache keys stay valid
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def corpus_digest(passages: list[Passage]) -> str:
    h = hashlib.sha256()
    for p in passages:
        h.update(json.dumps([p.pid, p.title, p.text]).encode())
    return h.hexdigest()


def encoder_code_digest(model: torch.nn.Module) -> str:
    """The code that turns passages into vectors: the model's method folder and every project module it
    imports (passage text, backbones, ...), so an edit there never reuses stale vectors."""
    return code_digest(method_code(type(model).__module__))


def queries_digest(queries: list[Query]) -> str:
    """Everything a query encoder may read: text, vision text, regions, and the image file's bytes."""
    h = hashlib.sha256(b"queries")
    for q in queries:
        h.update(json.dumps([q.qid, q.text, q.vision_text, str(q.image) if q.image else None,
                             [dataclasses.astuple(r) for r in q.rois]], default=str).encode())
        if q.image is not None and Path(q.image).is_file():
            h.update(hashlib.sha256(Path(q.image).read_bytes()).digest())
    return h.hexdigest()


def cache_key(model: torch.nn.Module, items_digest: str) -> str:
    settings = json.dumps({"class": type(model).__qualname__, "params": getattr(model, "params", {})},
                          sort_keys=True, default=str)
    parts = [weights_digest(model), settings, encoder_code_digest(model), items_digest]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _read(folder: Path) -> Embeddings:
    if (folder / "vectors.npy").is_file():
        return DenseEmbeddings(np.load(folder / "vectors.npy"))
    return MultiVectorEmbeddings(np.load(folder / "tokens.npy"), np.load(folder / "offsets.npy"))


def _write(folder: Path, emb: Embeddings) -> None:
    if isinstance(emb, DenseEmbeddings):
        np.save(folder / "vectors.npy", emb.vectors)
    else:
        np.save(folder / "tokens.npy", emb.tokens)
        np.save(folder / "offsets.npy", emb.offsets)


def encode_passages(model: Any, passages: list[Passage], cache_dir: Path = CACHE_DIR) -> tuple[Embeddings, bool]:
    """The model's passage embeddings, and whether they came from the cache."""
    return _cached(model, lambda: corpus_digest(passages), lambda: model.encode_passages(passages), cache_dir)


def encode_queries(model: Any, queries: list[Query], cache_dir: Path = CACHE_DIR) -> tuple[Embeddings, bool]:
    """The model's query embeddings, and whether they came from the cache: every task of a pipeline that asks
    the same questions (corpus subsets, other corpora) encodes them once per model."""
    return _cached(model, lambda: queries_digest(queries), lambda: model.encode_queries(queries), cache_dir)


def _cached(model: Any, items_digest: Callable[[], str], encode: Callable[[], Embeddings], cache_dir: Path
            ) -> tuple[Embeddings, bool]:
    if not enabled() or not isinstance(model, torch.nn.Module) or not list(model.parameters()):
        return encode(), False
    folder = Path(cache_dir) / cache_key(model, items_digest())
    if (folder / "done").is_file():
        (folder / "done").touch()  # recently used
        return _read(folder), True
    emb = encode()
    if isinstance(emb, (DenseEmbeddings, MultiVectorEmbeddings)):
        with atomic_dir(folder) as tmp:
            _write(tmp, emb)
            (tmp / "done").write_text("")
        evict(Path(cache_dir), keep=folder)
    return emb, False
