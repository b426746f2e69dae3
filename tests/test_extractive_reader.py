"""The extractive reader: span labels by the one hit rule, declining, save/load, kill-resume, bad prediction files."""

import itertools
import json
import subprocess
import sys

import pytest
import torch

from harness.api import Passage, Query
from harness.data.schema import Dataset
from harness.negatives import mine_hard_negatives
from harness.reader import create_reader, load_reader
from harness.reader.extractive import ExtractiveReader
from harness.reader.spans import answer_span
from harness.train import train

TINY = {"backbone": {"kind": "extractive", "source": "tiny",
                     "tiny": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                              "intermediate_size": 64}},
        "top_k": 3, "use_vision_text": True, "max_input_length": 64, "max_question_tokens": 24,
        "max_answer_tokens": 4}


@pytest.mark.parametrize("text, answers, expected", [
    ("Tennis is played on a court.", ["tennis"], "Tennis"),                       # at the start, cased differently
    ("The dog chased a FRISBEE across the park", ["frisbee"], "FRISBEE"),          # in the middle
    ("Bears eat salmon", ["salmon", "fish"], "salmon"),                            # at the end
    ("A red fire truck and a fire hydrant", ["fire hydrant", "fire"], "fire"),     # earliest occurrence wins
    ("A fire hydrant", ["fire hydrant", "fire"], "fire hydrant"),                  # same start: the longer answer
    ("The İstanbul ferry crosses the Bosphorus", ["ferry"], "ferry"),              # lower() lengthens a character
])
def test_span_is_the_first_occurrence_by_the_hit_rule(text, answers, expected):
    start, end = answer_span(text, answers)
    assert text[start:end] == expected


def test_no_span_where_the_hit_rule_finds_no_answer():
    assert answer_span("Horses graze in the field", ["cow", "cattle"]) is None
    assert answer_span("Horses graze", ["", "\x00unlabelled"]) is None  # placeholders are not answers


def _q(qid: str, answers: tuple[str, ...], vision: str | None = None) -> Query:
    return Query(qid, "what animal is this", None, answers, "train", vision)


def test_token_labels_cover_the_answer_and_fall_back_to_cls_past_truncation():
    reader = create_reader(TINY, seed=0)
    q = _q("1", ("zebra",))
    near = Passage("p1", "", "The zebra has stripes.")
    far = Passage("p2", "", "word " * 200 + "the zebra")  # the answer lies past max_input_length
    none = Passage("p3", "", "Lions hunt at night.")
    enc, _, _ = reader._encode([(q, near), (q, far), (q, none)])
    s, e = ExtractiveReader.token_span(enc, 0, answer_span(near.text, q.answers))
    assert reader.tokenizer.decode(enc["input_ids"][0][s : e + 1]) == "zebra"
    assert ExtractiveReader.token_span(enc, 1, answer_span(far.text, q.answers)) == (0, 0)
    assert ExtractiveReader.token_span(enc, 2, answer_span(none.text, q.answers)) == (0, 0)


def _synthetic(n: int, offset: int = 0) -> tuple[list[Query], list[Passage], dict[str, list[str]], dict[str, list[str]]]:
    """Question i's answer is a colour word in its passage; its negative passage names no colour."""
    colours = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"]
    queries, corpus, pos, neg = [], [], {}, {}
    for i in range(offset, offset + n):
        c = colours[i % len(colours)]
        queries.append(Query(f"q{i}", f"what colour is thing {i}", None, (c,), "train"))
        corpus.append(Passage(f"p{i}", "", f"thing {i} is painted {c} all over"))
        corpus.append(Passage(f"n{i}", "", f"thing {i} sits on a wooden table"))
        pos[f"q{i}"], neg[f"q{i}"] = [f"p{i}"], [f"n{i}"]
    return queries, corpus, pos, neg


PROTOCOL = {"batch_size": 8, "steps": 120, "lr": 3e-3, "weight_decay": 0.0, "warmup_steps": 5, "eval_every": 120,
            "patience": 10, "hard_negatives": 1}


def test_trained_reader_answers_from_the_passage_and_declines_without_one(tmp_path):
    queries, corpus, pos, neg = _synthetic(64)
    reader = create_reader(TINY, seed=1)
    train(reader, train_queries=queries, corpus=corpus, positives=pos, hard_negatives=neg, protocol=PROTOCOL,
          seed=2, ckpt_dir=tmp_path / "ck", validate=itertools.count().__next__, settings_hash="h")  # keep the last
    test_q, test_corpus, _, _ = _synthetic(16, offset=64)
    by_id = {p.pid: p for p in test_corpus}
    with_answer = reader.answer(test_q, {q.qid: [by_id["n" + q.qid[1:]], by_id["p" + q.qid[1:]]] for q in test_q})
    assert sum(with_answer[q.qid] == q.answers[0] for q in test_q) >= 14
    no_answer = {q.qid: [by_id["n" + q.qid[1:]]] for q in test_q}
    reader.params["abstain"] = True
    without = reader.answer(test_q, no_answer)
    assert sum(a == "" for a in without.values()) >= 14  # declines: no passage holds an answer
    reader.params["abstain"] = False  # the default: the best span anyway (VQA scores "" as 0)
    assert all(a for a in reader.answer(test_q, no_answer).values())
    reader.save(tmp_path / "reader")
    again = load_reader(tmp_path / "reader")
    assert again.answer(test_q, {q.qid: [by_id["p" + q.qid[1:]]] for q in test_q}) == \
        reader.answer(test_q, {q.qid: [by_id["p" + q.qid[1:]]] for q in test_q})


