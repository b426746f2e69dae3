"""The scoring commands are strict: ids the inputs do not hold, a split nobody has and malformed arguments each
stop in one line with a non-zero exit; `--lenient` scores the rest and counts what it ignored; one split (test by
default) is scored, as the tables score it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

QUERIES = [("q1", "test", ["disc"] * 10), ("q2", "test", ["oven"] * 10), ("q3", "val", ["court"] * 10),
           ("q4", "train", ["wind"] * 10)]
CORPUS = [("p1", "a frisbee is a disc"), ("p2", "pizza bakes in an oven"), ("p3", "clay court"), ("p4", "wind")]


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    (tmp_path / "queries.jsonl").write_text("".join(
        json.dumps({"qid": q, "question": f"question {q}?", "answers": a, "split": s}) + "\n" for q, s, a in QUERIES))
    (tmp_path / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": p, "title": "", "text": t}) + "\n" for p, t in CORPUS))
    return tmp_path


def _harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True)


def _score(data: Path, run_lines: list[str], *extra: str) -> subprocess.CompletedProcess:
    (data / "r.run").write_text("".join(line + "\n" for line in run_lines))
    return _harness("score", "--run", str(data / "r.run"), "--queries", str(data / "queries.jsonl"),
                    "--corpus", str(data / "corpus.jsonl"), "--ks", "1,2", *extra)


def _one_line(out: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode != 0 and len(lines) == 1, out.stderr
    return lines[0]


def test_score_takes_the_test_split_by_default(data):
    out = _score(data, ["q1 Q0 p1 1 2.0 t", "q2 Q0 p1 1 2.0 t", "q3 Q0 p3 1 2.0 t"])
    scored = json.loads(out.stdout)
    assert scored["n"] == 2 and scored["PR-Success@1"] == 50.0  # q1 hit, q2 missed; q3 (val) not scored
    every = json.loads(_score(data, ["q1 Q0 p1 1 2.0 t", "q3 Q0 p3 1 2.0 t"], "--split", "all").stdout)
    assert every["n"] == 4 and every["PR-Success@1"] == 50.0


def test_a_run_of_unknown_queries_stops_in_one_line(data):
    line = _one_line(_score(data, ["x1 Q0 p1 1 2.0 t", "x2 Q0 p2 1 2.0 t"]))
    assert "r.run" in line and "2 of 2 query ids" in line and "--lenient" in line


def test_unknown_passages_stop_and_lenient_counts_them(data):
    line = _one_line(_score(data, ["q1 Q0 nope 1 2.0 t", "q1 Q0 p1 2 1.0 t"]))
    assert "passage" in line and "'nope'" in line
    out = _score(data, ["q1 Q0 nope 1 2.0 t", "q1 Q0 p1 2 1.0 t", "zz Q0 p1 1 1.0 t"], "--lenient")
    scored = json.loads(out.stdout)
    assert out.returncode == 0 and scored["ignored_passages"] == 1 and scored["ignored_queries"] == 1
    assert scored["PR-Success@1"] == 50.0  # the unknown passage is dropped, p1 moves up to rank 1
    assert "warning" in out.stderr


@pytest.mark.parametrize("ks", ["five", "5,x", "0", ""])
def test_bad_ks_is_one_line(data, ks):
    (data / "r.run").write_text("q1 Q0 p1 1 2.0 t\n")
    out = _harness("score", "--run", str(data / "r.run"), "--queries", str(data / "queries.jsonl"),
                   "--corpus", str(data / "corpus.jsonl"), "--ks", ks)
    assert "--ks" in _one_line(out)


def test_a_split_nobody_has_is_one_line_and_dev_is_val(data):
    line = _one_line(_score(data, ["q1 Q0 p1 1 2.0 t"], "--split", "holdout"))
    assert "split" in line and "holdout" in line
    dev = json.loads(_score(data, ["q3 Q0 p3 1 2.0 t"], "--split", "dev").stdout)
    assert dev["n"] == 1 and dev["PR-Success@1"] == 100.0  # q3, the val query


def test_vqa_score_scores_the_test_split_of_a_queries_file_and_refuses_unknown_questions(data):
    (data / "p.json").write_text(json.dumps({"q1": "disc", "q2": "pan", "q3": "court"}))
    out = _harness("vqa-score", "--predictions", str(data / "p.json"), "--answers", str(data / "queries.jsonl"))
    scored = json.loads(out.stdout)
    assert scored == {"VQA": 50.0, "EM": 50.0, "n": 2, "missing": 0}  # q3 is val: not in the test score
    (data / "p.json").write_text(json.dumps({"q1": "disc", "nope": "x"}))
    out = _harness("vqa-score", "--predictions", str(data / "p.json"), "--answers", str(data / "queries.jsonl"))
    assert "p.json" in _one_line(out)


def test_argument_errors_are_one_line():
    out = _harness("score", "--run")
    assert "score" in _one_line(out)
