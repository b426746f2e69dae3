"""okvqa_gs_mini: Google Search snippets as a corpus (union, de-duplicated, stable ids, urls kept aside), the
test split restricted to the questions the corpus was searched for (counted), malformed files one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data.okvqa.snippets import FILES, load_snippets, passage_id
from harness.data.schema import Dataset
from harness.errors import InputError
from okvqa_fixtures import LOCAL_SETTINGS, build_with_corpus, write_local_folder

FIRST = {"2001": [{"url": "u1", "name": "Frisbee", "context": "A frisbee is a disc."},
                  {"url": "u2", "name": "Dogs", "context": "Dogs chase a frisbee."}],
         "2002": [{"url": "u3", "name": "Courts", "context": "Tennis is played on clay or grass."}]}
SECOND = {"2001": [{"url": "u9", "name": "Frisbee", "context": "A frisbee is a disc."},  # a duplicate
                   {"url": "u4", "name": "Empty", "context": "  "}]}


def write_snippets(folder: Path, first: object = None, second: object = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILES[0]).write_text(json.dumps([FIRST] if first is None else first))
    (folder / FILES[1]).write_text(json.dumps([SECOND] if second is None else second))
    return folder


def test_union_is_deduplicated_with_stable_ids_and_first_urls(tmp_path: Path):
    got = load_snippets(write_snippets(tmp_path / "s"))
    assert [p.title for p in got.passages] == ["Frisbee", "Dogs", "Courts"] and got.empty == 1
    assert got.question_ids == {"2001", "2002"}
    frisbee = passage_id("Frisbee", "A frisbee is a disc.")
    assert got.passages[0].pid == frisbee and got.urls[frisbee] == "u1"
    swapped = load_snippets(write_snippets(tmp_path / "t", [SECOND], [FIRST]))
    assert {p.pid for p in swapped.passages} == {p.pid for p in got.passages}  # ids do not depend on file order


@pytest.mark.parametrize("first, field", [({"2001": []}, "-"),                          # not a list of one object
                                          ([{"2001": {"url": "u"}}], "2001"),           # results not a list
                                          ([{"2001": [{"url": "u", "name": "x"}]}], "2001[0].context")])
def test_malformed_files_are_one_line_naming_file_and_field(tmp_path: Path, first, field):
    with pytest.raises(InputError) as err:
        load_snippets(write_snippets(tmp_path / "s", first=first))
    assert FILES[0] in str(err.value) and field in str(err.value) and "\n" not in str(err.value)


def test_non_utf8_file_is_one_line(tmp_path: Path):
    folder = write_snippets(tmp_path / "s")
    (folder / FILES[1]).write_bytes(b"[{\"1\": [{\"name\": \"\xff\"}]}]")
    with pytest.raises(InputError, match="UTF-8"):
        load_snippets(folder)


def test_test_split_keeps_only_searched_questions_and_counts_the_rest(tmp_path: Path):
    root = write_local_folder(tmp_path / "src")
    snippets = write_snippets(tmp_path / "snippets")
    params = {"data_seed": 3, "dataset": {"name": "gs_fixture", "source": "okvqa",
                                     "okvqa": {**LOCAL_SETTINGS, "root": str(root), "pseudo_qrels_depth": 0},
                                     "corpus": {"name": "okvqa_gs_snippets", "local": str(snippets),
                                                "test_only_searched_questions": True}}}
    stats = build_with_corpus(params, tmp_path / "out")
    ds = Dataset(tmp_path / "out")
    assert sorted(q.qid for q in ds.split("test")) == ["2001", "2002"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skipped"]["test question the corpus was not searched for"]["examples"] == ["2003"]
    assert stats["passages"] == 3 and stats["qrels"] == {}
    # where each passage was found: beside the corpus, prepared once for every dataset reading it
    urls = dict(line.split("\t") for line in
                (tmp_path / "corpora" / "okvqa_gs_snippets" / "corpus_urls.tsv").read_text().splitlines())
    assert urls[passage_id("Courts", "Tennis is played on clay or grass.")] == "u3"


def test_real_snippets_match_the_card(shared_data):
    import yaml

    card = yaml.safe_load((Path(__file__).resolve().parent.parent / "datasets/okvqa_gs_mini/card.yaml").read_text())
    got = load_snippets(shared_data / "okvqa_gs_snippets")
    assert got.files == card["source"]["files"]
    assert len(got.passages) == card["expected_counts"]["passages"]
    assert len(got.question_ids) == card["expected_counts"]["questions"]
