"""Readers: answer a question from its top-K retrieved passages (RA-VQA with static retrieval)."""
