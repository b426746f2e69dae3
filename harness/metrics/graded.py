"""nDCG@10 over gold qrels, by pytrec_eval (trec_eval's definition: graded gains, log2 discount, ideal from the
qrels). Kept apart from `retrieval.evaluate_run`, which training also uses for model selection, so adding a
reported metric does not touch what training depends on."""

from __future__ import annotations

from typing import Mapping

from harness.api import Run
from harness.metrics.retrieval import rank

NDCG_DEPTH = 10


def ndcg_per_query(run: Run, qrels: Mapping[str, Mapping[str, int]], depth: int = NDCG_DEPTH
                   ) -> dict[str, float]:
    """nDCG@depth (0-1) for each query with a positive judgement. The run is re-scored by its own rank order,
    because trec_eval breaks score ties by document id and would otherwise reorder tied passages."""
    import pytrec_eval

    judged = {qid: {pid: int(v) for pid, v in rels.items()} for qid, rels in qrels.items()
              if any(v > 0 for v in rels.values())}
    if not judged:
        return {}
    ranked = rank(run)
    by_rank = {qid: {pid: float(depth - i) for i, pid in enumerate(ranked.get(qid, [])[:depth])} or {"": 0.0}
               for qid in judged}
    values = pytrec_eval.RelevanceEvaluator(judged, {f"ndcg_cut.{depth}"}).evaluate(by_rank)
    return {qid: float(values[qid][f"ndcg_cut_{depth}"]) for qid in judged}


def add_ndcg(metrics: dict[str, float], per_query: dict[str, dict[str, float]], run: Run,
             qrels: Mapping[str, Mapping[str, int]] | None, qids: list[str]) -> None:
    """Add `nDCG@10` (percent, over the asked queries that have qrels) to metrics and per-query values."""
    if not qrels:
        return
    values = ndcg_per_query(run, {q: qrels[q] for q in qids if q in qrels})
    if values:
        per_query[f"nDCG@{NDCG_DEPTH}"] = values
        metrics[f"nDCG@{NDCG_DEPTH}"] = 100.0 * sum(values.values()) / len(values)
