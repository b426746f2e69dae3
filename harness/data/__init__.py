"""Dataset on-disk format (queries.jsonl, corpus.jsonl, qrels/<split>.tsv), readers, writers, generators."""
