import itertools

import torch

from harness.api import Passage, Query
from harness.reader.seq2seq import Seq2SeqReader, target_answer

PARAMS = {"backbone": {"source": "tiny", "tiny": {"d_model": 32, "d_ff": 64, "d_kv": 8, "num_layers": 1,
                                                  "num_heads": 2}},
          "top_k": 2, "use_vision_text": True, "max_input_length": 64, "max_answer_length": 6, "num_beams": 1}


def test_target_is_the_most_common_human_answer():
    q = Query("a", "?", None, ("dog", "cat", "cat", " ", "dog", "cat"))
    assert target_answer(q) == "cat"
    assert target_answer(Query("b", "?", None, ("b", "a"))) == "a"  # ties break alphabetically


def test_reader_learns_to_copy_and_round_trips(tmp_path):
    torch.manual_seed(0)
    reader = Seq2SeqReader.create(PARAMS, seed=0)
    q = [Query("1", "what does it eat?", None, ("zorbix",)), Query("2", "where is it found?", None, ("plimat",))]
    pos = [Passage("a", "", "it eats zorbix."), Passage("b", "", "it is found near plimat.")]
    neg = [Passage("c", "", "nothing here."), Passage("d", "", "nor here.")]
    opt = torch.optim.AdamW(reader.parameters(), lr=1e-2)
    first = None
    for _ in range(100):
        loss = reader.loss(q, pos, neg)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    ctx = {"1": [pos[0], neg[0]], "2": [neg[1], pos[1]]}
    answers = reader.answer(q, ctx)
    assert answers == {"1": "zorbix", "2": "plimat"}
    reader.save(tmp_path / "r")
    again = Seq2SeqReader.load(tmp_path / "r")
    assert again.answer(q, ctx) == answers


def test_per_passage_reading_picks_the_answer_by_joint_score():
    reader = Seq2SeqReader.create({**PARAMS, "mode": "per_passage", "top_k": 3}, seed=0)
    q = Query("1", "what does it eat?", None, ("x",))
    ctx = {"1": [Passage("a", "", "one"), Passage("b", "", "two"), Passage("c", "", "three")]}
    seen: list[list[str]] = []

    def fake_generate(items, batch_size):  # answer log-likelihoods: "two" is read most confidently
        seen.append([c[0].text for _, c in items])
        return ["ans-a", "ans-b", "ans-c"], [-3.0, -1.0, -2.5]

    reader._generate = fake_generate
    assert reader.answer([q], ctx) == {"1": "ans-b"}  # no retrieval scores: the reader's confidence decides
    assert seen[0] == ["one", "two", "three"]  # one input per passage
    # a retrieval prior far stronger for the first passage outweighs the reader's 2-nat preference
    assert reader.answer([q], ctx, {"1": [10.0, 0.0, 0.0]}) == {"1": "ans-a"}
    assert reader.answer([q], ctx, {"1": [0.5, 0.0, 0.0]}) == {"1": "ans-b"}


def test_per_passage_training_reads_the_gold_passage_alone():
    reader = Seq2SeqReader.create({**PARAMS, "mode": "per_passage"}, seed=0)
    captured = {}
    original = reader._inputs

    def spy(queries, contexts):
        captured["contexts"] = contexts
        return original(queries, contexts)

    reader._inputs = spy
    q = [Query("1", "what does it eat?", None, ("zorbix",))]
    reader.loss(q, [Passage("a", "", "it eats zorbix.")], [Passage("c", "", "nothing here.")])
    assert [[p.pid for p in c] for c in captured["contexts"]] == [["a"]]


def test_answer_substitution_swaps_passage_and_target_together():
    torch.manual_seed(0)
    reader = Seq2SeqReader.create({**PARAMS, "answer_substitution": 1.0}, seed=0)
    pos, tgt = reader._substitute([Passage("a", "", "It eats Zorbix daily; zorbix!")], ["zorbix"])
    word = tgt[0]
    assert word != "zorbix" and pos[0].text == f"It eats {word} daily; {word}!"
    off = Seq2SeqReader.create(PARAMS, seed=0)
    assert off._substitute([Passage("a", "", "eats zorbix")], ["zorbix"]) == ([Passage("a", "", "eats zorbix")], ["zorbix"])


