"""An extractive reader: a BERT-family encoder (MiniLM offline, or any local / pinned BERT-family folder) with a
start/end span head. It reads [CLS] question + text-based vision [SEP] one passage [SEP] and points at the answer's
span in the passage, or at [CLS] to decline ("no answer in this passage", as SQuAD 2.0 readers do).

Training (shared loop, `loss(queries, positives, negatives)`): each question is read with its pseudo-relevant
passage, whose span is the answer's first occurrence by the one hit rule (`harness.reader.spans`), and with its
hard negatives, labelled by the same rule ([CLS] when they hold no answer, or when the answer lies past the
truncated input).

Answering over the top K (RA-VQA's joint score): each passage gives its best span (at most
`max_answer_tokens` long) with log-probability log p(start) + log p(end); a passage whose [CLS] scores at least as
high declines. Among the passages that answer, the answer with the highest log softmax of the retrieval scores
(over the K) + span log-probability wins. When every passage declines, `abstain: true` answers nothing (""); the
default, `abstain: false`, takes the best span by the same joint score anyway, since the VQA score gives an empty
answer nothing. With no passages (the `none` bound) it reads the question's vision text as its one passage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoTokenizer

from harness import backbones, modeling
from harness.api import Passage, Query
from harness.distributed.in_batch import global_mean
from harness.reader.spans import answer_span
from harness.text import query_text

NEG = -1e4  # logit for positions a span may not use (question tokens, padding)
VISION_PID = "<vision text>"


class ExtractiveReader(nn.Module):
    per_passage = True  # one input per passage: selected on reading the gold passage alone

    def __init__(self, encoder: nn.Module, tokenizer: Any, params: dict[str, Any]):
        super().__init__()
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("the extractive reader needs a fast tokenizer (character offsets)")
        self.encoder, self.tokenizer, self.params = encoder, tokenizer, params
        self.span_head = nn.Linear(encoder.config.hidden_size, 2)

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "ExtractiveReader":
        spec = params["backbone"]
        tok = backbones.load_tokenizer(spec)
        encoder = backbones.build_text_encoder(spec, len(tok), seed)
        torch.manual_seed(seed)  # the span head's initial weights
        return cls(encoder, tok, params)

    def save(self, out_dir: Path) -> None:
        modeling.save_folder(self, {"reader": "extractive", "params": self.params,
                                    "encoder_config": self.encoder.config.to_dict()}, out_dir, self.tokenizer)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "ExtractiveReader":
        cfg = modeling.read_config(model_dir)
        tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
        reader = cls(backbones.encoder_from_config(cfg["encoder_config"]), tok, cfg["params"])
        modeling.load_weights(reader, model_dir, device)
        return reader.to(device).eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # --- inputs -------------------------------------------------------------------------------------------------
    def _clip(self, text: str) -> str:
        """The question side cut to `max_question_tokens`, so truncation only ever shortens the passage."""
        n = int(self.params.get("max_question_tokens", 64))
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return text if len(offsets) <= n else text[: offsets[n - 1][1]]

    def _question(self, q: Query, passage: Passage) -> str:
        # reading the vision text as the passage: the question side holds the question alone
        use_vision = self.params.get("use_vision_text", True) and passage.pid != VISION_PID
        return self._clip(query_text(q, use_vision))

    def _encode(self, pairs: list[tuple[Query, Passage]]) -> tuple[Any, dict[str, torch.Tensor], torch.Tensor]:
        enc = self.tokenizer([self._question(q, p) for q, p in pairs], [p.text for _, p in pairs],
                             truncation="only_second", max_length=int(self.params.get("max_input_length", 256)),
                             padding=True, return_offsets_mapping=True, return_tensors="pt")
        allowed = torch.zeros(enc["input_ids"].shape, dtype=torch.bool)
        for i in range(len(pairs)):
            allowed[i] = torch.tensor([s == 1 for s in enc.sequence_ids(i)])
        allowed[:, 0] = True  # [CLS]: no answer in this passage
        inputs = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        return enc, inputs, allowed.to(self.device)

    def _log_probs(self, inputs: dict[str, torch.Tensor], allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(**inputs).last_hidden_state
        logits = self.span_head(hidden).masked_fill(~allowed.unsqueeze(-1), NEG)
        return F.log_softmax(logits[..., 0], -1), F.log_softmax(logits[..., 1], -1)

    @staticmethod
    def token_span(enc: Any, i: int, span: tuple[int, int] | None) -> tuple[int, int]:
        """Token positions of a character span in the passage of input i; (0, 0), [CLS], when there is no span
        or it lies (partly) past the truncated input."""
        if span is None:
            return 0, 0
        start_char, end_char = span
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i].tolist()
        passage = [t for t, s in enumerate(seq) if s == 1]
        if not passage or offsets[passage[-1]][1] < end_char:
            return 0, 0
        start = next(t for t in passage if offsets[t][1] > start_char)
        end = max(t for t in passage if offsets[t][0] < end_char)
        return (start, end) if end >= start else (0, 0)

    # --- training -----------------------------------------------------------------------------------------------
    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> torch.Tensor:
        per_q = len(negatives) // max(1, len(queries))
        pairs = []
        for i, (q, pos) in enumerate(zip(queries, positives)):
            pairs += [(q, p) for p in [pos] + negatives[i * per_q : (i + 1) * per_q]]
        enc, inputs, allowed = self._encode(pairs)
        labels = torch.tensor([self.token_span(enc, i, answer_span(p.text, q.answers))
                               for i, (q, p) in enumerate(pairs)], device=self.device)
        log_start, log_end = self._log_probs(inputs, allowed)
        total = (F.nll_loss(log_start, labels[:, 0], reduction="sum") + F.nll_loss(log_end, labels[:, 1], reduction="sum")) / 2
        return global_mean(total, len(pairs))  # the one-process mean under torchrun too

    # --- answering ----------------------------------------------------------------------------------------------
    def _best_spans(self, pairs: list[tuple[Query, Passage]]) -> list[tuple[float, str, bool]]:
        """Per (question, passage): (span log-probability, span text, whether the passage declines)."""
        enc, inputs, allowed = self._encode(pairs)
        log_start, log_end = self._log_probs(inputs, allowed)
        n = log_start.shape[1]
        longest = int(self.params.get("max_answer_tokens", 8))
        band = torch.ones(n, n, dtype=torch.bool, device=self.device).triu().tril(longest - 1)
        band[0, :] = band[:, 0] = False  # [CLS] is the decline, not part of a span
        out: list[tuple[float, str] | None] = []
        for i, (_, p) in enumerate(pairs):
            ok = band & allowed[i].unsqueeze(0) & allowed[i].unsqueeze(1)
            grid = (log_start[i].unsqueeze(1) + log_end[i].unsqueeze(0)).masked_fill(~ok, float("-inf"))
            best = int(grid.argmax())
            s, e = divmod(best, n)
            score, null = float(grid[s, e]), float(log_start[i, 0] + log_end[i, 0])
            if score == float("-inf"):  # no passage token in the input: nothing to point at
                out.append((score, "", True))
                continue
            offsets = enc["offset_mapping"][i]
            out.append((score, p.text[int(offsets[s][0]) : int(offsets[e][1])].strip(), null >= score))
        return out

    @torch.no_grad()
    def answer(self, queries: list[Query], contexts: dict[str, list[Passage]],
               scores: dict[str, list[float]] | None = None, batch_size: int = 32) -> dict[str, str]:
        was_training = self.training
        self.eval()
        k = int(self.params["top_k"])
        items: list[tuple[Query, Passage, float]] = []
        for q in queries:
            ctx = contexts.get(q.qid, [])[:k]
            if ctx:
                prior = (torch.log_softmax(torch.tensor(scores[q.qid][: len(ctx)], dtype=torch.float64), 0).tolist()
                         if scores and scores.get(q.qid) else [0.0] * len(ctx))
                items += [(q, p, prior[j]) for j, p in enumerate(ctx)]
            elif q.vision_text:
                items.append((q, Passage(VISION_PID, "", q.vision_text), 0.0))
        answered: dict[str, tuple[float, str]] = {}  # the best span of a passage that answers
        fallback: dict[str, tuple[float, str]] = {}  # the best span of any passage
        for b in range(0, len(items), batch_size):
            batch = items[b : b + batch_size]
            for (q, _, prior), (score, text, declines) in zip(batch, self._best_spans([(q, p) for q, p, _ in batch])):
                for best, counts in ((answered, not declines), (fallback, bool(text))):
                    if counts and (q.qid not in best or prior + score > best[q.qid][0]):
                        best[q.qid] = (prior + score, text)
        self.train(was_training)
        if not self.params.get("abstain", False):
            answered = {**fallback, **answered}
        return {q.qid: answered[q.qid][1] if q.qid in answered else "" for q in queries}
