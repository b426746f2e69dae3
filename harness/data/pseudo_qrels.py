"""Pseudo-relevance qrels for a corpus without gold positives, as RA-VQA built them for Google Search and DPR
for its BM25 positives: among a question's BM25 top `depth` passages (question + text-based vision), those that
hold one of its answers by the hit rule (harness/metrics/retrieval.py). Capping at the BM25 top
`depth` keeps frequent answers ("red", "water") from marking thousands of passages relevant."""

from __future__ import annotations

from harness.api import Passage, Query
from harness.bm25 import bm25_top
from harness.metrics.retrieval import clean_answers, hit_text, holds_answer


def pseudo_qrels(queries: list[Query], corpus: list[Passage], depth: int = 100) -> dict[str, dict[str, int]]:
    """{qid: {pid: 1}} for the queries that have at least one such passage."""
    if not queries or not corpus:
        return {}
    texts = [hit_text(p) for p in corpus]
    out: dict[str, dict[str, int]] = {}
    for q, row in zip(queries, bm25_top(queries, corpus, depth)):
        answers = clean_answers(q.answers)
        hits = {corpus[i].pid: 1 for i in row if holds_answer(texts[i], answers)}
        if hits:
            out[q.qid] = hits
    return out
