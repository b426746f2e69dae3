"""The centroid engine's candidate stage as two fused Triton kernels, for CUDA.

The torch path (harness/index/centroid.py) expands every probed posting and every candidate token into index
tensors (repeat_interleave, arange, gathers) before one scatter-max; on a GPU those launches and buffers, not
the arithmetic, are the stage's cost. Here one program walks one posting list, or one document's tokens, and
reduces in place:
  - `probe_best`: per (query token, probed centroid), a max of the centroid's score into [query tokens, documents]
    for every document on its list (atomic max; the scores are clamped at 0, the buffer starts at 0);
  - `interaction_best`: per candidate document, the max over its tokens of S[i, code(token)] for every query
    token i (PLAID's centroid interaction), 0 for an empty document.
Both return the [*, query tokens] maxima, and the caller sums them with the same torch reduction as the torch
path, so the two paths give the same scores (a max does not round).
Triton ships with CUDA builds of torch; without it, or off CUDA, the torch path runs. With TRITON_INTERPRET=1
the kernels also run on CPU tensors (Triton's interpreter), which is how the tests check them without a GPU.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch

POSTINGS_BLOCK = 256  # postings one program reads at a time
TOKENS_BLOCK = 32  # document tokens one program reads at a time


@functools.cache  # asked on every search call: a missing Triton is looked for once
def triton_available() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def usable(device: torch.device | str) -> bool:
    """True where the fused kernels can run on tensors of this device."""
    kind = torch.device(device).type
    interpret = os.environ.get("TRITON_INTERPRET") == "1"
    return (kind == "cuda" or (kind == "cpu" and interpret)) and triton_available()


@functools.cache
def _kernels() -> Any:
    """The kernel module, imported on first use: it needs Triton, which CPU installs do not have."""
    from harness.index import fused_kernels

    return fused_kernels


def probe_best(top_s: torch.Tensor, top_c: torch.Tensor, list_offsets: torch.Tensor, list_docs: torch.Tensor,
               n_docs: int) -> torch.Tensor:
    """[query tokens, documents]: per query token, the best clamped score of a probed centroid each document
    holds (0 if none). top_s, top_c: [query tokens, nprobe]."""
    rows, nprobe = top_s.shape
    best = torch.zeros(rows, n_docs, dtype=torch.float32, device=top_s.device)
    if rows * nprobe:
        _kernels().probe_kernel[(rows * nprobe,)](
            top_s.clamp_min(0).float().contiguous(), top_c.contiguous(), list_offsets, list_docs, best, n_docs,
            nprobe, BLOCK=POSTINGS_BLOCK)
    return best


def interaction_best(scores: torch.Tensor, codes: torch.Tensor, token_offsets: torch.Tensor, cand: torch.Tensor
                     ) -> torch.Tensor:
    """[candidates, query tokens]: max over each candidate's tokens of S[i, code(token)], 0 for an empty one.
    scores: S [query tokens, nlist]; codes: a centroid id per token (int16 = uint16 view, int32 or int64)."""
    n_q = scores.shape[0]
    best = torch.empty(len(cand), n_q, dtype=torch.float32, device=scores.device)
    if len(cand):
        k = _kernels()
        k.interaction_kernel[(len(cand),)](
            scores.T.float().contiguous(), codes, token_offsets, cand.contiguous(), best, n_q,
            WIDEN=codes.dtype == torch.int16, BT=TOKENS_BLOCK, BQ=max(16, k.triton.next_power_of_2(n_q)))
    return best
