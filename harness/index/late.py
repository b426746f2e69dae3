"""The token store every late-interaction backend shares, and `exact`: exhaustive MaxSim in torch over
length-sorted chunks of documents, so memory stays bounded; tokens are stored as float16 on disk and
memory-mapped, so RAM holds one chunk at a time. The reference ranking."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.api import IndexStats, MultiVectorEmbeddings, Run
from harness.atomic import atomic_path, write_json
from harness.errors import InputError
from harness.index.maxsim import maxsim_flat, pad_packed, pad_repeat
from harness.pagecache import advise_random, release
from harness.progress import bar

SIM_BUDGET = 1 << 25  # elements of the [queries, docs, q_tokens, d_tokens] similarity block (128 MiB float32)
WRITE_SLICE = 1 << 20  # token rows copied into the store at a time
PAD_CACHE_BYTES = 1 << 30  # padded corpora up to 1 GiB stay in memory between searches


def _cache_limit(device: str) -> int:
    """Bytes of padded chunks kept between searches: PAD_CACHE_BYTES of host RAM, or a quarter of the free
    memory of a CUDA device (the corpus then stays on the GPU instead of crossing the bus per search)."""
    if device.startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return max(PAD_CACHE_BYTES, free // 4)
    return PAD_CACHE_BYTES


def _write_float16(tokens: np.ndarray, path: Path) -> None:
    """tokens as a float16 .npy, copied in slices (a memory-mapped corpus may exceed RAM), each slice's pages
    released from this process once written."""
    with atomic_path(path) as tmp:
        if len(tokens) == 0:  # nothing to map
            with open(tmp, "wb") as fh:
                np.save(fh, np.zeros(tokens.shape, np.float16), allow_pickle=False)
            return
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=tokens.shape)
        for s in range(0, len(tokens), WRITE_SLICE):
            src = tokens[s : s + WRITE_SLICE]
            out[s : s + len(src)] = src
            out.flush()
            release(src)
            release(out[s : s + len(src)])
        del out


class TokenStore:
    """Packed document tokens (float16) and offsets, memory-mapped when loaded."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, ids: list[str]):
        self.tokens, self.offsets, self.ids = tokens, offsets, ids
        self.path: Path | None = None  # the memory-mapped file, when read from one

    @classmethod
    def write(cls, emb: MultiVectorEmbeddings, ids: list[str], out_dir: Path) -> "TokenStore":
        if len(ids) != len(emb):
            raise InputError(out_dir, "ids", f"{len(ids)} ids for {len(emb)} documents")
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_float16(emb.tokens, out_dir / "tokens.npy")
        with atomic_path(out_dir / "offsets.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, emb.offsets.astype(np.int64), allow_pickle=False)
        write_json(out_dir / "ids.json", list(ids))
        return cls.read(out_dir)

    @classmethod
    def read(cls, folder: Path) -> "TokenStore":
        if not (folder / "tokens.npy").is_file():
            raise InputError(folder / "tokens.npy", "-", "index file not found (was the index stage run?)")
        tokens = np.load(folder / "tokens.npy", mmap_mode="r", allow_pickle=False)
        if sys.platform.startswith("linux"):
            advise_random(tokens)  # a search reads a few documents' pages, not megabytes of read-ahead
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        store = cls(tokens, offsets, json.loads((folder / "ids.json").read_text()))
        store.path = folder / "tokens.npy"
        return store

    def bytes_on_disk(self, folder: Path) -> int:
        return sum((folder / n).stat().st_size for n in ("tokens.npy", "offsets.npy"))

    @property
    def max_len(self) -> int:
        return int(np.diff(self.offsets).max(initial=1))

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def _bounds(self, lengths: np.ndarray, max_cols: int, max_docs: int | None
                ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        key = (max_cols, max_docs)
        if getattr(self, "_bounds_key", None) != key:
            order = np.argsort(lengths, kind="stable")
            bounds, start = [], 0
            while start < len(order):
                # lengths ascend, so the last document of a chunk sets its padded length
                size = max(1, max_cols // int(lengths[order[min(len(order), start + 1) - 1]]))
                stop = min(len(order), start + size if max_docs is None else start + min(size, max_docs))
                while stop - start > 1 and (stop - start) * int(lengths[order[stop - 1]]) > max_cols:
                    stop = start + max(1, max_cols // int(lengths[order[stop - 1]]))
                bounds.append((start, stop))
                start = stop
            self._bounds_key, self._bounds_val = key, (order, bounds)
        return self._bounds_val

    def chunks(self, max_cols: int, max_docs: int | None = None, device: str = "cpu"
               ) -> list[tuple[np.ndarray, torch.Tensor]] | Any:
        """(document indices, tokens padded by repetition) in order of length, so a chunk pads little; each chunk
        holds at most `max_cols` padded tokens (and `max_docs` documents). Kept in memory after the first pass
        when they fit in PAD_CACHE_BYTES, so repeated searches (batch-1 latency) do not re-pad the corpus."""
        key = (max_cols, max_docs, device)
        cached = getattr(self, "_chunks", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        lengths = np.maximum(self.lengths(), 1)
        order, bounds = self._bounds(lengths, max_cols, max_docs)
        lazy = ((order[a:b], pad_repeat(self.tokens, self.offsets, order[a:b]).to(device)) for a, b in bounds)
        padded_bytes = sum((b - a) * int(lengths[order[b - 1]]) for a, b in bounds) * self.tokens.shape[1] * 4
        if padded_bytes > _cache_limit(device):
            return lazy  # too big to keep: stream one padded chunk at a time
        self._chunks = (key, list(lazy))
        return self._chunks[1]


def _query_batches(q: MultiVectorEmbeddings, size: int):
    starts = range(0, len(q), size)
    for start in bar(starts, "search", total=len(starts), unit="batch"):
        stop = min(len(q), start + size)
        yield start, pad_packed(q.tokens, q.offsets, start, stop)


def _merge_topk(best: tuple[torch.Tensor, torch.Tensor] | None, scores: torch.Tensor, docs: np.ndarray, k: int):
    vals, idx = torch.topk(scores, min(k, scores.shape[1]), dim=1)
    idx = torch.from_numpy(docs).to(idx.device)[idx]
    if best is not None:
        vals, order = torch.topk(torch.cat([best[0], vals], 1), min(k, best[0].shape[1] + vals.shape[1]), dim=1)
        idx = torch.gather(torch.cat([best[1], idx], 1), 1, order)
    return vals, idx


def exact_maxsim_search(q: MultiVectorEmbeddings, store: TokenStore, k: int, query_batch: int = 8,
                        doc_chunk: int | None = None, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, document indices) for every query by exhaustive MaxSim, in bounded memory: per chunk of
    documents one matrix product [queries x query tokens, padded document tokens] and one max (`maxsim_flat`)."""
    all_vals, all_idx = [], []
    lq = int(np.diff(q.offsets).max(initial=1))
    max_cols = max(store.max_len, SIM_BUDGET // max(1, query_batch * lq))
    with torch.no_grad():
        for _, (qt, _) in _query_batches(q, query_batch):
            best = None
            q_flat = qt.reshape(-1, qt.shape[-1]).to(device)
            for docs, d in store.chunks(max_cols, doc_chunk, device):
                best = _merge_topk(best, maxsim_flat(q_flat, qt.shape[0], d), docs, k)
            all_vals.append(best[0].cpu().numpy())
            all_idx.append(best[1].cpu().numpy())
    return np.concatenate(all_vals), np.concatenate(all_idx)


def _to_run(qids: list[str], ids: list[str], vals: np.ndarray, idx: np.ndarray) -> Run:
    return {qid: {ids[int(i)]: float(v) for v, i in zip(vrow, irow) if i >= 0} for qid, vrow, irow in zip(qids, vals, idx)}


class ExactMaxSimIndex:
    backend = "exact"

    def __init__(self, settings: dict[str, Any]):
        self.settings = {"query_batch": 8, **settings}
        self.store: TokenStore | None = None

    def build(self, emb: MultiVectorEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        t0 = time.perf_counter()
        self.store = TokenStore.write(emb, ids, Path(out_dir))
        write_json(Path(out_dir) / "settings.json", {"backend": self.backend, **self.settings})
        return IndexStats(self.backend, vectors=int(emb.tokens.shape[0]), items=len(ids), dim=int(emb.tokens.shape[1]),
                          bytes_on_disk=self.store.bytes_on_disk(Path(out_dir)), build_seconds=time.perf_counter() - t0,
                          extra={"bytes_per_token_ram": 0.0, "bytes_per_token_disk": 2.0 * emb.tokens.shape[1]})

    @classmethod
    def load(cls, folder: Path, **overrides: Any) -> "ExactMaxSimIndex":
        obj = cls({**json.loads((Path(folder) / "settings.json").read_text()), **overrides})
        obj.settings.pop("backend", None)
        obj.store = TokenStore.read(Path(folder))
        return obj

    def search(self, q: MultiVectorEmbeddings, qids: list[str], k: int) -> Run:
        vals, idx = exact_maxsim_search(q, self.store, k, int(self.settings["query_batch"]),
                                        device=str(self.settings.get("device", "cpu")))
        return _to_run(qids, self.store.ids, vals, idx)
