"""Data-parallel training under torch.distributed (2 gloo processes on CPU): the same global batch gives the
one-process trajectory, and a run whose rank dies resumes from the last checkpoint to the same weights.

Dropout is off in these tiny models: with it on, each rank draws masks for its own share of the batch, which is a
different (equally valid) draw from the one-process run's. Tolerance: the ranks sum the gradients and the loss's
log-sum-exp in another order than one process (float rounding, ~1e-7). AdamW divides each gradient by its own
running magnitude, so where a gradient is itself at rounding level (a coordinate the loss barely moves) that
rounding can flip the update's sign: such a weight may differ by up to the summed learning rates. So: at least
99.9% of the weights within 1e-5, and every weight within 2 x lr x steps."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from harness.data.schema import Dataset
from harness.distributed.runtime import free_port
from harness.negatives import mine_hard_negatives
from harness.train import train

TINY_TEXT = {"source": "tiny", "tiny": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                        "intermediate_size": 64, "dropout": 0.0}}
PARAMS = {
    "dpr": {"backbone": TINY_TEXT, "pooling": "mean", "normalize": True, "scale": 20.0, "use_vision_text": True,
            "max_query_length": 32, "max_passage_length": 48, "encode_batch_size": 64},
    "flmr": {"backbone": TINY_TEXT, "dim": 16, "query_maxlen": 24, "doc_maxlen": 40, "use_vision_text": True,
             "use_image_features": False, "use_rois": False, "encode_batch_size": 64},
}
PROTOCOL = {"batch_size": 6, "steps": 6, "lr": 1e-3, "weight_decay": 0.01, "warmup_steps": 1, "eval_every": 2,
            "patience": 10, "hard_negatives": 1}
ATOL, SHARE = 1e-5, 0.999


class Killed(Exception):
    pass


def _model(method: str):
    if method == "dpr":
        from methods.dpr.model import DPRRetriever

        return DPRRetriever.create(PARAMS["dpr"], seed=1)
    from harness.methods import default_params, get, retriever_class
    from harness.params import deep_merge

    spec = get("flmr")
    return retriever_class(spec).create(deep_merge(default_params(spec), PARAMS["flmr"]), seed=1)


def _train(toy_dir: Path, ckpt: Path, method: str, die_at_step: int | None = None):
    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    hard = mine_hard_negatives(tr, ds.corpus, {k: set(v) for k, v in positives.items()}, 5)
    model = _model(method)
    if die_at_step is not None:
        calls = itertools.count(1)
        inner = model.loss

        def dying_loss(*args):
            if next(calls) == die_at_step:
                raise Killed()
            return inner(*args)

        model.loss = dying_loss
    train(model, train_queries=tr, corpus=ds.corpus, positives=positives, hard_negatives=hard, protocol=PROTOCOL,
          seed=3, ckpt_dir=ckpt, validate=lambda: float(time.monotonic_ns()), settings_hash="h")  # always better, across processes too
    return model


def _worker(rank: int, world: int, port: int, toy_dir: str, ckpt: str, out: str, method: str,
            dying_rank: int, die_at_step: int | None) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = _train(Path(toy_dir), Path(ckpt), method, die_at_step if rank == dying_rank else None)
        if rank == 0:
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out)
    finally:
        dist.destroy_process_group()



def _spawn(toy_dir: Path, ckpt: Path, out: Path, method: str, dying_rank: int = -1, die_at_step: int | None = None):
    mp.spawn(_worker, args=(2, free_port(), str(toy_dir), str(ckpt), str(out), method, dying_rank, die_at_step),
             nprocs=2, join=True)


def _single(toy_dir: Path, ckpt: Path, method: str) -> dict[str, torch.Tensor]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(toy_dir, ckpt, method).state_dict()
    finally:
        torch.set_num_threads(threads)


def assert_same_trajectory(ref: dict, got: dict, protocol: dict) -> None:
    """The module docstring's tolerance, for state dicts of torch tensors or numpy arrays."""
    assert set(ref) == set(got)
    diffs = torch.cat([(torch.as_tensor(ref[k]).double() - torch.as_tensor(got[k]).double()).abs().flatten()
                       for k in ref])
    close = float((diffs <= ATOL).double().mean())
    assert close >= SHARE, f"{close:.5f} of the weights within {ATOL}"
    assert float(diffs.max()) <= 2 * float(protocol["lr"]) * int(protocol["steps"]), float(diffs.max())


@pytest.mark.parametrize("method", ["dpr", "flmr"])
def test_two_ranks_train_the_one_process_trajectory(toy_dir, tmp_path, method):
    ref = _single(toy_dir, tmp_path / "one", method)
    _spawn(toy_dir, tmp_path / "two", tmp_path / "two.safetensors", method)
    got = load_file(tmp_path / "two.safetensors")
    assert_same_trajectory(ref, got, PROTOCOL)
    moved = _model(method).state_dict()  # and training moved the weights: the comparison is not vacuous
    assert max(float((moved[k].float() - ref[k].float()).abs().max()) for k in ref if ref[k].numel()) > 100 * ATOL


@pytest.mark.parametrize("dying_rank", [0, 1])
def test_a_killed_rank_resumes_to_the_unbroken_weights(toy_dir, tmp_path, dying_rank):
    ref = _single(toy_dir, tmp_path / "one", "dpr")
    with pytest.raises(Exception):  # the rank dies at its 4th step; the last checkpoint is step 2
        _spawn(toy_dir, tmp_path / "ck", tmp_path / "dead.safetensors", "dpr", dying_rank, die_at_step=4)
    assert (tmp_path / "ck" / "last" / "state.json").is_file()
    _spawn(toy_dir, tmp_path / "ck", tmp_path / "resumed.safetensors", "dpr")
    assert_same_trajectory(ref, load_file(tmp_path / "resumed.safetensors"), PROTOCOL)
