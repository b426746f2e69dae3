"""DPR bi-encoder: a query encoder and a passage encoder, [CLS] pooling, dot-product scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoTokenizer

from harness import backbones, modeling
from harness.api import DenseEmbeddings, Passage, Query
from harness.distributed.in_batch import gather_rows, in_batch_loss
from harness.text import passage_text, query_text
from harness.progress import batched


class DPRRetriever(nn.Module):
    family = "dense"

    def __init__(self, query_encoder: nn.Module, passage_encoder: nn.Module, tokenizer: Any, params: dict[str, Any]):
        super().__init__()
        self.query_encoder = query_encoder
        self.passage_encoder = passage_encoder
        self.tokenizer = tokenizer
        self.params = params

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "DPRRetriever":
        tok = backbones.load_tokenizer(params["backbone"])
        q_enc = backbones.build_text_encoder(params["backbone"], len(tok), seed)
        p_enc = backbones.build_text_encoder(params["backbone"], len(tok), seed + 1)
        return cls(q_enc, p_enc, tok, params)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "DPRRetriever":
        cfg = modeling.read_config(model_dir)
        tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
        model = cls(backbones.encoder_from_config(cfg["encoder_config"]),
                    backbones.encoder_from_config(cfg["encoder_config"]), tok, cfg["params"])
        modeling.load_weights(model, model_dir, device)
        return model.to(device).eval()

    def save(self, out_dir: Path) -> None:
        cfg = {"method": "dpr", "params": self.params, "encoder_config": self.query_encoder.config.to_dict()}
        modeling.save_folder(self, cfg, out_dir, self.tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _cls(self, encoder: nn.Module, texts: list[str], max_len: int) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        hidden = encoder(**batch).last_hidden_state
        if self.params.get("pooling", "cls") == "mean":
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        else:
            pooled = hidden[:, 0]
        # sentence-transformers checkpoints (MiniLM) are trained for cosine similarity: unit vectors
        return F.normalize(pooled, dim=-1) if self.params.get("normalize", False) else pooled

    def _queries(self, queries: list[Query]) -> torch.Tensor:
        texts = [query_text(q, self.params.get("use_vision_text", True)) for q in queries]
        return self._cls(self.query_encoder, texts, self.params["max_query_length"])

    def _passages(self, passages: list[Passage]) -> torch.Tensor:
        return self._cls(self.passage_encoder, [passage_text(p) for p in passages], self.params["max_passage_length"])

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> torch.Tensor:
        """In-batch negatives plus the hard negatives: query i's target is passage i."""
        q = self._queries(queries)
        # under torchrun every rank's passages are this rank's negatives too (harness/distributed/in_batch.py)
        (p,), start = gather_rows([self._passages(positives + negatives)])
        # unit vectors give scores in [-1, 1]: `scale` (an inverse temperature) sharpens the softmax
        return in_batch_loss((q @ p.T) * float(self.params.get("scale", 1.0)), start)

    @torch.no_grad()
    def _encode(self, fn, items: list, batch_size: int) -> DenseEmbeddings:
        was_training = self.training
        self.eval()
        out = [fn(batch).float().cpu().numpy() for batch in batched(items, batch_size)]
        self.train(was_training)
        dim = self.query_encoder.config.hidden_size
        return DenseEmbeddings(np.concatenate(out).astype(np.float32) if out else np.zeros((0, dim), np.float32))

    def encode_queries(self, queries: list[Query], batch_size: int | None = None) -> DenseEmbeddings:
        return self._encode(self._queries, queries, batch_size or self.params["encode_batch_size"])

    def encode_passages(self, passages: list[Passage], batch_size: int | None = None) -> DenseEmbeddings:
        return self._encode(self._passages, passages, batch_size or self.params["encode_batch_size"])
