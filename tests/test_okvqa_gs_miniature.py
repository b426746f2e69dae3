"""The paper's pipeline (pipelines/okvqa_gs: hub data, ColBERTv2, CLIP, BLIP-2) end to end, as a user with the hub
runs it: `pin`, commit the pins, `dvc repro`. The hub is a mirror of miniatures in the hub's own layouts
(tests/hub_miniature.py) and the pipeline keeps its own stages and settings, shrunk in size only (steps, batch,
question counts) and with the GPU requirement lifted for this test alone: every stage runs on CPU in minutes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.dvc_foreach import expand
from harness.params import deep_merge
from hub_miniature import (BERT, BLIP2, CLIP, COLBERT, DATA_REPO, PASSAGES_REPO, TEST_IDS, TRAIN_IDS, build_mirror,
                           fake_sha, write_images)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PIPE = "pipelines/okvqa_gs"
pytestmark = pytest.mark.smoke

# sizes only: the stages, runs, backbones, reader and index settings stay the pipeline's own
SHRINK = {
    "requires": ["hub"],  # the GPU requirement, lifted for this miniature only
    "dataset": {"okvqa": {"val_size": 6}},
    "protocol": {"batch_size": 4, "steps": 2, "warmup_steps": 0, "eval_every": 2, "hard_negatives": 1,
                 "hard_negative_pool": 4},
    "eval": {"latency_queries": 2, "bootstrap": 50, "permutations": 50},
    "reader": {"max_input_length": 96, "protocol": {"steps": 2, "batch_size": 2, "warmup_steps": 0, "eval_every": 2}},
    "runs": {name: {"params": {"pretrain_mapping": {"steps": 2}, "mapping_hidden": 16}} for name in ("flmr", "flmr_roi")},
}


def _sh(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, f"{' '.join(args)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out.stdout + out.stderr


def _edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _project(dst: Path, counts: dict[str, int]) -> Path:
    """The project as a clone holds it, with the paper pipeline shrunk and the cards counting the miniature."""
    dst.mkdir(parents=True)
    for name in ("harness", "methods", "pipelines", "datasets", ".dvc"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
    for name in ("params.yaml", "dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, dst / name)
    _edit_yaml(dst / PIPE / "overrides.yaml", lambda d: d.update(deep_merge(d, SHRINK)))

    def okvqa_counts(card):
        card["sources"]["hub"]["expected_counts"] = {"train": counts["train"], "test": counts["test"]}

    def passage_counts(card):
        card["expected_counts"] = {s: counts["passages"] for s in ("train_passages", "valid_passages", "test_passages")}

    _edit_yaml(dst / "datasets/okvqa/card.yaml", okvqa_counts)
    _edit_yaml(dst / "datasets/okvqa_gs/card.yaml", passage_counts)
    return dst


def _pinned(path: Path, repo: str) -> str | None:
    """The commit the project already pins `repo` at (the mirror must hold that one), if any."""
    import re

    m = re.search(rf"(?:source|repo):\s*{re.escape(repo)}\s*,?\s*(?:\n\s*)?revision:\s*([0-9a-f]{{40}})", path.read_text())
    return m.group(1) if m else None


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("okvqa_gs")
    repos = (DATA_REPO, PASSAGES_REPO, BERT, COLBERT, CLIP, BLIP2)
    files = (ROOT / PIPE / "overrides.yaml", ROOT / "datasets/okvqa/card.yaml", ROOT / "datasets/okvqa_gs/card.yaml")
    pins = {r: next((s for f in files if (s := _pinned(f, r))), None) or fake_sha(r) for r in repos}
    counts = build_mirror(tmp / "mirror", pins)
    proj = _project(tmp / "p", counts)
    write_images(proj / "coco", "train2014", TRAIN_IDS)
    write_images(proj / "coco", "val2014", TEST_IDS)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "FLMR_BENCH_HUB_MIRROR": str(tmp / "mirror"), "HF_HUB_OFFLINE": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("FLMR_BENCH_ALLOW_DIRTY", None)
    _sh([sys.executable, "-m", "harness", "pipelines"], proj, env)
    _sh(["git", "init", "-q"], proj, env)
    _sh(["git", "add", "-A"], proj, env)
    _sh(["git", "commit", "-q", "-m", "clone"], proj, env)
    pin_out = _sh([sys.executable, "-m", "harness", "--params", f"{PIPE}/params.yaml", "pin"], proj, env)
    dirty = _sh(["git", "status", "--porcelain"], proj, env)
    _sh(["git", "commit", "-q", "-am", "Pin hub revisions"], proj, env)  # the documented step
    repro = _sh(["dvc", "repro", f"{PIPE}/dvc.yaml"], proj, env)
    return {"proj": proj, "pins": pins, "pin_out": pin_out, "dirty_after_pin": dirty, "repro": repro, "env": env,
            "counts": counts}


def test_pin_writes_every_hub_revision_into_the_files_a_user_commits(paper_run):
    proj, pins = paper_run["proj"], paper_run["pins"]
    params = yaml.safe_load((proj / PIPE / "params.yaml").read_text())
    named = {params["reader"]["backbone"]["source"]: params["reader"]["backbone"]["revision"]}
    for run in params["runs"].values():
        for key in ("backbone", "vision"):
            spec = run["params"].get(key) or {}
            if spec.get("source"):
                named[spec["source"]] = spec["revision"]
    assert named == {r: pins[r] for r in (BERT, COLBERT, CLIP, BLIP2)}
    for card, repo in (("okvqa", DATA_REPO), ("okvqa_gs", PASSAGES_REPO)):
        assert pins[repo] in (proj / "datasets" / card / "card.yaml").read_text()
    assert "commit the pins" in paper_run["pin_out"]
    changed = {line[3:] for line in paper_run["dirty_after_pin"].splitlines()}
    assert changed <= {f"{PIPE}/overrides.yaml", f"{PIPE}/params.yaml", "datasets/okvqa/card.yaml",
                       "datasets/okvqa_gs/card.yaml"}


def test_every_stage_of_the_paper_pipeline_ran(paper_run):
    proj = paper_run["proj"]
    stages = expand(yaml.safe_load((proj / PIPE / "dvc.yaml").read_text())["stages"])  # foreach read back
    lock = yaml.safe_load((proj / PIPE / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages)
    data = yaml.safe_load((proj / "datasets/dvc.lock").read_text())["stages"]  # its data, prepared once
    assert {"fetch-okvqa_gs", "prepare-corpus-okvqa_gs", "prepare-okvqa_gs"} <= set(data)
    main = (proj / "results/okvqa_gs/tables/main.md").read_text()
    for run in ("dpr", "colbert_text", "flmr", "flmr_roi", "no retrieval", "oracle passage"):
        assert run in main


def test_fetch_checked_what_it_fetched(paper_run):
    record = json.loads((paper_run["proj"] / "downloads/okvqa_gs.fetch.json").read_text())
    by_card = {d["card"]: d for d in record["downloads"]}
    assert by_card["datasets/okvqa/card.yaml"]["counts"] == {"train": len(TRAIN_IDS), "test": len(TEST_IDS)}
    assert set(by_card["datasets/okvqa_gs/card.yaml"]["counts"]) == {"train_passages", "valid_passages",
                                                                     "test_passages"}
    assert all(d["how"].startswith("copied from the hub mirror") for d in record["downloads"])
    assert all(d["revision"] == paper_run["pins"][d["repo"]] for d in record["downloads"])


def test_runs_record_the_pinned_backbones_and_the_reader_keeps_adapters_only(paper_run):
    proj, pins = paper_run["proj"], paper_run["pins"]
    run = json.loads((proj / "results/okvqa_gs/runs/main/flmr/run.json").read_text())
    assert run["provenance"]["method_params"]["backbone"] == {**run["provenance"]["method_params"]["backbone"],
                                                              "source": COLBERT, "revision": pins[COLBERT]}
    assert run["provenance"]["method_params"]["vision"]["revision"] == pins[CLIP]
    reader = proj / "models/okvqa_gs/_reader"
    assert (reader / "adapter/adapter_model.safetensors").is_file() and not (reader / "model.safetensors").exists()


def test_the_tree_stays_clean_with_images_and_downloads_in_place(paper_run):
    status = _sh(["git", "status", "--porcelain", "--untracked-files=all"], paper_run["proj"], paper_run["env"])
    outside = [line for line in status.splitlines() if not line[3:].startswith("results/")
               and line[3:] not in (f"{PIPE}/dvc.lock", "datasets/dvc.lock")]
    assert outside == []
