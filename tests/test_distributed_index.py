"""Sharded encoding, index build and search: under 2 gloo processes the corpus encoding, the centroid index and the
sharded search equal what one process makes; shard-by-shard search in one process equals the unsharded search."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from harness.api import DenseEmbeddings, MultiVectorEmbeddings
from harness.data.schema import Dataset
from harness.distributed.runtime import barrier, current, free_port, shard_bounds
from harness.index import make_index
from harness.index.sharded import merge_top_k

TINY_TEXT = {"source": "tiny", "tiny": {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                        "intermediate_size": 64}}
FLMR = {"backbone": TINY_TEXT, "dim": 16, "query_maxlen": 24, "doc_maxlen": 40, "use_vision_text": True,
        "use_image_features": False, "use_rois": False, "encode_batch_size": 8}
# residual codes and the coarse quantizer too (nlist 8 > coarse_above 4), so every file the build writes is compared
CENTROID = {"late": {"backend": "centroid", "centroid": {"nlist": 8, "sample_per_centroid": 16, "nprobe": 2,
                                                         "candidates": 16, "residual_bits": 2, "coarse_above": 4}}}
K = 10


def _flmr():
    from harness.methods import default_params, get, retriever_class
    from harness.params import deep_merge

    spec = get("flmr")
    return retriever_class(spec).create(deep_merge(default_params(spec), FLMR), seed=1).eval()


def _one_process(toy_dir: Path, out: Path) -> dict:
    """Encoding, centroid index and its run, as one process makes them."""
    torch.set_num_threads(1)
    ds = Dataset(toy_dir)
    model = _flmr()
    emb = model.encode_passages(ds.corpus)
    index = make_index("late-interaction", CENTROID)
    index.build(emb, [p.pid for p in ds.corpus], out)
    test = ds.split("test")
    return {"emb": emb, "run": index.search(model.encode_queries(test), [q.qid for q in test], K)}


def _worker(rank: int, world: int, port: int, toy_dir: str, out: str) -> None:
    from harness import encode_cache

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        ds = Dataset(Path(toy_dir))
        model = _flmr()
        emb, cached = encode_cache.encode_passages(model, ds.corpus, Path(out) / "cache")
        ids = [p.pid for p in ds.corpus]
        index = make_index("late-interaction", CENTROID)
        if rank == 0:
            index.build(emb, ids, Path(out) / "index")
            np.save(Path(out) / "tokens.npy", emb.tokens)
            np.save(Path(out) / "offsets.npy", emb.offsets)
        else:
            index.build_share(emb, ids)
        barrier(current())
        # sharded search: three exact shards split over the two ranks
        sharded = make_index("late-interaction", {"late": {"backend": "exact"}, "shards": 3})
        if rank == 0:
            sharded.build(emb, ids, Path(out) / "sharded")
        barrier(current())
        from harness.index import load_index

        test = ds.split("test")
        run = load_index("late-interaction", Path(out) / "sharded").search(model.encode_queries(test),
                                                                           [q.qid for q in test], K)
        (Path(out) / f"sharded_run_{rank}.json").write_text(json.dumps(run))
    finally:
        dist.destroy_process_group()



def test_shard_bounds_cover_the_items_in_whole_blocks():
    for n, world, align in ((72, 2, 8), (73, 3, 8), (5, 4, 1), (0, 2, 8), (10, 3, 64)):
        parts = [shard_bounds(n, r, world, align) for r in range(world)]
        assert parts[0][0] == 0 and parts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert all(lo % align == 0 or lo == n for lo, _ in parts)  # whole blocks; empty shards at the end


def test_two_ranks_build_the_one_process_index(toy_dir, tmp_path):
    ref = _one_process(toy_dir, tmp_path / "one")
    mp.spawn(_worker, args=(2, free_port(), str(toy_dir), str(tmp_path / "two")), nprocs=2, join=True)
    two = tmp_path / "two"
    # the encoding: each rank encoded whole batches of its shard; joined, they are the one-process encoding
    assert np.array_equal(np.load(two / "offsets.npy"), ref["emb"].offsets)
    assert np.array_equal(np.load(two / "tokens.npy"), ref["emb"].tokens)
    # the centroid index: centroids from rank 0, codes assigned per rank, lists merged: the same files
    for name in ("centroids.npy", "codes.npy", "list_docs.npy", "list_offsets.npy", "tokens.npy", "offsets.npy",
                 "residuals.npy", "residual_cutoffs.npy", "residual_values.npy"):
        assert np.array_equal(np.load(two / "index" / name), np.load(tmp_path / "one" / name)), name
    assert json.loads((two / "index" / "ids.json").read_text()) == json.loads((tmp_path / "one" / "ids.json").read_text())
    # sharded exact search (3 shards over 2 ranks): both ranks hold the unsharded exact index's ranking
    ds = Dataset(toy_dir)
    test = ds.split("test")
    whole = make_index("late-interaction", {"late": {"backend": "exact"}})
    whole.build(ref["emb"], [p.pid for p in ds.corpus], tmp_path / "exact")
    exact = whole.search(_flmr().encode_queries(test), [q.qid for q in test], K)
    for rank in (0, 1):
        run = json.loads((two / f"sharded_run_{rank}.json").read_text())
        _assert_same_run(exact, run)


def _assert_same_run(ref: dict, got: dict) -> None:
    assert set(ref) == set(got)
    for qid in ref:
        assert list(ref[qid]) == list(got[qid]), qid
        assert np.allclose(list(ref[qid].values()), list(got[qid].values()), atol=1e-6)


@pytest.mark.parametrize("family, settings", [
    ("late-interaction", {"late": {"backend": "exact"}}),
    ("dense", {"dense": {"type": "flat"}}),
])
def test_shard_by_shard_search_equals_the_unsharded_search(tmp_path, family, settings):
    rng = np.random.default_rng(0)
    n_docs, n_q, dim = 50, 7, 16
    ids = [f"d{i}" for i in range(n_docs)]
    qids = [f"q{i}" for i in range(n_q)]
    if family == "dense":
        docs = DenseEmbeddings(rng.standard_normal((n_docs, dim)).astype(np.float32))
        queries = DenseEmbeddings(rng.standard_normal((n_q, dim)).astype(np.float32))
    else:
        def multi(n: int) -> MultiVectorEmbeddings:
            lengths = rng.integers(1, 9, size=n)  # one-token documents included
            tokens = rng.standard_normal((int(lengths.sum()), dim)).astype(np.float32)
            tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
            return MultiVectorEmbeddings(tokens, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        docs, queries = multi(n_docs), multi(n_q)
    whole = make_index(family, settings)
    whole.build(docs, ids, tmp_path / "whole")
    sharded = make_index(family, {**settings, "shards": 4})
    stats = sharded.build(docs, ids, tmp_path / "sharded")
    assert stats.items == n_docs and sum(stats.extra["shard_items"]) == n_docs
    from harness.index import load_index

    _assert_same_run(whole.search(queries, qids, K),
                     load_index(family, tmp_path / "sharded").search(queries, qids, K))


def test_merge_keeps_the_best_k_and_breaks_ties_by_shard_order():
    runs = [{"q": {"a": 0.9, "b": 0.5}}, {"q": {"c": 0.7, "d": 0.5}}, {"q": {"e": 0.95}, "r": {"f": 0.1}}]
    merged = merge_top_k(runs, 4)
    assert list(merged["q"]) == ["e", "a", "c", "b"] and merged["r"] == {"f": 0.1}
