"""Corpus loaders by name: DPR's psgs_w100 TSV, a local corpus.jsonl, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data.corpora import load_corpus, read_psgs_tsv
from harness.errors import InputError
from okvqa_fixtures import write_corpus


def test_psgs_w100_tsv_with_header_quotes_and_limit(tmp_path: Path):
    f = tmp_path / "psgs_w100.tsv"
    f.write_text('id\ttext\ttitle\n1\t"Aaron is a prophet, ""high priest"""\tAaron\n2\tSecond passage\tB\n3\tThird\tC\n')
    passages = read_psgs_tsv(f, limit=2)
    assert [p.pid for p in passages] == ["1", "2"]
    assert passages[0].text == 'Aaron is a prophet, "high priest"' and passages[0].title == "Aaron"


def test_psgs_w100_bad_row_names_the_line(tmp_path: Path):
    f = tmp_path / "psgs_w100.tsv"
    f.write_text("id\ttext\ttitle\n1\tonly two\n")
    with pytest.raises(InputError) as err:
        read_psgs_tsv(f)
    assert err.value.line == 2


def test_jsonl_corpus_and_unknown_names(tmp_path: Path):
    corpus = write_corpus(tmp_path / "c.jsonl")
    passages, info = load_corpus({"name": "jsonl", "local": str(corpus)}, tmp_path)
    assert len(passages) == 5 and info["name"] == "jsonl"
    with pytest.raises(InputError, match="must be one of") as err:
        load_corpus({"name": "encyclopedia"}, tmp_path)
    assert err.value.field == "dataset.corpus.name"
    with pytest.raises(InputError, match="harness fetch"):
        load_corpus({"name": "okvqa_gs", "local": "missing"}, tmp_path)
