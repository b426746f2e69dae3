"""Where an answer sits in a passage, by the one hit rule: the span an extractive reader learns to point at.

The hit rule (`harness.metrics.retrieval`) says a passage holds an answer when a cleaned answer occurs in its
lower-cased text. The span is that occurrence: the earliest one over all answers (the longer answer when two start
at the same character), in the passage's own characters."""

from __future__ import annotations

from collections.abc import Iterable

from harness.metrics.retrieval import clean_answers, hit_text, holds_answer


def _lower_offsets(text: str) -> list[int]:
    """For each character of `text.lower()`, the index of the character of `text` it came from (lower-casing can
    lengthen a character, e.g. 'İ')."""
    origin: list[int] = []
    for i, ch in enumerate(text):
        origin.extend([i] * len(ch.lower()))
    return origin


def answer_span(text: str, answers: Iterable[str]) -> tuple[int, int] | None:
    """[start, end) character span of the answer's first occurrence in `text`, or None when the hit rule finds no
    answer there."""
    low, cleaned = hit_text(text), clean_answers(answers)
    if not holds_answer(low, cleaned):
        return None
    found = [(low.find(a), -len(a)) for a in cleaned if a in low]
    start, neg_len = min(found)
    end = start - neg_len
    if len(low) == len(text):
        return start, end
    origin = _lower_offsets(text)
    return origin[start], origin[end - 1] + 1
