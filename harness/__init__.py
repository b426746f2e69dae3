"""flmr-bench: a reproducible harness for multi-modal knowledge retrieval in RA-VQA."""

from harness.kernels import pin_cpu_kernels

__version__ = "0.1.0"
pin_cpu_kernels()  # before any torch computation: see harness/kernels.py
