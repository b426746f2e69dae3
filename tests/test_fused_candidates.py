"""The fused Triton candidate kernels against the torch path they replace, run through Triton's interpreter on
CPU (TRITON_INTERPRET=1). Triton ships with CUDA builds of torch, not with the CPU lock: without it these tests
skip, and benchmarks/gpu.sh checks the same agreement on CUDA."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

# Triton reads TRITON_INTERPRET when it is first imported: set before the import below
os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton", reason="Triton is not installed (it comes with CUDA builds of torch)")


@pytest.fixture(autouse=True)
def interpreter(monkeypatch):
    import harness.index
    from harness.index import fused_candidates

    monkeypatch.delitem(sys.modules, "harness.index.fused_kernels", raising=False)  # decorated again, interpreted
    monkeypatch.delattr(harness.index, "fused_kernels", raising=False)
    fused_candidates._kernels.cache_clear()
    yield
    fused_candidates._kernels.cache_clear()


def _index(tmp_path, **settings):
    from harness.index.centroid import CentroidIndex
    from harness.synthetic import clustered_tokens, queries_for

    docs = clustered_tokens(300, 12, 32, seed=0, n_centres=64)
    pids = [f"p{i}" for i in range(len(docs))]
    CentroidIndex({"nlist": 32, "nprobe": 4, "candidates": 40, **settings}).build(docs, pids, tmp_path / "c")
    return tmp_path / "c", queries_for(docs, 6, 8, seed=1)


@pytest.mark.parametrize("interaction", [0, 120])
def test_fused_candidates_equal_the_torch_path(tmp_path, interaction):
    from harness.index.centroid import CentroidIndex

    folder, queries = _index(tmp_path, interaction=interaction)
    torch_path = CentroidIndex.load(folder, kernel="torch")
    fused = CentroidIndex.load(folder, kernel="fused")
    assert fused.use_fused(torch.device("cpu")) and not torch_path.use_fused(torch.device("cpu"))
    for i in range(len(queries)):
        q = torch.as_tensor(np.asarray(queries.item(i), dtype=np.float32))
        assert torch.equal(torch.sort(fused.candidates(q)).values, torch.sort(torch_path.candidates(q)).values)
        scores = q @ torch_path.centroids.T
        cand = torch.arange(len(torch_path.store.ids))
        assert torch.equal(fused.interaction_scores(scores, cand), torch_path.interaction_scores(scores, cand))


def test_interaction_widens_uint16_codes_and_scores_empty_documents_zero():
    from harness.index.fused_candidates import interaction_best

    scores = torch.randn(5, 40000)
    codes_u16 = np.array([39999, 7, 32768, 3, 3], dtype=np.uint16)  # ids above 32767 read negative as int16
    codes = torch.from_numpy(codes_u16.view(np.int16))
    offsets = torch.tensor([0, 3, 3, 5])  # document 1 is empty
    best = interaction_best(scores, codes, offsets, torch.tensor([0, 1, 2]))
    wide = torch.from_numpy(codes_u16.astype(np.int64))
    assert torch.equal(best[0], scores[:, wide[:3]].max(1).values)
    assert torch.equal(best[1], torch.zeros(5)) and torch.equal(best[2], scores[:, 3])


def test_an_unknown_kernel_is_one_line(tmp_path):
    from harness.errors import InputError
    from harness.index.centroid import CentroidIndex

    folder, _ = _index(tmp_path)
    with pytest.raises(InputError, match="kernel"):
        CentroidIndex.load(folder, kernel="cuda").use_fused(torch.device("cpu"))
