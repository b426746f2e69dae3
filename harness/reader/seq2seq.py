"""A sequence-to-sequence reader (T5 family): question + text-based vision + top-K passages -> answer.

It plugs into the shared training loop through `loss(queries, positives, negatives)`: each query is read with
its gold passage among its hard negatives (shuffled), and learns to generate the answer the most humans gave.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

from harness import backbones, modeling
from harness.api import Passage, Query
from harness.text import query_text


def target_answer(q: Query) -> str:
    counts = Counter(a.strip() for a in q.answers if a.strip())
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else ""


class Seq2SeqReader(nn.Module):
    def __init__(self, model: T5ForConditionalGeneration, tokenizer: Any, params: dict[str, Any]):
        super().__init__()
        self.model, self.tokenizer, self.params = model, tokenizer, params

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "Seq2SeqReader":
        spec = params["backbone"]
        if spec.get("source", "tiny") == "tiny":
            tok = backbones.load_tokenizer({"source": "tiny"})  # WordPiece vocabulary shipped offline
            t = spec.get("tiny", {})
            cfg = T5Config(vocab_size=len(tok), d_model=t.get("d_model", 128), d_ff=t.get("d_ff", 256),
                           d_kv=t.get("d_kv", 32), num_layers=t.get("num_layers", 2),
                           num_heads=t.get("num_heads", 4), pad_token_id=tok.pad_token_id,
                           eos_token_id=tok.sep_token_id, decoder_start_token_id=tok.pad_token_id)
            torch.manual_seed(seed)
            model = T5ForConditionalGeneration(cfg)
        else:
            tok = AutoTokenizer.from_pretrained(spec["source"], **backbones._hub_kwargs(spec))
            model = T5ForConditionalGeneration.from_pretrained(spec["source"], **backbones._hub_kwargs(spec))
        return cls(model, tok, params)

    def save(self, out_dir: Path) -> None:
        modeling.save_folder(self, {"reader": "seq2seq", "params": self.params,
                                    "model_config": self.model.config.to_dict()}, out_dir, self.tokenizer)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "Seq2SeqReader":
        cfg = modeling.read_config(model_dir)
        tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
        model = T5ForConditionalGeneration(T5Config(**{k: v for k, v in cfg["model_config"].items()
                                                       if k not in ("architectures",)}))
        reader = cls(model, tok, cfg["params"])
        modeling.load_weights(reader, model_dir, device)
        return reader.to(device).eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _inputs(self, queries: list[Query], contexts: list[list[Passage]]) -> dict[str, torch.Tensor]:
        texts = []
        for q, passages in zip(queries, contexts):
            parts = [f"question: {query_text(q, self.params.get('use_vision_text', True))}"]
            parts += [f"passage: {p.text}" for p in passages[: int(self.params["top_k"])]]
            texts.append(" ".join(parts))
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=int(self.params["max_input_length"]),
                             return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> torch.Tensor:
        per_q = len(negatives) // max(1, len(queries))
        contexts = []
        for i, pos in enumerate(positives):
            ctx = [pos] + negatives[i * per_q : (i + 1) * per_q]
            order = torch.randperm(len(ctx)).tolist()  # seeded per step by the shared loop
            contexts.append([ctx[j] for j in order])
        labels = self.tokenizer([target_answer(q) for q in queries], padding=True, truncation=True,
                                max_length=int(self.params["max_answer_length"]), return_tensors="pt",
                                add_special_tokens=False)["input_ids"]
        eos = torch.full((labels.shape[0], 1), self.tokenizer.pad_token_id)
        labels = torch.cat([labels, eos], 1)
        lengths = (labels != self.tokenizer.pad_token_id).sum(1)
        labels[torch.arange(len(labels)), lengths] = self.model.config.eos_token_id
        labels = labels.masked_fill(labels == self.tokenizer.pad_token_id, -100).to(self.device)
        return self.model(**self._inputs(queries, contexts), labels=labels).loss

    @torch.no_grad()
    def answer(self, queries: list[Query], contexts: dict[str, list[Passage]], batch_size: int = 32) -> dict[str, str]:
        was_training = self.training
        self.eval()
        out: dict[str, str] = {}
        for i in range(0, len(queries), batch_size):
            batch = queries[i : i + batch_size]
            gen = self.model.generate(**self._inputs(batch, [contexts.get(q.qid, []) for q in batch]),
                                      num_beams=int(self.params.get("num_beams", 2)),
                                      max_new_tokens=int(self.params["max_answer_length"]) + 1)
            for q, ids in zip(batch, gen):
                out[q.qid] = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        self.train(was_training)
        return out
