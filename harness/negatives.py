"""Hard negatives for the shared protocol: BM25 (bm25s) top passages that are neither positive nor contain an
answer, so a 'negative' is never a passage the PR-Success rule would count as a hit."""

from __future__ import annotations

from harness.api import Passage, Query
from harness.bm25 import bm25_top
from harness.metrics.retrieval import clean_answers, hit_text, holds_answer


def mine_hard_negatives(queries: list[Query], corpus: list[Passage], positives: dict[str, set[str]],
                        pool: int) -> dict[str, list[str]]:
    if pool <= 0 or not corpus:
        return {q.qid: [] for q in queries}
    docs = bm25_top(queries, corpus, pool * 3)
    texts = [hit_text(p) for p in corpus]
    out: dict[str, list[str]] = {}
    for q, row in zip(queries, docs):
        answers = clean_answers(q.answers)
        keep = [corpus[i].pid for i in row
                if corpus[i].pid not in positives.get(q.qid, set()) and not holds_answer(texts[i], answers)]
        out[q.qid] = keep[:pool]
    return out
