"""Late-interaction (ColBERT) scoring: score(q, d) = sum over query tokens of the max similarity to any
document token. Shared by training (padded batches) and the exact index (packed, chunked)."""

from __future__ import annotations

import warnings

import numpy as np
import torch


def as_float32(rows: np.ndarray | torch.Tensor) -> torch.Tensor:
    """float32 rows as a tensor; torch widens float16 several times faster than numpy's astype."""
    if isinstance(rows, torch.Tensor):
        return rows.float()
    rows = np.ascontiguousarray(rows)
    if rows.dtype == np.float32:
        return torch.from_numpy(rows.copy() if not rows.flags.writeable else rows)
    with warnings.catch_warnings():  # a read-only memory map is only read here: .float() copies it
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(rows).float()


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
    block = as_float32(tokens[base : int(offs[-1])])
    if block.shape[0] == 0:
        block = torch.zeros((1, tokens.shape[1]), dtype=torch.float32)
    pos = torch.arange(lmax)[None, :]
    mask = pos < lengths[:, None]
    rows = (torch.from_numpy(offs[:-1] - base)[:, None] + pos).clamp(max=block.shape[0] - 1)
    out = block[rows] * mask[..., None]  # gather, then zero the padding
    return out, mask


def pad_repeat(tokens: np.ndarray | torch.Tensor, offsets: np.ndarray, docs: np.ndarray) -> torch.Tensor:
    """Documents `docs` of a packed [T, dim] matrix as one [n, Lmax, dim] float32 tensor, each padded by
    repeating its own last token: a repeated token cannot change a max, so scoring needs no mask and no -inf
    fill. An empty document is a single zero vector, so it scores 0."""
    docs = np.asarray(docs, dtype=np.int64)
    starts = np.asarray(offsets, dtype=np.int64)[docs]
    lengths = np.asarray(offsets, dtype=np.int64)[docs + 1] - starts
    lmax = max(1, int(lengths.max(initial=1)))
    rows = starts[:, None] + np.minimum(np.arange(lmax)[None, :], np.maximum(lengths - 1, 0)[:, None])
    lo, hi = int(rows.min(initial=0)), int(rows.max(initial=0)) + 1
    if hi - lo <= 2 * rows.size:  # one slice read (memory-mapped stores read sequentially), then a local gather
        block = as_float32(tokens[lo:hi])
        out = block[torch.from_numpy(rows - lo)] if hi > lo else torch.zeros((len(docs), 1, tokens.shape[1]))
    else:
        out = as_float32(tokens[rows.ravel()]).view(len(docs), lmax, -1)
    if (lengths == 0).any():
        out[torch.from_numpy(lengths == 0)] = 0.0
    return out


def maxsim_flat(q_flat: torch.Tensor, n_queries: int, docs: torch.Tensor) -> torch.Tensor:
    """Exhaustive MaxSim as one matrix product and one max: q_flat [B * Lq, dim] (padding rows zero, so they add
    0), docs [P, Lt, dim] padded by repetition (`pad_repeat`) -> scores [B, P]."""
    p, lt, dim = docs.shape
    sim = torch.mm(q_flat, docs.reshape(p * lt, dim).T)
    return sim.view(q_flat.shape[0], p, lt).amax(2).view(n_queries, -1, p).sum(1)


def packed_rows(offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a packed token matrix that hold documents `docs`, in order, and each document's length."""
    offsets = np.asarray(offsets, dtype=np.int64)
    starts, lengths = offsets[docs], offsets[np.asarray(docs) + 1] - offsets[docs]
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths), lengths


def gather_packed(tokens: np.ndarray, offsets: np.ndarray, docs: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The tokens of documents `docs`, packed without padding, as float32 [T, dim], and each one's length."""
    rows, lengths = packed_rows(offsets, docs)
    return as_float32(tokens[rows]), lengths


def segment_max_scatter(values: torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """`segment_max` by one scatter-max: any device, and autograd."""
    seg = torch.repeat_interleave(torch.arange(len(lengths), device=values.device),
                                  torch.as_tensor(np.asarray(lengths, dtype=np.int64), device=values.device))
    best = torch.full((values.shape[0], len(lengths)), float("-inf"), device=values.device, dtype=values.dtype)
    return best.scatter_reduce_(1, seg.expand(values.shape[0], -1), values, reduce="amax")


def segment_max(values: torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """Max over consecutive column segments: values [rows, T] whose columns hold `lengths` segments in order ->
    [rows, len(lengths)], -inf for an empty segment. On CPU one `np.maximum.reduceat` pass (a third faster than
    the scatter-max on this engine's re-rank, and the same values: a max does not round)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if values.device.type != "cpu" or values.requires_grad or values.dtype == torch.bfloat16:  # numpy has no bf16
        return segment_max_scatter(values, lengths)
    filled = lengths > 0
    best = torch.full((values.shape[0], len(lengths)), float("-inf"), dtype=values.dtype)
    if filled.any():  # an empty segment has no column to start at: reduce the filled ones, which tile the columns
        starts = (np.cumsum(lengths) - lengths)[filled]
        reduced = torch.from_numpy(np.maximum.reduceat(values.numpy(), starts, axis=1))
        if filled.all():
            return reduced
        best[:, torch.from_numpy(filled)] = reduced
    return best


def maxsim_packed(q: torch.Tensor, block: torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """MaxSim of one query [Lq, dim] against documents packed in `block` [T, dim] (`lengths` tokens each), with
    no padding: one product [Lq, T], then a per-document max (`segment_max`). An empty document scores 0."""
    best = segment_max(q @ block.T, lengths)
    return torch.where(torch.isfinite(best), best, 0.0).sum(0)
