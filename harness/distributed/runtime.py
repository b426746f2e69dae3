"""The process group a stage runs in: one process (the default), or the N that `torchrun` starts (it sets RANK,
WORLD_SIZE and LOCAL_RANK). Rank 0 writes every file a stage publishes; the others compute and wait."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

# validation and index building run on rank 0 while the others wait: far longer than the default 30 minutes
TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True)
class Group:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


SINGLE = Group()


def current() -> Group:
    """The group this process belongs to (a single process outside torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size())
    return SINGLE


def launched() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str = "cpu") -> Group:
    """Join the group torchrun describes; a single process stays alone (no rendezvous, no backend)."""
    if not launched():
        return SINGLE
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
    return current()


def local_device(device: str) -> str:
    """Each rank on its own GPU (LOCAL_RANK); CPU ranks share the CPU."""
    if device == "cuda" and launched():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def shard_bounds(n: int, rank: int, world: int, align: int = 1) -> tuple[int, int]:
    """Rank `rank`'s contiguous share of n items, in whole blocks of `align` (an encoding batch, so every rank
    encodes exactly the batches one process would): the first n_blocks % world ranks take one block more."""
    blocks = -(-n // max(1, align))
    base, extra = divmod(blocks, world)
    start = rank * base + min(rank, extra)
    stop = start + base + (1 if rank < extra else 0)
    return min(n, start * align), min(n, stop * align)


def barrier(group: Group) -> None:
    if group.active:
        dist.barrier()


def broadcast(obj: Any, group: Group, src: int = 0) -> Any:
    """Rank `src`'s object on every rank (pickled in memory between our own processes only)."""
    if not group.active:
        return obj
    box = [obj if group.rank == src else None]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj: Any, group: Group) -> list[Any]:
    """Every rank's object, in rank order, on every rank."""
    if not group.active:
        return [obj]
    out: list[Any] = [None] * group.world
    dist.all_gather_object(out, obj)
    return out


def gather_to_main(obj: Any, group: Group) -> list[Any] | None:
    """Every rank's object, in rank order, on rank 0 only (None elsewhere): for results only rank 0 writes."""
    if not group.active:
        return [obj]
    out: list[Any] | None = [None] * group.world if group.main else None
    dist.gather_object(obj, out, dst=0)
    return out


def sum_int(n: int, group: Group) -> int:
    if not group.active:
        return n
    t = torch.tensor([n], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return int(t.item())


def free_port() -> int:
    """A free TCP port on this machine, for a process group started without torchrun (tests, benchmarks)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
