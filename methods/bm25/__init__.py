"""The bm25 method (see README.md in this folder)."""
