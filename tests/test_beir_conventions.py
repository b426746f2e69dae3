"""BEIR conventions: a dataset folder exports in BEIR's layout (queries with `_id` and `text`, the validation
qrels as dev.tsv), and `dev` is accepted wherever a split is named (params, queries files, qrels, scoring)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness.data.schema import Dataset, read_qrels


def test_export_writes_beir_queries_corpus_and_dev_qrels(toy_dir, tmp_path):
    out = tmp_path / "beir"
    done = subprocess.run([sys.executable, "-m", "harness", "export-beir", str(toy_dir), str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ds = Dataset(toy_dir)
    rows = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert [r["_id"] for r in rows] == [q.qid for q in ds.queries]
    assert all(set(r) == {"_id", "text", "metadata"} and r["text"] for r in rows)
    assert {r["metadata"]["split"] for r in rows} <= {"train", "dev", "test"} and "val" not in json.dumps(
        [r["metadata"]["split"] for r in rows])
    image = next(r["metadata"]["image"] for r in rows if "image" in r["metadata"])
    assert (out / image).resolve().is_file()  # relative to the export, pointing at the dataset's images
    assert (out / "corpus.jsonl").read_bytes() == (toy_dir / "corpus.jsonl").read_bytes()
    assert read_qrels(out / "qrels" / "dev.tsv") == ds.qrels["val"] and not (out / "qrels" / "val.tsv").exists()


def test_dev_is_val_in_queries_files_and_qrels(toy_dir, tmp_path):
    ds_dir = tmp_path / "ds"
    shutil.copytree(toy_dir, ds_dir)
    lines = (ds_dir / "queries.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    for r in rows:
        if r.get("split") == "val":
            r["split"] = "dev"
    (ds_dir / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (ds_dir / "qrels" / "val.tsv").rename(ds_dir / "qrels" / "dev.tsv")
    original, renamed = Dataset(toy_dir), Dataset(ds_dir)
    assert [q.qid for q in renamed.split("val")] == [q.qid for q in original.split("val")]
    assert renamed.qrels["val"] == original.qrels["val"]


def test_params_may_say_dev(tmp_path):
    import yaml

    from harness.params import load_params

    root = Path(__file__).resolve().parent.parent
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["eval"]["split"] = "dev"
    params["tasks"] = {"main": {"split": "test"}, "dev": {"split": "dev"}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    loaded = load_params(tmp_path / "p.yaml")
    assert loaded["eval"]["split"] == "val" and loaded["tasks"]["dev"]["split"] == "val"
