"""What a task reads: its dataset's questions (the pipeline's own or another prepared one) with its corpus (the
dataset's own, or a named corpus from data/corpora/, which brings no qrels), cut to its subset; and the data hash
its record carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.api import Passage, Query
from harness.data.schema import write_corpus, write_qrels, write_queries
from harness.errors import InputError
from harness.pipeline.common import data_hash, load_dataset
from harness.tasks import get_task


def _dataset(root: Path, prefix: str, corpus: str | None) -> None:
    """A dataset folder: its own corpus.jsonl, or (corpus named) a manifest naming the corpus it reads."""
    write_queries(root / "queries.jsonl", [Query(f"{prefix}{i}", f"question {i}", None, ("paris",), "test")
                                           for i in range(3)])
    write_qrels(root / "qrels" / "test.tsv", {f"{prefix}0": {f"{prefix}p0": 1}})
    if corpus is None:
        write_corpus(root / "corpus.jsonl", [Passage(f"{prefix}p{i}", "", f"{prefix} passage {i}") for i in range(4)])
    else:
        (root / "manifest.json").write_text(json.dumps({"corpus": {"name": corpus}}))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    _dataset(tmp_path / "data/mine", "m", corpus=None)
    _dataset(tmp_path / "data/other", "o", corpus="wiki")
    write_corpus(tmp_path / "data/corpora/wiki/corpus.jsonl",
                 [Passage(f"w{i}", "", f"paris is passage {i}") for i in range(10)])
    return {"profile": "p", "data_seed": 13, "eval": {"split": "test"}, "dataset": {"name": "mine"},
            "tasks": {"main": {}, "named": {"corpus": "wiki", "subset": {"size": 5, "seed": 1}},
                      "other": {"dataset": "other", "corpus": "wiki"}, "typo": {"corpus": "wikki"},
                      "unprepared": {"dataset": "nowhere", "corpus": "wiki"}}}


def test_the_main_task_reads_the_pipelines_own_dataset_and_corpus(project):
    data = load_dataset(project, task=get_task(project, "main"))
    assert [p.pid for p in data.corpus] == ["mp0", "mp1", "mp2", "mp3"] and data.qrels == {"test": {"m0": {"mp0": 1}}}


def test_a_named_corpus_replaces_the_corpus_and_its_qrels_and_a_subset_cuts_it(project):
    data = load_dataset(project, task=get_task(project, "named"))
    assert {q.qid for q in data.queries} == {"m0", "m1", "m2"} and data.qrels == {}
    assert len(data.corpus) == 5 and all(p.pid.startswith("w") for p in data.corpus)
    assert len(load_dataset(project, task=get_task(project, "named"), subset=False).corpus) == 10


def test_another_dataset_brings_its_questions_and_the_corpus_it_reads(project):
    task = get_task(project, "other")
    data = load_dataset(project, task=task)
    assert {q.qid for q in data.queries} == {"o0", "o1", "o2"} and len(data.corpus) == 10
    assert data.qrels == {"test": {"o0": {"op0": 1}}}  # wiki is that dataset's own corpus: its qrels hold
    assert data_hash(project, task) != data_hash(project, get_task(project, "main"))


@pytest.mark.parametrize("task, field", [("typo", "tasks.typo.corpus"), ("unprepared", "tasks.unprepared.dataset")])
def test_a_corpus_or_dataset_not_prepared_is_one_line(project, task, field):
    with pytest.raises(InputError) as err:
        load_dataset(project, task=get_task(project, task))
    assert err.value.field == field and "\n" not in str(err.value)
