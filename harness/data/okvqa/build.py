"""prepare for OK-VQA: load the questions (files or hub source), build text-based vision, carve the validation
split from train, attach the corpus, write qrels, and record everything in manifest.json."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from harness.api import Box, Passage, Query
from harness.atomic import atomic_dir, write_json
from harness.data.okvqa.files import FilesSource, load_files_source
from harness.data.okvqa.hub import load_hub_source
from harness.data.okvqa.record import OkvqaQuestion, SkipLog, VisionTextSettings, vision_text
from harness.data.prepared_corpus import read_prepared
from harness.data.pseudo_qrels import pseudo_qrels
from harness.data.schema import absolute, write_qrels, write_queries
from harness.data.splits import carve_validation, ids_digest
from harness.errors import InputError
from harness.provenance import sha256_file

ROOT_ENV = "FLMR_BENCH_OKVQA_ROOT"  # overrides dataset.okvqa.root (CI: the shared data folder)
# settings of the build itself; the rest of dataset.okvqa belongs to the source reader
BUILD_KEYS = ("source", "root", "val_size", "val_seed", "vision_text", "use_vision_text", "pseudo_qrels_depth",
              "limit")


def configured_root(s: dict[str, Any]) -> str:
    """The data root as configured (the environment wins): what the manifest records."""
    return os.environ.get(ROOT_ENV) or s.get("root", ".")


def data_root(s: dict[str, Any]) -> Path:
    return absolute(configured_root(s))


def _query(q: OkvqaQuestion, split: str, vt: VisionTextSettings, use_vision_text: bool) -> Query:
    rois = tuple(Box(*o.box, label=o.label) for o in q.objects[: vt.object_max] if o.box is not None)
    return Query(qid=q.qid, text=q.question, image=q.image, answers=tuple(q.answers), split=split,
                 vision_text=vision_text(q, vt) if use_vision_text else None, rois=rois)


def load_questions(s: dict[str, Any], skips: SkipLog) -> tuple[list[OkvqaQuestion], dict[str, str]]:
    root = data_root(s)
    if not root.is_dir():
        raise InputError("params.yaml", "dataset.okvqa.root",
                         f"{root} is not a folder (set it, or ${ROOT_ENV}, to the OK-VQA files)")
    kind = s.get("source")
    if kind == "files":
        return load_files_source(FilesSource.from_settings(root, {k: v for k, v in s.items() if k not in BUILD_KEYS}),
                                 skips)
    if kind == "hub":
        return load_hub_source(s, root, skips)
    raise InputError("params.yaml", "dataset.okvqa.source", f"must be files or hub, got {kind!r}")


def _limited(questions: list[OkvqaQuestion], limits: dict[str, Any]) -> list[OkvqaQuestion]:
    """The first N questions per origin, in source order (small runs, tests)."""
    kept, seen = [], Counter()
    for q in questions:
        seen[q.origin] += 1
        if q.origin not in limits or seen[q.origin] <= int(limits[q.origin]):
            kept.append(q)
    return kept


def _searched_only(queries: list[Query], searched: list[str] | None, corpus_name: str, skips: SkipLog) -> list[Query]:
    """A corpus searched for particular test questions (Google snippets) is scored on those questions only."""
    if searched is None:
        raise InputError("params.yaml", "dataset.corpus.test_only_searched_questions",
                         f"corpus {corpus_name!r} does not say which questions it was searched for")
    keep = set(searched)
    for q in queries:
        if q.split == "test" and q.qid not in keep:
            skips.add("test question the corpus was not searched for", q.qid)
    return [q for q in queries if q.split != "test" or q.qid in keep]


def _qrels(by_split: dict[str, list[Query]], questions: list[OkvqaQuestion], corpus: list[Passage], depth: int
           ) -> tuple[dict[str, dict[str, dict[str, int]]], dict[str, str]]:
    """Per split: the source's gold positives where it has them, else (never for test) pseudo qrels."""
    pids = {p.pid for p in corpus}
    gold = {q.qid: {p: 1 for p in q.positives if p in pids} for q in questions if q.positives}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    kind: dict[str, str] = {}
    for sp in ("train", "val", "test"):
        split_gold = {q.qid: gold[q.qid] for q in by_split[sp] if gold.get(q.qid)}
        if split_gold:
            qrels[sp], kind[sp] = split_gold, "gold (source positives)"
        elif sp != "test" and depth > 0:  # depth 0: a pipeline that trains nothing needs no positives
            # pseudo qrels are BM25-derived: fine as training positives, a bias if used to score test
            qrels[sp], kind[sp] = pseudo_qrels(by_split[sp], corpus, depth), f"pseudo (BM25 top {depth} + answer)"
    return qrels, kind


