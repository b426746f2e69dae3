"""Hard negatives for the shared protocol: BM25 (bm25s) top passages that are neither positive nor contain an
answer, so a 'negative' is never a passage the PR-Success rule would count as a hit."""

from __future__ import annotations

import bm25s

from harness.api import Passage, Query
from harness.metrics.retrieval import clean_answers
from harness.text import passage_text, query_text


def mine_hard_negatives(queries: list[Query], corpus: list[Passage], positives: dict[str, set[str]],
                        pool: int) -> dict[str, list[str]]:
    if pool <= 0 or not corpus:
        return {q.qid: [] for q in queries}
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([passage_text(p) for p in corpus], stopwords="en", show_progress=False),
                    show_progress=False)
    k = min(len(corpus), pool * 3)
    docs, _ = retriever.retrieve(bm25s.tokenize([query_text(q) for q in queries], stopwords="en",
                                                show_progress=False), k=k, show_progress=False)
    lowered = [p.text.lower() for p in corpus]
    out: dict[str, list[str]] = {}
    for q, row in zip(queries, docs):
        answers = clean_answers(q.answers)
        keep = [corpus[i].pid for i in row
                if corpus[i].pid not in positives.get(q.qid, set()) and not any(a in lowered[i] for a in answers)]
        out[q.qid] = keep[:pool]
    return out
