"""flmr-bench: a reproducible harness for multi-modal knowledge retrieval in RA-VQA."""

__version__ = "0.1.0"
