import numpy as np
import pytest

from harness.api import Passage, Query
from harness.metrics.retrieval import evaluate_run, random_pr_success, rank, success_curve

pytrec_eval = pytest.importorskip("pytrec_eval")


def _q(qid: str, answers: tuple[str, ...]) -> Query:
    return Query(qid=qid, text="q", image=None, answers=answers)


def test_pr_success_follows_the_official_substring_rule():
    passages = {"p1": Passage("p1", "", "The Eiffel Tower is in PARIS."), "p2": Passage("p2", "Paris", "No city."),
                "p3": Passage("p3", "", "catalogue of things")}
    queries = [_q("a", ("  Paris ",)), _q("b", ("", "cat")), _q("c", ("",)), _q("d", ("tower",))]
    run = {"a": {"p2": 2.0, "p1": 1.0}, "b": {"p3": 1.0}, "c": {"p1": 1.0}, "d": {"p3": 3.0, "p1": 1.0}}
    metrics, per_q = evaluate_run(run, queries, passages, [1, 2])
    # a: title matches, text does not -> only rank 2 counts; b: "cat" inside "catalogue" is a substring hit;
    # c: empty answers never hit; d: found at rank 2.
    assert per_q["PR-Success@1"] == {"a": 0.0, "b": 1.0, "c": 0.0, "d": 0.0}
    assert per_q["PR-Success@2"] == {"a": 1.0, "b": 1.0, "c": 0.0, "d": 1.0}
    assert metrics["PR-Success@2"] == pytest.approx(75.0)
    # The word-boundary variant refuses "cat" inside "catalogue".
    assert per_q["PR-Success-wb@2"]["b"] == 0.0 and per_q["PR-Success-wb@2"]["a"] == 1.0


def test_a_passage_sharing_a_query_id_is_scored_like_any_other():
    passages = {"q1": Passage("q1", "", "answer here"), "x": Passage("x", "", "nothing")}
    metrics, _ = evaluate_run({"q1": {"q1": 1.0, "x": 0.5}}, [_q("q1", ("answer",))], passages, [1],
                              qrels={"q1": {"q1": 1}})
    assert metrics["PR-Success@1"] == 100.0 and metrics["Success@1"] == 100.0 and metrics["MRR@10"] == 100.0


def test_ties_break_by_passage_id():
    assert rank({"q": {"b": 1.0, "a": 1.0, "c": 2.0}})["q"] == ["c", "a", "b"]


