"""How queries and passages become text, shared by every text encoder so methods differ only in modelling."""

from __future__ import annotations

from harness.api import Passage, Query


def query_text(q: Query, use_vision_text: bool = True) -> str:
    """Question first, then text-based vision (caption, then objects), as RA-VQA and FLMR order them."""
    if use_vision_text and q.vision_text:
        return f"{q.text} {q.vision_text}"
    return q.text


def passage_text(p: Passage) -> str:
    return f"{p.title}. {p.text}" if p.title else p.text
