"""The shared loop resumes from its last checkpoint after a kill and ends where an unbroken run ends."""

import itertools

import pytest
import torch

from harness.data.schema import Dataset
from harness.negatives import mine_hard_negatives
from harness.train import train
from methods.dpr.model import DPRRetriever

TINY = {"backbone": {"source": "tiny", "tiny": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                                "intermediate_size": 64}},
        "use_vision_text": True, "max_query_length": 32, "max_passage_length": 48, "encode_batch_size": 64}
PROTOCOL = {"batch_size": 4, "steps": 6, "lr": 1e-3, "weight_decay": 0.01, "warmup_steps": 1, "eval_every": 2,
            "patience": 10, "hard_negatives": 1, "hard_negative_pool": 5, "select_on": "PR-Success@5"}


_EVER_BETTER = itertools.count()


class Killed(Exception):
    pass


def _run(toy_dir, ckpt, kill_at_call=None):
    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    hard = mine_hard_negatives(tr, ds.corpus, {k: set(v) for k, v in positives.items()}, 5)
    model = DPRRetriever.create(TINY, seed=1)
    calls = {"n": 0}

    def validate():
        calls["n"] += 1
        if calls["n"] == kill_at_call:
            raise Killed()
        return float(next(_EVER_BETTER))  # always improving: the last step is the one selected

    result = train(model, train_queries=tr, corpus=ds.corpus, positives=positives, hard_negatives=hard,
                   protocol=PROTOCOL, seed=3, ckpt_dir=ckpt, validate=validate, settings_hash="h")
    return model, result


def test_resume_after_kill_matches_an_unbroken_run(toy_dir, tmp_path, capsys):
    ref_model, ref = _run(toy_dir, tmp_path / "ref")
    with pytest.raises(Killed):
        _run(toy_dir, tmp_path / "ck", kill_at_call=3)  # dies while validating step 4; last checkpoint: step 2
    capsys.readouterr()
    model, res = _run(toy_dir, tmp_path / "ck", kill_at_call=99)
    assert res.resumed_from == 2 and ref.resumed_from is None
    assert "resuming from the checkpoint at step 2/6" in capsys.readouterr().err  # a resume says so
    assert res.steps_run == ref.steps_run == 6
    for (name, a), (_, b) in zip(ref_model.state_dict().items(), model.state_dict().items()):
        assert torch.equal(a, b), name


def test_changed_settings_start_fresh(toy_dir, tmp_path):
    with pytest.raises(Killed):
        _run(toy_dir, tmp_path / "ck", kill_at_call=3)
    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    res = train(DPRRetriever.create(TINY, seed=1), train_queries=tr, corpus=ds.corpus, positives=positives,
                hard_negatives={}, protocol=PROTOCOL, seed=3, ckpt_dir=tmp_path / "ck", validate=lambda: 0.0,
                settings_hash="other")
    assert res.resumed_from is None


def test_selection_uses_the_best_validation_checkpoint(toy_dir, tmp_path):
    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    vals = iter([0.0, 5.0, 1.0, 1.0, 1.0])
    res = train(DPRRetriever.create(TINY, seed=1), train_queries=tr, corpus=ds.corpus, positives=positives,
                hard_negatives={}, protocol={**PROTOCOL, "patience": 2, "steps": 10}, seed=3, ckpt_dir=tmp_path / "c",
                validate=lambda: next(vals), settings_hash="h")
    assert res.best_step == 2 and res.best_score == 5.0 and res.stopped_early and res.steps_run == 6
