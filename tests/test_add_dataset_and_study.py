"""README's "Adding a dataset" and "Adding a study", done from scratch in a fresh project: a tiny dataset written
in the on-disk format with its card, a pipeline over it, and a corpus-scaling study over that pipeline's models,
each by its overrides file, `python -m harness pipelines` and `dvc repro`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from harness.data.folder import build_folder
from harness.errors import InputError
from harness.provenance import sha256_file
from test_smoke_pipeline import ROOT, _sh, fresh_project

CAPITALS = [(f"land{i}", f"city{i}") for i in range(30)]
SPLIT_SIZES = {"train": 18, "val": 6, "test": 6}


def write_tiny_dataset(folder: Path) -> None:
    """Thirty capital-city questions, each answered by one passage, with a few distractor passages."""
    (folder / "qrels").mkdir(parents=True)
    corpus = [{"_id": f"p{i}", "title": land, "text": f"The capital of {land} is {city}."}
              for i, (land, city) in enumerate(CAPITALS)]
    corpus += [{"_id": f"d{i}", "title": "", "text": f"Nothing is known about place {i}."} for i in range(10)]
    splits = [s for s, n in SPLIT_SIZES.items() for _ in range(n)]
    queries = [{"qid": f"q{i}", "question": f"What is the capital of {land}?", "answers": [city] * 10,
                "split": split} for i, ((land, city), split) in enumerate(zip(CAPITALS, splits))]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries))
    for split in SPLIT_SIZES:
        rows = [f"q{i}\tp{i}\t1\n" for i, s in enumerate(splits) if s == split]
        (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(rows))


def write_card(project: Path, folder: Path, **counts: int) -> None:
    card = {"name": "capitals", "license": "CC0 (made by this test)",
            "files": {f: sha256_file(folder / f) for f in ("queries.jsonl", "corpus.jsonl")},
            "expected_counts": {**SPLIT_SIZES, "passages": 40, **counts}}
    (project / "datasets" / "capitals").mkdir(parents=True, exist_ok=True)
    (project / "datasets" / "capitals" / "card.yaml").write_text(yaml.safe_dump(card))


PIPELINE = """\
profile: capitals
dataset: {name: capitals, source: folder, folder: {path: capitals_data}}
protocol: {steps: 6, eval_every: 3, batch_size: 6, warmup_steps: 1}
eval: {bootstrap: 50, latency_queries: 2, reference_run: bm25}
reader: {enabled: false}
runs:
  bm25: {method: bm25}
  dpr:
    method: dpr
    params: {backbone: {tiny: {hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64}}}
"""
STUDY = """\
extends: capitals
models_from: capitals
profile: capitals_scaling
tasks:
  full: {split: test}
  n20: {split: test, subset: {size: 20, seed: 7}}
  n30: {split: test, subset: {size: 30, seed: 7}}
"""


def test_card_mismatch_stops_prepare_in_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tiny_dataset(tmp_path / "capitals_data")
    write_card(tmp_path, tmp_path / "capitals_data", test=7)
    params = {"dataset": {"name": "capitals", "source": "folder", "folder": {"path": "capitals_data"}}}
    with pytest.raises(InputError, match="'expected_counts.test': 6 in the folder, the card says 7") as err:
        build_folder(params, tmp_path / "out")
    assert "datasets/capitals/card.yaml" in str(err.value) and not (tmp_path / "out").exists()
    write_card(tmp_path, tmp_path / "capitals_data")
    (tmp_path / "capitals_data" / "corpus.jsonl").write_text("")
    with pytest.raises(InputError, match="'files.corpus.jsonl': sha256"):
        build_folder(params, tmp_path / "out")


@pytest.mark.smoke
def test_a_new_dataset_and_a_study_over_it_run_from_their_overrides(tmp_path) -> None:
    project = fresh_project(tmp_path / "p")
    shutil.copytree(ROOT / "datasets", project / "datasets")  # `harness pipelines` reads every pipeline's cards
    write_tiny_dataset(project / "capitals_data")
    write_card(project, project / "capitals_data")
    for name, text in (("capitals", PIPELINE), ("capitals_scaling", STUDY)):
        (project / "pipelines" / name).mkdir()
        (project / "pipelines" / name / "overrides.yaml").write_text(text)
    _sh([sys.executable, "-m", "harness", "pipelines"], project)
    stages = yaml.safe_load((project / "pipelines/capitals/dvc.yaml").read_text())["stages"]
    assert {"capitals_data", "datasets/capitals/card.yaml"} <= set(stages["prepare"]["deps"])

    _sh(["dvc", "repro", "pipelines/capitals/dvc.yaml"], project)
    main = (project / "results/capitals/tables/main.csv").read_text()
    assert "bm25" in main and "dpr" in main
    manifest = json.loads((project / "data/capitals/manifest.json").read_text())
    assert manifest["counts"] == SPLIT_SIZES and manifest["card"] == "datasets/capitals/card.yaml"

    _sh(["dvc", "repro", "pipelines/capitals_scaling/dvc.yaml"], project)
    scaling = (project / "results/capitals_scaling/tables/scaling.csv").read_text()
    assert "bm25" in scaling and not (project / "models/capitals_scaling").exists()  # the study trained nothing
