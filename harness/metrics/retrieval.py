"""Retrieval metrics. Values are percentages (0-100); per-query values are 0-1 for the bootstrap.

- `PR-Success@K` (the FLMR paper's "PRRecall@K"): a query counts if any of its top-K passages holds any of its
  answers by the one hit rule below (`holds_answer`). It is a hit rate, not a recall.
- The hit rule (`hit_text` + `holds_answer`, used by the metrics, pseudo-qrels, hard negatives and the reader's
  oracle): the answer, stripped and lower-cased, is a substring of the lower-cased passage content, the title
  left out: the official RA-VQA/FLMR code compares `answer.lower() in passage_content.lower()` on the content
  field. Empty answers are ignored (the official code would count an empty string as found everywhere).
- `PR-Success-wb@K`: the same with whole-word matching (the answer must not sit inside a longer word).
- `Success@K`, `R@K`, `MRR@10`: against gold qrels (relevance > 0), over the queries that have qrels.
Ranking: score descending, ties broken by passage id ascending (documented so any tool can reproduce it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from harness.api import Passage, Query, Run


def rank(run: Run) -> dict[str, list[str]]:
    return {qid: [pid for pid, _ in sorted(docs.items(), key=lambda x: (-x[1], x[0]))] for qid, docs in run.items()}


def clean_answers(answers: Iterable[str]) -> list[str]:
    """Stripped, lower-cased, de-duplicated; empty strings and placeholders ("\x00...": human answers that
    LXMERT-style labels do not list) are left out."""
    return sorted({a.strip().lower() for a in answers if a and a.strip() and not a.startswith("\x00")})


def hit_text(passage: Passage | str) -> str:
    """What the hit rule reads: the passage content (not its title), lower-cased."""
    return (passage.text if isinstance(passage, Passage) else passage).lower()


def holds_answer(text: str, answers: Iterable[str], word_boundary: bool = False) -> bool:
    """The hit rule: `text` from `hit_text`, `answers` from `clean_answers`. `word_boundary`: the answer must not
    sit inside a longer word (PR-Success-wb)."""
    if not word_boundary:
        return any(a in text for a in answers)
    return any(re.search(r"(?<!\w)" + re.escape(a) + r"(?!\w)", text) is not None for a in answers)


def first_answer_rank(ranked: list[str], answers: list[str], texts: Mapping[str, str], depth: int,
                      word_boundary: bool = False) -> int | None:
    """1-based rank of the first passage (within `depth`) that contains an answer; None if none does."""
    for i, pid in enumerate(ranked[:depth], start=1):
        text = texts.get(pid)
        if text is not None and holds_answer(text, answers, word_boundary):
            return i
    return None


def first_relevant_rank(ranked: list[str], relevant: set[str], depth: int) -> int | None:
    for i, pid in enumerate(ranked[:depth], start=1):
        if pid in relevant:
            return i
    return None


def evaluate_run(run: Run, queries: list[Query], passages: Mapping[str, Passage] | Mapping[str, str],
                 ks: Iterable[int], qrels: Mapping[str, Mapping[str, int]] | None = None,
                 ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Return (metrics in percent, per-query values in 0-1), both keyed by metric name."""
    ks = sorted(set(ks))
    depth = max(ks + [10])
    texts = {pid: hit_text(p) for pid, p in passages.items()}
    ranked = rank(run)
    per_query: dict[str, dict[str, float]] = {}

    for wb, name in ((False, "PR-Success"), (True, "PR-Success-wb")):
        first = {q.qid: first_answer_rank(ranked.get(q.qid, []), clean_answers(q.answers), texts, depth, wb)
                 for q in queries}
        for k in ks:
            per_query[f"{name}@{k}"] = {qid: float(r is not None and r <= k) for qid, r in first.items()}

    if qrels:
        judged = [q.qid for q in queries if any(v > 0 for v in qrels.get(q.qid, {}).values())]
        rel = {qid: {pid for pid, v in qrels[qid].items() if v > 0} for qid in judged}
        for k in ks:
            top = {qid: ranked.get(qid, [])[:k] for qid in judged}
            per_query[f"Success@{k}"] = {qid: float(bool(rel[qid] & set(top[qid]))) for qid in judged}
            per_query[f"R@{k}"] = {qid: len(rel[qid] & set(top[qid])) / len(rel[qid]) for qid in judged}
        firsts = {qid: first_relevant_rank(ranked.get(qid, []), rel[qid], 10) for qid in judged}
        per_query["MRR@10"] = {qid: (1.0 / r if r else 0.0) for qid, r in firsts.items()}

    metrics = {name: 100.0 * sum(v.values()) / len(v) if v else 0.0 for name, v in per_query.items()}
    return metrics, per_query


def success_curve(run: Run, queries: list[Query], passages: Mapping[str, Passage], max_k: int) -> list[float]:
    """PR-Success@K for K = 1..max_k, in percent (the curve the report plots)."""
    texts = {pid: hit_text(p) for pid, p in passages.items()}
    ranked = rank(run)
    firsts = [first_answer_rank(ranked.get(q.qid, []), clean_answers(q.answers), texts, max_k) for q in queries]
    n = max(1, len(firsts))
    return [100.0 * sum(1 for r in firsts if r is not None and r <= k) / n for k in range(1, max_k + 1)]


def answer_hit_counts(queries: list[Query], passages: Mapping[str, Passage]) -> dict[str, int]:
    """Per query, how many passages contain one of its answers (each distinct answer is scanned once)."""
    texts = [hit_text(p) for p in passages.values()]
    holders: dict[str, set[int]] = {}
    out: dict[str, int] = {}
    for q in queries:
        found: set[int] = set()
        for a in clean_answers(q.answers):
            if a not in holders:
                holders[a] = {i for i, t in enumerate(texts) if holds_answer(t, [a])}
            found |= holders[a]
        out[q.qid] = len(found)
    return out


def random_pr_success(queries: list[Query], passages: Mapping[str, Passage], k: int,
                      hits: Mapping[str, int] | None = None) -> float:
    """Expected PR-Success@K of a uniformly random ranking: 1 - C(N-m, K) / C(N, K), m = passages with an answer
    (`hits`, from `answer_hit_counts`, saves the scan when several K are asked for)."""
    from math import comb

    n = len(passages)
    hits = hits if hits is not None else answer_hit_counts(queries, passages)
    total = 0.0
    for q in queries:
        m = hits[q.qid]
        total += 1.0 - comb(n - m, k) / comb(n, k) if n >= k else float(m > 0)
    return 100.0 * total / max(1, len(queries))
