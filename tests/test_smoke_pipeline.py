"""Smoke tier: the committed `check` pipeline (pipelines/check/) rebuilt from scratch in a fresh folder with
`dvc repro`: its tables must equal the committed ones byte for byte (a committed number is what the committed
code makes), a second repro does nothing, and one run's change re-runs only that run."""

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
PIPE = "pipelines/check"
RESULTS = "results/check"
# deterministic outputs: byte-identical across regenerations (latency and wall times live apart)
COMPARED = ["tables/main.md", "tables/main.csv", "tables/summary.md", "tables/tasks.md", "tables/paired.md",
            "tables/paired.csv", "long.csv"]
pytestmark = pytest.mark.smoke


def _sh(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def fresh_project(dst: Path) -> Path:
    """The code and pipeline definitions as they stand, without any output: what a fresh clone holds."""
    dst.mkdir(parents=True)
    for name in ("harness", "methods", "pipelines", "studies", "datasets"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", "dvc.lock"))
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, dst / name)
    _sh(["dvc", "init", "--no-scm", "-q"], dst)
    _sh(["dvc", "config", "core.analytics", "false"], dst)
    return dst


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    proj = fresh_project(tmp_path_factory.mktemp("smoke") / "p")
    _sh(["dvc", "repro", f"{PIPE}/dvc.yaml"], proj)
    return proj


@pytest.mark.parametrize("name", COMPARED)
def test_fresh_rebuild_reproduces_the_committed_tables(project, name):
    committed = ROOT / RESULTS / name
    assert committed.is_file(), f"{RESULTS}/{name} is not committed: run `dvc repro {PIPE}/dvc.yaml` and commit it"
    assert (project / RESULTS / name).read_text() == committed.read_text(), (
        f"{RESULTS}/{name} differs from what the code makes: regenerate (`dvc repro {PIPE}/dvc.yaml`) and commit")


def test_fresh_rebuild_reproduces_every_committed_metrics_file(project):
    committed = sorted((ROOT / RESULTS / "runs").glob("*/*/metrics.json"))
    assert committed
    for f in committed:
        rel = f.relative_to(ROOT)
        assert (project / rel).read_text() == f.read_text(), f"{rel} differs from what the code makes"


def test_repro_writes_every_table_and_record(project):
    table = pd.read_csv(project / RESULTS / "tables/main.csv")
    assert list(table["run"]) == ["bm25", "dpr", "dpr_b", "no retrieval", "oracle passage", "random ranking",
                                  "answer in corpus"]
    real = table[table["run"].isin(["dpr", "dpr_b"])]
    assert table["VQA"].iloc[:5].between(0, 100).all()  # every retriever and both reader bounds have a VQA score
    for col in ("PR-Success@5", "PR-Success@50", "R@5", "MRR@10"):
        assert real[col].between(0, 100).all()
    assert (real["PR-Success@5 lo"] <= real["PR-Success@5"]).all() and (real["PR-Success@5"] <= real["PR-Success@5 hi"]).all()
    assert (real["index bytes"] > 0).all()
    long = pd.read_csv(project / RESULTS / "long.csv")
    assert set(long["task"]) == {"main", "half", "quarter", "other_world"}
    assert set(long.loc[long["task"] == "half", "corpus_size"]) == {30}
    other = long[long["task"] == "other_world"]  # the default toy world's questions and corpus, prepared once
    assert set(other["corpus"]) == {"toy"} and set(other["queries"]) == {240} and set(other["corpus_size"]) == {576}
    scaling = pd.read_csv(project / RESULTS / "tables/scaling.csv")  # three corpus sizes: the scaling table
    assert sorted(set(scaling["passages"])) == [15, 30, 60]  # of toy_tiny's questions only
    assert ((scaling["@5 above random"] - (scaling["PR-Success@5"] - scaling["random@5"])).abs() < 1e-3).all()
    lat = pd.read_csv(project / RESULTS / "latency.csv")
    assert (lat.loc[lat["measure"] == "search p50 ms", "value"] > 0).all()
    assert (project / RESULTS / "plots/success_at_k.png").stat().st_size > 1000
    curve = json.loads((project / RESULTS / "runs/main/dpr/curve.json").read_text())
    assert curve[0]["K"] == 1 and 0 <= curve[-1]["PR-Success"] <= 100  # row records for `dvc plots`
    paired = pd.read_csv(project / RESULTS / "tables/paired.csv")
    assert set(paired["run"]) == {"bm25", "dpr_b"} and set(paired["reference"]) == {"dpr"}
    record = json.loads((project / RESULTS / "runs/main/dpr/run.json").read_text())
    prov = record["provenance"]
    assert prov["seed"] == 13 and len(prov["data_hash"]) == 64 and len(prov["model_hash"]) == 64
    assert record["training"]["selected_on"].startswith("val ")
    assert record["counts"]["queries"] == 30 and record["counts"]["passages"] == 60
    assert record["corpus"] == "toy_tiny" and record["task"] == "main"
    half = json.loads((project / RESULTS / "runs/half/dpr/run.json").read_text())
    assert half["counts"]["passages"] == 30 and half["corpus"].startswith("toy_tiny[30")
    bm25 = json.loads((project / RESULTS / "runs/main/bm25/run.json").read_text())
    empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert bm25["provenance"]["model_hash"] != empty_sha  # a model without weights is hashed by its settings


def test_second_repro_does_nothing_and_one_change_reruns_only_its_run(project):
    out = _sh(["dvc", "repro", f"{PIPE}/dvc.yaml"], project)
    assert "Running stage" not in out
    params_file = project / PIPE / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["runs"]["dpr_b"]["protocol"]["lr"] = 0.003
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    out = _sh(["dvc", "repro", f"{PIPE}/dvc.yaml"], project)
    ran = {line.split("'")[1].split(":")[-1] for line in out.splitlines() if line.startswith("Running stage")}
    # the reader re-reads dpr_b's run when its trec.run changed; nothing of dpr, nor the reader, re-runs (the
    # stages of one method are items of one foreach entry: <kind>.<method>@<key>, and `.toy.toy` for the task
    # over the default toy world)
    assert ran - {"vqa@dpr_b"} == {"train.dpr@dpr_b", "index.dpr@dpr_b-full", "index.dpr@dpr_b-subset30-seed7",
                                   "index.dpr@dpr_b-subset15-seed7", "index.dpr.toy.toy@dpr_b-toy",
                                   "evaluate.dpr@dpr_b-main", "evaluate.dpr@dpr_b-half",
                                   "evaluate.dpr@dpr_b-quarter", "evaluate.dpr.toy.toy@dpr_b-other_world",
                                   "report"}


def test_score_cli_reproduces_metrics_json_and_counts_missing_queries_as_misses(project, tmp_path):
    run_dir = project / RESULTS / "runs/main/dpr"
    args = [sys.executable, "-m", "harness", "score", "--queries", "data/toy_tiny/queries.jsonl", "--corpus",
            "data/toy_tiny/corpus.jsonl", "--ks", "1,5,10,20,50"]
    scored = json.loads(_sh([*args, "--run", str(run_dir / "trec.run")], project).strip().splitlines()[-1])
    expected = json.loads((run_dir / "metrics.json").read_text())
    assert scored.pop("n") == 30
    assert scored == expected
    # a run that leaves out queries is scored on the whole split: the left-out queries are misses
    lines = (run_dir / "trec.run").read_text().splitlines()
    qids = sorted({line.split()[0] for line in lines})
    partial = tmp_path / "partial.run"
    partial.write_text("\n".join(line for line in lines if line.split()[0] not in qids[:10]) + "\n")
    whole = json.loads(_sh([*args, "--run", str(partial)], project).strip().splitlines()[-1])
    present = json.loads(_sh([*args, "--run", str(partial), "--only-present"], project).strip().splitlines()[-1])
    assert whole["n"] == 30 and present["n"] == 20
    assert whole["PR-Success@50"] < expected["PR-Success@50"]


def test_models_and_data_travel_through_a_dvc_remote_and_re_score(project, tmp_path):
    """What a clone without the outputs does to re-score a pipeline: `dvc pull` from the remote others pushed to
    (the committed config names a local folder beside the clone; here one in tmp)."""
    from harness.provenance import hash_files

    committed = (ROOT / ".dvc" / "config").read_text()
    assert "remote = local" in committed and "flmr-bench-dvc-store" in committed
    _sh(["dvc", "remote", "add", "-f", "-d", "store", str(tmp_path / "store")], project)
    _sh(["dvc", "push", f"{PIPE}/dvc.yaml"], project)
    model = project / "models/check/dpr"
    before = hash_files([model])
    shutil.rmtree(model)
    shutil.rmtree(project / ".dvc" / "cache")
    _sh(["dvc", "pull", f"{PIPE}/dvc.yaml"], project)
    assert hash_files([model]) == before
    run_dir = project / RESULTS / "runs/main/dpr"
    scored = json.loads(_sh([sys.executable, "-m", "harness", "score", "--queries", "data/toy_tiny/queries.jsonl",
                             "--corpus", "data/toy_tiny/corpus.jsonl", "--ks", "1,5,10,20,50", "--run",
                             str(run_dir / "trec.run")], project).strip().splitlines()[-1])
    scored.pop("n")
    assert scored == json.loads((run_dir / "metrics.json").read_text())
