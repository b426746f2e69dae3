"""OK-VQA loaders on fixtures shaped like each source: the local folder (LXMERT labels, captions, detections,
images), the official files, and the hub's parquet layout; malformed inputs are one error line or a counted
skip, never a silent loss."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness.data.okvqa.files import FilesSource, load_files_source
from harness.data.okvqa.record import SkipLog
from harness.data.schema import Dataset
from harness.errors import InputError
from okvqa_fixtures import (LOCAL_SETTINGS, OFFICIAL_SETTINGS, TEST, TRAIN, build_with_corpus, write_corpus,
                            write_hub_folder, write_local_folder, write_official)


def _params(settings: dict, root: Path, corpus: Path, name: str = "okvqa_fixture") -> dict:
    return {"data_seed": 3, "dataset": {"name": name, "source": "okvqa", "okvqa": {**settings, "root": str(root)},
                                   "corpus": {"name": "jsonl", "local": str(corpus)}}}


@pytest.fixture()
def local(tmp_path: Path) -> Path:
    return write_local_folder(tmp_path / "src")


def test_local_folder_builds_with_counted_skips(local: Path, tmp_path: Path):
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    stats = build_with_corpus(_params(LOCAL_SETTINGS, local, corpus), tmp_path / "out")
    ds = Dataset(tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    # 8 train rows (one with empty labels) + 4 test rows (one without a labels row) -> 7 + 3 kept
    assert stats["queries"] == {"train": 5, "val": 2, "test": 3}
    assert manifest["skipped"]["train: no_answers"]["examples"] == ["1007"]
    assert manifest["skipped"]["test: no_labels"]["examples"] == ["2004"]
    assert manifest["skipped"]["test: image_corrupt (question kept without its image)"]["count"] == 1
    by_id = {q.qid: q for q in ds.queries}
    # LXMERT {answer: score} expanded by votes to ten answers (1 -> 4 votes, 0.667 -> 2)
    assert sorted(a for a in by_id["1001"].answers if not a.startswith("\x00")) == ["frisbee"] * 2 + ["ultimate"] * 4
    # official order: question, then caption, then objects; train has no captions in this layout
    assert by_id["2001"].vision_text == "a red disc on the grass. | disc, dog"
    assert by_id["1001"].vision_text == "person, grass"
    assert by_id["2001"].image is not None and by_id["2002"].image is None
    assert manifest["coverage"]["test"] == {"with_caption": 3, "with_objects": 3, "with_ocr": 0, "with_image": 1}
    # validation carved from train, whole images together (1002 and 1003 share image 12), never from test
    val = {q.qid for q in ds.split("val")}
    assert len(val) >= 2 and not val & {str(r[0]) for r in TEST}
    assert ({"1002", "1003"} <= val) or not ({"1002", "1003"} & val)
    assert "val" in ds.qrels and "train" in ds.qrels and "test" not in ds.qrels  # pseudo qrels never score test
    pseudo = {**ds.qrels["train"], **ds.qrels["val"]}
    assert pseudo["1004"] == {"p3": 1}  # "mozzarella" is in the pizza passage, and only there
    assert manifest["inputs"]["okvqa/lxmert_okvqa_train2014.json"]["sha256"]


def test_validation_split_is_fixed_by_the_seed(local: Path, tmp_path: Path):
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    build_with_corpus(_params(LOCAL_SETTINGS, local, corpus), tmp_path / "a")
    build_with_corpus(_params(LOCAL_SETTINGS, local, corpus), tmp_path / "b")
    a, b = (json.loads((tmp_path / d / "manifest.json").read_text())["validation_split"] for d in "ab")
    assert a == b and a["seed"] == 3
    other = _params(LOCAL_SETTINGS, local, corpus)
    other["data_seed"] = 4
    build_with_corpus(other, tmp_path / "c")
    c = json.loads((tmp_path / "c" / "manifest.json").read_text())["validation_split"]
    assert c["qids_sha256"] != a["qids_sha256"] or c["questions"] != a["questions"]


def test_require_images_drops_and_counts_questions_without_a_readable_image(local: Path):
    settings = {k: v for k, v in LOCAL_SETTINGS.items() if k not in ("source", "val_size")}
    src = FilesSource.from_settings(local, {**settings, "require_images": True,
                                            "questions": {"test": settings["questions"]["test"]}})
    skips = SkipLog()
    questions, _ = load_files_source(src, skips)
    assert [q.qid for q in questions] == ["2001"]
    assert skips.counts["test: image_corrupt"] == 1 and skips.counts["test: image_missing"] == 1


@pytest.mark.parametrize("damage, field", [
    (lambda q: q["questions"][0].pop("question"), "question"),
    (lambda q: q["questions"][1].update(question="  "), "question"),
    (lambda q: q["questions"].append(dict(q["questions"][0])), "question_id"),
])
def test_malformed_question_file_is_one_error_naming_the_field(local: Path, tmp_path: Path, damage, field):
    f = local / "okvqa" / "OpenEnded_mscoco_train2014_questions.json"
    data = json.loads(f.read_text())
    damage(data)
    f.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        build_with_corpus(_params(LOCAL_SETTINGS, local, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.field == field and err.value.path.endswith("OpenEnded_mscoco_train2014_questions.json")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize("name", ["okvqa/OpenEnded_mscoco_val2014_questions.json", "okvqa_text_features/captions.tsv"])
def test_non_utf8_text_is_one_error(local: Path, tmp_path: Path, name: str):
    f = local / name
    f.write_bytes(f.read_bytes().replace(b"disc", b"d\xe9sc").replace(b"What", b"Wh\xe9t"))
    with pytest.raises(InputError, match="not UTF-8") as err:
        build_with_corpus(_params(LOCAL_SETTINGS, local, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.path.endswith(Path(name).name)


def test_labels_with_non_numeric_scores_are_an_error(local: Path, tmp_path: Path):
    f = local / "okvqa" / "lxmert_okvqa_train2014.json"
    rows = json.loads(f.read_text())
    rows[0]["label"] = {"ultimate": "lots"}
    f.write_text(json.dumps(rows))
    with pytest.raises(InputError) as err:
        build_with_corpus(_params(LOCAL_SETTINGS, local, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.field == "label"


def test_official_files_take_the_ten_answers(tmp_path: Path):
    root = write_official(tmp_path / "official")
    build_with_corpus(_params(OFFICIAL_SETTINGS, root, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    ds = Dataset(tmp_path / "out")
    by_id = {q.qid: q for q in ds.queries}
    # ten answers; the fixture's empty ones stay as placeholders so the VQA denominator is still ten humans
    assert len(by_id["2002"].answers) == 10 and by_id["2002"].answers.count("clay") == 4
    assert by_id["2002"].answers.count("\x00unlabelled") == 4
    assert by_id["2001"].vision_text is None or by_id["2001"].vision_text == ""  # no features in the release
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skipped"]["train: no_answers"]["count"] == 1  # ten empty strings
    assert manifest["skipped"]["test: no_labels"]["count"] == 1


def test_official_annotation_without_answers_is_an_error(tmp_path: Path):
    root = write_official(tmp_path / "official")
    f = root / "mscoco_val2014_annotations.json"
    data = json.loads(f.read_text())
    del data["annotations"][0]["answers"]
    f.write_text(json.dumps(data))
    with pytest.raises(InputError) as err:
        build_with_corpus(_params(OFFICIAL_SETTINGS, root, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.field == "answers" and "annotations[0]" in err.value.problem


HUB_SETTINGS = {"source": "hub", "local": "hub", "splits": {"train": "train", "test": "test"}, "val_size": 2}


def test_hub_parquet_layout_builds_vision_text_in_the_official_order(tmp_path: Path):
    write_hub_folder(tmp_path / "hub")
    build_with_corpus(_params(HUB_SETTINGS, tmp_path, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    ds = Dataset(tmp_path / "out")
    q = {q.qid: q for q in ds.queries}["2001"]
    # caption, then attributes above 0.05 (at most 3) before the class, then de-duplicated OCR
    assert q.vision_text == "a photo 21 | red round new disc | WHAM-O"
    assert q.rois and q.rois[0].label == "disc" and q.rois[0].x1 == 20.0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skipped"]["train: no_answers"]["count"] == 1
    assert manifest["skipped"]["test: no_answers"]["count"] == 1


def test_hub_positives_become_gold_qrels(tmp_path: Path):
    write_hub_folder(tmp_path / "hub")
    settings = copy.deepcopy(HUB_SETTINGS)
    settings["val_size"] = 0
    build_with_corpus(_params(settings, tmp_path, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["qrels"]["train"]["kind"].startswith("gold")
    assert Dataset(tmp_path / "out").qrels["train"] == {"1001": {"p1": 1}}


def test_hub_row_missing_a_field_is_an_error(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from okvqa_fixtures import hub_rows

    root = write_hub_folder(tmp_path / "hub")
    rows = hub_rows(TRAIN, "train2014")
    for r in rows:
        r.pop("question")
    pq.write_table(pa.Table.from_pylist(rows), root / "data" / "train-00000-of-00001.parquet")
    with pytest.raises(InputError) as err:
        build_with_corpus(_params(HUB_SETTINGS, tmp_path, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.field == "question"


def test_missing_hub_copy_says_how_to_fetch(tmp_path: Path):
    with pytest.raises(InputError, match="harness fetch"):
        build_with_corpus(_params({**HUB_SETTINGS, "local": "nowhere"}, tmp_path, write_corpus(tmp_path / "c.jsonl")),
                    tmp_path / "out")


def test_train_rows_are_all_accounted_for(local: Path, tmp_path: Path):
    """Every source question is either in the dataset or in the skip log."""
    build_with_corpus(_params(LOCAL_SETTINGS, local, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    kept = sum(manifest["counts"].values())
    skipped = sum(v["count"] for k, v in manifest["skipped"].items() if "kept" not in k)
    assert kept + skipped == len(TRAIN) + len(TEST)


@pytest.mark.parametrize("change, field", [
    ({"questions": None}, "dataset.okvqa.questions"),
    ({"detections": {"train": {"key": "question"}}}, "dataset.okvqa.detections.train"),
    ({"labels_format": "csv"}, "dataset.okvqa.labels_format"),
    ({"colour": 1}, "dataset.okvqa.colour"),
])
def test_malformed_settings_name_the_params_field(local: Path, tmp_path: Path, change: dict, field: str):
    settings = {**LOCAL_SETTINGS, **change}
    with pytest.raises(InputError) as err:
        build_with_corpus(_params(settings, local, write_corpus(tmp_path / "c.jsonl")), tmp_path / "out")
    assert err.value.field == field and err.value.path == "params.yaml"


def test_prepared_data_is_the_same_bytes_wherever_the_clone_sits(tmp_path: Path, monkeypatch):
    """Two clones at different depths, each with `../shared` a link to the same folder (as CI lays it out): the
    prepared dataset, a DVC output, must not record where either clone or the link's target sits."""
    shared = tmp_path / "real_shared"
    write_local_folder(shared / "src")
    write_corpus(shared / "corpus.jsonl")
    built = []
    for clone in (tmp_path / "a" / "proj", tmp_path / "b" / "deeper" / "proj"):
        clone.mkdir(parents=True)
        (clone.parent / "shared").symlink_to(shared, target_is_directory=True)
        monkeypatch.chdir(clone)
        build_with_corpus(_params(LOCAL_SETTINGS, Path("../shared/src"), Path("../shared/corpus.jsonl")), Path("data/x"))
        assert any(q.image is not None and q.image.is_file() for q in Dataset(Path("data/x")).queries)
        built.append({f.name: f.read_bytes() for f in sorted((clone / "data" / "x").rglob("*")) if f.is_file()})
    assert built[0] == built[1]
    assert b"../../../shared/src/" in built[0]["queries.jsonl"]  # relative to the dataset folder, link kept
    assert json.loads(built[0]["manifest.json"])["root"] == "../shared/src"