def test_qrel_metrics_agree_with_pytrec_eval_on_random_runs():
    rng = np.random.default_rng(0)
    pids = [f"d{i}" for i in range(60)]
    run, qrels = {}, {}
    for qi in range(40):
        qid = f"q{qi}"
        run[qid] = {p: float(s) for p, s in zip(pids, rng.random(len(pids)))}  # continuous: no ties
        rel = rng.choice(len(pids), size=int(rng.integers(1, 4)), replace=False)
        qrels[qid] = {pids[i]: 1 for i in rel}
    queries = [_q(q, ()) for q in run]
    ks = [1, 5, 10, 20]
    ours, _ = evaluate_run(run, queries, {p: Passage(p, "", "") for p in pids}, ks, qrels)
    ev = pytrec_eval.RelevanceEvaluator(qrels, {f"recall_{k}" for k in ks} | {f"success_{k}" for k in ks})
    theirs = ev.evaluate(run)
    for k in ks:
        assert ours[f"R@{k}"] == pytest.approx(100 * np.mean([theirs[q][f"recall_{k}"] for q in run]))
        assert ours[f"Success@{k}"] == pytest.approx(100 * np.mean([theirs[q][f"success_{k}"] for q in run]))
    top10 = {q: dict(sorted(d.items(), key=lambda x: -x[1])[:10]) for q, d in run.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    assert ours["MRR@10"] == pytest.approx(100 * np.mean([rr[q]["recip_rank"] for q in run]))


def test_success_curve_is_monotone_and_matches_pr_success():
    passages = {f"p{i}": Passage(f"p{i}", "", "gold" if i == 3 else "x") for i in range(10)}
    run = {"a": {f"p{i}": 10.0 - i for i in range(10)}}
    curve = success_curve(run, [_q("a", ("gold",))], passages, 10)
    assert curve[:3] == [0.0, 0.0, 0.0] and curve[3:] == [100.0] * 7


def test_random_level_matches_the_hypergeometric_formula():
    passages = {f"p{i}": Passage(f"p{i}", "", "gold" if i < 2 else "x") for i in range(10)}
    # 1 - C(8,3)/C(10,3) = 1 - 56/120
    assert random_pr_success([_q("a", ("gold",))], passages, 3) == pytest.approx(100 * (1 - 56 / 120))


def test_one_hit_rule_reads_the_content_not_the_title():
    """The official RA-VQA/FLMR code compares answers with the passage content field: a title alone is no hit,
    for the metric, the pseudo-qrels and the hard negatives alike."""
    from harness.data.pseudo_qrels import pseudo_qrels
    from harness.metrics.retrieval import hit_text, holds_answer
    from harness.negatives import mine_hard_negatives

    title_only = Passage("t", "Paris", "the capital city of a european country.")
    in_text = Passage("x", "France", "paris is its capital.")
    q = Query("q", "what is the capital of france?", None, ("Paris",))
    assert not holds_answer(hit_text(title_only), ["paris"]) and holds_answer(hit_text(in_text), ["paris"])
    metrics, _ = evaluate_run({"q": {"t": 2.0, "x": 1.0}}, [q], {"t": title_only, "x": in_text}, [1, 2])
    assert metrics["PR-Success@1"] == 0.0 and metrics["PR-Success@2"] == 100.0
    assert pseudo_qrels([q], [title_only, in_text], depth=2) == {"q": {"x": 1}}
    assert mine_hard_negatives([q], [title_only, in_text], {}, pool=2) == {"q": ["t"]}


def test_bm25_stems_like_lucene():
    """Porter stemming: a query word finds its inflected form in a passage."""
    from harness.bm25 import build, search

    index = build(["a cat sleeps on a mat.", "the dogs were running in the park."])
    docs, scores = search(index, ["which dog runs?"], 2)
    assert docs[0][0] == 1 and scores[0][0] > 0 and scores[0][1] == 0


def test_bm25_index_bytes_do_not_depend_on_the_hash_seed(tmp_path):
    """Two processes with different PYTHONHASHSEED save the same index, byte for byte (DVC hashes it)."""
    import hashlib
    import os
    import subprocess
    import sys

    script = ("import sys; from harness.bm25 import build, save; from pathlib import Path; "
              "save(build(['a cat sleeps on a mat.', 'the dogs were running in the park.', 'zebras graze, cats nap.']),"
              " Path(sys.argv[1]))")

    def digest(seed: str) -> dict[str, str]:
        folder = tmp_path / seed
        subprocess.run([sys.executable, "-c", script, str(folder)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}

    assert digest("1") == digest("2") == digest("3")


def test_ndcg_matches_trec_eval_and_keeps_our_order():
    """nDCG@10 as trec_eval defines it (linear gains, log2(rank + 1) discount), on the harness's own ranking:
    tied scores keep `rank`'s order (passage id ascending), where trec_eval alone would put p3 before p2."""
    import math

    from harness.metrics.graded import add_ndcg

    qrels = {"a": {"p1": 2, "p3": 1}, "b": {"p2": 1}, "c": {"p9": 0}}
    run = {"a": {"p3": 1.0, "p2": 1.0, "p1": 0.5}, "b": {"p1": 3.0}}
    assert rank(run)["a"] == ["p2", "p3", "p1"]
    metrics, per_q = {}, {}
    add_ndcg(metrics, per_q, run, qrels, ["a", "b", "c"])
    dcg = 1 / math.log2(3) + 2 / math.log2(4)  # p3 (1) at rank 2, p1 (2) at rank 3
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert per_q["nDCG@10"]["a"] == pytest.approx(dcg / ideal)
    raw = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(run)["a"]["ndcg_cut_10"]
    assert raw != pytest.approx(dcg / ideal)  # the raw run, ties broken by trec_eval, would score otherwise
    assert per_q["nDCG@10"]["b"] == 0.0 and "c" not in per_q["nDCG@10"]  # c has no positive judgement
    assert metrics["nDCG@10"] == pytest.approx(100 * dcg / ideal / 2)
