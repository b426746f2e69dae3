"""FVQA (Wang et al., TPAMI 2018; datasets/fvqa/card.yaml): fact-based VQA, for evaluating trained models on a
dataset they never saw. The questions on COCO val2014 images (VinVL captions as text-based vision) form the test
split; there is no train or validation split here (nothing trains on FVQA). Corpora: any named corpus (e.g.
wiki_vital: PR-Success), or `fvqa_facts`, the distinct gold fact sentences with each question's own fact as its
gold relevance (Success@K, R@K and MRR@10 against true relevance)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.api import Passage, Query
from harness.data.prepared_corpus import read_prepared
from harness.data.eval_only import data_root, write_test_only
from harness.data.okvqa.files import _read_json, read_captions
from harness.data.okvqa.record import SkipLog
from harness.errors import InputError
from harness.metrics.vqa import normalize_prediction

ROOT_ENV = "FLMR_BENCH_FVQA_ROOT"
COCO_VAL = re.compile(r"^COCO_val2014_(\d{12})\.jpg$")
ANSWER_COPIES = 10  # one answer per question, given as ten identical human answers: VQA accuracy is then exact match


def vqa_form(answer: str) -> str:
    """The answer as the official VQA evaluation normalises a prediction (punctuation, number words, articles,
    lower case). The evaluation leaves ten identical human answers as given, so an FVQA answer written "A tennis
    ball" or "Oven." would match no prediction at all; in this form it matches exactly the predictions it should."""
    return normalize_prediction(answer)


@dataclass
class FvqaQuestion:
    qid: str
    question: str
    answer: str
    image_id: int
    fact: str  # the supporting fact as a sentence, [[ ]] marks removed


def fact_sentence(surface: str) -> str:
    return re.sub(r"\s+", " ", surface.replace("[[", "").replace("]]", "")).strip()


def fact_id(sentence: str) -> str:
    return "fact" + hashlib.sha1(sentence.encode()).hexdigest()[:12]


def read_fvqa(path: Path, skips: SkipLog) -> tuple[list[FvqaQuestion], list[str]]:
    """The questions on COCO val2014 images (the rest, on ImageNet images, are counted, not kept) and the
    distinct fact sentences of every question (the `fvqa_facts` corpus)."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, "-", "expected a JSON object {question_id: question}")
    out, seen, facts = [], set(), {}
    for key, row in data.items():
        for name in ("question", "answer", "img_file", "fact_surface"):
            if not isinstance(row, dict) or not isinstance(row.get(name), str):
                raise InputError(path, f"{key}.{name}", "missing or not a string")
        qid = str(row.get("question_id", key))
        if qid in seen:
            raise InputError(path, f"{key}.question_id", f"duplicate id {qid}")
        seen.add(qid)
        facts[fact_sentence(row["fact_surface"])] = None
        match = COCO_VAL.match(row["img_file"])
        if not match:
            skips.add("not a COCO val2014 image (no caption)", qid)
            continue
        if not row["question"].strip():
            skips.add("empty question", qid)
            continue
        if not row["answer"].strip():
            skips.add("empty answer", qid)
            continue
        out.append(FvqaQuestion(qid=qid, question=row["question"].strip(), answer=row["answer"].strip(),
                                image_id=int(match.group(1)), fact=fact_sentence(row["fact_surface"])))
    return out, list(facts)


def build_fvqa(params: dict[str, Any], out: Path) -> dict[str, Any]:
    ds = params["dataset"]
    s = ds.get("fvqa")
    if not isinstance(s, dict):
        raise InputError("params.yaml", "dataset.fvqa", "missing: the FVQA settings (root, questions, captions)")
    root = data_root(s, ROOT_ENV)
    files = {"questions": root / s.get("questions", "fvqa/all_qs_dict_release.json"),
             "captions": root / s.get("captions", "okvqa_text_features/pica_VinVL_base_val2014_captions.tsv")}
    skips = SkipLog()
    questions, facts = read_fvqa(files["questions"], skips)
    captions = read_captions(files["captions"])
    queries = []
    for q in questions:
        caption = captions.get(q.image_id)
        if caption is None:
            skips.add("no caption for the image", q.qid)
        queries.append(Query(qid=f"fvqa{q.qid}", text=q.question, image=None, answers=(vqa_form(q.answer),) * ANSWER_COPIES,
                             split="test", vision_text=caption or None))
    corpus_settings = ds.get("corpus", {})
    qrels: dict[str, dict[str, int]] = {}
    own_corpus = corpus_settings.get("name") == "fvqa_facts"  # the facts: a corpus of FVQA's own
    if own_corpus:
        # every question's gold fact, each once, with each kept question's own fact as its relevance
        corpus = [Passage(pid=fact_id(f), title="", text=f) for f in facts if f]
        qrels = {f"fvqa{q.qid}": {fact_id(q.fact): 1} for q in questions}
        corpus_info: dict[str, Any] = {"name": "fvqa_facts", "from": "every question's fact_surface, [[ ]] removed"}
    else:
        corpus, corpus_info = read_prepared(params, out)  # a named corpus, prepared once in data/corpora/<name>/
    return write_test_only(out, dataset=ds["name"], source="fvqa", root=root, files=files, queries=queries,
                           corpus=corpus, corpus_info=corpus_info, own_corpus=own_corpus,
                           skips=skips, qrels=qrels,
                           answers=f"one per question in the official evaluation's normalised form, given as "
                                   f"{ANSWER_COPIES} identical answers (VQA accuracy = exact match)")
