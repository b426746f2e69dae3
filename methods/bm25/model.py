"""BM25 as a Retriever: 'encoding' is the query or passage text; the sparse index tokenises and scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from harness.api import Passage, Query, TextEmbeddings
from harness.text import passage_text, query_text


class BM25Retriever(nn.Module):
    family = "sparse"
    trainable = False  # the shared loop is skipped; validation is still scored and recorded

    def __init__(self, params: dict[str, Any]):
        super().__init__()
        self.params = params

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "BM25Retriever":
        return cls(params)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "BM25Retriever":
        return cls(json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))["params"])

    def save(self, out_dir: Path) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps({"method": "bm25", "params": self.params}, indent=2))

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> Any:
        raise TypeError("BM25 has nothing to train")

    def encode_queries(self, queries: list[Query], batch_size: int | None = None) -> TextEmbeddings:
        return TextEmbeddings([query_text(q, self.params.get("use_vision_text", True)) for q in queries])

    def encode_passages(self, passages: list[Passage], batch_size: int | None = None) -> TextEmbeddings:
        return TextEmbeddings([passage_text(p) for p in passages])
