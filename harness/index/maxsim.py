"""Late-interaction (ColBERT) scoring: score(q, d) = sum over query tokens of the max similarity to any
document token. Shared by training (padded batches) and the exact index (packed, chunked)."""

from __future__ import annotations

import numpy as np
import torch


def maxsim(q: torch.Tensor, d: torch.Tensor, d_mask: torch.Tensor, q_mask: torch.Tensor | None = None) -> torch.Tensor:
    """q [B, Lq, dim], d [P, Ld, dim], d_mask [P, Ld] (True = a real token) -> scores [B, P]."""
    sim = torch.einsum("bqd,ptd->bpqt", q, d)
    sim = sim.masked_fill(~d_mask[None, :, None, :], float("-inf"))
    best = sim.max(dim=-1).values  # [B, P, Lq]
    best = torch.where(torch.isfinite(best), best, torch.zeros_like(best))  # an empty document scores 0
    if q_mask is not None:
        best = best * q_mask[:, None, :].to(best.dtype)
    return best.sum(-1)


def pad_packed(tokens: np.ndarray | torch.Tensor, offsets: np.ndarray, start: int, stop: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Items start..stop of a packed [T, dim] matrix as a padded [n, Lmax, dim] float32 tensor and its mask."""
    offs = np.asarray(offsets[start : stop + 1], dtype=np.int64)
    lengths = torch.from_numpy(np.diff(offs))
    lmax = max(1, int(lengths.max()) if len(lengths) else 1)
    base = int(offs[0])
    block = torch.as_tensor(np.asarray(tokens[base : int(offs[-1])], dtype=np.float32))
    if block.shape[0] == 0:
        block = torch.zeros((1, tokens.shape[1]), dtype=torch.float32)
    pos = torch.arange(lmax)[None, :]
    mask = pos < lengths[:, None]
    rows = (torch.from_numpy(offs[:-1] - base)[:, None] + pos).clamp(max=block.shape[0] - 1)
    out = block[rows] * mask[..., None]  # gather, then zero the padding
    return out, mask
