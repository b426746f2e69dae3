"""In-batch negatives across ranks, as DPR and ColBERT train on several GPUs: every rank scores its own queries
against every rank's passages, so the loss over the global batch is the one-process loss.

`gather_rows` concatenates each rank's rows in rank order (padding a second dimension, e.g. document tokens, to
the longest); gradients flow back to each rank's own rows from every rank's loss. `global_mean` divides a
rank's summed loss by the global count, so that the ranks' gradients, summed (`all_reduce_grads`), are the
gradient of the one-process mean. `in_batch_loss` is the loss every retriever trains on, over those rows."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.distributed as dist
import torch.nn.functional as F

from harness.distributed.runtime import Group, current, gather_objects, sum_int


class _GatherRows(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, sizes: tuple[int, ...], rank: int) -> torch.Tensor:  # type: ignore[override]
        rows = max(sizes)
        padded = F.pad(x, (0, 0) * (x.dim() - 1) + (0, rows - x.shape[0])) if x.shape[0] < rows else x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        ctx.sizes, ctx.rank = sizes, rank
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every rank's loss reaches every rank's rows
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None, None


def gather_rows(tensors: Iterable[torch.Tensor], group: Group | None = None) -> tuple[list[torch.Tensor], int]:
    """All ranks' rows of each tensor (the same row count per tensor on a rank), and where this rank's rows start.
    Outside a group: the tensors themselves and 0."""
    tensors = list(tensors)
    group = group or current()
    if not group.active:
        return tensors, 0
    shapes = gather_objects([tuple(t.shape) for t in tensors], group)
    sizes = tuple(s[0][0] for s in shapes)
    out = []
    for i, t in enumerate(tensors):
        if t.dim() >= 2:  # pad the second dimension (document tokens) to the longest of any rank
            longest = max(s[i][1] for s in shapes)
            t = F.pad(t, (0, 0) * (t.dim() - 2) + (0, longest - t.shape[1]))
        if t.dtype == torch.bool:  # collectives move numbers
            out.append(_GatherRows.apply(t.to(torch.uint8), sizes, group.rank).bool())
        else:
            out.append(_GatherRows.apply(t, sizes, group.rank))
    return out, sum(sizes[: group.rank])


def global_mean(total: torch.Tensor, n_local: int, group: Group | None = None) -> torch.Tensor:
    """A rank's summed loss over its n_local items, divided by the items of all ranks."""
    return total / sum_int(n_local, group or current())


def in_batch_loss(scores: torch.Tensor, start: int) -> torch.Tensor:
    """The retrievers' contrastive loss: `scores` is (local queries x every rank's passages, gathered by
    `gather_rows`, positives first); query i's target is passage start + i, every other passage a negative;
    the mean over all ranks' queries."""
    n = scores.shape[0]
    targets = start + torch.arange(n, device=scores.device)
    return global_mean(F.cross_entropy(scores, targets, reduction="sum"), n)


def all_reduce_grads(params: Iterable[torch.nn.Parameter], group: Group | None = None) -> None:
    """Sum the ranks' gradients (one flat buffer per dtype and device: one collective each)."""
    group = group or current()
    if not group.active:
        return
    by_kind: dict[tuple, list[torch.nn.Parameter]] = {}
    for p in params:
        if not p.requires_grad:
            continue
        if p.grad is None:  # unused on this rank's share of the batch: every rank sends the same buffer layout
            p.grad = torch.zeros_like(p)
        by_kind.setdefault((p.grad.dtype, p.grad.device), []).append(p)
    for ps in by_kind.values():
        flat = torch.cat([p.grad.reshape(-1) for p in ps])
        dist.all_reduce(flat)
        offset = 0
        for p in ps:
            n = p.grad.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n
