"""A sequence-to-sequence reader (T5 family): question + text-based vision + top-K passages -> answer.

It plugs into the shared training loop through `loss(queries, positives, negatives)`: each query is read with
its gold passage among its hard negatives (shuffled), and learns to generate the answer the most humans gave.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

from harness import backbones, modeling
from harness.hub import local_folder
from harness.api import Passage, Query
from harness.distributed.in_batch import global_mean
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
            folder = local_folder(spec, ("params", "reader.backbone.revision"))
            tok = AutoTokenizer.from_pretrained(folder)
            model, info = T5ForConditionalGeneration.from_pretrained(folder, output_loading_info=True)
            backbones.check_loaded(info, spec["source"], "reader.backbone.source", tolerated=())
        return cls(model, tok, params)

    def save(self, out_dir: Path) -> None:
        self._save_folder({"reader": "seq2seq", "params": self.params, "model_config": self.model.config.to_dict()},
                          out_dir)

    def _save_folder(self, config: dict[str, Any], out_dir: Path) -> None:
        modeling.save_folder(self, config, out_dir, self.tokenizer)

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
    def eos_token_id(self) -> int:
        return int(self.model.config.eos_token_id)

    @property
    def per_passage(self) -> bool:
        return self.params.get("mode", "concat") == "per_passage"

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
        targets = [target_answer(q) for q in queries]
        positives, targets = self._substitute(positives, targets)
        contexts = []
        for i, pos in enumerate(positives):
            # per_passage (RA-VQA): learn to answer from the passage that holds the answer, alone
            ctx = [pos] if self.per_passage else [pos] + negatives[i * per_q : (i + 1) * per_q]
            order = torch.randperm(len(ctx)).tolist()  # seeded per step by the shared loop
            contexts.append([ctx[j] for j in order])
        labels = self.tokenizer(targets, padding=True, truncation=True,
                                max_length=int(self.params["max_answer_length"]), return_tensors="pt",
                                add_special_tokens=False)["input_ids"]
        eos = torch.full((labels.shape[0], 1), self.tokenizer.pad_token_id)
        labels = torch.cat([labels, eos], 1)
        lengths = (labels != self.tokenizer.pad_token_id).sum(1)
        labels[torch.arange(len(labels)), lengths] = self.eos_token_id
        labels = labels.masked_fill(labels == self.tokenizer.pad_token_id, -100).to(self.device)
        logits = self.model(**self._inputs(queries, contexts), labels=labels).logits
        # summed over answer tokens and divided by the global count: the one-process mean under torchrun too
        total = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum")
        return global_mean(total, int((labels != -100).sum()))

    def _pseudo_word(self) -> str:
        """A made-up word from the tokenizer's own pieces (a word start plus 1-2 continuations), drawn with the
        seeded torch generator, so a substituted answer is never one the reader could have memorised."""
        if not hasattr(self, "_pieces"):
            vocab = self.tokenizer.get_vocab()
            starts = sorted(w for w in vocab if w.isascii() and w.isalpha() and w.islower() and len(w) >= 2)
            conts = sorted(w[2:] for w in vocab if w.startswith("##") and w[2:].isascii() and w[2:].isalpha())
            self._pieces = (starts, conts or [""])
        starts, conts = self._pieces
        word = starts[int(torch.randint(0, len(starts), ()))]
        for _ in range(int(torch.randint(1, 3, ()))):
            word += conts[int(torch.randint(0, len(conts), ()))]
        return word

    def _substitute(self, positives: list[Passage], targets: list[str]) -> tuple[list[Passage], list[str]]:
        """Counterfactual answer substitution (after Longpre et al., 2021): with probability
        `answer_substitution`, the answer in the gold passage and the target both become a made-up word, so the
        reader cannot answer from memory and must read the passage; 0 (the default) leaves the data as it is."""
        p = float(self.params.get("answer_substitution", 0.0))
        if p <= 0:
            return positives, targets
        new_pos, new_tgt = list(positives), list(targets)
        for i, (pos, tgt) in enumerate(zip(positives, targets)):
            if not tgt or float(torch.rand(())) >= p:
                continue
            pattern = re.compile(rf"\b{re.escape(tgt)}\b", re.IGNORECASE)
            if pattern.search(pos.text):
                word = self._pseudo_word()
                new_pos[i] = dataclasses.replace(pos, text=pattern.sub(word, pos.text))
                new_tgt[i] = word
        return new_pos, new_tgt

    @torch.no_grad()
    def answer(self, queries: list[Query], contexts: dict[str, list[Passage]],
               scores: dict[str, list[float]] | None = None, batch_size: int = 32) -> dict[str, str]:
        """Answer each query from its passages: all K in one input ("concat"), or one input per passage with the
        answer chosen by joint score, log softmax of the retrieval scores + the answer's log-likelihood
        ("per_passage", RA-VQA). Without passages the question and its vision text are read alone."""
        was_training = self.training
        self.eval()
        k = int(self.params["top_k"])
        if self.per_passage:
            items = [(q, [p], j) for q in queries for j, p in enumerate(contexts.get(q.qid, [])[:k])]
            items += [(q, [], 0) for q in queries if not contexts.get(q.qid)]
        else:
            items = [(q, contexts.get(q.qid, []), 0) for q in queries]
        texts, seq_scores = self._generate([(q, c) for q, c, _ in items], batch_size)
        best: dict[str, tuple[float, str]] = {}
        for (q, ctx, j), text, gen_score in zip(items, texts, seq_scores):
            prior = 0.0
            if self.per_passage and ctx and scores and scores.get(q.qid):
                prior = float(torch.log_softmax(torch.tensor(scores[q.qid][:k], dtype=torch.float64), 0)[j])
            joint = prior + gen_score
            if q.qid not in best or joint > best[q.qid][0]:
                best[q.qid] = (joint, text)
        self.train(was_training)
        return {q.qid: best[q.qid][1] for q in queries}

    def _generate(self, items: list[tuple[Query, list[Passage]]], batch_size: int) -> tuple[list[str], list[float]]:
        texts: list[str] = []
        seq_scores: list[float] = []
        for i in range(0, len(items), batch_size):
            batch = items[i : i + batch_size]
            gen = self.model.generate(**self._inputs([q for q, _ in batch], [c for _, c in batch]),
                                      num_beams=int(self.params.get("num_beams", 2)),
                                      max_new_tokens=int(self.params["max_answer_length"]) + 1,
                                      return_dict_in_generate=True, output_scores=True)
            texts += [self.tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in gen.sequences]
            seq_scores += (gen.sequences_scores.tolist() if getattr(gen, "sequences_scores", None) is not None
                           else [0.0] * len(batch))
        return texts, seq_scores
