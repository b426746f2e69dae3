"""`index.shards: N`: a corpus in N contiguous shards, each its own index of the chosen backend, for a corpus
whose index does not fit one device. Built shard by shard; searched shard by shard, each shard loaded, searched
and released in turn (under torchrun, rank r searches shards r, r + world, ...), and each query's top k merged
exactly from the shards' top k. With an exact backend (`exact` MaxSim, a flat dense index) the merged ranking is
the unsharded one; an approximate backend searches each shard with that shard's own structures."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from harness.api import Embeddings, IndexStats, Run
from harness.atomic import write_json
from harness.distributed.runtime import current, gather_objects, shard_bounds

SHARDS_FILE = "shards.json"


def shard_dir(folder: Path, i: int) -> Path:
    return Path(folder) / f"shard-{i:03d}"


def merge_top_k(runs: list[Run], k: int) -> Run:
    """Each query's k best (passage, score) over the shards' runs; equal scores keep shard order, then the
    shard's own order."""
    merged: Run = {}
    for qid in dict.fromkeys(q for run in runs for q in run):
        ranked = [(-score, s, j, pid) for s, run in enumerate(runs)
                  for j, (pid, score) in enumerate(run.get(qid, {}).items())]
        merged[qid] = {pid: -neg for neg, _, _, pid in sorted(ranked)[:k]}
    return merged


class ShardedIndex:
    backend = "sharded"

    def __init__(self, family: str, settings: dict[str, Any], device: str = "cpu"):
        self.family, self.device = family, device
        self.settings = {key: value for key, value in settings.items() if key != "shards"}
        self.n_shards = int(settings.get("shards", 1))
        self.folder: Path | None = None

    def build(self, emb: Embeddings, ids: list[str], out_dir: Path) -> IndexStats:
        from harness.index import make_index

        t0 = time.perf_counter()
        parts = []
        for i in range(self.n_shards):
            lo, hi = shard_bounds(len(ids), i, self.n_shards)
            parts.append(make_index(self.family, self.settings).build(emb.select(list(range(lo, hi))), ids[lo:hi],
                                                                       shard_dir(out_dir, i)))
        write_json(Path(out_dir) / SHARDS_FILE, {"family": self.family, "shards": self.n_shards,
                                                 "backend": parts[0].backend, "items": len(ids)})
        write_json(Path(out_dir) / "settings.json", {"backend": self.backend, "shards": self.n_shards})
        self.folder = Path(out_dir)
        return IndexStats(f"{parts[0].backend} x {self.n_shards} shards", vectors=sum(p.vectors for p in parts),
                          items=len(ids), dim=parts[0].dim, bytes_on_disk=sum(p.bytes_on_disk for p in parts),
                          build_seconds=time.perf_counter() - t0,
                          extra={"shards": self.n_shards, "shard_items": [p.items for p in parts]})

    @classmethod
    def load(cls, folder: Path, device: str = "cpu") -> "ShardedIndex":
        meta = json.loads((Path(folder) / SHARDS_FILE).read_text())
        obj = cls(meta["family"], {"shards": meta["shards"]}, device)
        obj.folder = Path(folder)
        return obj

    def search(self, q: Embeddings, qids: list[str], k: int) -> Run:
        """Shard by shard (only one shard's index in memory at a time); under torchrun the ranks split the
        shards and every rank returns the merged run."""
        from harness.index import load_index

        group = current()
        mine = {}
        for i in range(group.rank, self.n_shards, group.world):
            index = load_index(self.family, shard_dir(self.folder, i), self.device)
            mine[i] = index.search(q, qids, k)
            del index
        found = {i: run for part in gather_objects(mine, group) for i, run in part.items()}
        return merge_top_k([found[i] for i in range(self.n_shards)], k)
