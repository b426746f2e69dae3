"""Readers: answer a question from its top-K retrieved passages (RA-VQA with static retrieval).

`reader.backbone.kind` picks one: `t5` (default; T5 / Flan-T5, text only), `blip2` (BLIP-2 Flan-T5 with
LoRA, reads the image too) or `extractive` (a BERT-family encoder with a span head: answers with text from a
passage, or declines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import modeling
from harness.errors import InputError


def _reader_class(kind: str) -> Any:
    if kind in ("t5", "seq2seq"):
        from harness.reader.seq2seq import Seq2SeqReader

        return Seq2SeqReader
    if kind == "blip2":
        from harness.reader.blip2 import Blip2Reader

        return Blip2Reader
    if kind == "extractive":
        from harness.reader.extractive import ExtractiveReader

        return ExtractiveReader
    raise InputError("params.yaml", "reader.backbone.kind", f"must be t5, blip2 or extractive, got {kind!r}")


def create_reader(params: dict[str, Any], seed: int) -> Any:
    return _reader_class(params["backbone"].get("kind", "t5")).create(params, seed)


def load_reader(model_dir: Path, device: str = "cpu") -> Any:
    return _reader_class(modeling.read_config(model_dir).get("reader", "seq2seq")).load(model_dir, device)
