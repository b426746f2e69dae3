"""FVQA: COCO val2014 questions kept with VinVL captions (the rest counted), one answer as ten copies, the fact
corpus with each question's own fact as gold relevance; malformed input is one line naming file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data.fvqa import ANSWER_COPIES, build_fvqa, fact_id, fact_sentence
from harness.data.schema import Dataset
from harness.errors import InputError

ROWS = {
    "1": {"question": "Which object is used to eat soup?", "answer": "spoon", "fact_surface": "[[a spoon]] is used for [[eating soup]]",
          "img_file": "COCO_val2014_000000000021.jpg", "question_id": "1"},
    "2": {"question": "What is this animal afraid of?", "answer": "water", "fact_surface": "[[cats]] are afraid of [[water]]",
          "img_file": "COCO_val2014_000000000022.jpg", "question_id": "2"},
    "3": {"question": "What can you find in a zoo?", "answer": "lion", "fact_surface": "You are likely to find [[a lion]] in [[a zoo]]",
          "img_file": "ILSVRC2012_test_00000001.JPEG", "question_id": "3"},
}


def write_root(root: Path, rows: object = None, raw: bytes | None = None) -> Path:
    (root / "fvqa").mkdir(parents=True)
    (root / "captions").mkdir()
    path = root / "fvqa" / "qs.json"
    path.write_bytes(raw if raw is not None else json.dumps(ROWS if rows is None else rows).encode())
    (root / "captions" / "c.tsv").write_text("".join(f"{i}\t{json.dumps([{'caption': c, 'conf': 1}])}\n"
                                                     for i, c in ((21, "a bowl of soup."), (22, "a cat on a sofa."))))
    return root


def _params(root: Path, corpus: str = "fvqa_facts") -> dict:
    return {"data_seed": 1, "dataset": {"name": "fvqa_fixture", "source": "fvqa", "corpus": {"name": corpus},
                                   "fvqa": {"root": str(root), "questions": "fvqa/qs.json", "captions": "captions/c.tsv"}}}


def test_coco_questions_are_kept_with_captions_and_facts_are_gold(tmp_path: Path):
    stats = build_fvqa(_params(write_root(tmp_path / "src")), tmp_path / "out")
    ds = Dataset(tmp_path / "out")
    test = {q.qid: q for q in ds.split("test")}
    assert sorted(test) == ["fvqa1", "fvqa2"] and stats["skipped"] == {"not a COCO val2014 image (no caption)": 1}
    assert test["fvqa1"].vision_text == "a bowl of soup." and test["fvqa1"].answers == ("spoon",) * ANSWER_COPIES
    assert len(ds.corpus) == 3  # every question's fact, the skipped one's too
    assert ds.qrels["test"]["fvqa2"] == {fact_id("cats are afraid of water"): 1}
    assert fact_sentence("[[a  spoon]] is used for [[eating soup]]") == "a spoon is used for eating soup"


@pytest.mark.parametrize("rows, field", [
    ({"1": {**ROWS["1"], "answer": ["spoon"]}}, "1.answer"),       # an answer of the wrong type
    ({"1": {k: v for k, v in ROWS["1"].items() if k != "fact_surface"}}, "1.fact_surface"),
    ({"1": ROWS["1"], "9": {**ROWS["1"]}}, "9.question_id"),       # a duplicate id
    ([ROWS["1"]], "-"),                                            # not an object keyed by id
])
def test_malformed_questions_are_one_line(tmp_path: Path, rows, field):
    with pytest.raises(InputError) as err:
        build_fvqa(_params(write_root(tmp_path / "src", rows)), tmp_path / "out")
    assert "qs.json" in str(err.value) and field in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_non_utf8_and_empty_question(tmp_path: Path):
    with pytest.raises(InputError, match="UTF-8"):
        build_fvqa(_params(write_root(tmp_path / "a", raw=b'{"1": "\xff"}')), tmp_path / "out")
    stats = build_fvqa(_params(write_root(tmp_path / "b", {"1": {**ROWS["1"], "question": " "}, "2": ROWS["2"]})),
                       tmp_path / "out2")
    assert stats["skipped"]["empty question"] == 1 and stats["queries"]["test"] == 1


def test_real_fvqa_matches_the_card(shared_data, tmp_path: Path):
    import yaml

    card = yaml.safe_load((Path(__file__).resolve().parent.parent / "datasets/fvqa/card.yaml").read_text())
    params = _params(shared_data)
    params["dataset"]["fvqa"] = {"root": str(shared_data)}
    stats = build_fvqa(params, tmp_path / "out")
    assert stats["queries"]["test"] == card["expected_counts"]["coco_val2014_questions"]
    assert stats["skipped"] == {"not a COCO val2014 image (no caption)": card["expected_counts"]["imagenet_questions"]}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["inputs"]["questions"]["sha256"] == card["source"]["files"]["all_qs_dict_release.json"]


def test_answers_take_the_form_the_official_evaluation_gives_a_prediction(tmp_path: Path):
    """The official VQA evaluation normalises predictions but leaves ten identical answers as given: a raw
    "A Spoon." would match no prediction, so the loader stores the normalised form and VQA is exact match."""
    from harness.metrics.vqa import exact_match, vqa_accuracy

    rows = {"1": {**ROWS["1"], "answer": "A Spoon."}, "2": {**ROWS["2"], "answer": "two cats"}}
    build_fvqa(_params(write_root(tmp_path / "src", rows)), tmp_path / "out")
    test = {q.qid: q for q in Dataset(tmp_path / "out").split("test")}
    assert test["fvqa1"].answers[0] == "spoon" and test["fvqa2"].answers[0] == "2 cats"
    for pred in ("spoon", "a spoon", "Spoon."):
        assert vqa_accuracy(pred, test["fvqa1"].answers) == 1.0 == exact_match(pred, test["fvqa1"].answers)
    assert vqa_accuracy("fork", test["fvqa1"].answers) == 0.0
