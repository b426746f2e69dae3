"""One choice of CPU float kernels for every number the harness makes, so the same code and lock give the same
floats on any x86 processor with AVX2 (README, "The locked environment", Processors).

Left to themselves, torch picks its vector width (AVX2 or AVX-512) by processor, MKL picks a code branch by
processor and vendor, oneDNN its instruction set, and torch splits reductions by its thread count (the CPU count):
each choice changes the last bits of a float, and a small model trained from scratch then ranks a few questions
differently. Each setting below is read when its library first computes, not when torch is imported, so setting
them when `harness` is imported is early enough. A value already in the environment wins, and the record says
which were used (`provenance.device`)."""

from __future__ import annotations

import os

KERNEL_ENV = {
    "MKL_CBWR": "AVX2",  # MKL's conditional-numerical-reproducibility branch: one code path on every AVX2 CPU
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's vector width (AVX-512 machines would otherwise sum in wider lanes)
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (convolutions) likewise
}
THREADS_ENV = "FLMR_BENCH_THREADS"
DEFAULT_THREADS = 2  # the committed numbers' thread count: a reduction's split, hence its floats, follows it


def pin_cpu_kernels() -> None:
    """Set the kernel choice unless the environment already names one."""
    for name, value in KERNEL_ENV.items():
        os.environ.setdefault(name, value)


def pinned_threads() -> int:
    return int(os.environ.get(THREADS_ENV, DEFAULT_THREADS))


def pin_threads() -> None:
    """Fix torch's intra-op thread count (on a GPU too: its CPU work, e.g. BM25 and scoring, follows it)."""
    import torch

    torch.set_num_threads(pinned_threads())
