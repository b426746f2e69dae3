"""Metrics with one meaning each: retrieval (PR-Success@K, Success@K, R@K, MRR@10), VQA, latency, bootstrap."""