def test_no_passage_reads_the_vision_text(monkeypatch):
    reader = create_reader(TINY, seed=0)
    read = []
    monkeypatch.setattr(reader, "_best_spans", lambda pairs: read.extend(pairs) or [(0.0, "dog", False)] * len(pairs))
    answers = reader.answer([_q("1", ("dog",), vision="dog, frisbee, grass"), _q("2", ("dog",))], {})
    assert [(q.qid, p.text) for q, p in read] == [("1", "dog, frisbee, grass")]  # its one passage
    assert answers == {"1": "dog", "2": ""}  # nothing to read: no answer
    assert reader._question(read[0][0], read[0][1]) == "what animal is this"  # not the vision text twice


def test_retrieval_scores_weigh_the_passages():
    """Two passages that each give a span: the joint score adds the retrieval log softmax, so a strong enough
    retrieval preference picks the passage."""
    reader = create_reader(TINY, seed=0)
    q = _q("1", ("x",))
    a, b = Passage("a", "", "alpha beta gamma"), Passage("b", "", "delta epsilon zeta")
    spans = reader._best_spans([(q, a), (q, b)])
    if any(declines for *_, declines in spans):
        pytest.skip("the random-init head declines one of the passages")
    pick_a = reader.answer([q], {"1": [a, b]}, {"1": [1e3, 0.0]})["1"]
    pick_b = reader.answer([q], {"1": [a, b]}, {"1": [0.0, 1e3]})["1"]
    assert pick_a == spans[0][1] and pick_b == spans[1][1]


class Killed(Exception):
    pass


_EVER_BETTER = itertools.count()


def _train_tiny(toy_dir, ckpt, kill_at_call=None):
    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    hard = mine_hard_negatives(tr, ds.corpus, {k: set(v) for k, v in positives.items()}, 5)
    reader = create_reader(TINY, seed=1)
    calls = {"n": 0}

    def validate():
        calls["n"] += 1
        if calls["n"] == kill_at_call:
            raise Killed()
        return float(next(_EVER_BETTER))  # always improving, across runs: the last step is the one selected

    protocol = {**PROTOCOL, "batch_size": 4, "steps": 6, "eval_every": 2}
    result = train(reader, train_queries=tr, corpus=ds.corpus, positives=positives, hard_negatives=hard,
                   protocol=protocol, seed=3, ckpt_dir=ckpt, validate=validate, settings_hash="h")
    return reader, result


def test_reader_training_resumes_after_a_kill(toy_dir, tmp_path):
    ref_reader, ref = _train_tiny(toy_dir, tmp_path / "ref")
    with pytest.raises(Killed):
        _train_tiny(toy_dir, tmp_path / "ck", kill_at_call=3)  # dies validating step 4; last checkpoint: step 2
    reader, res = _train_tiny(toy_dir, tmp_path / "ck", kill_at_call=99)
    assert res.resumed_from == 2 and res.steps_run == ref.steps_run == 6
    for (name, a), (_, b) in zip(ref_reader.state_dict().items(), reader.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("content, field", [
    ("{not json", "-"),
    (json.dumps([{"question_id": 1}]), "question_id"),
    (json.dumps({"1": 3}), "1"),
])
def test_malformed_prediction_file_is_one_clear_line(tmp_path, content, field):
    (tmp_path / "p.json").write_text(content)
    (tmp_path / "a.jsonl").write_text(json.dumps({"qid": "1", "answers": ["2"] * 10}) + "\n")
    out = subprocess.run([sys.executable, "-m", "harness", "vqa-score", "--predictions", str(tmp_path / "p.json"),
                          "--answers", str(tmp_path / "a.jsonl")], capture_output=True, text=True)
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "p.json" in lines[0] and field in lines[0], out.stderr


def test_studies_answer_with_the_reader_okvqa_mini_trained():
    from harness import paths
    from harness.dvcfile import ROOT, get, merged_params
    from harness.paths import trained_reader_dir

    study, source = merged_params(get("okvqa_gs_mini")), merged_params(get("okvqa_mini"))
    assert study["reader"]["from"] == "okvqa_mini"
    assert trained_reader_dir(study) == paths.reader_dir(source) == trained_reader_dir(source)
    from harness.dvcfile import spelled_out

    stages = spelled_out(get("okvqa_gs_mini"), study)
    assert "reader-train" not in stages and str(paths.reader_dir(source)) in stages["vqa-dpr"]["deps"]
