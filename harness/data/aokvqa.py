"""A-OKVQA (Schwenk et al., ECCV 2022; datasets/aokvqa/card.yaml) in its official JSON: a list of questions with
`question_id` (str), `question`, `image_id` (a COCO 2017 id) and, in the train and val files, `direct_answers`
(ten human answers: the VQA answers here). The okvqa_mini models are evaluated on the val file zero-shot (the test
split of this source; nothing trains or is selected on it). The val file is supplied by the user
(`dataset.aokvqa.root` or $FLMR_BENCH_AOKVQA_ROOT); without it the pipeline says so in one line and is not run.
Text-based vision: the image's VinVL caption where the val2014 caption file covers it (every val2017 image is a
val2014 image), counted in the manifest's coverage where it does not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.api import Query
from harness.data.prepared_corpus import read_prepared
from harness.data.eval_only import data_root, write_test_only
from harness.data.okvqa.files import _read_json, read_captions
from harness.data.okvqa.record import SkipLog
from harness.data.schema import absolute
from harness.errors import InputError

ROOT_ENV = "FLMR_BENCH_AOKVQA_ROOT"
VAL_FILE = "aokvqa_v1p0_val.json"
CAPTIONS = "../shared/data/okvqa_text_features/pica_VinVL_base_val2014_captions.tsv"  # from the project root


@dataclass
class AokvqaQuestion:
    qid: str
    question: str
    image_id: int
    answers: tuple[str, ...]  # the ten direct answers; empty where the file has none (the test file)


def read_aokvqa(path: Path, skips: SkipLog, require_answers: bool = True) -> list[AokvqaQuestion]:
    """Every question of an official A-OKVQA file; empty questions are counted, not kept. `require_answers`:
    a question without `direct_answers` (as in the test file) is an error naming it."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise InputError(path, "-", "expected a JSON list of questions (the official A-OKVQA layout)")
    out, seen = [], set()
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise InputError(path, f"[{i}]", "not an object")
        for name, kind in (("question_id", str), ("question", str), ("image_id", int)):
            if not isinstance(row.get(name), kind) or isinstance(row.get(name), bool):
                raise InputError(path, f"[{i}].{name}", f"missing or not {'a string' if kind is str else 'an integer'}")
        qid = row["question_id"]
        if qid in seen:
            raise InputError(path, f"[{i}].question_id", f"duplicate id {qid}")
        seen.add(qid)
        answers = row.get("direct_answers")
        if answers is None and require_answers:
            raise InputError(path, f"[{i}].direct_answers", "missing: this file has no answers (the A-OKVQA test "
                                                            f"file has none; supply {VAL_FILE})")
        if answers is not None and (not isinstance(answers, list) or not all(isinstance(a, str) for a in answers)):
            raise InputError(path, f"[{i}].direct_answers", "expected a list of strings")
        if not row["question"].strip():
            skips.add("empty question", qid)
            continue
        kept = tuple(a.strip() for a in answers or () if a.strip())
        if answers is not None and not kept:
            skips.add("no non-empty direct answer", qid)
            continue
        out.append(AokvqaQuestion(qid=qid, question=row["question"].strip(), image_id=row["image_id"], answers=kept))
    return out


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    s = params["dataset"].get("aokvqa")
    if not isinstance(s, dict):
        raise InputError("params.yaml", "dataset.aokvqa", "missing: the A-OKVQA settings (root, questions, captions)")
    return s


def val_file(params: dict[str, Any]) -> Path:
    s = _settings(params)
    return data_root(s, ROOT_ENV) / s.get("questions", VAL_FILE)


def missing_val_file(params: dict[str, Any]) -> str | None:
    """One line saying the val file is not provided, or None where it is."""
    path = val_file(params)
    if path.is_file():
        return None
    return (f"A-OKVQA not provided: no {path} (point dataset.aokvqa.root or ${ROOT_ENV} at a folder holding "
            f"{VAL_FILE}, the official A-OKVQA val file)")


def build_aokvqa(params: dict[str, Any], out: Path) -> dict[str, Any]:
    ds, s = params["dataset"], _settings(params)
    missing = missing_val_file(params)
    if missing:
        raise InputError(val_file(params), "-", missing)
    root = data_root(s, ROOT_ENV)
    files = {"questions": val_file(params), "captions": absolute(s.get("captions", CAPTIONS))}
    skips = SkipLog()
    questions = read_aokvqa(files["questions"], skips)
    captions = read_captions(files["captions"])
    queries = [Query(qid=f"aok{q.qid}", text=q.question, image=None, answers=q.answers, split="test",
                     vision_text=captions.get(q.image_id) or None) for q in questions]
    corpus, corpus_info = read_prepared(params, out)  # a named corpus, prepared once in data/corpora/<name>/
    return write_test_only(out, dataset=ds["name"], source="aokvqa", root=root, files=files, queries=queries,
                           corpus=corpus, corpus_info=corpus_info, own_corpus=False, skips=skips,
                           answers="the ten direct_answers of each question (VQA accuracy as in OK-VQA)")
