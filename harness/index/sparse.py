"""The sparse (BM25) index: bm25s's inverted index saved with the passage ids."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness import bm25
from harness.api import IndexStats, Run, TextEmbeddings
from harness.errors import InputError


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


class BM25Index:
    def __init__(self, settings: dict[str, Any] | None = None):
        self.settings = {"k1": 1.5, "b": 0.75, **(settings or {})}
        self.retriever = None
        self.ids: list[str] = []

    def build(self, emb: TextEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        if not isinstance(emb, TextEmbeddings):
            raise InputError("index", "family", "the sparse index takes texts (a sparse method)")
        t0 = time.perf_counter()
        self.retriever = bm25.build(emb.texts, float(self.settings["k1"]), float(self.settings["b"]))
        self.ids = list(ids)
        seconds = time.perf_counter() - t0
        out_dir = Path(out_dir)
        bm25.save(self.retriever, out_dir / "bm25")
        (out_dir / "ids.json").write_text(json.dumps(self.ids))
        (out_dir / "settings.json").write_text(json.dumps({"backend": "bm25s", **self.settings}))
        postings = int(self.retriever.scores["data"].shape[0])
        return IndexStats(backend="bm25s", vectors=postings, items=len(ids), dim=len(self.retriever.vocab_dict),
                          bytes_on_disk=_folder_bytes(out_dir), build_seconds=seconds,
                          extra={"postings": postings, "vocabulary": len(self.retriever.vocab_dict)})

    @classmethod
    def load(cls, index_dir: Path) -> "BM25Index":
        index_dir = Path(index_dir)
        if not (index_dir / "ids.json").is_file():
            raise InputError(index_dir / "ids.json", "-", "not found (was the index stage run?)")
        settings = json.loads((index_dir / "settings.json").read_text())
        settings.pop("backend", None)
        index = cls(settings)
        index.retriever = bm25.load(index_dir / "bm25")
        index.ids = json.loads((index_dir / "ids.json").read_text())
        return index

    def search(self, q: TextEmbeddings, qids: list[str], k: int) -> Run:
        docs, scores = bm25.search(self.retriever, q.texts, min(k, len(self.ids)))
        return {qid: {self.ids[i]: s for i, s in zip(row, srow)} for qid, row, srow in zip(qids, docs, scores)}