def _coverage(questions: list[OkvqaQuestion], ids: set[str]) -> dict[str, int]:
    return {"with_caption": sum(1 for q in questions if q.qid in ids and q.caption),
            "with_objects": sum(1 for q in questions if q.qid in ids and q.objects),
            "with_ocr": sum(1 for q in questions if q.qid in ids and q.ocr),
            "with_image": sum(1 for q in questions if q.qid in ids and q.image)}


def build_okvqa(params: dict[str, Any], out: Path) -> dict[str, Any]:
    ds = params["dataset"]
    s = ds.get("okvqa")
    if not isinstance(s, dict):
        raise InputError("params.yaml", "dataset.okvqa", "missing: the OK-VQA source settings")
    skips = SkipLog()
    questions, inputs = load_questions(s, skips)
    limits = s.get("limit", {})
    if limits:
        questions = _limited(questions, limits)
    train = [q for q in questions if q.origin == "train"]
    seed = int(s.get("val_seed", params["data_seed"]))
    val_ids = carve_validation([q.qid for q in train], [q.image_id for q in train], int(s.get("val_size", 1000)), seed)
    vt = VisionTextSettings(**s.get("vision_text", {}))
    use_vt = bool(s.get("use_vision_text", True))
    queries = [_query(q, ("val" if q.qid in val_ids else "train") if q.origin == "train" else "test", vt, use_vt)
               for q in questions]
    corpus, corpus_info = read_prepared(params, out)  # prepared once in data/corpora/<name>/
    searched = corpus_info.pop("question_ids", None)
    if ds.get("corpus", {}).get("test_only_searched_questions"):
        queries = _searched_only(queries, searched, corpus_info["name"], skips)
    by_split = {sp: [q for q in queries if q.split == sp] for sp in ("train", "val", "test")}
    qrels, qrels_kind = _qrels(by_split, questions, corpus, int(s.get("pseudo_qrels_depth", 100)))
    manifest = {
        "dataset": ds["name"], "source": s.get("source"), "root": configured_root(s),
        # paths relative to the root, so the manifest (a DVC output) is the same wherever the project sits
        "inputs": {name: {"path": os.path.relpath(path, data_root(s)),
                          "sha256": sha256_file(Path(path)) if Path(path).is_file() else None}
                   for name, path in sorted(inputs.items())},
        "corpus": {**corpus_info, "passages": len(corpus)},
        "counts": {sp: len(v) for sp, v in by_split.items()},
        "skipped": skips.as_dict(),
        "coverage": {sp: _coverage(questions, {q.qid for q in v}) for sp, v in by_split.items()},
        "validation_split": {"carved_from": "OK-VQA train2014", "seed": seed, "questions": len(by_split["val"]),
                             "grouped_by": "image", "qids_sha256": ids_digest({q.qid for q in by_split["val"]})},
        "qrels": {sp: {"kind": qrels_kind[sp], "queries_with_positives": len(rel),
                       "pairs": sum(len(v) for v in rel.values())} for sp, rel in qrels.items()},
        "vision_text": {**vt.__dict__, "used": use_vt, "order": "question | caption | objects | OCR"},
        "limits": limits,
    }
    with atomic_dir(out) as tmp:
        write_queries(tmp / "queries.jsonl", queries)
        for sp, rel in qrels.items():
            write_qrels(tmp / "qrels" / f"{sp}.tsv", rel)
        write_json(tmp / "manifest.json", manifest)
    return {"queries": manifest["counts"], "passages": len(corpus),
            "skipped": {k: v["count"] for k, v in manifest["skipped"].items()},
            "qrels": {sp: v["queries_with_positives"] for sp, v in manifest["qrels"].items()}}
