"""Smoke tier: `dvc repro` runs the real pipeline on a small toy world, end to end, in a scratch project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.smoke


def _sh(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def _small_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"]["toy"].update(n_kinds=10, distractors_per_kind=5, n_train=60, n_val=20, n_test=30, image_size=48)
    params["protocol"].update(steps=12, eval_every=6, batch_size=8, warmup_steps=2)
    params["eval"].update(bootstrap=200, latency_queries=5)
    params["reader"]["backbone"]["tiny"] = {"d_model": 32, "d_ff": 64, "d_kv": 8, "num_layers": 1, "num_heads": 2}
    params["reader"]["protocol"] = {"steps": 8, "eval_every": 4, "batch_size": 8, "warmup_steps": 1}
    tiny = {"backbone": {"tiny": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                  "intermediate_size": 64}}}
    params["runs"] = {"dpr": {"method": "dpr", "params": tiny},
                      "dpr_b": {"method": "dpr", "params": tiny, "protocol": {"lr": 0.002}}}
    return params


def _project(dst: Path, params: dict) -> Path:
    dst.mkdir(parents=True)
    for name in ("harness", "methods"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", dst / "dvc.yaml")
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _sh(["dvc", "init", "--no-scm", "-q"], dst)
    _sh(["dvc", "config", "core.analytics", "false"], dst)
    return dst


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    proj = _project(tmp_path_factory.mktemp("smoke") / "p", _small_params())
    _sh(["dvc", "repro"], proj)
    return proj


def test_repro_writes_the_main_table_with_a_row_per_run(project):
    table = pd.read_csv(project / "results/toy/tables/main.csv")
    assert list(table["run"]) == ["dpr", "dpr_b", "no retrieval", "oracle passage", "random ranking"]
    real = table[table["run"].isin(["dpr", "dpr_b"])]
    assert table["VQA"].iloc[:4].between(0, 100).all()  # every retriever and both reader bounds have a VQA score
    for col in ("PR-Success@5", "PR-Success@50", "R@5", "MRR@10"):
        assert real[col].between(0, 100).all()
    assert table["PR-Success@5"].dropna().between(0, 100).all() and len(table["PR-Success@5"].dropna()) == 3
    assert (real["PR-Success@5 lo"] <= real["PR-Success@5"]).all() and (real["PR-Success@5"] <= real["PR-Success@5 hi"]).all()
    assert (real["index bytes"] > 0).all() and (real["search ms/q"] > 0).all()
    assert (project / "results/toy/plots/success_at_k.png").stat().st_size > 1000
    paired = pd.read_csv(project / "results/toy/tables/paired.csv")
    assert list(paired["run"]) == ["dpr_b"] and list(paired["reference"]) == ["dpr"]
    assert (paired["lo"] <= paired["difference"]).all() and (paired["difference"] <= paired["hi"]).all()
    record = json.loads((project / "results/toy/runs/dpr/run.json").read_text())
    prov = record["provenance"]
    assert prov["seed"] == 13 and len(prov["data_hash"]) == 64 and len(prov["model_hash"]) == 64
    assert record["training"]["selected_on"].startswith("val ")
    assert record["counts"]["queries"] == 30 and record["counts"]["passages"] == 60


def test_second_repro_does_nothing_and_one_change_reruns_only_its_run(project):
    out = _sh(["dvc", "repro"], project)
    assert "Running stage" not in out
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["runs"]["dpr_b"]["protocol"]["lr"] = 0.003
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = _sh(["dvc", "repro"], project)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # the reader re-reads dpr_b's run when its trec.run changed; nothing of dpr, nor the reader, re-runs
    assert ran - {"vqa@dpr_b"} == {"train@dpr_b", "index@dpr_b", "evaluate@dpr_b", "report"}


def test_score_cli_reproduces_metrics_json(project):
    run_dir = project / "results/toy/runs/dpr"
    out = _sh([sys.executable, "-m", "harness", "score", "--run", str(run_dir / "trec.run"),
               "--queries", "data/toy/queries.jsonl", "--corpus", "data/toy/corpus.jsonl", "--ks", "1,5,10,20,50"],
              project)
    scored = json.loads(out.strip().splitlines()[-1])
    expected = json.loads((run_dir / "metrics.json").read_text())
    assert scored.pop("n") == 30
    assert scored == expected


def test_same_seed_gives_identical_metrics(project, tmp_path):
    again = _project(tmp_path / "again", yaml.safe_load((project / "params.yaml").read_text()))
    for stage in (["prepare"], ["train", "--run", "dpr"], ["index", "--run", "dpr"], ["evaluate", "--run", "dpr"]):
        _sh([sys.executable, "-m", "harness", *stage], again)
    a = (project / "results/toy/runs/dpr/metrics.json").read_text()
    b = (again / "results/toy/runs/dpr/metrics.json").read_text()
    assert a == b
