"""A-OKVQA in the official JSON layout: the val file's ten direct answers are the VQA answers, captions where the
val2014 caption file covers the image (counted where not); malformed input is one line naming file and field; an
absent val file is "not provided" for the all-tables command and the generalization table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.data.aokvqa import ROOT_ENV, build_aokvqa, read_aokvqa
from harness.data.okvqa.record import SkipLog
from harness.data.provided import missing_input
from harness.data.schema import Dataset
from harness.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
OUT = "data/aokvqa_fixture"  # beside data/corpora/, where the dataset finds its named corpus
# the official val layout (field names and types as in aokvqa_v1p0_val.json); the contents are made up
ROWS = [
    {"split": "val", "image_id": 21, "question_id": "22jbM6gDxdaMaunuzgrsBB", "question": "What is in the bowl?",
     "choices": ["soup", "rice", "salad", "cereal"], "correct_choice_idx": 0,
     "direct_answers": ["soup"] * 7 + ["broth"] * 3, "difficult_direct_answer": False,
     "rationales": ["a spoon is in it.", "it is liquid.", "steam rises."]},
    {"split": "val", "image_id": 99, "question_id": "2AqvNMg7dUuCrdHtDyqfUL", "question": "Why is the cat wet?",
     "choices": ["rain", "bath", "pool", "river"], "correct_choice_idx": 1,
     "direct_answers": ["bath"] * 10, "difficult_direct_answer": True, "rationales": ["x", "y", "z"]},
]


def write_root(root: Path, rows: object = None, raw: bytes | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "aokvqa_v1p0_val.json").write_bytes(raw if raw is not None else json.dumps(ROWS if rows is None
                                                                                       else rows).encode())
    (root / "c.tsv").write_text(f"21\t{json.dumps([{'caption': 'a bowl of soup.', 'conf': 1}])}\n")
    return root


def _params(root: Path) -> dict:
    return {"data_seed": 1, "dataset": {"name": "aokvqa_fixture", "source": "aokvqa",
                                        "corpus": {"name": "jsonl", "local": "tiny.jsonl"},
                                   "aokvqa": {"root": str(root), "captions": str(root / "c.tsv")}}}


@pytest.fixture
def tiny_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A corpus prepared as the prepare-corpus stage does, in data/corpora/ under the working folder."""
    from harness.api import Passage
    from harness.data.prepared_corpus import prepare_corpus
    from harness.data.schema import write_corpus

    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "tiny.jsonl", [Passage("p1", "Soup", "soup is served in a bowl."),
                                           Passage("p2", "Cats", "cats dislike a bath.")])
    prepare_corpus(_params(tmp_path), tmp_path / "data" / "corpora" / "jsonl")
    monkeypatch.delenv(ROOT_ENV, raising=False)


def test_val_questions_keep_ten_answers_and_count_caption_coverage(tmp_path: Path, tiny_corpus):
    stats = build_aokvqa(_params(write_root(tmp_path / "src")), tmp_path / OUT)
    ds = Dataset(tmp_path / OUT)
    test = {q.qid: q for q in ds.split("test")}
    assert sorted(test) == ["aok22jbM6gDxdaMaunuzgrsBB", "aok2AqvNMg7dUuCrdHtDyqfUL"] and stats["skipped"] == {}
    assert len(test["aok22jbM6gDxdaMaunuzgrsBB"].answers) == 10
    assert test["aok22jbM6gDxdaMaunuzgrsBB"].vision_text == "a bowl of soup."
    assert test["aok2AqvNMg7dUuCrdHtDyqfUL"].vision_text is None  # image 99 has no caption: counted below
    manifest = json.loads((tmp_path / OUT / "manifest.json").read_text())
    assert manifest["coverage"]["test"]["with_caption"] == 1 and manifest["counts"]["test"] == 2


@pytest.mark.parametrize("rows, field", [
    ([{k: v for k, v in ROWS[0].items() if k != "question"}], "[0].question"),          # a missing field
    ([ROWS[0], {**ROWS[1], "question_id": ROWS[0]["question_id"]}], "[1].question_id"),  # a duplicate id
    ([{**ROWS[0], "direct_answers": "soup"}], "[0].direct_answers"),                     # answers of the wrong type
    ([{**ROWS[0], "direct_answers": [1, 2]}], "[0].direct_answers"),
    ([{**ROWS[0], "image_id": "21"}], "[0].image_id"),
    ({"q": ROWS[0]}, "-"),                                                                # not a list
])
def test_malformed_files_are_one_line(tmp_path: Path, tiny_corpus, rows, field):
    with pytest.raises(InputError) as err:
        build_aokvqa(_params(write_root(tmp_path / "src", rows)), tmp_path / OUT)
    assert "aokvqa_v1p0_val.json" in str(err.value) and field in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / OUT).exists()


def test_non_utf8_and_empty_question(tmp_path: Path, tiny_corpus):
    with pytest.raises(InputError, match="UTF-8"):
        build_aokvqa(_params(write_root(tmp_path / "a", raw=b'[{"question": "\xff"}]')), tmp_path / OUT)
    stats = build_aokvqa(_params(write_root(tmp_path / "b", [{**ROWS[0], "question": "  "}, ROWS[1]])),
                         tmp_path / "data" / "second")
    assert stats["skipped"] == {"empty question": 1} and stats["queries"]["test"] == 1


def test_an_absent_val_file_is_not_provided_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(ROOT_ENV, raising=False)
    params = _params(tmp_path / "empty")
    line = missing_input(params)
    assert line and "not provided" in line and ROOT_ENV in line and "\n" not in line
    with pytest.raises(InputError, match="not provided"):
        build_aokvqa(params, tmp_path / OUT)
    write_root(tmp_path / "elsewhere")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "elsewhere"))  # the environment variable points at a copy
    assert missing_input(params) is None


def test_the_real_test_file_has_the_shape_but_no_answers(shared_data: Path):
    path = shared_data / "aokvqa" / "aokvqa_v1p0_test.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    card = yaml.safe_load((ROOT / "datasets/aokvqa/card.yaml").read_text())
    questions = read_aokvqa(path, SkipLog(), require_answers=False)
    assert len(questions) == card["expected_counts"]["test_questions"]
    with pytest.raises(InputError, match=r"\[0\]\.direct_answers"):
        read_aokvqa(path, SkipLog())


def test_the_pipeline_is_named_not_provided_and_its_column_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from harness.report.studies import NOT_PROVIDED, generalization_frame
    from harness.repro_all import offline_pipelines

    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "nowhere"))
    runnable, elsewhere = offline_pipelines()
    assert "aokvqa_wiki" not in {p.name for p in runnable}
    assert any(p.name == "aokvqa_wiki" and "not provided" in why for p, why in elsewhere)
    results = ROOT / "results"
    if not (results / "okvqa_mini" / "long.csv").is_file():
        pytest.skip("okvqa_mini results not committed")
    frame = generalization_frame(results)
    assert set(frame["A-OKVQA val x wiki_vital"]) == {NOT_PROVIDED}
    # with the val file supplied (a fixture), the column waits for its pipeline's results
    write_root(tmp_path / "supplied")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "supplied"))
    assert "aokvqa_wiki" in {p.name for p in offline_pipelines()[0]}
    assert NOT_PROVIDED not in set(generalization_frame(results)["A-OKVQA val x wiki_vital"])
