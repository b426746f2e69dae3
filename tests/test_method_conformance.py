"""Every method folder, and every run of params.yaml, goes through train (2 steps), encode, index, search and
record on a small toy world: a new method folder is checked without writing a test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from harness import paths
from harness.api import Retriever
from harness.methods import discover, retriever_class
from harness.params import load_params
from harness.pipeline.build_index import build_index
from harness.pipeline.evaluate import evaluate
from harness.pipeline.fit import fit
from harness.pipeline.prepare import prepare
from harness.record import read_record

ROOT = Path(__file__).resolve().parent.parent
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
CASES = [(f"method:{name}", {"method": name, "params": {}}) for name in discover()]
CASES += [(f"run:{rid}", run) for rid, run in PARAMS["runs"].items()]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("conformance")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"]["toy"].update(n_kinds=8, distractors_per_kind=5, n_train=24, n_val=8, n_test=10, image_size=48)
    params["protocol"].update(steps=2, eval_every=1, batch_size=4, warmup_steps=0)
    params["eval"].update(latency_queries=3, bootstrap=50)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


@pytest.mark.parametrize("case,run", CASES, ids=[c for c, _ in CASES])
def test_method_goes_through_the_pipeline(project, monkeypatch, case, run):
    monkeypatch.chdir(project)
    params = load_params("params.yaml")
    if not Path(f"data/{params['profile']}/queries.jsonl").is_file():
        prepare(params)
    run_id = case.split(":", 1)[1].replace("_", "-") + "-c"
    run = {**run, "params": {**run.get("params", {})}}
    if run["params"].get("use_image_features") or run["params"].get("use_rois"):
        run["params"].setdefault("vision", {}).update(tiny={"hidden_size": 32, "num_hidden_layers": 1,
                                                            "num_attention_heads": 2, "intermediate_size": 64,
                                                            "image_size": 48, "patch_size": 16})
    params["runs"] = {run_id: run}
    summary = fit(params, run_id)
    trainable = discover()[run["method"]].family != "sparse"  # BM25 has nothing to train
    assert summary["steps_run"] == (2 if trainable else 0) and summary["selected_on"].startswith("val ")
    stats = build_index(params, run_id)
    assert stats["items"] == 48 and stats["bytes_on_disk"] > 0
    evaluate(params, run_id)
    record = read_record(Path("results/toy/runs/main") / run_id / "run.json")
    assert record["counts"]["queries"] == 10 and record["counts"]["queries_effective"] == 10
    assert set(record["metrics"]) >= {"PR-Success@5", "PR-Success@50", "MRR@10"}
    assert record["family"] == discover()[run["method"]].family
    model = retriever_class(discover()[run["method"]]).load(paths.model_dir(params, run_id))
    assert isinstance(model, Retriever) and isinstance(model, torch.nn.Module)  # the contract in harness/api.py
