"""The stages under torchrun (2 gloo processes on CPU), as `distributed.nproc: 2` runs them: `train` writes the
model one process trains (within the data-parallel tolerance, dropout off) and `index` the same index files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

from harness.params import load_params
from harness.pipeline.prepare import prepare
from test_distributed_training import assert_same_trajectory

ROOT = Path(__file__).resolve().parent.parent


def _project(root: Path) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"]["toy"].update(n_kinds=8, distractors_per_kind=5, n_train=24, n_val=8, n_test=10, image_size=48)
    params["protocol"].update(steps=4, eval_every=2, batch_size=6, warmup_steps=0)
    tiny = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
            "dropout": 0.0}
    params["runs"] = {"dpr": {"method": "dpr", "params": {"backbone": {"tiny": tiny}, "encode_batch_size": 8}},
                      "colbert_text": {"method": "flmr", "params": {"backbone": {"tiny": tiny}, "dim": 16,
                                                                     "encode_batch_size": 8}}}
    params["index"]["late"]["backend"] = "centroid"
    params["index"]["late"]["centroid"].update(nlist=8)
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    cwd = Path.cwd()
    os.chdir(root)
    try:
        prepare(load_params("params.yaml"))
    finally:
        os.chdir(cwd)
    return root


def _harness(root: Path, nproc: int, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLMR_BENCH_ALLOW_DIRTY": "1", "OMP_NUM_THREADS": "1",
           "FLMR_BENCH_ENCODE_CACHE": "1"}
    # as dvc.yaml launches it with distributed.nproc > 1 (torch.distributed.run is torchrun)
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                 "-m", "harness", "--"] if nproc > 1 else [sys.executable, "-m", "harness"])
    out = subprocess.run([*launcher, "--params", "params.yaml", *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.parametrize("run", ["dpr", "colbert_text"])
def test_torchrun_stages_write_what_one_process_writes(tmp_path, run):
    one, two = _project(tmp_path / "one"), _project(tmp_path / "two")
    for root, nproc in ((one, 1), (two, 2)):
        _harness(root, nproc, "train", "--run", run)
    a = load_file(one / "models" / "toy" / run / "model.safetensors")
    b = load_file(two / "models" / "toy" / run / "model.safetensors")
    assert_same_trajectory(a, b, load_params(one / "params.yaml")["protocol"])
    # the index from the same model: two ranks encode and assign a share each, and write the same files
    shutil.rmtree(two / "models" / "toy" / run)
    shutil.copytree(one / "models" / "toy" / run, two / "models" / "toy" / run)
    for root, nproc in ((one, 1), (two, 2)):
        _harness(root, nproc, "index", "--run", run)
    index_one, index_two = one / "indexes" / "toy" / run / "full", two / "indexes" / "toy" / run / "full"
    files = sorted(f.name for f in index_one.iterdir() if f.name != "stats.json")
    assert files == sorted(f.name for f in index_two.iterdir() if f.name != "stats.json") and files
    for name in files:
        assert (index_one / name).read_bytes() == (index_two / name).read_bytes(), name
