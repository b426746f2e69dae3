import json
import subprocess
import sys

import pytest

from harness.metrics.vqa import (UNLABELLED, answers_from_scores, exact_match, normalize_prediction,
                                 process_punctuation, vqa_accuracy)


@pytest.mark.parametrize("raw,expected", [
    ("The dog.", "dog"),                 # article dropped, final period stripped
    ("Two", "2"),                        # number word -> digit
    ("none", "0"),
    ("dont", "don't"),                   # contraction restored
    ("an apple tree", "apple tree"),
    ("3.5", "3.5"),                      # a period between digits stays
    ("1,000", "1000"),                   # digit,digit comma: punctuation deleted, not spaced
    ("black/white", "black white"),      # a mark touching no space becomes a space
    ("yes !", "yes"),                    # a mark touching a space is deleted
    ("  Hot\tDog\n", "hot dog"),
])
def test_prediction_normalisation(raw, expected):
    assert normalize_prediction(raw) == expected


def test_leave_one_out_accuracy():
    gts = ["race"] * 2 + ["racing"] * 8
    assert vqa_accuracy("race", gts) == pytest.approx(0.6)      # 8 subsets x 2/3 + 2 subsets x 1/3
    assert vqa_accuracy("racing", gts) == pytest.approx(1.0)
    assert vqa_accuracy("Racing!", gts) == pytest.approx(1.0)   # prediction always normalised
    assert vqa_accuracy("horse", gts) == 0.0
    gts3 = ["cat"] * 3 + ["dog"] * 7
    assert vqa_accuracy("cat", gts3) == pytest.approx((7 * 1.0 + 3 * 2 / 3) / 10)


def test_human_answers_are_normalised_only_when_they_differ():
    # Identical answers are compared raw: an unnormalised "the dog" never equals a normalised prediction.
    assert vqa_accuracy("the dog", ["the dog"] * 10) == 0.0
    # When they differ, only punctuation is processed (articles stay): "dog-house" -> "dog house".
    assert vqa_accuracy("dog house", ["dog-house"] * 5 + ["kennel"] * 5) == pytest.approx(1.0)
    assert process_punctuation("dog-house") == "dog house"


def test_exact_match_normalises_both_sides():
    assert exact_match("The Two", ["two"]) == 1.0 and exact_match("three", ["two"]) == 0.0


def test_score_labels_expand_to_ten_answers_with_official_denominator():
    answers = answers_from_scores({"racing": 1, "motocross": 0.667, "riding": 0.667})
    assert len(answers) == 10 and answers.count(UNLABELLED) == 2
    assert vqa_accuracy("motocross", answers) == pytest.approx(0.6)  # 2 votes of 10, as the official score
    assert answers_from_scores({"a": 0.3, "b": 0.6, "c": 0.9}).count("c") == 3  # soft-score form


def test_vqa_score_cli(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"1": "Two", "2": "cat"}))
    (tmp_path / "a.jsonl").write_text(json.dumps({"qid": "1", "answers": ["2"] * 10}) + "\n"
                                      + json.dumps({"qid": 2, "answers": {"dog": 1}}) + "\n")
    out = subprocess.run([sys.executable, "-m", "harness", "vqa-score", "--predictions", str(tmp_path / "p.json"),
                          "--answers", str(tmp_path / "a.jsonl")], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"VQA": 50.0, "EM": 50.0, "n": 2, "missing": 0}
