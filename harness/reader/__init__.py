"""Readers: answer a question from its top-K retrieved passages (RA-VQA with static retrieval).

`reader.backbone.kind` picks one: `t5` (default; T5 / Flan-T5, text only), `blip2` (BLIP-2 Flan-T5 with
LoRA, reads the image too) or `extractive` (a BERT-family encoder with a span head: answers with text from a
passage, or declines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import modeling
from harness.api import Reader
from harness.registry import Registry

# `seq2seq` is the name a saved T5 reader's config.json carries
READERS = Registry("reader.backbone.kind", {
    "t5": "harness.reader.seq2seq:Seq2SeqReader",
    "seq2seq": "harness.reader.seq2seq:Seq2SeqReader",
    "blip2": "harness.reader.blip2:Blip2Reader",
    "extractive": "harness.reader.extractive:ExtractiveReader",
})


def create_reader(params: dict[str, Any], seed: int, source: str = "params.yaml") -> Reader:
    return READERS.get(params["backbone"].get("kind", "t5"), source).create(params, seed)


def load_reader(model_dir: Path, device: str = "cpu") -> Reader:
    kind = modeling.read_config(model_dir).get("reader", "seq2seq")
    return READERS.get(kind, str(Path(model_dir) / modeling.CONFIG), "reader").load(model_dir, device)
