"""index: encode the corpus with a trained model and build the index that params choose."""

from __future__ import annotations

import json
import time
from typing import Any

from harness import encode_cache, paths
from harness.atomic import atomic_dir
from harness.index import make_index
from harness.pipeline.common import load_dataset, pick_device, run_context


def build_index(params: dict[str, Any], run_id: str, device: str | None = None) -> dict[str, Any]:
    ctx = run_context(params, run_id)
    device = pick_device(device)
    data = load_dataset(params, check_images=False)
    model = ctx.retriever_class().load(paths.model_dir(params, run_id), device)
    t0 = time.perf_counter()
    emb, cached = encode_cache.encode_passages(model, data.corpus)
    encode_s = time.perf_counter() - t0
    index = make_index(ctx.spec.family, ctx.settings["index"])
    with atomic_dir(paths.index_dir(params, run_id)) as tmp:
        stats = index.build(emb, [p.pid for p in data.corpus], tmp)
        info = {"backend": stats.backend, "vectors": stats.vectors, "items": stats.items, "dim": stats.dim,
                "bytes_on_disk": stats.bytes_on_disk, "bytes_per_vector": stats.bytes_per_vector,
                "bytes_per_passage": stats.bytes_per_item, "build_seconds": stats.build_seconds,
                "encode_seconds": encode_s, "encode_cached": cached, "device": device, **stats.extra}
        (tmp / "stats.json").write_text(json.dumps(info, indent=2, sort_keys=True))
    return info
