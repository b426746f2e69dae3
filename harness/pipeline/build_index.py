"""index: encode a corpus with a trained model and build the index that params choose, once per (model,
corpus): a task's nested subset slices the full corpus's encoding, which the encode cache keeps per model."""

from __future__ import annotations

import json
import time
from typing import Any

from harness import encode_cache, paths
from harness.atomic import atomic_dir, write_json
from harness.distributed.runtime import barrier, current
from harness.index import make_index
from harness.pipeline.common import load_dataset, pick_device, run_context
from harness.progress import phase_line
from harness.tasks import task_for_corpus

NOISE = ("build_seconds", "encode_seconds", "encode_cached", "device")


def build_index(params: dict[str, Any], run_id: str, corpus_id: str = "full", device: str | None = None
                ) -> dict[str, Any]:
    ctx = run_context(params, run_id)
    device = pick_device(device)
    task = task_for_corpus(params, corpus_id)
    full = load_dataset(params, check_images=False, task=task, subset=False)
    passages = load_dataset(params, check_images=False, task=task).corpus
    model = ctx.retriever_class().load(paths.model_dir(params, run_id), device)
    t0 = time.perf_counter()
    emb, cached = encode_cache.encode_passages(model, full.corpus)
    if len(passages) < len(full.corpus):
        keep = {p.pid for p in passages}
        emb = emb.select([i for i, p in enumerate(full.corpus) if p.pid in keep])
    encode_s = time.perf_counter() - t0
    phase_line(f"index {run_id}/{corpus_id}: encoded {len(passages):,} passages", encode_s, cached=cached)
    index = make_index(ctx.spec.family, ctx.settings["index"])
    group = current()
    if not group.main:  # under torchrun: rank 0 builds; a backend that splits its build gets this rank's share
        if hasattr(index, "build_share"):
            index.build_share(emb, [p.pid for p in passages])
        barrier(group)
        return {}
    with atomic_dir(paths.index_dir(params, run_id, corpus_id)) as tmp:
        stats = index.build(emb, [p.pid for p in passages], tmp)
        info = {"backend": stats.backend, "vectors": stats.vectors, "items": stats.items, "dim": stats.dim,
                "bytes_on_disk": stats.bytes_on_disk, "bytes_per_vector": stats.bytes_per_vector,
                "bytes_per_passage": stats.bytes_per_item, "build_seconds": stats.build_seconds,
                "encode_seconds": encode_s, "encode_cached": cached, "device": device, "corpus": task.corpus_label,
                **stats.extra}
        # the index folder holds only what the same inputs always give; timings go beside the results
        (tmp / "stats.json").write_text(json.dumps({k: v for k, v in info.items() if k not in NOISE},
                                                   indent=2, sort_keys=True))
    write_json(paths.timing_file(params, f"index-{run_id}-{corpus_id}"), {k: info[k] for k in NOISE})
    phase_line(f"index {run_id}/{corpus_id}: built {stats.backend}", stats.build_seconds,
               vectors=stats.vectors, bytes=stats.bytes_on_disk)
    barrier(group)
    return info