class _Killed(Exception):
    pass


_EVER_BETTER = itertools.count()


def _train_reader(toy_dir, ckpt, kill_at_call=None):
    from harness.data.schema import Dataset
    from harness.train import train

    ds = Dataset(toy_dir)
    tr = ds.split("train")
    positives = {q: sorted(r) for q, r in ds.qrels["train"].items()}
    reader = Seq2SeqReader.create({**PARAMS, "mode": "per_passage"}, seed=1)
    calls = {"n": 0}

    def validate():
        calls["n"] += 1
        if calls["n"] == kill_at_call:
            raise _Killed()
        return float(next(_EVER_BETTER))  # always improving: the last step is the one selected

    protocol = {"batch_size": 4, "steps": 6, "lr": 1e-3, "warmup_steps": 1, "eval_every": 2, "patience": 10,
                "hard_negatives": 0}
    result = train(reader, train_queries=tr, corpus=ds.corpus, positives=positives, hard_negatives={},
                   protocol=protocol, seed=3, ckpt_dir=ckpt, validate=validate, settings_hash="r")
    return reader, result


def test_killed_reader_training_resumes_from_its_last_checkpoint(toy_dir, tmp_path):
    import pytest

    ref, ref_result = _train_reader(toy_dir, tmp_path / "ref")
    with pytest.raises(_Killed):
        _train_reader(toy_dir, tmp_path / "ck", kill_at_call=3)  # dies validating step 4; last checkpoint: step 2
    again, result = _train_reader(toy_dir, tmp_path / "ck")
    assert result.resumed_from == 2 and result.steps_run == ref_result.steps_run == 6
    for (name, a), (_, b) in zip(ref.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name


def test_blip2_reader_trains_only_lora_reads_the_image_and_round_trips(tmp_path):
    import numpy as np
    import pytest
    from PIL import Image

    pytest.importorskip("peft", reason="optional extra: pip install 'flmr-bench[blip2]'")
    from harness.reader import create_reader, load_reader

    params = {**PARAMS, "backbone": {"kind": "blip2", "source": "tiny", "tiny": {"hidden": 32, "image_size": 32}},
              "mode": "per_passage", "lora": {"r": 4, "alpha": 8, "dropout": 0.0}}
    reader = create_reader(params, seed=0)
    trainable = {n for n, p in reader.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)  # the base model stays frozen
    paths = []
    for i, colour in enumerate(((255, 0, 0), (0, 0, 255))):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((40, 40, 3), colour, dtype=np.uint8)).save(paths[-1])
    q = [Query("1", "what does it eat?", paths[0], ("zorbix",)), Query("2", "where is it found?", paths[1], ("plimat",))]
    pos = [Passage("a", "", "it eats zorbix."), Passage("b", "", "it is found near plimat.")]
    inputs = reader._inputs(q, [[pos[0]], [pos[1]]])
    assert inputs["pixel_values"].shape == (2, 3, 32, 32)
    assert not torch.equal(inputs["pixel_values"][0], inputs["pixel_values"][1])  # the images are read
    opt = torch.optim.AdamW([p for p in reader.parameters() if p.requires_grad], lr=5e-2)
    first = reader.loss(q, pos, []).item()
    for _ in range(30):
        loss = reader.loss(q, pos, [])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    answers = reader.answer(q, {"1": [pos[0]], "2": [pos[1]]})
    reader.save(tmp_path / "r")
    again = load_reader(tmp_path / "r")
    assert type(again).__name__ == "Blip2Reader" and again.answer(q, {"1": [pos[0]], "2": [pos[1]]}) == answers
