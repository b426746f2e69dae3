"""The encoded-corpus cache: same weights, settings and passages read back; anything else encodes again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from harness import encode_cache
from harness.api import Box, DenseEmbeddings, Passage, Query


class Counting(torch.nn.Module):
    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.proj = torch.nn.Linear(4, 3)
        self.params = {"dim": 3}
        self.calls = 0

    def encode_passages(self, passages: list[Passage]) -> DenseEmbeddings:
        self.calls += 1
        x = torch.tensor([[len(p.text), len(p.title), i, 1.0] for i, p in enumerate(passages)])
        return DenseEmbeddings(self.proj(x).detach().numpy())


PASSAGES = [Passage("a", "A", "alpha text"), Passage("b", "B", "beta")]


def test_second_encoding_comes_from_the_cache(tmp_path: Path):
    m = Counting(0)
    first, hit1 = encode_cache.encode_passages(m, PASSAGES, tmp_path)
    second, hit2 = encode_cache.encode_passages(m, PASSAGES, tmp_path)
    assert (hit1, hit2) == (False, True) and m.calls == 1
    np.testing.assert_array_equal(first.vectors, second.vectors)


@pytest.mark.parametrize("change", ["weights", "passages", "params"])
def test_any_change_misses(tmp_path: Path, change: str):
    m = Counting(0)
    encode_cache.encode_passages(m, PASSAGES, tmp_path)
    passages = PASSAGES
    if change == "weights":
        with torch.no_grad():
            m.proj.bias += 1
    elif change == "passages":
        passages = [PASSAGES[0], Passage("b", "B", "beta edited")]
    else:
        m.params = {"dim": 3, "max_len": 9}
    _, hit = encode_cache.encode_passages(m, passages, tmp_path)
    assert not hit and m.calls == 2


def test_least_recently_used_entries_go_past_the_limit(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FLMR_BENCH_ENCODE_CACHE_GIB", str(1.5 * 200 / 2**30))  # room for one small entry
    a, b = Counting(0), Counting(1)
    encode_cache.encode_passages(a, PASSAGES, tmp_path)
    encode_cache.encode_passages(b, PASSAGES, tmp_path)
    assert len([d for d in tmp_path.iterdir() if (d / "done").is_file()]) == 1
    _, hit = encode_cache.encode_passages(b, PASSAGES, tmp_path)
    assert hit  # the newest stays


def test_cache_can_be_turned_off(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FLMR_BENCH_ENCODE_CACHE", "0")
    m = Counting(0)
    encode_cache.encode_passages(m, PASSAGES, tmp_path)
    encode_cache.encode_passages(m, PASSAGES, tmp_path)
    assert m.calls == 2 and not any(tmp_path.iterdir())


def test_an_edit_to_the_passage_code_changes_the_code_digest(tmp_path: Path):
    """The key includes the code that turns passages into vectors: the method's folder and every project module
    it imports (here harness/text.py, where passage_text lives), so an edit never reuses stale vectors."""
    import shutil

    from harness.code_deps import ROOT, code_digest, method_code

    for name in ("harness", "methods"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    files = method_code("methods.dpr.model", tmp_path)
    assert tmp_path / "harness/text.py" in files and tmp_path / "methods/dpr/model.py" in files
    before = code_digest(files, tmp_path)
    text = tmp_path / "harness/text.py"
    text.write_text(text.read_text().replace('f"{p.title}. {p.text}"', 'f"{p.title}: {p.text}"'))
    assert code_digest(method_code("methods.dpr.model", tmp_path), tmp_path) != before


def test_a_new_code_digest_misses_the_cache(tmp_path: Path, monkeypatch):
    m = Counting(0)
    encode_cache.encode_passages(m, PASSAGES, tmp_path)
    monkeypatch.setattr(encode_cache, "encoder_code_digest", lambda model: "edited")
    _, hit = encode_cache.encode_passages(m, PASSAGES, tmp_path)
    assert hit is False and m.calls == 2


class CountingQueries(Counting):
    def encode_queries(self, queries: list[Query]) -> DenseEmbeddings:
        self.calls += 1
        x = torch.tensor([[len(q.text), len(q.vision_text or ""), len(q.rois), 1.0] for q in queries])
        return DenseEmbeddings(self.proj(x).detach().numpy())


@pytest.mark.parametrize("change", [None, "text", "vision_text", "rois", "image bytes"])
def test_query_encodings_are_reused_only_for_the_same_questions_and_images(tmp_path: Path, change):
    image = tmp_path / "img.png"
    image.write_bytes(b"pixels")
    queries = [Query("q1", "what is it?", image, ("x",), vision_text="a cat"), Query("q2", "why?", None, ("y",))]
    m = CountingQueries(0)
    first, _ = encode_cache.encode_queries(m, queries, tmp_path / "cache")
    if change == "text":
        queries = [dataclasses.replace(queries[0], text="what is that?"), queries[1]]
    elif change == "vision_text":
        queries = [dataclasses.replace(queries[0], vision_text="a dog"), queries[1]]
    elif change == "rois":
        queries = [dataclasses.replace(queries[0], rois=(Box(0, 0, 1, 1, "cat", 1.0),)), queries[1]]
    elif change == "image bytes":
        image.write_bytes(b"other pixels")  # same path, new picture
    second, hit = encode_cache.encode_queries(m, queries, tmp_path / "cache")
    assert hit == (change is None) and m.calls == (1 if change is None else 2)
    if change is None:
        np.testing.assert_array_equal(first.vectors, second.vectors)


def test_a_model_with_a_scalar_integer_buffer_has_a_weights_digest():
    """BatchNorm keeps `num_batches_tracked` as a 0-dim int64: CNN vision encoders (ResNet) carry one."""
    m = torch.nn.BatchNorm1d(3)
    before = encode_cache.weights_digest(m)
    m.num_batches_tracked += 1
    assert encode_cache.weights_digest(m) != before
