"""`python -m harness score` and `vqa-score`: score files made outside the pipelines, strictly. A run or a
predictions file that names a query id (or a passage id) the inputs do not hold is an error in one line, since
such a file was made against other data and its numbers would mean nothing; `--lenient` scores anyway and counts
what it ignored. Both score one split (default test), as the tables do."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import InputError

ALL_SPLITS = "all"


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        ks = []
    if not ks or any(k <= 0 for k in ks):
        raise InputError("--ks", "-", f"expected comma-separated positive integers such as 5,10,20,50, got {text!r}")
    return ks


def check_known(kind: str, named: set[str], known: set[str], where: str | Path, lenient: bool) -> int:
    """How many of `named` are unknown; an error unless `lenient` (then a counted warning on stderr)."""
    unknown = sorted(named - known)
    if not unknown:
        return 0
    message = f"{len(unknown)} of {len(named)} {kind} ids are not in the inputs (first: {unknown[0]!r})"
    if not lenient:
        raise InputError(where, kind, message + "; pass --lenient to score the rest")
    print(f"warning: {where}: {message}; ignored (--lenient)", file=sys.stderr)
    return len(unknown)


def select_split(items: dict[str, Any], splits: dict[str, str | None], split: str, where: str | Path) -> set[str]:
    """The ids of `split` (`all`: every id); a split no item has is an error naming the splits there are."""
    from harness.data.schema import canonical_split

    split = canonical_split(split)
    if split == ALL_SPLITS or not any(splits.get(qid) for qid in items):
        return set(items)  # every id; also where the file records no split (a plain answers file)
    chosen = {qid for qid in items if splits.get(qid) == split}
    if not chosen:
        there = sorted({s for s in splits.values() if s}) or ["none recorded"]
        raise InputError(where, "split", f"no query of split {split!r} (splits here: {', '.join(there)}; "
                                         f"--split {ALL_SPLITS} scores every query)")
    return chosen


def score(args: argparse.Namespace) -> dict[str, Any]:
    from harness.data.schema import SPLITS, read_corpus, read_qrels, read_queries
    from harness.metrics.graded import add_ndcg
    from harness.metrics.retrieval import evaluate_run
    from harness.trec import read_run

    ks = parse_ks(args.ks)
    run = read_run(args.run)
    queries = read_queries(args.queries, check_images=False)
    corpus = {p.pid: p for p in read_corpus(args.corpus)}
    by_id = {q.qid: q for q in queries}
    ignored_q = check_known("query", set(run), set(by_id), args.run, args.lenient)
    ignored_p = check_known("passage", {pid for hits in run.values() for pid in hits}, set(corpus), args.run,
                            args.lenient)
    run = {qid: {pid: s for pid, s in hits.items() if pid in corpus} for qid, hits in run.items() if qid in by_id}
    if args.only_present:  # explicitly asked: the queries the run holds
        chosen = [q for q in queries if q.qid in run]
    else:  # the whole split: a query missing from the run is a miss
        ids = select_split(by_id, {q.qid: q.split for q in queries}, args.split, args.queries)
        chosen = [q for q in queries if q.qid in ids]
    qrels: dict = {}
    files = [Path(args.qrels)] if args.qrels else [Path(args.queries).parent / "qrels" / f"{s}.tsv" for s in SPLITS]
    for f in files:
        if f.is_file():
            qrels.update(read_qrels(f))
    metrics, per_query = evaluate_run(run, chosen, corpus, ks, qrels or None)
    add_ndcg(metrics, per_query, run, qrels or None, [q.qid for q in chosen])
    out = {**metrics, "n": len(chosen)}
    if args.lenient:
        out.update(ignored_queries=ignored_q, ignored_passages=ignored_p)
    return out


def vqa_score(args: argparse.Namespace) -> dict[str, Any]:
    from harness.data.answers import read_answer_splits, read_answers, read_predictions
    from harness.metrics.vqa import score_predictions

    answers = read_answers(args.answers)
    preds = read_predictions(args.predictions)
    ignored = check_known("question", set(preds), set(answers), args.predictions, args.lenient)
    ids = select_split(answers, read_answer_splits(args.answers), args.split, args.answers)
    answers = {qid: a for qid, a in answers.items() if qid in ids}
    preds = {qid: p for qid, p in preds.items() if qid in answers}
    metrics, _ = score_predictions(preds, answers)
    out = {"VQA": metrics["VQA"], "EM": metrics["EM"], "n": len(answers),
           "missing": sum(1 for q in answers if q not in preds)}
    if args.lenient:
        out["ignored_predictions"] = ignored
    return out
