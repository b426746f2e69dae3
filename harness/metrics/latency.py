"""Per-query latency with warm-up: a monotonic clock on CPU, synchronised CUDA events on GPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _timer(device: str) -> Callable[[Callable[[], Any]], float]:
    if device.startswith("cuda") and torch.cuda.is_available():
        def time_cuda(fn: Callable[[], Any]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return float(start.elapsed_time(end))
        return time_cuda

    def time_cpu(fn: Callable[[], Any]) -> float:
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) / 1e6
    return time_cpu


def measure(calls: list[Callable[[], Any]], device: str = "cpu", warmup: int = 3) -> dict[str, float]:
    """Run `warmup` calls untimed, then time each call; milliseconds p50 / p95 / mean."""
    timer = _timer(device)
    for fn in calls[:warmup]:
        fn()
    ms = np.array([timer(fn) for fn in calls], dtype=np.float64)
    if ms.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "mean_ms": float("nan"), "n": 0}
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean()), "n": int(ms.size)}
