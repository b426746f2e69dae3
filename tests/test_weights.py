"""Weights files are the same bytes from every process, tied tensors included (a T5 reader ties three names)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_model
from transformers import T5Config, T5ForConditionalGeneration

from harness.weights import save_weights

ROOT = Path(__file__).resolve().parents[1]
CONFIG = dict(vocab_size=64, d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8)
SAVE = ("import sys, torch; from transformers import T5Config, T5ForConditionalGeneration;"
        "from harness.weights import save_weights; torch.manual_seed(0);"
        f"save_weights(T5ForConditionalGeneration(T5Config(**{CONFIG!r})), sys.argv[1])")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_bytes_from_processes_with_different_hash_seeds(tmp_path):
    digests = set()
    for seed in ("1", "2", "3"):
        out = tmp_path / f"w{seed}.safetensors"
        subprocess.run([sys.executable, "-c", SAVE, str(out)], cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        digests.add(_digest(out))
    assert len(digests) == 1


def test_tied_weights_load_back_tied_and_equal(tmp_path):
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(**CONFIG))
    save_weights(model, tmp_path / "w.safetensors")
    torch.manual_seed(1)
    again = T5ForConditionalGeneration(T5Config(**CONFIG))
    missing, unexpected = load_model(again, str(tmp_path / "w.safetensors"), strict=False)
    assert not missing and not unexpected
    assert again.lm_head.weight.data_ptr() == again.shared.weight.data_ptr()
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
